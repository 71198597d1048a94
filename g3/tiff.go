// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// TIFF tags used by TIFF Class F (TIFF 6.0 Section 11 and the Class F profile, RFC 2306).
const (
	tagNewSubfileType  = 254
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagFillOrder       = 266
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagYResolution     = 283
	tagT4Options       = 292
	tagT6Options       = 293
	tagResolutionUnit  = 296
	tagPageNumber      = 297
)

// ErrNotTIFF reports data that is not a TIFF file; ErrUnsupported a TIFF page that is not a bilevel
// fax-style image (for example an LZW colour page), which ReadTIFF skips.
var (
	ErrNotTIFF     = errors.New("g3: not a TIFF file")
	ErrUnsupported = errors.New("g3: unsupported TIFF page")
)

// maxTIFFPages bounds the directory chain (and breaks loops in it).
const maxTIFFPages = 4096

// A CodedPage is one coded page image: its geometry and resolution, the Options that describe the
// coding, and the coded bytes, as a fax receiver gets them or as ReadTIFF finds them. Writers embed
// Data without decoding it.
type CodedPage struct {
	Width, Height int
	XRes, YRes    int
	Opts          Options
	Data          []byte
}

// EncodePages codes pages for WriteTIFF or WritePDF with opts (Width is taken from each page).
func EncodePages(pages []*Page, opts Options) ([]CodedPage, error) {
	var e Encoder
	out := make([]CodedPage, 0, len(pages))
	for _, p := range pages {
		o := opts
		o.Width = p.Width
		b, err := e.EncodePage(nil, p, o)
		if err != nil {
			return nil, err
		}
		out = append(out, CodedPage{Width: p.Width, Height: p.Height, XRes: p.XRes, YRes: p.YRes, Opts: o, Data: b})
	}
	return out, nil
}

// tiffFile is a parsed TIFF directory chain.
type tiffFile struct {
	data []byte
	bo   binary.ByteOrder
}

type ifdEntry struct {
	typ   uint16
	count uint32
	val   []byte // the value bytes (inline or at the offset)
}

func (t *tiffFile) u16(off int) (uint16, bool) {
	if off < 0 || off+2 > len(t.data) {
		return 0, false
	}
	return t.bo.Uint16(t.data[off:]), true
}

func (t *tiffFile) u32(off int) (uint32, bool) {
	if off < 0 || off+4 > len(t.data) {
		return 0, false
	}
	return t.bo.Uint32(t.data[off:]), true
}

// typeSize is the byte size of TIFF field types 1..12.
var typeSize = [13]int{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8}

func (t *tiffFile) readIFD(off int) (map[uint16]ifdEntry, int, error) {
	n, ok := t.u16(off)
	if !ok {
		return nil, 0, fmt.Errorf("%w: directory offset %d out of range", ErrNotTIFF, off)
	}
	m := make(map[uint16]ifdEntry, n)
	for i := 0; i < int(n); i++ {
		e := off + 2 + 12*i
		tag, ok1 := t.u16(e)
		typ, ok2 := t.u16(e + 2)
		cnt, ok3 := t.u32(e + 4)
		if !ok1 || !ok2 || !ok3 {
			return nil, 0, fmt.Errorf("%w: truncated directory", ErrNotTIFF)
		}
		if typ == 0 || typ > 12 {
			continue
		}
		size := int64(typeSize[typ]) * int64(cnt)
		var val []byte
		if size <= 4 {
			val = t.data[e+8 : e+8+int(size)]
		} else {
			vo, _ := t.u32(e + 8)
			if int64(vo)+size > int64(len(t.data)) {
				continue // a value outside the file: ignore the tag, as libtiff does
			}
			val = t.data[vo : int64(vo)+size]
		}
		m[tag] = ifdEntry{typ: typ, count: cnt, val: val}
	}
	next, ok := t.u32(off + 2 + 12*int(n))
	if !ok {
		next = 0
	}
	return m, int(next), nil
}

// ints returns an integer field's values (BYTE, SHORT, LONG).
func (t *tiffFile) ints(e ifdEntry) []int {
	sz := typeSize[e.typ]
	out := make([]int, 0, e.count)
	for i := 0; i+sz <= len(e.val); i += sz {
		switch e.typ {
		case 1:
			out = append(out, int(e.val[i]))
		case 3:
			out = append(out, int(t.bo.Uint16(e.val[i:])))
		case 4:
			out = append(out, int(t.bo.Uint32(e.val[i:])))
		default:
			return nil
		}
	}
	return out
}

