// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// ReadPBM reads a binary PBM (P4) image: the packed format of Page, 1 = black.
func ReadPBM(r io.Reader) (*Page, error) {
	br := bufio.NewReader(r)
	var fields [3]int
	magic := make([]byte, 2)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "P4" {
		return nil, fmt.Errorf("g3: not a binary PBM file")
	}
	for i := 1; i < 3; i++ {
		tok, err := pbmToken(br)
		if err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(tok)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("g3: bad PBM size %q", tok)
		}
		fields[i] = v
	}
	p, err := NewPage(fields[1], fields[2], 0, 0)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(br, p.Pix); err != nil {
		return nil, fmt.Errorf("g3: short PBM data: %w", err)
	}
	m := tailMask(p.Width)
	for y := 0; y < p.Height; y++ {
		p.Pix[(y+1)*p.Stride-1] &= m
	}
	return p, nil
}

// pbmToken reads one header token, skipping white space and comments; it consumes the single white
// space character after the token, as the format requires before the raster.
func pbmToken(br *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return "", fmt.Errorf("g3: short PBM header: %w", err)
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := br.ReadString('\n'); err != nil {
				return "", fmt.Errorf("g3: short PBM header: %w", err)
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			if len(tok) > 10 {
				return "", fmt.Errorf("g3: bad PBM header")
			}
			tok = append(tok, c)
		}
	}
}

// WritePBM writes p as a binary PBM (P4) image.
func WritePBM(w io.Writer, p *Page) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "P4\n%d %d\n", p.Width, p.Height)
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(p.Pix[:p.Height*p.Stride])
	return err
}
