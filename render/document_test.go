// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// readHeader reads the header line back from a page by matching every character cell against the
// font, sampling each font pixel at the middle of its square; fineRow maps a row of the fine page
// to the row of p (p may be at another resolution). A cell that matches no glyph reads '~'.
func readHeader(p *g3.Page, fineRow func(int) int) string {
	var b strings.Builder
	for c := range headerCells(p.Width) {
		x := headerMargin + c*cellW
		var cell [glyphH][glyphW]bool
		for gy := 0; gy < glyphH; gy++ {
			y := fineRow(headerTop + gy*fontScale + fontScale/2)
			for gx := 0; gx < glyphW; gx++ {
				cell[gy][gx] = y < p.Height && p.At(x+gx*fontScale+fontScale/2, y)
			}
		}
		got := '~'
		for r, g := range glyphs {
			match := true
			for gy := 0; gy < glyphH && match; gy++ {
				for gx := 0; gx < glyphW; gx++ {
					if (g[gy][gx] == '#') != cell[gy][gx] {
						match = false
						break
					}
				}
			}
			if match {
				got = r
				break
			}
		}
		b.WriteRune(got)
	}
	return b.String()
}

// wantHeader is the header as readHeader should read it: left part, spaces, right part.
func wantHeader(h *Header, n, pages, width int) string {
	left, right := h.Lines(n, pages, width)
	return left + strings.Repeat(" ", headerCells(width)-len(left)-len(right)) + right
}

func TestFontGlyphsDistinct(t *testing.T) {
	seen := map[[glyphH]string]rune{}
	for r, g := range glyphs {
		for _, row := range g {
			if len(row) != glyphW || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q: bad row %q", r, row)
			}
		}
		if o, ok := seen[g]; ok {
			t.Errorf("glyphs %q and %q are the same", r, o)
		}
		seen[g] = r
	}
}

// The header on every page, read back after a fax round trip at each resolution and coding.
func TestHeaderRoundTrip(t *testing.T) {
	h := testHeader
	d := render(t, []testPage{textPage("one"), textPage("two"), textPage("three")}, Options{Header: &h})
	for _, f := range []t30.Format{
		{Compression: t30.MMR, Resolution: t30.Fine, Width: t30.WidthA4, ECM: true},
		{Compression: t30.MR, Resolution: t30.Standard, Width: t30.WidthA4, MinRowBits: 4800 * 20 / 1000},
		{Compression: t30.MH, Resolution: t30.Superfine, Width: t30.WidthA4},
	} {
		t.Run(f.String(), func(t *testing.T) {
			for n := range d.Pages() {
				p := encodeDecode(t, d, n, f)
				rows := func(y int) int { return y }
				switch f.Resolution {
				case t30.Standard:
					rows = func(y int) int { return y / 2 }
				case t30.Superfine:
					rows = func(y int) int { return y * 2 }
				}
				got, want := readHeader(p, rows), wantHeader(&h, n+1, 3, 1728)
				if got != want {
					t.Errorf("page %d header\n got %q\nwant %q", n+1, got, want)
				}
			}
		})
	}
	if !strings.HasPrefix(wantHeader(&h, 2, 3, 1728), "2026-12-01 07:45 UTC  FROM +14155550123  ACME HEALTH  TO +12125550001 ") ||
		!strings.HasSuffix(wantHeader(&h, 2, 3, 1728), " P.2/3") {
		t.Errorf("header text %q", wantHeader(&h, 2, 3, 1728))
	}
	// Without a header the band stays white.
	d.Header = nil
	p, err := d.Page(0)
	if err != nil {
		t.Fatal(err)
	}
	if n := blackIn(p, 0, 0, p.Width, headerRows); n != 0 {
		t.Errorf("%d black pixels in the band without a header", n)
	}
}

