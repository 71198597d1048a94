// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"encoding/binary"
	"fmt"

	"github.com/faxseal/faxseal/g3"
)

// Halftone is how grey becomes black and white.
type Halftone uint8

// The halftoning methods. The zero value is invalid; Options treats it as Auto.
//
// Text wants a plain threshold: every edge stays where the glyph outline is, strokes keep their
// width and the page codes compactly (MMR codes long runs cheaply). Photos want dithering: a
// threshold turns a face into a black blob. Auto decides per 16 x 16 tile: a tile in which many
// pixels are mid-grey (the anti-aliased edge of text is only a thin fraction of a text tile) is
// taken as continuous tone and dithered with the ordered matrix, the rest is thresholded. The
// ordered (Bayer) dither is used rather than error diffusion in Auto because its pattern is fixed
// per position: tiles join without seams, flat areas become regular patterns that MMR codes two to
// three times smaller than diffusion noise, and the page takes less air time.
const (
	_         Halftone = iota
	Auto               // threshold text, ordered dither for photo tiles (the default)
	Threshold          // threshold everything (text-only documents, smallest pages)
	Ordered            // 8 x 8 Bayer ordered dither everywhere
	Diffusion          // Floyd-Steinberg error diffusion everywhere (best tone, largest pages)
)

func (h Halftone) String() string {
	switch h {
	case Auto:
		return "auto"
	case Threshold:
		return "threshold"
	case Ordered:
		return "ordered"
	case Diffusion:
		return "diffusion"
	}
	return fmt.Sprintf("Halftone(%d)", uint8(h))
}

// DefaultThreshold is the grey level below which a pixel is black. It is above the middle (128)
// because pdftoppm anti-aliases: a stroke thinner than two pixels (a hairline, 6 pt text at 204
// dpi) is drawn as grey of about its coverage, and a middle threshold breaks it up; 160 keeps
// strokes of about 40 % coverage, while the paler grey of the outer edge of a stroke stays white,
// so glyphs do not run together.
const DefaultThreshold = 160

const (
	tile    = 16  // Auto decides per tile of tile x tile pixels
	midLow  = 48  // grey levels in [midLow, midHigh] count as continuous tone
	midHigh = 208 //
)

// bayer8 is the 8 x 8 Bayer index matrix (Bayer 1973), values 0-63.
var bayer8 = [8][8]uint8{
	{0, 32, 8, 40, 2, 34, 10, 42},
	{48, 16, 56, 24, 50, 18, 58, 26},
	{12, 44, 4, 36, 14, 46, 6, 38},
	{60, 28, 52, 20, 62, 30, 54, 22},
	{3, 35, 11, 43, 1, 33, 9, 41},
	{51, 19, 59, 27, 49, 17, 57, 25},
	{15, 47, 7, 39, 13, 45, 5, 37},
	{63, 31, 55, 23, 61, 29, 53, 21},
}

// bayerLevel is the grey below which a pixel at (x, y) is black in the ordered dither.
func bayerLevel(x, y int) int { return (int(bayer8[y&7][x&7])*255 + 128) / 64 }

// binarise turns g into the bilevel page p (same size; p.Pix is overwritten). errRow is scratch
// for error diffusion (len >= 2*(g.W+2)).
func binarise(p *g3.Page, g *grayImage, method Halftone, threshold int, errRow []int32) {
	clear(p.Pix)
	switch method {
	case Ordered:
		for y := 0; y < g.H; y++ {
			row, src := p.Row(y), g.Pix[y*g.W:(y+1)*g.W]
			for x, v := range src {
				if int(v) < bayerLevel(x, y) {
					row[x>>3] |= 0x80 >> (x & 7)
				}
			}
		}
	case Diffusion:
		diffuse(p, g, 0, g.H, errRow)
	case Threshold:
		thresholdRows(p, g, 0, g.H, 0, g.W, threshold)
	default: // Auto
		autoHalftone(p, g, threshold)
	}
}

