// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestEncodeMatchesLibtiff codes each CCITT chart with libtiff (tiffcp -c g3/g4, one strip) and with
// g3 using the options libtiff implies, and requires the same bytes. libtiff writes no RTC for Group
// 3 (NoTrailer), an EOL before every row, EOFB for Group 4, and picks K=4 above 150 lpi, else 2.
func TestEncodeMatchesLibtiff(t *testing.T) {
	tiffcp := needTool(t, "tiffcp")
	cases := []struct {
		scheme string
		opts   Options
	}{
		{"g3:1d", Options{Compression: MH, NoTrailer: true}},
		{"g3:1d:fill", Options{Compression: MH, NoTrailer: true, FillEOL: true}},
		{"g3:2d", Options{Compression: MR, NoTrailer: true}},
		{"g3:2d:fill", Options{Compression: MR, NoTrailer: true, FillEOL: true}},
		{"g4", Options{Compression: MMR}},
	}
	charts := []string{"CCITT_1", "CCITT_2", "CCITT_3", "CCITT_4", "CCITT_5", "CCITT_6", "CCITT_7", "CCITT_8"}
	if testing.Short() {
		charts = charts[:2]
	}
	var e Encoder
	for _, chart := range charts {
		src := filepath.Join("../testdata/g3/ccitt8", chart+".TIF")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		pages, err := ReadTIFF(data)
		if err != nil || len(pages) != 1 {
			t.Fatalf("%s: %v", chart, err)
		}
		p := pages[0]
		for _, c := range cases {
			for _, fill := range []string{"msb2lsb", "lsb2msb"} {
				out := filepath.Join(t.TempDir(), "out.tif")
				cmd := exec.Command(tiffcp, "-c", c.scheme, "-f", fill, "-r", strconv.Itoa(p.Height), src, out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("tiffcp: %v: %s", err, b)
				}
				ref, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				tps, err := ParseTIFF(ref)
				if err != nil || len(tps) != 1 || len(tps[0].Strips) != 1 {
					t.Fatalf("%s %s: libtiff output: %v", chart, c.scheme, err)
				}
				want := tps[0].Strips[0]
				o := c.opts
				o.Width, o.Order = p.Width, tps[0].Opts.Order
				if o.Compression == MR {
					o.K = KForResolution(tps[0].YRes)
				}
				got, err := e.EncodePage(nil, p, o)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s %s %s: g3 %d bytes, libtiff %d, first difference at byte %s", chart, c.scheme, fill, len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
}

func firstDiff(a, b []byte) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return strconv.Itoa(i)
		}
	}
	return fmt.Sprint(min(len(a), len(b)))
}
