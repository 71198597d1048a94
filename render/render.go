// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/faxseal/faxseal/g3"
)

// Options configure Render. The zero value renders with the defaults and no header line.
type Options struct {
	// Header is drawn at the top of every page when the pages are encoded; nil means none. It
	// can be set or changed on the Document later (a retry prints its own time).
	Header *Header
	// Halftone is how grey becomes black and white; zero means Auto.
	Halftone Halftone
	// Threshold is the grey level (1-255) below which a pixel is black where a threshold is
	// used; zero means DefaultThreshold.
	Threshold int
	// Limits bound the work; zero fields take their defaults.
	Limits Limits
	// Pdftoppm is the rasteriser's path or name in PATH; "" means "pdftoppm" (Debian
	// poppler-utils).
	Pdftoppm string
}

// Fax geometry at fine resolution (T.4 §2.2: 1728 pels over 215 mm, 7.7 lines/mm).
const (
	faxWidth = g3.WidthA4
	// cropSlack is how many pixels wider than faxWidth a page may be and still be cropped
	// rather than scaled: US Letter and Legal are 8.5 in, 1734 pixels at 204 dpi, 3 pixels
	// (0.4 mm) of margin more than the fax line on each side. Cropping keeps the page at its
	// true size and pixel-exact; scaling by 0.35 % would blur every glyph edge for nothing.
	cropSlack = 12
)

// layout is how one page is rasterised: its pdftoppm resolution and whether it is turned.
type layout struct {
	rx, ry    float64
	landscape bool
	squeeze   bool // rasterised at 204 x 204 dpi (scaled): resample the rows to 196 lpi
	w, h      int  // size of the raster pdftoppm should produce
	maxPixels int  // bound on it
}

// pageLayout fits a page to the fax width. A landscape page is turned a quarter turn
// counter-clockwise (its top to the left edge, as printers and fax drivers do), so that its long
// side runs down the paper; it is then rasterised with the resolutions swapped, so the turned
// raster has 204 dpi across and 196 down without resampling. A page wider than the fax line
// (A3, Tabloid; more than cropSlack over) is scaled down by giving pdftoppm a lower resolution,
// so poppler draws the smaller page itself, as sharp as a page of that size can be. A narrower
// page (A4 is 1687 pixels, A5 less) is centred at its true size, as a fax machine's scanner would.
// A page with /Rotate 90 or 270 is rasterised at one resolution and its rows resampled (see the
// Sideways case below).
func pageLayout(s PageSize, lim Limits) (layout, error) {
	w, h := s.Width/72, s.Height/72 // inches
	l := layout{landscape: s.Landscape()}
	if l.landscape {
		w, h = h, w
	}
	scale := 1.0
	if w*g3.ResX > faxWidth+cropSlack {
		scale = faxWidth / (w * g3.ResX)
	}
	if h*scale > lim.MaxPageLength {
		return l, errorf(CodePageTooLarge, 0, nil, "%.1f x %.1f in page is %.1f in long once fitted to the fax width, the limit is %g",
			s.Width/72, s.Height/72, h*scale, lim.MaxPageLength)
	}
	l.rx, l.ry = g3.ResX*scale, g3.ResFine*scale
	if l.landscape {
		l.rx, l.ry = l.ry, l.rx
	}
	if s.Sideways {
		// pdftoppm (poppler 22) sizes the raster of a /Rotate 90 or 270 page from the unturned
		// MediaBox but draws it with -rx across the turned page: with two resolutions, the
		// drawing is cropped. Such a page is rasterised at one resolution, the higher, and its
		// rows are resampled afterwards (addPage).
		l.rx = max(l.rx, l.ry)
		l.ry, l.squeeze = l.rx, true
	}
	// The raster pdftoppm should make (it rounds each side up; with one resolution for a
	// sideways page its axes do not matter).
	l.w, l.h = int(math.Ceil(s.Width/72*l.rx)), int(math.Ceil(s.Height/72*l.ry))
	l.maxPixels = (l.w + 2) * (l.h + 2)
	return l, nil
}