// autoHalftone is Auto: a tile is continuous tone when more than 3/8 of its pixels are mid-grey,
// or more than 1/8 when the tile left of it or above it is (so the border tiles of a photo, half
// photo and half white margin, are dithered too instead of showing a thresholded seam). Measured
// on pdftoppm's rendering of 5 to 24 pt text at 204 x 196 dpi, no text tile has 5/16 mid-grey
// pixels (most have under 1/16): text is always thresholded.
//
// It works a band of tile rows at a time: count the mid-grey pixels of each tile (skipping paper
// white 8 pixels at a time), then threshold or dither each tile's pixels. p.Pix must be clear.
func autoHalftone(p *g3.Page, g *grayImage, threshold int) {
	cols := (g.W + tile - 1) / tile
	above := make([]bool, cols)
	photo := make([]bool, cols)
	mid := make([]int, cols)
	for ty := 0; ty < g.H; ty += tile {
		y1 := min(ty+tile, g.H)
		clear(mid)
		for y := ty; y < y1; y++ {
			src := g.Pix[y*g.W : (y+1)*g.W]
			for x := 0; x < len(src); x += 8 {
				// Most of a page is paper white: skip it 8 pixels at a time.
				if x+8 <= len(src) && binary.LittleEndian.Uint64(src[x:]) == allWhite {
					continue
				}
				for _, v := range src[x:min(x+8, len(src))] {
					if v >= midLow && v <= midHigh {
						mid[x/tile]++
					}
				}
			}
		}
		left := false
		for c := range cols {
			area := (y1 - ty) * (min((c+1)*tile, g.W) - c*tile)
			photo[c] = mid[c]*8 > area*3 || (mid[c]*8 > area && (left || above[c]))
			left = photo[c]
		}
		copy(above, photo)
		t := byte(threshold)
		for y := ty; y < y1; y++ {
			row, src := p.Row(y), g.Pix[y*g.W:(y+1)*g.W]
			for c := range cols {
				x0, x1 := c*tile, min((c+1)*tile, g.W)
				if !photo[c] {
					for x := x0; x < x1; x++ {
						if src[x] < t {
							row[x>>3] |= 0x80 >> (x & 7)
						}
					}
					continue
				}
				for x := x0; x < x1; x++ {
					if int(src[x]) < bayerLevel(x, y) {
						row[x>>3] |= 0x80 >> (x & 7)
					}
				}
			}
		}
	}
}

const allWhite = ^uint64(0) // 8 grey pixels of 255

func thresholdRows(p *g3.Page, g *grayImage, y0, y1, x0, x1, threshold int) {
	t := byte(threshold)
	for y := y0; y < y1; y++ {
		row, src := p.Row(y), g.Pix[y*g.W:(y+1)*g.W]
		for x := x0; x < x1; x++ {
			if src[x] < t {
				row[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
}

// diffuse is Floyd-Steinberg error diffusion (7/16 right, 3/16, 5/16, 1/16 below), left to right
// on every row; errors are carried in fixed point (x16).
func diffuse(p *g3.Page, g *grayImage, y0, y1 int, buf []int32) {
	w := g.W
	cur, next := buf[:w+2], buf[w+2:2*(w+2)]
	clear(cur)
	clear(next)
	for y := y0; y < y1; y++ {
		row, src := p.Row(y), g.Pix[y*w:(y+1)*w]
		for x := 0; x < w; x++ {
			v := int32(src[x])*16 + cur[x+1]
			out := int32(255 * 16)
			if v < 128*16 {
				row[x>>3] |= 0x80 >> (x & 7)
				out = 0
			}
			e := v - out
			cur[x+2] += e * 7 / 16
			next[x] += e * 3 / 16
			next[x+1] += e * 5 / 16
			next[x+2] += e / 16
		}
		cur, next = next, cur
		clear(next)
	}
}
