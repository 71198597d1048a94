// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tiffFiles lists the TIFF files of the test corpus.
func tiffFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*/*.tif", "*/*.TIF", "*/*.tiff"} {
		m, err := filepath.Glob(filepath.Join("../testdata/g3", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("only %d TIFF files in testdata", len(files))
	}
	return files
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package libtiff-tools / poppler-utils; make deps installs it)", name)
	}
	return p
}

// libtiffDecode decodes a TIFF with libtiff (tiffcp -c none) and returns its pages, or ok=false when
// libtiff fails on the file.
func libtiffDecode(t *testing.T, tiffcp, name string) (pages []*Page, stderr string, ok bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.tif")
	cmd := exec.Command(tiffcp, "-c", "none", name, out)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	if err := cmd.Run(); err != nil {
		return nil, eb.String(), false
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pages, err = ReadTIFF(data)
	if err != nil {
		t.Fatalf("%s: reading libtiff's uncompressed output: %v", name, err)
	}
	return pages, eb.String(), true
}

// TestDecodeMatchesLibtiff decodes every TIFF of the corpus with g3 and with libtiff and requires
// the same pixels wherever libtiff succeeds; where libtiff fails, g3 must return an error or a
// partial page, never panic.
func TestDecodeMatchesLibtiff(t *testing.T) {
	tiffcp := needTool(t, "tiffcp")
	for _, name := range tiffFiles(t) {
		t.Run(strings.TrimPrefix(name, "../testdata/g3/"), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			got, gerr := ReadTIFF(data)
			want, stderr, ok := libtiffDecode(t, tiffcp, name)
			if !ok {
				t.Logf("libtiff fails: %s; g3: %d pages, err %v", strings.TrimSpace(stderr), len(got), gerr)
				return
			}
			if len(got) != len(want) {
				t.Fatalf("g3 decoded %d pages (err %v), libtiff %d", len(got), gerr, len(want))
			}
			for i := range want {
				if !got[i].Equal(want[i]) {
					t.Errorf("page %d differs from libtiff (%dx%d vs %dx%d) %s; g3 err %v", i+1, got[i].Width, got[i].Height, want[i].Width, want[i].Height, diffRows(got[i], want[i]), gerr)
				}
			}
			if gerr != nil {
				t.Logf("g3 reports (pixels match libtiff): %v; libtiff: %s", gerr, strings.TrimSpace(stderr))
			}
		})
	}
}

// diffRows describes where two pages of the same size differ.
func diffRows(a, b *Page) string {
	if a.Width != b.Width || a.Height != b.Height {
		return ""
	}
	n, first := 0, -1
	for y := 0; y < a.Height; y++ {
		if !bytes.Equal(a.Row(y), b.Row(y)) {
			if first < 0 {
				first = y
			}
			n++
		}
	}
	return "in " + strconv.Itoa(n) + " rows from row " + strconv.Itoa(first)
}

// TestG3WithoutEOL decodes the two corpus files whose Group 3 strips have no EOLs (Compression=2
// data under the wrong tag), which libtiff 4.5 fails on: g3 decodes them as MH without EOLs.
func TestG3WithoutEOL(t *testing.T) {
	for _, c := range []struct {
		name               string
		w, h               int
		minBlack, maxBlack float64
	}{
		{"libtiffnet/G3_Premature_EOL.tif", 1728, 2320, 0.05, 0.4},
		{"twelvemonkeys/incorrect-compression-rle-as-g3.tif", 1700, 32, 0.05, 0.6},
	} {
		data, err := os.ReadFile(filepath.Join("../testdata/g3", c.name))
		if err != nil {
			t.Fatal(err)
		}
		pages, err := ReadTIFF(data)
		if err != nil || len(pages) != 1 || pages[0].Width != c.w || pages[0].Height != c.h {
			t.Fatalf("%s: %d pages, %v", c.name, len(pages), err)
		}
		black := 0
		for _, b := range pages[0].Pix {
			for ; b != 0; b &= b - 1 {
				black++
			}
		}
		if f := float64(black) / float64(c.w*c.h); f < c.minBlack || f > c.maxBlack {
			t.Errorf("%s: %.1f%% black", c.name, 100*f)
		}
	}
}

// TestWriteTIFFReadByLibtiff writes a multi-page TIFF Class F file in every coding and has libtiff
// decode it: the pages and their resolutions must come back.
func TestWriteTIFFReadByLibtiff(t *testing.T) {
	tiffcp := needTool(t, "tiffcp")
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	p.XRes, p.YRes = ResX, ResFine
	std, err := p.ResampleY(ResStandard)
	if err != nil {
		t.Fatal(err)
	}
	var cps []CodedPage
	for _, o := range []Options{
		{Compression: MH, Order: MSBFirst, NoTrailer: true},
		{Compression: MH, Order: LSBFirst, FillEOL: true}, // with RTC, and bit-reversed on writing
		{Compression: MR, K: 4, Order: MSBFirst},
		{Compression: MMR, Order: LSBFirst},
		{Compression: MH, Order: MSBFirst, NoEOL: true, AlignRows: true, NoTrailer: true}, // Compression=2
	} {
		c, err := EncodePages([]*Page{p}, o)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c...)
	}
	c, _ := EncodePages([]*Page{std}, Options{Compression: MR, K: 2, Order: MSBFirst, NoTrailer: true})
	cps = append(cps, c...)
	var b bytes.Buffer
	if err := WriteTIFF(&b, cps); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "fax.tif")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, stderr, ok := libtiffDecode(t, tiffcp, name)
	if !ok || len(got) != len(cps) {
		t.Fatalf("libtiff: ok %v, %d pages: %s", ok, len(got), stderr)
	}
	for i, q := range got {
		want := p
		if i == len(cps)-1 {
			want = std
		}
		if !q.Equal(want) || q.XRes != ResX || q.YRes != want.YRes {
			t.Errorf("page %d (%+v): libtiff reads %dx%d at %dx%d dpi, differing %s", i+1, cps[i].Opts, q.Width, q.Height, q.XRes, q.YRes, diffRows(q, want))
		}
	}
}
