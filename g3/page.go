// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import "fmt"

// Fax resolutions in dots per inch, as TIFF Class F and fax2tiff record them. T.4 §2.2 defines them
// in metric units: 8 pels/mm across, and 3.85, 7.7 or 15.4 lines/mm down.
const (
	ResX          = 204 // 8 pels/mm
	ResStandard   = 98  // 3.85 lines/mm
	ResFine       = 196 // 7.7 lines/mm
	ResSuperfine  = 391 // 15.4 lines/mm
	WidthA4       = 1728
	WidthB4       = 2048
	WidthA3       = 2432
	WidthA4Fine16 = 3456 // A4 at 16 pels/mm
)

// A Page is a bilevel page image: Height rows of Stride bytes, 1 bit per pixel, most significant
// bit first, 1 = black. Bits after the last pixel of a row are zero. XRes and YRes are in dots per
// inch (0 if unknown).
type Page struct {
	Width, Height int
	Stride        int // bytes per row: (Width+7)/8
	XRes, YRes    int
	Pix           []byte // len(Pix) == Height*Stride
}

// NewPage returns a white page, or ErrLimit for a size outside MaxWidth, MaxRows and MaxPixels.
func NewPage(width, height, xres, yres int) (*Page, error) {
	if width < 1 || width > MaxWidth || height < 0 || height > MaxRows || width*height > MaxPixels {
		return nil, fmt.Errorf("%w: page %dx%d", ErrLimit, width, height)
	}
	stride := (width + 7) / 8
	return &Page{Width: width, Height: height, Stride: stride, XRes: xres, YRes: yres, Pix: make([]byte, stride*height)}, nil
}

// Reset makes p an empty page of the given width, keeping Pix's storage.
func (p *Page) Reset(width, xres, yres int) {
	p.Width, p.Height, p.Stride, p.XRes, p.YRes = width, 0, (width+7)/8, xres, yres
	p.Pix = p.Pix[:0]
}

// Row returns row y (sharing storage with Pix).
func (p *Page) Row(y int) []byte {
	return p.Pix[y*p.Stride : (y+1)*p.Stride : (y+1)*p.Stride]
}

// At reports whether pixel (x, y) is black.
func (p *Page) At(x, y int) bool {
	return p.Pix[y*p.Stride+x>>3]&(0x80>>(x&7)) != 0
}

// Set makes pixel (x, y) black or white.
func (p *Page) Set(x, y int, black bool) {
	i, m := y*p.Stride+x>>3, byte(0x80>>(x&7))
	if black {
		p.Pix[i] |= m
	} else {
		p.Pix[i] &^= m
	}
}

// WriteRow appends a row (at least Stride bytes; bits after Width are cleared), so a Page can be the
// RowWriter of a Decoder.
func (p *Page) WriteRow(row []byte) error {
	if p.Stride <= 0 {
		return fmt.Errorf("%w: page has no width (Reset it first)", ErrRowSize)
	}
	if len(row) < p.Stride {
		return ErrRowSize
	}
	if p.Height >= MaxRows || (p.Height+1)*p.Width > MaxPixels {
		return fmt.Errorf("%w: more than %d rows", ErrLimit, p.Height)
	}
	n := len(p.Pix)
	p.Pix = append(p.Pix, row[:p.Stride]...)
	p.Pix[n+p.Stride-1] &= tailMask(p.Width)
	p.Height++
	return nil
}

// tailMask is the mask of the pixel bits in the last byte of a row of the given width.
func tailMask(width int) byte {
	if width&7 == 0 {
		return 0xff
	}
	return 0xff << (8 - width&7)
}

// Equal reports whether p and q have the same size and pixels (resolutions are not compared).
func (p *Page) Equal(q *Page) bool {
	if p.Width != q.Width || p.Height != q.Height {
		return false
	}
	m := tailMask(p.Width)
	for y := 0; y < p.Height; y++ {
		a, b := p.Row(y), q.Row(y)
		for i := 0; i < p.Stride-1; i++ {
			if a[i] != b[i] {
				return false
			}
		}
		if (a[p.Stride-1]^b[p.Stride-1])&m != 0 {
			return false
		}
	}
	return true
}

// ResampleY returns the page at another vertical resolution by duplicating or merging rows, the
// conversion between standard (98 lpi) and fine (196) or superfine (391) that a fax sender needs when
// the receiver lacks the page's resolution (T.30 DIS bits 15 and 41-43). Merged rows are ORed rather
// than dropped so that one-pixel horizontal lines survive. p.YRes must be known.
func (p *Page) ResampleY(yres int) (*Page, error) {
	if p.YRes <= 0 || yres <= 0 {
		return nil, fmt.Errorf("%w: resample from %d to %d lpi", ErrOptions, p.YRes, yres)
	}
	h := int((int64(p.Height)*int64(yres) + int64(p.YRes)/2) / int64(p.YRes))
	q, err := NewPage(p.Width, h, p.XRes, yres)
	if err != nil {
		return nil, err
	}
	for y := 0; y < h; y++ {
		// Source rows [s0, s1) map onto destination row y.
		s0 := int(int64(y) * int64(p.Height) / int64(h))
		s1 := int(int64(y+1) * int64(p.Height) / int64(h))
		if s1 <= s0 {
			s1 = s0 + 1
		}
		dst := q.Row(y)
		for s := s0; s < s1 && s < p.Height; s++ {
			for i, b := range p.Row(s) {
				dst[i] |= b
			}
		}
	}
	return q, nil
}

// FitWidth returns the page fitted to a fax width: a wider page (A3 2432, B4 2048 on an A4
// receiver) is scaled down in both directions, keeping its aspect ratio as T.4 §2.2 reduction does;
// a narrower page is centred on white. Scaling ORs the source pixels that fall onto each destination
// pixel, so thin strokes are kept.
func (p *Page) FitWidth(width int) (*Page, error) {
	if width < 1 || width > MaxWidth {
		return nil, fmt.Errorf("%w: width %d", ErrOptions, width)
	}
	if width >= p.Width {
		q, err := NewPage(width, p.Height, p.XRes, p.YRes)
		if err != nil {
			return nil, err
		}
		off := (width - p.Width) / 2
		for y := 0; y < p.Height; y++ {
			src, dst := p.Row(y), q.Row(y)
			for x := 0; x < p.Width; x++ {
				if src[x>>3]&(0x80>>(x&7)) != 0 {
					dst[(x+off)>>3] |= 0x80 >> ((x + off) & 7)
				}
			}
		}
		return q, nil
	}
	h := int(int64(p.Height) * int64(width) / int64(p.Width))
	if h < 1 && p.Height > 0 {
		h = 1
	}
	q, err := NewPage(width, h, p.XRes, p.YRes)
	if err != nil {
		return nil, err
	}
	// x0[i]..x0[i+1] are the source columns of destination column i.
	x0 := make([]int, width+1)
	for i := range x0 {
		x0[i] = int(int64(i) * int64(p.Width) / int64(width))
	}
	for y := 0; y < h; y++ {
		s0 := int(int64(y) * int64(p.Height) / int64(h))
		s1 := int(int64(y+1) * int64(p.Height) / int64(h))
		if s1 <= s0 {
			s1 = s0 + 1
		}
		dst := q.Row(y)
		for s := s0; s < s1; s++ {
			src := p.Row(s)
			for i := 0; i < width; i++ {
				for x := x0[i]; x < x0[i+1]; x++ {
					if src[x>>3]&(0x80>>(x&7)) != 0 {
						dst[i>>3] |= 0x80 >> (i & 7)
						break
					}
				}
			}
		}
	}
	return q, nil
}
