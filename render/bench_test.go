// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// benchPDF is the 10-page text document of the measurements brief: 50 lines of 10 pt text a page.
func benchPDF() []byte {
	var pages []testPage
	for p := range 10 {
		var lines []string
		for l := range 50 {
			lines = append(lines, fmt.Sprintf("Page %d line %d: the quick brown fox jumps over the lazy dog, 0123456789 ABCDEFGHIJKLM", p+1, l+1))
		}
		pages = append(pages, testPage{W: letterW, H: letterH, Size: 10, Lines: lines})
	}
	return makePDF(pages)
}

// BenchmarkRender is the whole of Render: pdfcpu validation, pdftoppm, halftoning, MMR coding.
func BenchmarkRender(b *testing.B) {
	pdf := benchPDF()
	h := testHeader
	b.SetBytes(int64(len(pdf)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := Render(context.Background(), pdf, Options{Header: &h}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N*10), "ms/page")
}

// BenchmarkRenderVsPdftoppm is the anchor measured side by side, interleaved so that the load of
// a shared machine falls on both alike: each iteration runs pdftoppm alone on the same document,
// in grey (what Render reads) and in mono (poppler's own bilevel output, the figure of the
// measurements brief), both to /dev/null, and then Render. It reports ms/page for each and the
// ratios.
func BenchmarkRenderVsPdftoppm(b *testing.B) {
	pdf := benchPDF()
	h := testHeader
	var tGray, tMono, tRender time.Duration
	pdftoppm := func(mode string) time.Duration {
		start := time.Now()
		cmd := exec.Command("pdftoppm", "-q", mode, "-rx", "204", "-ry", "196", "-")
		cmd.Stdin = bytes.NewReader(pdf)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for b.Loop() {
		tGray += pdftoppm("-gray")
		tMono += pdftoppm("-mono")
		start := time.Now()
		if _, err := Render(context.Background(), pdf, Options{Header: &h}); err != nil {
			b.Fatal(err)
		}
		tRender += time.Since(start)
	}
	perPage := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N*10) }
	b.ReportMetric(perPage(tGray), "gray-ms/page")
	b.ReportMetric(perPage(tMono), "mono-ms/page")
	b.ReportMetric(perPage(tRender), "render-ms/page")
	b.ReportMetric(float64(tRender)/float64(tGray), "render/gray")
	b.ReportMetric(float64(tRender)/float64(tMono), "render/mono")
}

// BenchmarkEncode is what a call asks of the Document per page: decode the stored MMR, draw the
// header, convert and code.
func BenchmarkEncode(b *testing.B) {
	h := testHeader
	d, err := Render(context.Background(), benchPDF(), Options{Header: &h})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []t30.Format{
		{Compression: t30.MMR, Resolution: t30.Fine, Width: t30.WidthA4, ECM: true},
		{Compression: t30.MR, Resolution: t30.Fine, Width: t30.WidthA4, MinRowBits: 192},
		{Compression: t30.MH, Resolution: t30.Standard, Width: t30.WidthA4, MinRowBits: 192},
	} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				data, err := d.Encode(n%d.Pages(), f)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				n++
			}
		})
	}
}

// BenchmarkHalftone is the halftoning of one dense text page (Letter, 50 lines of 10 pt).
func BenchmarkHalftone(b *testing.B) {
	var lines []string
	for l := range 50 {
		lines = append(lines, fmt.Sprintf("Line %d: the quick brown fox jumps over the lazy dog, 0123456789 ABCDEFGHIJKLM", l+1))
	}
	pdf := makePDF([]testPage{{W: a4W, H: a4H, Size: 10, Lines: lines, Gray: true}})
	cmd := exec.Command("pdftoppm", "-q", "-gray", "-rx", "204", "-ry", "196", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		b.Fatal(err)
	}
	var g grayImage
	if err := readPGM(bufio.NewReader(bytes.NewReader(out)), 1<<24, &g); err != nil {
		b.Fatal(err)
	}
	p := g3.Page{Width: g.W, Height: g.H, Stride: (g.W + 7) / 8, Pix: make([]byte, (g.W+7)/8*g.H)}
	errRow := make([]int32, 2*(g.W+2))
	for _, h := range []Halftone{Auto, Threshold, Ordered, Diffusion} {
		b.Run(h.String(), func(b *testing.B) {
			b.SetBytes(int64(len(g.Pix)))
			b.ReportAllocs()
			for b.Loop() {
				binarise(&p, &g, h, DefaultThreshold, errRow)
			}
		})
	}
}