func (t *tiffFile) int1(m map[uint16]ifdEntry, tag uint16, def int) int {
	if e, ok := m[tag]; ok {
		if v := t.ints(e); len(v) > 0 {
			return v[0]
		}
	}
	return def
}

func (t *tiffFile) rational(m map[uint16]ifdEntry, tag uint16) float64 {
	e, ok := m[tag]
	if !ok || e.typ != 5 || len(e.val) < 8 {
		return 0
	}
	num, den := t.bo.Uint32(e.val), t.bo.Uint32(e.val[4:])
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// A TIFFPage is one directory of a TIFF file: the coded page, its strips, and whether pixel values
// are inverted (PhotometricInterpretation MinIsBlack).
type TIFFPage struct {
	CodedPage
	Compression  int      // the TIFF Compression tag: 1 none, 2 RLE (MH without EOLs), 3 T.4, 4 T.6
	MinIsBlack   bool     // PhotometricInterpretation 1: coded white is displayed black
	Strips       [][]byte // coded strips, each starting a new coded stream
	RowsPerStrip int
}

// ParseTIFF lists the bilevel pages of a TIFF file without decoding them. Directories that are not
// bilevel CCITT or uncompressed images are skipped.
func ParseTIFF(data []byte) ([]TIFFPage, error) {
	if len(data) < 8 {
		return nil, ErrNotTIFF
	}
	t := &tiffFile{data: data}
	switch string(data[:2]) {
	case "II":
		t.bo = binary.LittleEndian
	case "MM":
		t.bo = binary.BigEndian
	default:
		return nil, ErrNotTIFF
	}
	if v, _ := t.u16(2); v != 42 {
		return nil, ErrNotTIFF
	}
	off32, _ := t.u32(4)
	off := int(off32)
	var pages []TIFFPage
	seen := map[int]bool{}
	for off != 0 && len(seen) < maxTIFFPages {
		if seen[off] {
			break
		}
		seen[off] = true
		m, next, err := t.readIFD(off)
		if err != nil {
			if len(pages) > 0 {
				break
			}
			return nil, err
		}
		off = next
		p, err := t.page(m)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			return pages, err
		}
		pages = append(pages, p)
	}
	return pages, nil
}

func (t *tiffFile) page(m map[uint16]ifdEntry) (TIFFPage, error) {
	var p TIFFPage
	w, h := t.int1(m, tagImageWidth, 0), t.int1(m, tagImageLength, 0)
	if t.int1(m, tagBitsPerSample, 1) != 1 || t.int1(m, tagSamplesPerPixel, 1) != 1 {
		return p, ErrUnsupported
	}
	p.Compression = t.int1(m, tagCompression, 1)
	if p.Compression < 1 || p.Compression > 4 {
		return p, ErrUnsupported
	}
	if w < 1 || w > MaxWidth || h < 1 || h > MaxRows || w*h > MaxPixels {
		return p, fmt.Errorf("%w: TIFF page %dx%d", ErrLimit, w, h)
	}
	p.Width, p.Height = w, h
	p.MinIsBlack = t.int1(m, tagPhotometric, 0) == 1
	p.RowsPerStrip = t.int1(m, tagRowsPerStrip, h)
	if p.RowsPerStrip < 1 || p.RowsPerStrip > h {
		p.RowsPerStrip = h
	}
	xr, yr := t.rational(m, tagXResolution), t.rational(m, tagYResolution)
	if t.int1(m, tagResolutionUnit, 2) == 3 {
		xr, yr = xr*2.54, yr*2.54
	}
	p.XRes, p.YRes = int(xr+0.5), int(yr+0.5)
	o := Options{Width: w, Height: h, Order: MSBFirst}
	if t.int1(m, tagFillOrder, 1) == 2 {
		o.Order = LSBFirst
	}
	switch p.Compression {
	case 2:
		o.Compression, o.NoEOL, o.AlignRows, o.NoTrailer = MH, true, true, true
	case 3:
		t4 := t.int1(m, tagT4Options, 0)
		if t4&2 != 0 {
			return p, fmt.Errorf("%w: T.4 uncompressed mode", ErrUnsupported)
		}
		o.Compression, o.NoTrailer, o.FillEOL = MH, true, t4&4 != 0
		if t4&1 != 0 {
			o.Compression, o.K = MR, KForResolution(p.YRes)
		}
	case 4:
		if t.int1(m, tagT6Options, 0)&2 != 0 {
			return p, fmt.Errorf("%w: T.6 uncompressed mode", ErrUnsupported)
		}
		o.Compression = MMR
	}
	p.Opts = o
	offs, cnts := t.ints(m[tagStripOffsets]), t.ints(m[tagStripByteCounts])
	nstrips := (h + p.RowsPerStrip - 1) / p.RowsPerStrip
	if len(offs) < nstrips {
		return p, fmt.Errorf("%w: %d strip offsets for %d strips", ErrNotTIFF, len(offs), nstrips)
	}
	for i := 0; i < nstrips; i++ {
		o := offs[i]
		if o < 0 || o >= len(t.data) {
			return p, fmt.Errorf("%w: strip %d outside the file", ErrNotTIFF, i)
		}
		n := len(t.data) - o // a missing or zero StripByteCounts: read to the end, as libtiff estimates
		if i < len(cnts) && cnts[i] > 0 && cnts[i] <= n {
			n = cnts[i]
		}
		p.Strips = append(p.Strips, t.data[o:o+n])
	}
	p.Data = p.Strips[0]
	return p, nil
}

