// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import "fmt"

// Limits on what a coder accepts, so that no input can make it use unbounded memory or time.
const (
	// MaxWidth is the widest row accepted, in pixels. Fax pages are at most 4864 pixels wide (T.4
	// §2.2, B4 at 600 dpi); scanned pages in PDFs reach about 10000.
	MaxWidth = 1 << 16
	// MaxRows is the most rows a page may have (an A4 page at 1200 lines per inch has 14000).
	MaxRows = 1 << 16
	// MaxPixels bounds Width*Height of one page (32 MiB of packed bitmap).
	MaxPixels = 1 << 28
	// maxPending bounds the coded bytes a streaming Decoder holds while it waits for the end of a
	// row; a row longer than this is counted bad and skipped.
	maxPending = 1 << 20
)

// Compression is a fax coding scheme.
type Compression uint8

// The coding schemes. The zero value is invalid.
const (
	_   Compression = iota
	MH              // T.4 Modified Huffman: one-dimensional (T.4 §4.1)
	MR              // T.4 Modified READ: two-dimensional, a one-dimensional row every K rows (T.4 §4.2)
	MMR             // T.6 Modified Modified READ: two-dimensional only, no EOLs (T.6 §2)
)

func (c Compression) String() string {
	switch c {
	case MH:
		return "MH"
	case MR:
		return "MR"
	case MMR:
		return "MMR"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// FillOrder is the order of bits within a coded byte. The values are TIFF's FillOrder tag values.
type FillOrder uint8

// The bit orders. The zero value is invalid.
const (
	_ FillOrder = iota
	// MSBFirst puts the first bit of the stream in the most significant bit of each byte (TIFF
	// FillOrder 1, PDF).
	MSBFirst
	// LSBFirst puts the first bit in the least significant bit: the transmission order of T.30
	// modems and T.38 (TIFF FillOrder 2).
	LSBFirst
)

func (o FillOrder) String() string {
	switch o {
	case MSBFirst:
		return "MSBFirst"
	case LSBFirst:
		return "LSBFirst"
	}
	return fmt.Sprintf("FillOrder(%d)", uint8(o))
}

// Options describe a coded stream. The same Options decode what an Encoder with them produced.
type Options struct {
	Compression Compression
	// K is the MR K factor (T.4 §4.2.1): one one-dimensional row, then up to K-1 two-dimensional
	// rows. T.4 sets K=2 at standard and K=4 at fine resolution; see KForResolution. The decoder
	// ignores K: it follows the tag bit after each EOL.
	K int
	// Width is the number of pixels per row, 1..MaxWidth. Any width works, not only multiples of 8.
	Width int
	// Height is the number of rows to decode; 0 means up to RTC, EOFB or the end of the data. The
	// encoder ignores it.
	Height int
	// Order is the bit order of the coded bytes.
	Order FillOrder
	// NoEOL says T.4 rows are not preceded by EOL codes (TIFF Compression=2, PDF EndOfLine false).
	// MR rows still start with their tag bit. Without EOLs a damaged row cannot be resynchronised.
	NoEOL bool
	// FillEOL adds zero fill bits before each EOL so that the EOL ends on a byte boundary (T.4
	// §4.1.3; TIFF T4Options bit 2). The decoder accepts fill bits whether or not this is set.
	FillEOL bool
	// AlignRows starts each coded row (with its EOL, if any) on a byte boundary: PDF
	// EncodedByteAlign, TIFF Compression=2. Unlike FillEOL, the decoder needs it for streams
	// without EOLs.
	AlignRows bool
	// BlackIs0 inverts the pixel sense of the rows: 0 = black, 1 = white (PDF BlackIs1 false, TIFF
	// PhotometricInterpretation MinIsBlack). Pages are always 1 = black; this is for raw rows only.
	BlackIs0 bool
	// NoTrailer omits RTC (T.4 §4.1.4) or EOFB (T.6 §2.4.4) when encoding, as libtiff does for
	// Group 3 in TIFF. Decoders accept streams with or without a trailer.
	NoTrailer bool
	// MinRowBits pads every coded T.4 row with fill bits before its EOL to at least this many bits
	// (T.30 minimum scan line time: bits per second times the time). 0 means no minimum.
	MinRowBits int
}

func (o *Options) check() error {
	switch {
	case o.Compression < MH || o.Compression > MMR:
		return fmt.Errorf("%w: compression %v", ErrOptions, o.Compression)
	case o.Order != MSBFirst && o.Order != LSBFirst:
		return fmt.Errorf("%w: bit order %v", ErrOptions, o.Order)
	case o.Width < 1 || o.Width > MaxWidth:
		return fmt.Errorf("%w: width %d not in 1..%d", ErrOptions, o.Width, MaxWidth)
	case o.Height < 0 || o.Height > MaxRows || o.Height*o.Width > MaxPixels:
		return fmt.Errorf("%w: height %d", ErrOptions, o.Height)
	case o.Compression == MR && (o.K < 1 || o.K > MaxRows):
		return fmt.Errorf("%w: MR needs K >= 1, got %d", ErrOptions, o.K)
	case o.MinRowBits < 0 || o.MinRowBits > 1<<20:
		return fmt.Errorf("%w: minimum row bits %d", ErrOptions, o.MinRowBits)
	}
	return nil
}

// KForResolution returns the MR K factor for a vertical resolution in lines per inch: 2 at standard
// (3.85 lines/mm, about 98 lpi) and 4 at fine (7.7 lines/mm) per T.4 §4.2.1, and for higher
// resolutions the values T.4 Annex A/T.30 implementations use (8 at 15.4 lines/mm, 300 and 400 lpi).
// It is the same 150 lpi threshold libtiff uses between 2 and 4.
func KForResolution(yres int) int {
	switch {
	case yres <= 150:
		return 2
	case yres < 300:
		return 4
	default:
		return 8
	}
}