// Render validates and counts the pages of pdf like Inspect, rasterises them with pdftoppm in
// greyscale at the fax resolution (204 x 196 dpi, fine), fits each to the 1728-pixel fax width,
// turns landscape pages, halftones them into bilevel pages and reserves the header band on
// each. The result is kept coded (MMR), about 30 KB a text page; Document.Encode codes pages for
// the format a call negotiated.
//
// pdftoppm reads the PDF from a pipe and writes the rasters to one; no temporary files are made.
// It runs once per run of consecutive pages of the same layout (once for most documents), under
// opts.Limits.Timeout for the whole document. Errors are *Error (see the Code constants);
// cancellation of ctx returns ctx's error.
func Render(ctx context.Context, pdf []byte, opts Options) (*Document, error) {
	lim := opts.Limits.withDefaults()
	info, err := Inspect(pdf, lim)
	if err != nil {
		return nil, err
	}
	layouts := make([]layout, info.Pages)
	for i, s := range info.Sizes {
		if layouts[i], err = pageLayout(s, lim); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Page = i + 1
			}
			return nil, err
		}
	}
	name := opts.Pdftoppm
	if name == "" {
		name = "pdftoppm"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, errorf(CodeFailed, 0, err, "the rasteriser %s is not installed (Debian package poppler-utils)", name)
	}
	var prefix []string // the command line before pdftoppm's own arguments
	if prlimit, err := exec.LookPath("prlimit"); err == nil {
		prefix = []string{prlimit, "--as=" + strconv.FormatInt(lim.MaxMemory, 10), "--"}
	}
	prefix = append(prefix, path)
	r := &renderer{
		halftone: opts.Halftone, threshold: opts.Threshold, lim: lim,
		doc: &Document{Header: opts.Header, Info: info, pages: make([]g3.CodedPage, 0, info.Pages)},
	}
	if r.halftone == 0 {
		r.halftone = Auto
	}
	if r.threshold <= 0 || r.threshold > 255 {
		r.threshold = DefaultThreshold
	}
	tctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	for first := 0; first < len(layouts); {
		last := first
		maxPixels := layouts[first].maxPixels
		for last+1 < len(layouts) && layouts[last+1].rx == layouts[first].rx && layouts[last+1].ry == layouts[first].ry &&
			layouts[last+1].landscape == layouts[first].landscape && layouts[last+1].squeeze == layouts[first].squeeze {
			last++
			maxPixels = max(maxPixels, layouts[last].maxPixels)
		}
		if err := r.run(tctx, prefix, pdf, first, last, layouts, maxPixels); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if tctx.Err() != nil {
				return nil, errorf(CodeTimeout, 0, err, "rendering took longer than %v", lim.Timeout)
			}
			return nil, err
		}
		first = last + 1
	}
	return r.doc, nil
}

// renderer holds the buffers reused from page to page.
type renderer struct {
	halftone  Halftone
	threshold int
	lim       Limits
	doc       *Document
	raster    grayImage // as pdftoppm made it
	turned    grayImage // after a quarter turn
	squeezed  grayImage // after resampling the rows
	placed    grayImage // faxWidth wide
	page      g3.Page
	errRow    []int32
	enc       g3.Encoder
}

// run rasterises pages first..last (0-based) with one pdftoppm process; argv0 is the command
// line that starts pdftoppm (with prlimit before it).
func (r *renderer) run(ctx context.Context, argv0 []string, pdf []byte, first, last int, layouts []layout, maxPixels int) error {
	l := layouts[first]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	// -gray: 8-bit grey with poppler's anti-aliasing (the halftoning is ours); -q: warnings about
	// recoverable defects would fill stderr; PDF "-" is standard input, no PPM root is stdout.
	args := append(argv0[1:len(argv0):len(argv0)], "-q", "-gray", "-rx", f(l.rx), "-ry", f(l.ry),
		"-f", strconv.Itoa(first+1), "-l", strconv.Itoa(last+1), "-")
	cmd := exec.CommandContext(ctx, argv0[0], args...)
	cmd.Stdin = bytes.NewReader(pdf)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return errorf(CodeFailed, 0, err, "start pdftoppm")
	}
	if err := cmd.Start(); err != nil {
		return errorf(CodeFailed, 0, err, "start pdftoppm")
	}
	br := bufio.NewReaderSize(out, 1<<16)
	var perr error
	for n := first; n <= last; n++ {
		if err := readPGM(br, maxPixels, &r.raster); err != nil {
			perr = errorf(CodeFailed, n+1, err, "pdftoppm gave no page")
			break
		}
		// poppler answers an allocation failure (a raster over Limits.MaxMemory) by writing a 1 x 1
		// image and exiting 0: check the size it gave against the page's.
		if w, h := r.raster.W, r.raster.H; w < layouts[n].w-2 || w > layouts[n].w+2 || h < layouts[n].h-2 || h > layouts[n].h+2 {
			perr = errorf(CodeFailed, n+1, nil, "pdftoppm gave a %dx%d raster for a %dx%d page (out of memory?)", w, h, layouts[n].w, layouts[n].h)
			break
		}
		if err := r.addPage(n, l); err != nil {
			perr = err
			break
		}
	}
	if perr != nil {
		cancel()
	} else {
		io.Copy(io.Discard, br) // pdftoppm must not block on a full pipe before it exits
	}
	werr := cmd.Wait()
	if perr != nil {
		if msg := stderr.String(); msg != "" {
			var e *Error
			if errors.As(perr, &e) {
				e.Message += " (pdftoppm: " + msg + ")"
			}
		}
		return perr
	}
	if werr != nil {
		return errorf(CodeFailed, 0, werr, "pdftoppm: %s", stderr.String())
	}
	return nil
}

