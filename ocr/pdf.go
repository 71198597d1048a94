package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
)

// ErrPBM is matched by every malformed PBM stream.
var ErrPBM = errors.New("ocr: malformed PBM")

// RasterizePDF renders a stored fax PDF to 1-bit pages at xres x yres dpi with poppler's pdftoppm
// (exec, the renderer the send path uses too). For a PDF FaxSeal made from received pages, rendering
// at the fax's own resolution gives back its bitmaps; for other PDFs it is the bitmap a fax machine
// would have sent. At most maxPages pages are rendered (0: all).
func RasterizePDF(ctx context.Context, pdf []byte, xres, yres, maxPages int) ([]Page, error) {
	args := []string{"-mono", "-rx", strconv.Itoa(xres), "-ry", strconv.Itoa(yres)}
	if maxPages > 0 {
		args = append(args, "-l", strconv.Itoa(maxPages))
	}
	args = append(args, "-") // PDF on stdin, PBM pages concatenated on stdout
	cmd := exec.CommandContext(ctx, "pdftoppm", args...)
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ocr: pdftoppm: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	pages, err := ParsePBM(out.Bytes())
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("ocr: pdftoppm rendered no page")
	}
	for i := range pages {
		pages[i].XRes, pages[i].YRes = xres, yres
	}
	return pages, nil
}

// ParsePBM reads one or more concatenated binary PBM (P4) images (Netpbm's format: "P4", width and
// height in ASCII separated by whitespace or comments, one whitespace byte, then packed rows with a
// set bit black). The pages share data's storage and have no resolution set.
func ParsePBM(data []byte) ([]Page, error) {
	var pages []Page
	for off := 0; ; {
		for off < len(data) && isSpace(data[off]) {
			off++
		}
		if off == len(data) {
			return pages, nil
		}
		if len(data)-off < 2 || data[off] != 'P' || data[off+1] != '4' {
			return nil, fmt.Errorf("%w: image %d at byte %d is not P4", ErrPBM, len(pages)+1, off)
		}
		off += 2
		var dims [2]int
		for i := range dims {
			// Whitespace and comments, then a decimal number.
			for off < len(data) && (isSpace(data[off]) || data[off] == '#') {
				if data[off] == '#' {
					for off < len(data) && data[off] != '\n' {
						off++
					}
					continue
				}
				off++
			}
			start := off
			for off < len(data) && data[off] >= '0' && data[off] <= '9' && off-start < 6 {
				dims[i] = dims[i]*10 + int(data[off]-'0')
				off++
			}
			if off == start || dims[i] == 0 || dims[i] > maxSide {
				return nil, fmt.Errorf("%w: image %d: bad dimension at byte %d", ErrPBM, len(pages)+1, start)
			}
		}
		if off >= len(data) || !isSpace(data[off]) {
			return nil, fmt.Errorf("%w: image %d: no whitespace after the header", ErrPBM, len(pages)+1)
		}
		off++
		w, h := dims[0], dims[1]
		stride := (w + 7) / 8
		if len(data)-off < stride*h {
			return nil, fmt.Errorf("%w: image %d: %d bytes of pixels, want %d", ErrPBM, len(pages)+1, len(data)-off, stride*h)
		}
		pages = append(pages, Page{Width: w, Height: h, Stride: stride, Pix: data[off : off+stride*h : off+stride*h]})
		off += stride * h
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
