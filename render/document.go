// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"fmt"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// A Document is a rendered fax: its pages at fine resolution (204 x 196 dpi), 1728 pixels wide,
// each with a blank header band at the top, kept MMR-coded. It is the t30.Source of a sending
// session: Encode codes a page in whatever format the call negotiated, drawing the Header into
// the band. A Document is not safe for concurrent use; one call uses it at a time.
type Document struct {
	// Header is drawn on every page Page, Encode and Coded return; nil means none. Set its
	// Time before each attempt.
	Header *Header
	// Info is what Inspect found (nil for NewDocument).
	Info  *Info
	pages []g3.CodedPage
}

// Compile-time check that a Document is what t30 sends from.
var _ t30.Source = (*Document)(nil)

// NewDocument makes a Document of pages that Render made earlier and were stored, for example
// read back with g3.ReadTIFF from Coded's output: 1728 pixels wide at 196 lines per inch, the top
// headerRows rows being the header band (whatever is there is replaced by the Header, if any).
func NewDocument(pages []*g3.Page, h *Header) (*Document, error) {
	if len(pages) == 0 {
		return nil, fmt.Errorf("render: no pages")
	}
	d := &Document{Header: h, pages: make([]g3.CodedPage, 0, len(pages))}
	var enc g3.Encoder
	for i, p := range pages {
		if p.Width != faxWidth || p.YRes != g3.ResFine {
			return nil, fmt.Errorf("render: page %d is %d pixels at %d lpi, want %d at %d", i+1, p.Width, p.YRes, faxWidth, g3.ResFine)
		}
		data, err := enc.EncodePage(nil, p, storeOptions)
		if err != nil {
			return nil, fmt.Errorf("render: page %d: %w", i+1, err)
		}
		d.pages = append(d.pages, g3.CodedPage{Width: faxWidth, Height: p.Height, XRes: g3.ResX, YRes: g3.ResFine, Opts: storeOptions, Data: data})
	}
	return d, nil
}

// Pages returns the number of pages.
func (d *Document) Pages() int { return len(d.pages) }

// Prepared reports the format the pages are kept in: A4 width at fine resolution. t30 picks the
// closest format the receiver accepts (T.30 §5.3.6.1) and asks Encode for it.
func (d *Document) Prepared() (int, t30.Resolution) { return t30.WidthA4, t30.Fine }

// Page returns page n (0-based) as a bitmap at fine resolution, with the header drawn.
func (d *Document) Page(n int) (*g3.Page, error) {
	if n < 0 || n >= len(d.pages) {
		return nil, fmt.Errorf("render: page %d of %d", n+1, len(d.pages))
	}
	c := &d.pages[n]
	o := c.Opts
	o.Height = c.Height
	p, _, err := g3.Decode(c.Data, o)
	if err != nil {
		// The data is our own encoding: a failure is a bug, not bad input.
		return nil, fmt.Errorf("render: page %d: %w", n+1, err)
	}
	p.XRes, p.YRes = c.XRes, c.YRes
	if d.Header != nil {
		d.Header.draw(p, n+1, len(d.pages))
	}
	return p, nil
}

// Encode returns page n (0-based) coded in the negotiated format f, LSB first, for t30: the
// compression of the DCS (MMR in ECM; MR with K=2 at standard and K=4 at fine, or MH, per
// T.4 §4.2.1), at its resolution and width, each row filled to f.MinRowBits, with RTC or EOFB.
//
// Standard resolution (3.85 lines/mm) keeps every other row of the fine page. Merging row pairs
// (ORing them, as g3.Page.ResampleY does) would keep one-row hairlines but makes every glyph
// bolder by half a standard row, closing the counters of small text (e, a, 8); the strokes of
// text from 6 pt up are at least two fine rows thick, so dropping rows loses none of them.
// Superfine repeats each row. A wider format (B4, A3) centres the page on white.
func (d *Document) Encode(n int, f t30.Format) ([]byte, error) {
	p, err := d.Page(n)
	if err != nil {
		return nil, err
	}
	var comp g3.Compression
	switch f.Compression {
	case t30.MH:
		comp = g3.MH
	case t30.MR:
		comp = g3.MR
	case t30.MMR:
		comp = g3.MMR
	default:
		return nil, fmt.Errorf("render: compression %v", f.Compression)
	}
	if p, err = atResolution(p, f.Resolution); err != nil {
		return nil, err
	}
	if f.Width != p.Width {
		if p, err = p.FitWidth(f.Width); err != nil {
			return nil, fmt.Errorf("render: page %d to width %d: %w", n+1, f.Width, err)
		}
	}
	return g3.Encode(p, g3.Options{Compression: comp, K: g3.KForResolution(p.YRes), Width: p.Width,
		Order: g3.LSBFirst, MinRowBits: f.MinRowBits})
}

// atResolution converts a fine page to resolution r.
func atResolution(p *g3.Page, r t30.Resolution) (*g3.Page, error) {
	switch r {
	case t30.Fine:
		return p, nil
	case t30.Superfine:
		return p.ResampleY(g3.ResSuperfine)
	case t30.Standard:
		q, err := g3.NewPage(p.Width, (p.Height+1)/2, p.XRes, g3.ResStandard)
		if err != nil {
			return nil, err
		}
		for y := 0; y < q.Height; y++ {
			copy(q.Row(y), p.Row(2*y))
		}
		return q, nil
	}
	return nil, fmt.Errorf("render: resolution %v", r)
}

// Coded returns every page, header drawn, coded with compression c (MSB first, with a trailer) at
// fine resolution: the exact images a fine call transmits, for g3.WriteTIFF (the stored copy and
// the partner's preview) or g3.WritePDF.
func (d *Document) Coded(c g3.Compression) ([]g3.CodedPage, error) {
	pages := make([]*g3.Page, len(d.pages))
	for i := range pages {
		p, err := d.Page(i)
		if err != nil {
			return nil, err
		}
		pages[i] = p
	}
	return g3.EncodePages(pages, g3.Options{Compression: c, K: g3.KForResolution(g3.ResFine), Order: g3.MSBFirst})
}