// addPage turns, places, halftones and codes the raster of page n (0-based).
func (r *renderer) addPage(n int, l layout) error {
	src := &r.raster
	if l.landscape {
		// Counter-clockwise: the top row becomes the left column, read bottom to top.
		t := &r.turned
		t.reset(src.H, src.W)
		for y := 0; y < t.H; y++ {
			row := t.Pix[y*t.W : (y+1)*t.W]
			sx := src.W - 1 - y
			for x := range row {
				row[x] = src.Pix[x*src.W+sx]
			}
		}
		src = t
	}
	if l.squeeze {
		h := int(math.Round(float64(src.H) * g3.ResFine / g3.ResX))
		resampleRows(&r.squeezed, src, h)
		src = &r.squeezed
	}
	if maxRows := int(math.Ceil(r.lim.MaxPageLength*g3.ResFine)) + 2; src.H > maxRows {
		return errorf(CodePageTooLarge, n+1, nil, "%d rows, the limit is %d", src.H, maxRows)
	}
	// Centre on the fax line: crop a page up to cropSlack wider, pad a narrower one with white.
	p := &r.placed
	p.reset(faxWidth, src.H)
	off := (src.W - faxWidth) / 2
	for y := 0; y < p.H; y++ {
		dst, row := p.Pix[y*faxWidth:(y+1)*faxWidth], src.Pix[y*src.W:(y+1)*src.W]
		if off >= 0 {
			copy(dst, row[off:off+faxWidth])
			continue
		}
		for i := range dst {
			dst[i] = 255
		}
		copy(dst[-off:], row)
	}
	// The header band: the page's own top margin when it is blank (most documents have half an
	// inch), else white rows added above the page so that nothing of it is covered.
	pg := &r.page
	band := 0
	for y := 0; y < headerRows && y < p.H; y++ {
		for _, v := range p.Pix[y*faxWidth : (y+1)*faxWidth] {
			if int(v) < r.threshold {
				band = headerRows
				break
			}
		}
	}
	stride := (faxWidth + 7) / 8
	h := p.H + band
	*pg = g3.Page{Width: faxWidth, Height: h, Stride: stride, XRes: g3.ResX, YRes: g3.ResFine, Pix: pg.Pix[:0]}
	if cap(pg.Pix) < h*stride {
		pg.Pix = make([]byte, h*stride)
	}
	pg.Pix = pg.Pix[:h*stride]
	clear(pg.Pix[:band*stride])
	body := g3.Page{Width: faxWidth, Height: p.H, Stride: stride, Pix: pg.Pix[band*stride:]}
	if len(r.errRow) < 2*(faxWidth+2) {
		r.errRow = make([]int32, 2*(faxWidth+2))
	}
	binarise(&body, p, r.halftone, r.threshold, r.errRow)
	if band == 0 {
		clear(pg.Pix[:min(headerRows, h)*stride])
	}
	data, err := r.enc.EncodePage(nil, pg, storeOptions)
	if err != nil {
		return errorf(CodeFailed, n+1, err, "encode")
	}
	r.doc.pages = append(r.doc.pages, g3.CodedPage{Width: faxWidth, Height: h, XRes: g3.ResX, YRes: g3.ResFine, Opts: storeOptions, Data: data})
	return nil
}

// resampleRows scales src vertically to h rows into dst, each row the area-weighted mean of the
// source rows it covers (a box filter: the 4 % reduction from 204 to 196 lpi keeps edges sharp
// to within a row).
func resampleRows(dst, src *grayImage, h int) {
	dst.reset(src.W, h)
	acc := make([]uint32, src.W)
	f := float64(src.H) / float64(h) // source rows per destination row, > 1
	for j := 0; j < h; j++ {
		y0, y1 := float64(j)*f, float64(j+1)*f
		clear(acc)
		var total uint32
		for y := int(y0); y < src.H && float64(y) < y1; y++ {
			// The weight of source row y: its overlap with [y0, y1), in 1/256 of a row.
			w := uint32(256 * (math.Min(float64(y+1), y1) - math.Max(float64(y), y0)))
			if w == 0 {
				continue
			}
			total += w
			for x, v := range src.Pix[y*src.W : (y+1)*src.W] {
				acc[x] += uint32(v) * w
			}
		}
		row := dst.Pix[j*dst.W : (j+1)*dst.W]
		for x := range row {
			if total == 0 {
				row[x] = 255
				continue
			}
			row[x] = byte((acc[x] + total/2) / total)
		}
	}
}

// storeOptions code the pages a Document keeps: MMR, the most compact lossless coding.
var storeOptions = g3.Options{Compression: g3.MMR, Width: faxWidth, Order: g3.MSBFirst}

// limitedBuffer keeps the first 2 KB written to it (pdftoppm's error messages).
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 2048 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return strings.TrimSpace(l.b.String()) }
