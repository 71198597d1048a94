// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/g3"
)

// TestConvert runs the command through the dispatcher table: TIFF -> TIFF/PDF/PBM/PNG in every
// coding and back, checking pixels, resolution changes and width fitting.
func TestConvert(t *testing.T) {
	dir := t.TempDir()
	src := "../../testdata/g3/ccitt8/CCITT_2.TIF"
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := g3.ReadTIFF(data)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		var out bytes.Buffer
		old := stdout
		stdout = &out
		defer func() { stdout = old }()
		if err := commands["convert"].run(context.Background(), args); err != nil {
			t.Fatalf("convert %v: %v", args, err)
		}
		if !strings.Contains(out.String(), "page(s)") {
			t.Fatalf("convert %v printed %q", args, out.String())
		}
	}
	read := func(name string) []*g3.Page {
		t.Helper()
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		pages, err := g3.ReadTIFF(b)
		if err != nil {
			t.Fatal(err)
		}
		return pages
	}
	for _, c := range []string{"mh", "mr", "mmr"} {
		out := filepath.Join(dir, c+".tif")
		run(src, out, "--compression", c)
		if got := read(out); len(got) != 1 || !got[0].Equal(orig[0]) || got[0].YRes != 200 {
			t.Errorf("%s: TIFF round trip differs", c)
		}
	}
	// Flags before the names, standard resolution, fitting an A4 page into B4 width (centred).
	std := filepath.Join(dir, "std.tif")
	run("--resolution", "standard", "--compression", "mr", "--k", "2", "--width", "2048", src, std)
	got := read(std)
	if len(got) != 1 || got[0].YRes != g3.ResStandard || got[0].Height != 1164 || got[0].Width != 2048 {
		t.Fatalf("standard: %dx%d at %d lpi", got[0].Width, got[0].Height, got[0].YRes)
	}
	// PBM and PNG out and back in.
	pbm := filepath.Join(dir, "p.pbm")
	run(src, pbm)
	f, err := os.Open(pbm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g3.ReadPBM(f)
	f.Close()
	if err != nil || !p.Equal(orig[0]) {
		t.Fatalf("PBM: %v", err)
	}
	png := filepath.Join(dir, "p.png")
	run(pbm, png)
	back := filepath.Join(dir, "back.tif")
	run(png, back, "--compression", "mh")
	if got := read(back); !got[0].Equal(orig[0]) || got[0].YRes != g3.ResFine {
		t.Fatal("PNG round trip differs")
	}
	// PDF out: poppler must see one page holding a CCITT image.
	pdf := filepath.Join(dir, "p.pdf")
	run(src, pdf, "--compression", "mmr")
	if tool, err := exec.LookPath("pdfimages"); err == nil {
		list, err := exec.Command(tool, "-list", pdf).CombinedOutput()
		if err != nil || !strings.Contains(string(list), "1728  2376  gray    1   1  ccitt") {
			t.Fatalf("pdfimages: %v\n%s", err, list)
		}
	}
	for _, bad := range [][]string{{src}, {src, pdf, "--compression", "jbig"}, {src, pdf, "--resolution", "ultra"}, {pdf, back}, {src, filepath.Join(dir, "x.jpg")}} {
		var out bytes.Buffer
		old := stdout
		stdout = &out
		err := commands["convert"].run(context.Background(), bad)
		stdout = old
		if err == nil {
			t.Errorf("convert %v: no error", bad)
		}
	}
}
