// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPGM: readPGM never panics, never returns more pixels than allowed, and what it reads
// written back as a PGM reads again to the same image.
func FuzzReadPGM(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.pgm")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("P5 1 1 255 \x80"))
	f.Add([]byte("P5\n2 2\n255\n\x00\x01\x02\x03P5\n1 1\n255\n\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxPixels = 1 << 16
		br := bufio.NewReader(bytes.NewReader(data))
		for range 4 {
			var img grayImage
			err := readPGM(br, maxPixels, &img)
			if err != nil {
				if !errors.Is(err, errPGM) && err != io.EOF {
					t.Fatalf("error %v is not errPGM", err)
				}
				return
			}
			if img.W < 1 || img.H < 1 || img.W*img.H > maxPixels || len(img.Pix) != img.W*img.H {
				t.Fatalf("image %dx%d with %d pixels", img.W, img.H, len(img.Pix))
			}
			var out bytes.Buffer
			fmt.Fprintf(&out, "P5\n%d %d\n255\n", img.W, img.H)
			out.Write(img.Pix)
			var again grayImage
			if err := readPGM(bufio.NewReader(&out), maxPixels, &again); err != nil || !bytes.Equal(again.Pix, img.Pix) {
				t.Fatalf("re-read: %v", err)
			}
		}
	})
}

// FuzzInspect: Inspect never panics on any input and either accepts it with a page count and
// sizes in range or refuses it with one of the package's codes.
func FuzzInspect(f *testing.F) {
	good := makePDF([]testPage{textPage("fuzz"), {W: letterH, H: letterW, Rotate: 90}})
	f.Add(good)
	f.Add(good[:200])
	f.Add([]byte("%PDF-1.7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data, Limits{MaxPages: 10})
		if err != nil {
			if ErrorCode(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if info.Pages < 1 || info.Pages > 10 || len(info.Sizes) != info.Pages {
			t.Fatalf("info %+v", info)
		}
		for _, s := range info.Sizes {
			if s.Width < 1 || s.Height < 1 || s.Width > 14400 || s.Height > 14400 {
				t.Fatalf("size %+v", s)
			}
		}
	})
}

func TestReadPGM(t *testing.T) {
	var img grayImage
	br := bufio.NewReader(bytes.NewReader([]byte("P5\n# a comment\n3 2\n15\n\x00\x07\x0f\x01\x02\x03P5 1 1 255\n\x80")))
	if err := readPGM(br, 100, &img); err != nil {
		t.Fatal(err)
	}
	if img.W != 3 || img.H != 2 || !bytes.Equal(img.Pix, []byte{0, 119, 255, 17, 34, 51}) {
		t.Fatalf("image %+v", img)
	}
	if err := readPGM(br, 100, &img); err != nil || img.W != 1 || img.Pix[0] != 0x80 {
		t.Fatalf("second image: %v %+v", err, img)
	}
	if err := readPGM(br, 100, &img); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	for _, bad := range []string{"P6\n1 1\n255\n\x00", "P5\n1000 1000\n255\n", "P5\n1 1\n256\n\x00", "P5\n1 1\n255\n", "P5\n-1 1\n255\n\x00", "P5\n1 1\n255"} {
		if err := readPGM(bufio.NewReader(bytes.NewReader([]byte(bad))), 100, &img); !errors.Is(err, errPGM) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