// DecodeTIFFPage decodes one parsed TIFF page into a Page (1 = black as displayed). Each strip is a
// coded stream of its own whose first reference line is white, as libtiff decodes strips. It returns
// the page decoded so far along with an error for damaged data.
func DecodeTIFFPage(tp *TIFFPage) (*Page, Stats, error) {
	p, err := NewPage(tp.Width, 0, tp.XRes, tp.YRes)
	if err != nil {
		return nil, Stats{}, err
	}
	var total Stats
	var d Decoder
	var firstErr error
	var part Page
	for i, s := range tp.Strips {
		rows := min(tp.RowsPerStrip, tp.Height-i*tp.RowsPerStrip)
		if tp.Compression == 1 {
			stride := p.Stride
			for y := 0; y < rows; y++ {
				row := make([]byte, stride)
				if (y+1)*stride <= len(s) {
					copy(row, s[y*stride:])
				} else if firstErr == nil {
					firstErr = &CorruptInputError{Row: p.Height, Reason: "uncompressed strip too short"}
				}
				if tp.Opts.Order == LSBFirst {
					for j := range row {
						row[j] = bits.Reverse8(row[j])
					}
				}
				p.WriteRow(row)
			}
			continue
		}
		o := tp.Opts
		o.Height = rows
		st, err := d.DecodePage(&part, s, o)
		if tp.Compression == 3 && !o.NoEOL && (err != nil || st.BadRows == st.Rows) && !hasEOL(s, o.Order, 32) {
			// A Group 3 strip without EOLs is Compression=2 data under the wrong tag (TwelveMonkeys
			// issues 535 and 579 found such files; libtiff's tryG3WithoutEOL tries the same):
			// decode it as MH without EOLs, rows byte-aligned or not, whichever decodes.
			for _, align := range []bool{true, false} {
				o2 := o
				o2.Compression, o2.NoEOL, o2.AlignRows = MH, true, align
				var alt Page
				st2, err2 := d.DecodePage(&alt, s, o2)
				if err2 == nil && st2.BadRows == 0 {
					part, st, err = alt, st2, nil
					break
				}
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		total.Rows += st.Rows
		total.BadRows += st.BadRows
		total.LongestBadRun = max(total.LongestBadRun, st.LongestBadRun)
		total.Bits += st.Bits
		total.Trailer = st.Trailer
		p.Pix = append(p.Pix, part.Pix...)
		p.Height += part.Height
	}
	if tp.MinIsBlack {
		for y := 0; y < p.Height; y++ {
			invertRow(p.Row(y), p.Width)
		}
	}
	return p, total, firstErr
}

// ReadTIFF decodes every bilevel page of a TIFF file (TIFF Class F and other CCITT or uncompressed
// bilevel TIFFs: multi-page, multi-strip, FillOrder 1 and 2). Non-bilevel pages are skipped. On
// damaged data it returns the pages decoded so far, the damaged one included, and the error.
func ReadTIFF(data []byte) ([]*Page, error) {
	tps, err := ParseTIFF(data)
	var pages []*Page
	for i := range tps {
		p, _, perr := DecodeTIFFPage(&tps[i])
		if p != nil {
			pages = append(pages, p)
		}
		if perr != nil {
			return pages, fmt.Errorf("g3: TIFF page %d: %w", i+1, perr)
		}
	}
	return pages, err
}

// WriteTIFF writes coded pages as a multi-page TIFF Class F file (RFC 2306): one strip per page,
// FillOrder 1, resolution tags in dots per inch, PageNumber. Group 3 pages are stored as they are
// coded; LSB-first data is bit-reversed into a copy (libtiff reverses the caller's buffer in place,
// which this must not do).
func WriteTIFF(w io.Writer, pages []CodedPage) error {
	if len(pages) == 0 {
		return fmt.Errorf("%w: no pages", ErrOptions)
	}
	le := binary.LittleEndian
	var out []byte
	out = append(out, 'I', 'I', 42, 0, 0, 0, 0, 0)
	prevNext := 4 // where the offset of the next directory goes
	for i, cp := range pages {
		o := cp.Opts
		if cp.Width < 1 || cp.Height < 0 || o.Width != cp.Width {
			return fmt.Errorf("%w: page %d geometry", ErrOptions, i+1)
		}
		if o.NoEOL && o.Compression != MMR && !(o.Compression == MH && o.AlignRows) {
			return fmt.Errorf("%w: page %d: T.4 without EOLs has no TIFF form", ErrOptions, i+1)
		}
		data := cp.Data
		if o.Order == LSBFirst {
			data = make([]byte, len(cp.Data))
			for j, b := range cp.Data {
				data[j] = bits.Reverse8(b)
			}
		}
		if len(out)&1 == 1 {
			out = append(out, 0)
		}
		stripOff := len(out)
		out = append(out, data...)
		if len(out)&1 == 1 {
			out = append(out, 0)
		}
		// Resolutions as rationals.
		xres, yres := cp.XRes, cp.YRes
		if xres <= 0 {
			xres = ResX
		}
		if yres <= 0 {
			yres = ResFine
		}
		ratOff := len(out)
		out = le.AppendUint32(out, uint32(xres))
		out = le.AppendUint32(out, 1)
		out = le.AppendUint32(out, uint32(yres))
		out = le.AppendUint32(out, 1)

		comp, t4, t6 := 3, 0, 0
		switch {
		case o.Compression == MMR:
			comp = 4
		case o.NoEOL:
			comp = 2
		case o.Compression == MR:
			t4 = 1
		}
		if o.FillEOL && comp == 3 {
			t4 |= 4
		}
		type ent struct {
			tag, typ uint16
			val      uint32
		}
		ents := []ent{
			{tagNewSubfileType, 4, 2},
			{tagImageWidth, 4, uint32(cp.Width)},
			{tagImageLength, 4, uint32(cp.Height)},
			{tagBitsPerSample, 3, 1},
			{tagCompression, 3, uint32(comp)},
			{tagPhotometric, 3, 0},
			{tagFillOrder, 3, 1},
			{tagStripOffsets, 4, uint32(stripOff)},
			{tagSamplesPerPixel, 3, 1},
			{tagRowsPerStrip, 4, uint32(max(cp.Height, 1))},
			{tagStripByteCounts, 4, uint32(len(data))},
			{tagXResolution, 5, uint32(ratOff)},
			{tagYResolution, 5, uint32(ratOff + 8)},
		}
		if comp == 3 {
			ents = append(ents, ent{tagT4Options, 4, uint32(t4)})
		}
		if comp == 4 {
			ents = append(ents, ent{tagT6Options, 4, uint32(t6)})
		}
		ents = append(ents, ent{tagResolutionUnit, 3, 2}, ent{tagPageNumber, 3, uint32(i) | uint32(len(pages))<<16})
		ifd := len(out)
		le.PutUint32(out[prevNext:], uint32(ifd))
		out = le.AppendUint16(out, uint16(len(ents)))
		for _, e := range ents {
			out = le.AppendUint16(out, e.tag)
			out = le.AppendUint16(out, e.typ)
			cnt := uint32(1)
			if e.tag == tagPageNumber {
				cnt = 2
			}
			out = le.AppendUint32(out, cnt)
			if e.typ == 3 && e.tag != tagPageNumber {
				out = le.AppendUint16(out, uint16(e.val))
				out = le.AppendUint16(out, 0)
			} else if e.tag == tagPageNumber {
				out = le.AppendUint16(out, uint16(e.val))
				out = le.AppendUint16(out, uint16(e.val>>16))
			} else {
				out = le.AppendUint32(out, e.val)
			}
		}
		prevNext = len(out)
		out = le.AppendUint32(out, 0)
		if len(out) > 1<<32-1 {
			return fmt.Errorf("%w: TIFF file over 4 GiB", ErrLimit)
		}
	}
	_, err := w.Write(out)
	return err
}

// hasEOL reports whether an EOL (11 zero bits and a 1) starts in the first n bytes of s.
func hasEOL(s []byte, order FillOrder, n int) bool {
	zeros := 0
	for i := 0; i < len(s) && i < n+2; i++ {
		b := s[i]
		if order == LSBFirst {
			b = bits.Reverse8(b)
		}
		for j := 7; j >= 0; j-- {
			if b>>j&1 == 0 {
				zeros++
				continue
			}
			if zeros >= 11 {
				return true
			}
			zeros = 0
		}
	}
	return false
}