// encodeDecode codes page n in format f as t30 asks for it and decodes it as a receiver would.
func encodeDecode(t testing.TB, d *Document, n int, f t30.Format) *g3.Page {
	t.Helper()
	data, err := d.Encode(n, f)
	if err != nil {
		t.Fatal(err)
	}
	comp := map[t30.Compression]g3.Compression{t30.MH: g3.MH, t30.MR: g3.MR, t30.MMR: g3.MMR}[f.Compression]
	p, st, err := g3.Decode(data, g3.Options{Compression: comp, K: 4, Width: f.Width, Order: g3.LSBFirst})
	if err != nil || st.BadRows != 0 {
		t.Fatalf("decode %v: %v, %+v", f, err, st)
	}
	return p
}

// Encode at every format gives the fine page, with rows dropped (standard), repeated
// (superfine) or centred (B4).
func TestEncodeFormats(t *testing.T) {
	pg := textPage("Fax pages at every resolution", "and width")
	pg.Gray = true
	h := testHeader
	d := render(t, []testPage{pg}, Options{Header: &h})
	fine, err := d.Page(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []t30.Compression{t30.MH, t30.MR, t30.MMR} {
		for _, r := range []t30.Resolution{t30.Standard, t30.Fine, t30.Superfine} {
			for _, w := range []int{t30.WidthA4, t30.WidthB4} {
				f := t30.Format{Compression: c, Resolution: r, Width: w, ECM: c == t30.MMR}
				if c != t30.MMR {
					f.MinRowBits = 9600 * 10 / 1000
				}
				t.Run(f.String(), func(t *testing.T) {
					p := encodeDecode(t, d, 0, f)
					off := (w - 1728) / 2
					wantH := map[t30.Resolution]int{t30.Standard: (fine.Height + 1) / 2, t30.Fine: fine.Height, t30.Superfine: (fine.Height*391 + 98) / 196}[r]
					if p.Width != w || p.Height != wantH {
						t.Fatalf("decoded %dx%d, want %dx%d", p.Width, p.Height, w, wantH)
					}
					bad := 0
					for y := 0; y < p.Height; y++ {
						fy := map[t30.Resolution]int{t30.Standard: 2 * y, t30.Fine: y, t30.Superfine: y * fine.Height / p.Height}[r]
						for x := 0; x < w; x++ {
							want := x >= off && x < off+1728 && fine.At(x-off, fy)
							if p.At(x, y) != want {
								bad++
							}
						}
					}
					if bad != 0 {
						t.Errorf("%d pixels differ from the fine page", bad)
					}
				})
			}
		}
	}
	if _, err := d.Encode(0, t30.Format{Resolution: t30.Fine, Width: 1728}); err == nil {
		t.Error("Encode without a compression succeeded")
	}
	if _, err := d.Encode(1, t30.Format{Compression: t30.MH, Resolution: t30.Fine, Width: 1728}); err == nil {
		t.Error("Encode of a page past the end succeeded")
	}
}

// Coded pages stored as TIFF come back as the same Document.
func TestCodedTIFFRoundTrip(t *testing.T) {
	h := testHeader
	d := render(t, []testPage{textPage("stored"), {W: a4W, H: a4H, Lines: []string{"second"}}}, Options{Header: &h})
	coded, err := d.Coded(g3.MMR)
	if err != nil {
		t.Fatal(err)
	}
	var tiff bytes.Buffer
	if err := g3.WriteTIFF(&tiff, coded); err != nil {
		t.Fatal(err)
	}
	pages, err := g3.ReadTIFF(tiff.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	h2 := h
	h2.Time = h.Time.Add(90 * 60e9) // a retry 90 minutes later
	d2, err := NewDocument(pages, &h2)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Pages() != 2 {
		t.Fatalf("%d pages", d2.Pages())
	}
	for n := range 2 {
		a, _ := d.Page(n)
		b, _ := d2.Page(n)
		if !a.Equal(&g3.Page{Width: b.Width, Height: b.Height, Stride: b.Stride, Pix: b.Pix}) {
			// Only the header time differs.
			if blackIn(a, 0, headerRows, a.Width, a.Height) != blackIn(b, 0, headerRows, b.Width, b.Height) {
				t.Errorf("page %d body differs after the TIFF round trip", n+1)
			}
		}
		if got := readHeader(b, func(y int) int { return y }); !strings.HasPrefix(got, "2026-12-01 09:15 UTC") {
			t.Errorf("page %d header after retry %q", n+1, got)
		}
	}
	if _, err := NewDocument([]*g3.Page{{Width: 2048, Height: 1, Stride: 256, YRes: 196, Pix: make([]byte, 256)}}, nil); err == nil {
		t.Error("NewDocument took a B4 page")
	}
}

// A page with ink in its top margin gets the header band added above it rather than drawn over
// it.
func TestHeaderBandAdded(t *testing.T) {
	full := testPage{W: letterW, H: letterH, Ops: "0 g 0 782 612 10 re f\n"} // a bar along the top edge
	d := render(t, []testPage{full, textPage("margin")}, Options{Header: &Header{From: "+14155550123"}})
	p0, _ := d.Page(0)
	p1, _ := d.Page(1)
	if p0.Height != p1.Height+headerRows {
		t.Errorf("heights %d and %d: band not added to the full page", p0.Height, p1.Height)
	}
	if n := blackIn(p0, 0, headerRows, 1728, headerRows+20); n < 1728*20*9/10 {
		t.Errorf("top bar has %d black pixels under the band", n)
	}
}

func TestHalftone(t *testing.T) {
	pg := testPage{W: letterW, H: letterH, Gray: true, Lines: []string{"Text beside a photo"}}
	// The ramp runs from black (left) to white (right) over 4 in: 816 pixels from x = 204-3.
	frac := func(p *g3.Page, x0 int) float64 {
		// Black fraction of a 32-pixel-wide strip in the middle of the ramp's height.
		y0 := int((792 - 72 - 216 + 54) / 72.0 * 196)
		return float64(blackIn(p, x0, y0, x0+32, y0+64)) / (32 * 64)
	}
	for _, h := range []Halftone{Auto, Ordered, Diffusion, Threshold} {
		t.Run(h.String(), func(t *testing.T) {
			d := render(t, []testPage{pg}, Options{Halftone: h})
			p, _ := d.Page(0)
			var fs []float64
			for i := 1; i < 8; i++ {
				fs = append(fs, frac(p, 201+816*i/8-16))
			}
			t.Logf("black fraction along the ramp: %.2f", fs)
			if h == Threshold {
				// A hard edge: black up to the threshold, white after.
				if fs[0] != 1 || fs[6] != 0 {
					t.Errorf("threshold ramp %.2f", fs)
				}
				return
			}
			for i, f := range fs {
				if h == Auto && (i == 0 || i == 6) {
					// Auto leaves near-black and near-white (outside [midLow, midHigh]) to
					// the threshold.
					continue
				}
				want := 1 - float64(i+1)/8
				if f < want-0.12 || f > want+0.12 {
					t.Errorf("at %d/8 of the ramp %.2f black, want about %.2f", i+1, f, want)
				}
			}
			// The text is thresholded in every method but Ordered and Diffusion.
			if h == Auto && blackIn(p, 0, headerRows, 1728, 300) == 0 {
				t.Error("no text")
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	good := makePDF([]testPage{textPage("hello")})
	for _, tc := range []struct {
		name string
		pdf  []byte
		opts Options
		code string
		page int
	}{
		{"encrypted", encryptPDF(t, good, "user", "owner"), Options{}, CodeEncrypted, 0},
		{"broken", bytes.Replace(bytes.Clone(good), []byte("/Type /Pages"), []byte("/Type /Xages"), 1), Options{}, CodeInvalid, 0},
		// pdfcpu rebuilds the cross-reference table of this cut file and finds the page, whose
		// content poppler then cannot read: the rasteriser fails on page 1.
		{"unrenderable", good[:200], Options{}, CodeFailed, 1},
		{"not pdf", []byte("hello"), Options{}, CodeNotPDF, 0},
		{"too long", makePDF([]testPage{textPage("a"), {W: 612, H: 14400}}), Options{}, CodePageTooLarge, 2},
		{"too many pages", makePDF([]testPage{textPage("a"), textPage("b")}), Options{Limits: Limits{MaxPages: 1}}, CodeTooManyPages, 0},
		{"timeout", good, Options{Limits: Limits{Timeout: 1}}, CodeTimeout, 0},
		{"no rasteriser", good, Options{Pdftoppm: "no-such-pdftoppm"}, CodeFailed, 0},
		// 5 MB of address space is too little for pdftoppm even to load its libraries.
		{"out of memory", good, Options{Limits: Limits{MaxMemory: 5e6}}, CodeFailed, 1},
		// A 194 in page allowed by the length limit needs a 66 MB raster: poppler fails to
		// allocate it under an 80 MB bound and pdftoppm dies alone.
		{"raster over the memory bound", makePDF([]testPage{{W: 612, H: 14000}}), Options{Limits: Limits{MaxPageLength: 200, MaxMemory: 80e6}}, CodeFailed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(context.Background(), tc.pdf, tc.opts)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Page != tc.page || !errors.Is(err, sentinels[tc.code]) {
				t.Fatalf("err = %v, want code %s page %d", err, tc.code, tc.page)
			}
			t.Log(err)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, good, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// A rasteriser that hangs is killed at the timeout. The stand-in is a script that never writes;
// a real hostile PDF would need minutes of poppler time to show the same.
func TestRenderTimeoutKills(t *testing.T) {
	script := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Render(context.Background(), makePDF([]testPage{textPage("x")}), Options{Pdftoppm: script, Limits: Limits{Timeout: 300 * time.Millisecond}})
	if ErrorCode(err) != CodeTimeout {
		t.Fatalf("err = %v, want %s", err, CodeTimeout)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Render returned after %v: the process was not killed", d)
	}
}

// An owner-password-only PDF opens without a password; it renders.
func TestRenderOwnerPasswordOnly(t *testing.T) {
	pdf := encryptPDF(t, makePDF([]testPage{{W: letterW, H: letterH, Ops: rectOps(letterH)}}), "", "owner")
	d, err := Render(context.Background(), pdf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := d.Page(0)
	if n := blackIn(p, 0, 0, p.Width, p.Height); n < 400*190 {
		t.Errorf("%d black pixels: the box is missing", n)
	}
}

// Pages of different layouts in one document come out in order.
func TestRenderMixedOrder(t *testing.T) {
	var pages []testPage
	sizes := []testPage{{W: letterW, H: letterH}, {W: letterH, H: letterW}, {W: letterW, H: letterH}, {W: 841.89, H: 1190.55}, {W: letterW, H: letterH, Rotate: 270}}
	for i, s := range sizes {
		s.Lines = []string{fmt.Sprint("page ", i+1)}
		// i+1 boxes in a row, to tell the pages apart.
		for k := 0; k <= i; k++ {
			s.Ops += fmt.Sprintf("0 g %d %g 20 20 re f\n", 300+k*40, s.H/2)
		}
		pages = append(pages, s)
	}
	d := render(t, pages, Options{})
	if d.Pages() != len(sizes) || d.Info.Pages != len(sizes) {
		t.Fatalf("%d pages", d.Pages())
	}
	for n := range d.Pages() {
		p, _ := d.Page(n)
		if p.Width != 1728 || p.Height < 2000 {
			t.Errorf("page %d is %dx%d", n+1, p.Width, p.Height)
		}
		// Count separate boxes: runs of black along the row through their middle, after the
		// turn for landscape pages (a column then) - simply count blobs of at least 15x15.
		if got := countBoxes(p); got != n+1 {
			t.Errorf("page %d has %d boxes, want %d", n+1, got, n+1)
		}
	}
}

// countBoxes counts the solid squares of at least 15 x 15 pixels (text strokes are thinner).
func countBoxes(p *g3.Page) int {
	seen := make([]bool, p.Width*p.Height)
	n := 0
	for y := 0; y+15 < p.Height; y++ {
		for x := 0; x+15 < p.Width; x++ {
			if !p.At(x, y) || seen[y*p.Width+x] || blackIn(p, x, y, x+15, y+15) != 225 {
				continue
			}
			n++
			// Flood the square's neighbourhood.
			for yy := max(0, y-60); yy < min(p.Height, y+60); yy++ {
				for xx := max(0, x-60); xx < min(p.Width, x+60); xx++ {
					seen[yy*p.Width+xx] = true
				}
			}
		}
	}
	return n
}
