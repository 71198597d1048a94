//go:build spandsp

package spandsp

/*
#cgo pkg-config: libtiff-4
#include <stdlib.h>
#include <tiffio.h>

// TIFFSetField/TIFFGetField are variadic, which cgo cannot call; these fix the argument types.
static int set_u16(TIFF *t, uint32_t tag, int v) { return TIFFSetField(t, tag, (uint16_t) v); }
static int set_u32(TIFF *t, uint32_t tag, uint32_t v) { return TIFFSetField(t, tag, v); }
static int set_float(TIFF *t, uint32_t tag, double v) { return TIFFSetField(t, tag, (float) v); }
static int set_page(TIFF *t, int n, int of) { return TIFFSetField(t, TIFFTAG_PAGENUMBER, (uint16_t) n, (uint16_t) of); }
static uint32_t get_u32(TIFF *t, uint32_t tag) { uint32_t v = 0; TIFFGetField(t, tag, &v); return v; }
static int get_u16(TIFF *t, uint32_t tag) { uint16_t v = 0; TIFFGetFieldDefaulted(t, tag, &v); return v; }
static double get_float(TIFF *t, uint32_t tag) { float v = 0; TIFFGetField(t, tag, &v); return v; }
static void quiet(void) { TIFFSetWarningHandler(NULL); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Bitmap is one bilevel page: rows of (Width+7)/8 bytes, MSB first, 1 = black. XRes and YRes are in
// dots per inch.
type Bitmap struct {
	Width, Height int
	XRes, YRes    int
	Rows          []byte
}

// TIFF compressions for WriteTIFF.
const (
	TIFFNone = C.COMPRESSION_NONE
	TIFFG3   = C.COMPRESSION_CCITTFAX3
	TIFFG4   = C.COMPRESSION_CCITTFAX4
)

// WriteTIFF writes pages as a multi-page TIFF (Class F when compression is G3 or G4) with libtiff,
// the way spandsp's own tests make their input files.
func WriteTIFF(path string, pages []Bitmap, compression int) error {
	cpath, mode := C.CString(path), C.CString("w")
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(mode))
	C.quiet()
	t := C.TIFFOpen(cpath, mode)
	if t == nil {
		return fmt.Errorf("spandsp: cannot create %s", path)
	}
	defer C.TIFFClose(t)
	for i, p := range pages {
		stride := (p.Width + 7) / 8
		if len(p.Rows) != stride*p.Height || p.Height == 0 {
			return fmt.Errorf("spandsp: page %d: %d bytes for %dx%d", i, len(p.Rows), p.Width, p.Height)
		}
		C.set_u32(t, C.TIFFTAG_SUBFILETYPE, C.FILETYPE_PAGE)
		C.set_u32(t, C.TIFFTAG_IMAGEWIDTH, C.uint32_t(p.Width))
		C.set_u32(t, C.TIFFTAG_IMAGELENGTH, C.uint32_t(p.Height))
		C.set_u16(t, C.TIFFTAG_BITSPERSAMPLE, 1)
		C.set_u16(t, C.TIFFTAG_SAMPLESPERPIXEL, 1)
		C.set_u16(t, C.TIFFTAG_COMPRESSION, C.int(compression))
		if compression == TIFFG3 {
			C.set_u32(t, C.TIFFTAG_GROUP3OPTIONS, C.GROUP3OPT_FILLBITS)
		}
		C.set_u16(t, C.TIFFTAG_PHOTOMETRIC, C.PHOTOMETRIC_MINISWHITE)
		C.set_u16(t, C.TIFFTAG_FILLORDER, C.FILLORDER_LSB2MSB)
		C.set_u16(t, C.TIFFTAG_PLANARCONFIG, C.PLANARCONFIG_CONTIG)
		C.set_u16(t, C.TIFFTAG_RESOLUTIONUNIT, C.RESUNIT_INCH)
		C.set_float(t, C.TIFFTAG_XRESOLUTION, C.double(p.XRes))
		C.set_float(t, C.TIFFTAG_YRESOLUTION, C.double(p.YRes))
		C.set_u32(t, C.TIFFTAG_ROWSPERSTRIP, C.uint32_t(p.Height))
		C.set_page(t, C.int(i), C.int(len(pages)))
		row := C.malloc(C.size_t(stride))
		for y := 0; y < p.Height; y++ {
			copy(unsafe.Slice((*byte)(row), stride), p.Rows[y*stride:(y+1)*stride])
			if C.TIFFWriteScanline(t, row, C.uint32_t(y), 0) < 0 {
				C.free(row)
				return fmt.Errorf("spandsp: %s: write failed at page %d row %d", path, i, y)
			}
		}
		C.free(row)
		if C.TIFFWriteDirectory(t) == 0 {
			return fmt.Errorf("spandsp: %s: cannot finish page %d", path, i)
		}
	}
	return nil
}

// ReadTIFF reads every page of a bilevel TIFF with libtiff (any compression libtiff knows).
func ReadTIFF(path string) ([]Bitmap, error) {
	cpath, mode := C.CString(path), C.CString("r")
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(mode))
	C.quiet()
	t := C.TIFFOpen(cpath, mode)
	if t == nil {
		return nil, fmt.Errorf("spandsp: cannot open %s", path)
	}
	defer C.TIFFClose(t)
	var pages []Bitmap
	for {
		w, h := int(C.get_u32(t, C.TIFFTAG_IMAGEWIDTH)), int(C.get_u32(t, C.TIFFTAG_IMAGELENGTH))
		if C.get_u16(t, C.TIFFTAG_BITSPERSAMPLE) != 1 || w == 0 {
			return nil, errors.New("spandsp: not a bilevel TIFF")
		}
		invert := C.get_u16(t, C.TIFFTAG_PHOTOMETRIC) == C.PHOTOMETRIC_MINISBLACK
		stride := (w + 7) / 8
		p := Bitmap{Width: w, Height: h, XRes: int(C.get_float(t, C.TIFFTAG_XRESOLUTION) + 0.5),
			YRes: int(C.get_float(t, C.TIFFTAG_YRESOLUTION) + 0.5), Rows: make([]byte, stride*h)}
		if C.get_u16(t, C.TIFFTAG_RESOLUTIONUNIT) == C.RESUNIT_CENTIMETER {
			p.XRes, p.YRes = int(float64(p.XRes)*2.54+0.5), int(float64(p.YRes)*2.54+0.5)
		}
		buf := C.malloc(C.size_t(C.TIFFScanlineSize(t)))
		for y := 0; y < h; y++ {
			if C.TIFFReadScanline(t, buf, C.uint32_t(y), 0) < 0 {
				C.free(buf)
				return nil, fmt.Errorf("spandsp: %s: page %d row %d unreadable", path, len(pages), y)
			}
			row := p.Rows[y*stride : (y+1)*stride]
			copy(row, unsafe.Slice((*byte)(buf), stride))
			if invert {
				for i := range row {
					row[i] = ^row[i]
				}
			}
		}
		C.free(buf)
		pages = append(pages, p)
		if C.TIFFReadDirectory(t) == 0 {
			break
		}
	}
	return pages, nil
}
