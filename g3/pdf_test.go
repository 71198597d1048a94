// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPDFRendersWithPoppler writes a PDF from coded pages in every mode and renders it with
// pdftoppm at the pages' own resolution: each rendered page must have the page's pixel size and
// pixels, and pdfinfo must report the page size the resolution implies.
func TestPDFRendersWithPoppler(t *testing.T) {
	pdftoppm := needTool(t, "pdftoppm")
	pdfinfo := needTool(t, "pdfinfo")
	p := readPBMFile(t, "../testdata/g3/itu/itu1.pbm")
	p.XRes, p.YRes = ResX, ResFine
	std, err := p.ResampleY(ResStandard)
	if err != nil {
		t.Fatal(err)
	}
	var cps []CodedPage
	for _, o := range []Options{
		{Compression: MMR, Order: MSBFirst},
		{Compression: MH, Order: LSBFirst, FillEOL: true},
		{Compression: MR, K: 4, Order: MSBFirst, NoTrailer: true},
		{Compression: MH, Order: MSBFirst, NoEOL: true, AlignRows: true, NoTrailer: true},
		{Compression: MMR, Order: MSBFirst, AlignRows: true},
		{Compression: MR, K: 4, Order: MSBFirst, AlignRows: true}, // EOL and tag bit on a byte boundary
	} {
		c, err := EncodePages([]*Page{p}, o)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c...)
	}
	c, err := EncodePages([]*Page{std}, Options{Compression: MR, K: 2, Order: MSBFirst})
	if err != nil {
		t.Fatal(err)
	}
	cps = append(cps, c...)

	dir := t.TempDir()
	name := filepath.Join(dir, "fax.pdf")
	var b bytes.Buffer
	if err := WritePDF(&b, cps); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command(pdfinfo, "-f", "1", "-l", "7", name).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, info)
	}
	// 1728 px at 204 dpi = 609.88 pt; 2376 rows at 196 lpi = 872.82 pt; the standard page 1188 rows at 98.
	if !strings.Contains(string(info), "Pages:           7") || strings.Count(string(info), "size:  609.882 x 872.816 pts") != 7 {
		t.Errorf("pdfinfo:\n%s", info)
	}
	// poppler's own decoding of each image must equal the page, at the page's resolution.
	list, err := exec.Command(needTool(t, "pdfimages"), "-list", name).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfimages: %v: %s", err, list)
	}
	if n := strings.Count(string(list), "ccitt  no"); n != 7 || strings.Count(string(list), "204   196") != 6 || strings.Count(string(list), "204    98") != 1 {
		t.Errorf("pdfimages -list:\n%s", list)
	}
	if msg, err := exec.Command("pdfimages", name, filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v: %s", err, msg)
	}
	for i, cp := range cps {
		got := readPBMFile(t, filepath.Join(dir, fmt.Sprintf("img-%03d.pbm", i)))
		want := p
		if cp.YRes == ResStandard {
			want = std
		}
		if !got.Equal(want) {
			t.Errorf("page %d (%+v): poppler decodes %dx%d, differing from the page %s", i+1, cp.Opts, got.Width, got.Height, diffRows(got, want))
		}
	}
	// And the pages render: pdftoppm at the fax resolution gives the page's size in pixels and, after
	// its smoothing, nearly the same pixels.
	out := filepath.Join(dir, "r")
	cmd := exec.Command(pdftoppm, "-f", "1", "-l", "1", "-mono", "-rx", "204", "-ry", "196", "-scale-to-x", "1728", "-scale-to-y", "2376", "-singlefile", name, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, msg)
	}
	r := readPBMFile(t, out+".pbm")
	if r.Width != p.Width || r.Height != p.Height {
		t.Fatalf("pdftoppm renders %dx%d", r.Width, r.Height)
	}
	diff := 0
	for y := 0; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if r.At(x, y) != p.At(x, y) {
				diff++
			}
		}
	}
	if frac := float64(diff) / float64(p.Width*p.Height); frac > 0.02 {
		t.Errorf("pdftoppm's rendering differs from the page in %.1f%% of the pixels", 100*frac)
	}
}
