// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// grayImage is an 8-bit greyscale raster, 0 = black, 255 = white, W bytes a row.
type grayImage struct {
	W, H int
	Pix  []byte
}

func (g *grayImage) reset(w, h int) {
	g.W, g.H = w, h
	if cap(g.Pix) < w*h {
		g.Pix = make([]byte, w*h)
	}
	g.Pix = g.Pix[:w*h]
}

// errPGM reports a malformed PGM stream from the rasteriser.
var errPGM = errors.New("render: malformed PGM")

// readPGM reads one binary PGM image (Netpbm "P5", the format of pdftoppm -gray) into img,
// refusing images of more than maxPixels before allocating them. It returns io.EOF at a clean
// end of stream, before any byte of a new image.
func readPGM(r *bufio.Reader, maxPixels int, img *grayImage) error {
	magic := make([]byte, 2)
	if _, err := io.ReadFull(r, magic); err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return fmt.Errorf("%w: %v", errPGM, err)
	}
	if magic[0] != 'P' || magic[1] != '5' {
		return fmt.Errorf("%w: magic %q", errPGM, magic)
	}
	var v [3]int // width, height, maxval
	for i := range v {
		n, err := pgmNumber(r)
		if err != nil {
			return err
		}
		v[i] = n
	}
	w, h, maxval := v[0], v[1], v[2]
	if w < 1 || h < 1 || w > maxPixels/h {
		return fmt.Errorf("%w: %dx%d image, at most %d pixels", errPGM, w, h, maxPixels)
	}
	if maxval < 1 || maxval > 255 {
		return fmt.Errorf("%w: maxval %d (want 1-255)", errPGM, maxval)
	}
	// Exactly one whitespace byte separates the header from the raster (Netpbm pgm(5)).
	if c, err := r.ReadByte(); err != nil || !pgmSpace(c) {
		return fmt.Errorf("%w: no whitespace after the header", errPGM)
	}
	img.reset(w, h)
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		return fmt.Errorf("%w: raster: %v", errPGM, err)
	}
	if maxval != 255 {
		for i, p := range img.Pix {
			img.Pix[i] = byte(min(int(p), maxval) * 255 / maxval)
		}
	}
	return nil
}

func pgmSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// pgmNumber skips whitespace and comments and reads a decimal number of at most 9 digits.
func pgmNumber(r *bufio.Reader) (int, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: header: %v", errPGM, err)
		}
		if c == '#' {
			for {
				_, err := r.ReadSlice('\n')
				if err == nil {
					break
				}
				if !errors.Is(err, bufio.ErrBufferFull) {
					return 0, fmt.Errorf("%w: header comment: %v", errPGM, err)
				}
			}
			continue
		}
		if pgmSpace(c) {
			continue
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: header byte %q", errPGM, c)
		}
		n := int(c - '0')
		for digits := 1; ; digits++ {
			c, err := r.ReadByte()
			if err != nil {
				return 0, fmt.Errorf("%w: header: %v", errPGM, err)
			}
			if c < '0' || c > '9' {
				if !pgmSpace(c) {
					return 0, fmt.Errorf("%w: header byte %q", errPGM, c)
				}
				return n, r.UnreadByte()
			}
			if digits == 9 {
				return 0, fmt.Errorf("%w: number too long", errPGM)
			}
			n = n*10 + int(c-'0')
		}
	}
}
