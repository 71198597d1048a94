// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
)

var testHeader = Header{Time: time.Date(2026, 12, 1, 7, 45, 0, 0, time.UTC), From: "+14155550123", Name: "Acme Health", To: "+12125550001"}

func render(t testing.TB, pages []testPage, opts Options) *Document {
	t.Helper()
	d, err := Render(context.Background(), makePDF(pages), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// blackIn counts the black pixels of p in rows [y0, y1) and columns [x0, x1).
func blackIn(p *g3.Page, x0, y0, x1, y1 int) int {
	n := 0
	for y := y0; y < y1 && y < p.Height; y++ {
		for x := x0; x < x1; x++ {
			if p.At(x, y) {
				n++
			}
		}
	}
	return n
}

// inkBox is the bounding box of the black pixels below the header band.
func inkBox(p *g3.Page) (x0, y0, x1, y1 int) {
	x0, y0 = p.Width, p.Height
	for y := headerRows; y < p.Height; y++ {
		for x := 0; x < p.Width; x++ {
			if p.At(x, y) {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
			}
		}
	}
	return
}

// A filled rectangle of known position (in points from the top-left) shows where each page
// size lands on the fax page.
func rectOps(h float64) string { return "0 g 72 " + ftoa(h-144) + " 144 72 re f\n" } // 1 x 2 in box, 1 in from the left and top

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func TestRenderPageSizes(t *testing.T) {
	const dpiX, dpiY = 204.0, 196.0
	for _, tc := range []struct {
		name   string
		page   testPage
		rows   int     // page height in rows
		scale  float64 // of the page to the fax line
		left   float64 // pixels of white added (+) or cropped (-) on the left
		turned bool
	}{
		{"letter", testPage{W: letterW, H: letterH}, 2156, 1, -3, false},
		{"a4", testPage{W: a4W, H: a4H}, 2292, 1, (1728 - 595.28/72*dpiX) / 2, false},
		{"legal", testPage{W: legalW, H: legalH}, 2744, 1, -3, false},
		{"a3 scaled", testPage{W: 841.89, H: 1190.55}, 2348, 1728 / (841.89 / 72 * dpiX), 0, false},
		{"letter landscape", testPage{W: letterH, H: letterW}, 2156, 1, -3, true},
		{"letter rotated", testPage{W: letterW, H: letterH, Rotate: 90}, 2156, 1, -3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pg := tc.page
			pg.Ops = rectOps(pg.H)
			d := render(t, []testPage{pg}, Options{})
			p, err := d.Page(0)
			if err != nil {
				t.Fatal(err)
			}
			if p.Width != 1728 || p.XRes != 204 || p.YRes != 196 {
				t.Fatalf("page %dx%d at %dx%d dpi", p.Width, p.Height, p.XRes, p.YRes)
			}
			if p.Height < tc.rows-1 || p.Height > tc.rows+1 {
				t.Errorf("height %d rows, want %d", p.Height, tc.rows)
			}
			x0, y0, x1, y1 := inkBox(p)
			// The box is 2 in wide and 1 in tall, 1 in from the left and top edges of the page; a
			// landscape page is turned counter-clockwise, which puts the box 1 in wide and 2 in
			// tall, 1 in from the left edge and 1 in from the bottom.
			wantX0, wantY0, wantW, wantH := 72.0, 72.0, 144.0, 72.0
			if tc.turned && tc.page.Rotate == 0 {
				wantX0, wantY0, wantW, wantH = 72, tc.page.W-72-144, 72, 144
			}
			if tc.page.Rotate == 90 {
				// /Rotate 90 turns the page clockwise for display; Render then turns it back:
				// the box keeps its place on the unrotated MediaBox.
				wantX0, wantY0, wantW, wantH = 72, 72, 144, 72
			}
			s := tc.scale
			check := func(what string, got int, want float64) {
				t.Helper()
				if d := float64(got) - want; d < -3 || d > 3 {
					t.Errorf("%s = %d, want %.0f", what, got, want)
				}
			}
			check("left", x0, wantX0/72*dpiX*s+tc.left)
			check("top", y0, wantY0/72*dpiY*s)
			check("width", x1-x0, wantW/72*dpiX*s)
			check("height", y1-y0, wantH/72*dpiY*s)
			if n, want := blackIn(p, x0, y0, x1, y1), (x1-x0)*(y1-y0); n != want {
				t.Errorf("box has %d black pixels of %d: not solid", n, want)
			}
		})
	}
}
