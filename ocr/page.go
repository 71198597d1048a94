package ocr

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/faxseal/faxseal/g3"
)

// Page is one decoded fax page: a 1-bit bitmap in packed rows, most significant bit first, a set
// bit black (the PBM convention, which T.4 pages decode to), with the resolution it was sent at.
// Its fields are those of g3.Page, in the same order, so a decoded page converts with ocr.Page(*p).
type Page struct {
	Width, Height int
	Stride        int    // bytes per row; 0 means (Width+7)/8
	XRes, YRes    int    // dots per inch: fax standard is 204x98, fine 204x196, superfine 204x391
	Pix           []byte // Height rows of Stride bytes
}

// FromG3 views a decoded fax page as an OCR page (sharing its pixels).
func FromG3(p *g3.Page) Page { return Page(*p) }

// ErrPage is matched by every invalid Page.
var ErrPage = errors.New("ocr: invalid page")

const (
	maxSide = 1 << 14 // T.4 pages are at most 4864 pels wide (A3 at 400 dpi); lengths are bounded likewise
	// ocrDPI is the resolution pages are resampled to. Tesseract is trained on text with an x-height
	// of roughly 20-30 pixels; 10-12 pt text at fax resolutions (98 or 196 lines per inch) is far
	// below that. At 300 dpi it is about 30. Measured on a 6 pt Courier page sent at standard
	// resolution (Tesseract 5.3, eng): bilinear to 300 dpi read every word, row replication to
	// 204x196 missed 15% of them; from 7 pt up both read everything.
	ocrDPI = 300
	// maxOCRPixels bounds the resampled image (one byte per pixel): twice an A3 page at 300 dpi, so
	// a page claiming a tiny resolution cannot make it gigabytes.
	maxOCRPixels = 36 << 20
)

func (pg Page) stride() int {
	if pg.Stride != 0 {
		return pg.Stride
	}
	return (pg.Width + 7) / 8
}

// Validate checks the geometry against the buffer.
func (pg Page) Validate() error {
	switch {
	case pg.Width <= 0 || pg.Height <= 0 || pg.Width > maxSide || pg.Height > maxSide:
		return fmt.Errorf("%w: %dx%d pixels", ErrPage, pg.Width, pg.Height)
	case pg.stride() < (pg.Width+7)/8:
		return fmt.Errorf("%w: stride %d too small for width %d", ErrPage, pg.stride(), pg.Width)
	case len(pg.Pix) < pg.stride()*(pg.Height-1)+(pg.Width+7)/8:
		return fmt.Errorf("%w: %d bytes for %dx%d at stride %d", ErrPage, len(pg.Pix), pg.Width, pg.Height, pg.stride())
	case pg.XRes < 50 || pg.YRes < 50 || pg.XRes > 1200 || pg.YRes > 1200:
		return fmt.Errorf("%w: resolution %dx%d dpi", ErrPage, pg.XRes, pg.YRes)
	}
	return nil
}

func (pg Page) black(x, y int) bool {
	return pg.Pix[y*pg.stride()+x>>3]&(0x80>>(x&7)) != 0
}

// Resample returns the page as 8-bit gray (0 black, 255 white) at ocrDPI in both directions, with
// bilinear interpolation: a standard-resolution page has pixels twice as tall as wide, and plain
// replication would leave staircase edges that Tesseract reads as noise; the gray ramps let its
// own thresholding place the edges.
func (pg Page) Resample() (gray []byte, width, height int, err error) {
	return pg.resample(ocrDPI)
}

func (pg Page) resample(dpi int) (gray []byte, width, height int, err error) {
	if err := pg.Validate(); err != nil {
		return nil, 0, 0, err
	}
	width = pg.Width * dpi / pg.XRes
	height = pg.Height * dpi / pg.YRes
	if width < 1 || height < 1 || width*height > maxOCRPixels {
		return nil, 0, 0, fmt.Errorf("%w: %dx%d pixels at %dx%d dpi", ErrPage, pg.Width, pg.Height, pg.XRes, pg.YRes)
	}
	// Source coordinates in 16.16 fixed point: pixel centres map to pixel centres.
	xs := make([]int, width)
	for x := range xs {
		xs[x] = ((2*x+1)*pg.Width<<16/width - 1<<16) / 2
	}
	gray = make([]byte, width*height)
	row := make([]uint16, pg.Width) // white-ness of the two source rows, 0..256, blended by y
	for y := 0; y < height; y++ {
		sy := ((2*y+1)*pg.Height<<16/height - 1<<16) / 2
		y0, fy := clampSplit(sy, pg.Height)
		y1 := min(y0+1, pg.Height-1)
		for x := range row {
			a, b := uint32(256), uint32(256)
			if pg.black(x, y0) {
				a = 0
			}
			if pg.black(x, y1) {
				b = 0
			}
			row[x] = uint16((a*(65536-fy) + b*fy) >> 16)
		}
		out := gray[y*width : (y+1)*width]
		for x, sx := range xs {
			x0, fx := clampSplit(sx, pg.Width)
			x1 := min(x0+1, pg.Width-1)
			v := (uint32(row[x0])*(65536-fx) + uint32(row[x1])*fx) >> 16
			out[x] = byte(min(v, 255))
		}
	}
	return gray, width, height, nil
}

// clampSplit splits a 16.16 coordinate into a pixel index in [0, n) and a fraction.
func clampSplit(v, n int) (int, uint32) {
	if v < 0 {
		return 0, 0
	}
	i := v >> 16
	if i >= n-1 {
		return n - 1, 0
	}
	return i, uint32(v & 0xffff)
}

// tesseractImage encodes the resampled page as binary PGM (P5), which Leptonica reads from memory.
func (pg Page) tesseractImage() ([]byte, error) {
	gray, w, h, err := pg.Resample()
	if err != nil {
		return nil, err
	}
	head := "P5\n" + strconv.Itoa(w) + " " + strconv.Itoa(h) + "\n255\n"
	img := make([]byte, 0, len(head)+len(gray))
	img = append(img, head...)
	return append(img, gray...), nil
}
