// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/faxseal/faxseal/g3"
)

// Header is the line a fax machine prints across the top of every page it sends, its "transmitting
// terminal identification". In the US it is required: 47 CFR §68.318(d) asks for the date and
// time, the sender's name and the sending number on each page. It is drawn when a page is
// encoded, so a retry prints the time of that attempt.
type Header struct {
	// Time is when the fax is sent, printed in its own location (pass a time in the sender's
	// zone to print local time).
	Time time.Time
	// From is the sender's fax number (the caller ID), E.164.
	From string
	// Name is the sender's name or company, optional.
	Name string
	// To is the destination number, optional.
	To string
}

// The header band: headerRows rows at the top of every page, reserved by Render (the page's own
// top margin when it is blank, else rows added above it). headerRows is 4.4 mm at fine resolution.
const (
	headerTop    = 6
	headerRows   = headerTop + glyphH*fontScale + 7
	headerMargin = 48 // pixels from the left and right edges, 6 mm
)

// Lines returns the two parts of the header of page n (1-based) of pages: the left part (date,
// time, sender, recipient) and the right part (the page number). The left part is cut to fit.
func (h *Header) Lines(n, pages, width int) (left, right string) {
	var b strings.Builder
	if !h.Time.IsZero() {
		b.WriteString(h.Time.Format("2006-01-02 15:04 MST"))
	}
	field := func(label, v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString("  ")
		}
		b.WriteString(label + v)
	}
	field("FROM ", h.From)
	field("", h.Name)
	field("TO ", h.To)
	right = fmt.Sprintf("P.%d/%d", n, pages)
	room := headerCells(width) - len(right) - 2
	left = strings.ToUpper(b.String())
	if r := []rune(left); len(r) > room {
		left = string(r[:max(room, 0)])
	}
	return left, right
}

// draw clears the header band of p and draws the header of page n of pages into it.
func (h *Header) draw(p *g3.Page, n, pages int) {
	for y := 0; y < headerRows && y < p.Height; y++ {
		clear(p.Row(y))
	}
	left, right := h.Lines(n, pages, p.Width)
	drawText(p, headerMargin, headerTop, left)
	// The right part ends at the right margin, on the same grid of cells as the left part.
	drawText(p, headerMargin+(headerCells(p.Width)-len(right))*cellW, headerTop, right)
}

// headerCells is the number of character cells between the margins of a page width wide (the
// last glyph needs no space after it).
func headerCells(width int) int { return (width - 2*headerMargin + fontScale) / cellW }

// drawText draws s with its top-left corner at (x, y), clipping at the page edges.
func drawText(p *g3.Page, x, y int, s string) {
	for _, r := range s {
		g := glyphFor(r)
		for gy := 0; gy < glyphH; gy++ {
			for gx := 0; gx < glyphW; gx++ {
				if g[gy][gx] != '#' {
					continue
				}
				for dy := 0; dy < fontScale; dy++ {
					for dx := 0; dx < fontScale; dx++ {
						px, py := x+gx*fontScale+dx, y+gy*fontScale+dy
						if px >= 0 && px < p.Width && py >= 0 && py < p.Height {
							p.Set(px, py, true)
						}
					}
				}
			}
		}
		x += cellW
	}
}
