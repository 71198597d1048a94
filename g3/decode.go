// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"fmt"
	"math/bits"
	"slices"
)

// Two-dimensional coding modes (T.4 §4.2.1.3.2, Table 4), numbered as gen.go numbers modeDecode.
const (
	modePass = iota + 1
	modeH
	modeV0
	modeVR1
	modeVR2
	modeVR3
	modeVL1
	modeVL2
	modeVL3
	modeExt
)

// rowStatus is how the decoding of one row ended.
type rowStatus uint8

const (
	rowOK  rowStatus = iota
	rowBad           // invalid code, impossible position or too many changes: pad white, resynchronise
	rowEOL           // an EOL inside the row (T.4 §4.1.2 "premature EOL"); the EOL is consumed
	rowEOF           // the row ran off the end of the data
)

// A RowWriter receives decoded rows: packed, 1 = black (or 1 = white with Options.BlackIs0), at
// least (Width+7)/8 bytes. The slice is only valid during the call.
type RowWriter interface {
	WriteRow(row []byte) error
}

// Stats describe a decoded page, for T.30 copy-quality checking (T.30 §5.3.6.1.1 leaves the
// criteria to the receiver: typically the share of bad rows and the longest run of bad rows).
type Stats struct {
	Rows          int   // rows delivered, including bad ones
	BadRows       int   // rows with a coding error (delivered padded with white), and with a known Height the rows missing at the end
	LongestBadRun int   // most consecutive bad rows
	Trailer       bool  // the stream ended with RTC (T.4) or EOFB (T.6)
	Bits          int64 // coded bits consumed
}

// A Decoder decodes MH, MR and MMR streams. It can decode a whole page held in memory
// (DecodePage), or rows as coded bytes arrive (Reset, Write, Close). The zero value is not ready;
// use NewDecoder or Reset. A Decoder can be reused for any number of pages and then allocates nothing
// once its buffers have grown to the page size.
type Decoder struct {
	opts  Options
	width int32
	br    bitReader

	// cur and ref are the changing elements (T.4 §4.2.1.3.1) of the coding line and the reference
	// line: positions where the colour changes, alternately to black and to white, each followed by
	// sentinel entries equal to the width. maxChanges bounds them (the CVE-2011-0192 class of
	// overflow cannot happen).
	cur, ref   []int32
	ncur, nref int // changing elements in cur and ref, before the sentinels
	maxChanges int

	rowState
	done bool // RTC/EOFB seen, or a fatal error
	err  error

	// Streaming (Reset/Write/Close).
	sink   RowWriter
	buf    []byte // unconsumed coded bytes
	row    []byte // one row for sink
	closed bool

	// Whole-page decoding (DecodePage).
	page *Page
}

// rowState is the decoder state that one row attempt changes; a streaming decoder restores it when
// a row must wait for more data.
type rowState struct {
	next2D     bool  // MR: the tag bit of the row being decoded said two-dimensional
	eolPending bool  // an EOL was consumed inside the last row, so the next row starts after its 1 bit
	layout     int   // AlignRows with EOLs: which bits are aligned (layoutUnknown until the first row)
	rowData    int64 // bit offset in the buffer where the last T.4 row's data started (-1: none)
	skipped    bool  // syncEOL skipped bits that were not fill bits
	prevBad    bool  // the last row delivered was counted bad
	runBefore  int   // badRun before the last row, to count it bad afterwards
	stats      Stats
	badRun     int
}

// NewDecoder returns a decoder for streams described by opts, delivering rows to dst (which may be
// nil when only DecodePage is used).
func NewDecoder(opts Options, dst RowWriter) (*Decoder, error) {
	d := new(Decoder)
	if err := d.Reset(opts, dst); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset prepares d for a new page: rows decoded from the bytes given to Write go to dst.
func (d *Decoder) Reset(opts Options, dst RowWriter) error {
	if err := opts.check(); err != nil {
		return err
	}
	d.opts = opts
	d.width = int32(opts.Width)
	// A valid row has at most Width changes; zero-length runs from odd encoders can add a few more.
	d.maxChanges = opts.Width + 8
	if n := d.maxChanges + 4; cap(d.cur) < n {
		d.cur = make([]int32, n)
		d.ref = make([]int32, n)
	}
	d.cur, d.ref = d.cur[:d.maxChanges+4], d.ref[:d.maxChanges+4]
	d.setRefWhite()
	d.next2D, d.eolPending, d.done, d.err, d.closed = false, false, false, nil, false
	d.layout, d.rowData = layoutUnknown, -1
	d.stats, d.badRun = Stats{}, 0
	d.sink, d.page = dst, nil
	d.buf = d.buf[:0]
	stride := (opts.Width + 7) / 8
	if cap(d.row) < stride {
		d.row = make([]byte, stride)
	}
	d.row = d.row[:stride]

	d.buf = slices.Grow(d.buf, readPad)
	d.br.reset(d.buf)
	return nil
}

// setRefWhite makes the reference line an all-white row (T.4 §4.2.1.3.1: the line above the first
// line of a page is white; T.6 §2.2.1).
func (d *Decoder) setRefWhite() {
	d.nref = 0
	for i := 0; i < 4; i++ {
		d.ref[i] = d.width
	}
}

// Stats returns the statistics of the page decoded so far.
func (d *Decoder) Stats() Stats {
	s := d.stats
	s.Bits = d.br.offset()
	if l := int64(d.br.end) * 8; s.Bits > l {
		s.Bits = l
	}
	return s
}

// Write adds coded bytes (in the bit order of the options) and decodes every row they complete.
// It copies p. It returns an error only when the sink fails, a limit is hit or the stream is
// closed; damaged rows are counted in Stats.
func (d *Decoder) Write(p []byte) (int, error) {
	if d.closed {
		return 0, ErrClosed
	}
	if d.err != nil {
		return 0, d.err
	}
	if d.done {
		return len(p), nil // data after RTC/EOFB is ignored (T.4 §4.1.4)
	}
	// Drop consumed bytes before appending, so the buffer holds about one row, and reload the bit
	// accumulator, which may hold zeros read past the old end.
	off := d.br.offset()
	keep := off
	if d.rowData >= 0 && d.rowData < keep {
		keep = d.rowData // the last row, to resynchronise from if the next EOL is not where expected
	}
	if used := int(keep / 8); used > 0 && used <= len(d.buf) {
		d.buf = d.buf[:copy(d.buf, d.buf[used:])]
		off -= int64(used) * 8
		if d.rowData -= int64(used) * 8; d.rowData < 0 {
			d.rowData = -1
		}
	}
	if d.opts.Order == LSBFirst {
		d.buf = appendReversed(d.buf, p)
	} else {
		d.buf = append(d.buf, p...)
	}
	d.buf = slices.Grow(d.buf, readPad)
	d.br.setData(d.buf)
	d.br.seek(off)
	d.decode(false)
	return len(p), d.err
}

// Close marks the end of the coded data: the last row is decoded even if it is short, and with a
// known Height the missing rows are delivered white. It returns the error that stopped decoding,
// if any; a page with bad rows but a readable end returns nil (see Stats).
func (d *Decoder) Close() error {
	if d.closed {
		return d.err
	}
	d.closed = true
	if d.err == nil {
		d.decode(true)
	}
	return d.err
}

// DecodePage decodes the whole stream src into p, reusing p.Pix. It is the fast path for stored
// pages (TIFF strips, PDF streams). The returned error is nil when the page decoded, even with bad
// MH/MR rows (see Stats); it is a *CorruptInputError when MMR data is damaged or the data ends
// before Height rows.
func (d *Decoder) DecodePage(p *Page, src []byte, opts Options) (Stats, error) {
	if err := d.Reset(opts, nil); err != nil {
		return Stats{}, err
	}
	p.Reset(opts.Width, p.XRes, p.YRes)
	if opts.Height > 0 {
		if n := opts.Height * p.Stride; cap(p.Pix) < n {
			p.Pix = make([]byte, 0, n)
		}
	}
	d.page = p
	// A copy with zero padding (bit-reversed for LSB-first data) lets the bit reader load 8 bytes
	// at a time without checking for the end; it costs about 1% of the decoding.
	d.buf = slices.Grow(d.buf[:0], len(src)+readPad)
	if opts.Order == LSBFirst {
		d.buf = appendReversed(d.buf, src)
	} else {
		d.buf = append(d.buf, src...)
	}
	d.br.reset(d.buf)
	d.closed = true
	d.decode(true)
	d.page = nil
	return d.Stats(), d.err
}

// Decode decodes a whole stream into a new page.
func Decode(src []byte, opts Options) (*Page, Stats, error) {
	var d Decoder
	p := new(Page)
	st, err := d.DecodePage(p, src, opts)
	return p, st, err
}

// decode decodes rows until the data runs out (final: until the end of the page).
func (d *Decoder) decode(final bool) {
	for !d.done && d.err == nil {
		if d.opts.Height > 0 && d.stats.Rows >= d.opts.Height {
			d.done = true
			return
		}
		if d.stats.Rows >= MaxRows || (d.stats.Rows+1)*d.opts.Width > MaxPixels {
			d.fail(fmt.Errorf("%w: more than %d rows", ErrLimit, d.stats.Rows))
			return
		}
		save := d.br
		snap := d.rowState
		st, end := d.decodeRow()
		if end {
			if st == rowEOF && !final {
				d.br, d.rowState = save, snap
				d.checkPending()
				return
			}
			d.finish(st)
			return
		}
		if !final && (st == rowEOF || d.br.offset()+16 > int64(d.br.end)*8) {
			// The row needs more data, or its end was judged on bits that have not arrived yet
			// (a code is looked up with up to 13 bits): decode it again when more come.
			d.br, d.rowState = save, snap
			d.checkPending()
			return
		}
		d.emit(st)
		if st == rowEOF {
			d.finish(st)
			return
		}
		if st != rowOK && d.opts.Compression == MMR {
			// T.6 has no EOLs to resynchronise on: keep the rows decoded so far (libtiff stops at an
			// EOL too, and goes on decoding garbage after other errors).
			d.fail(&CorruptInputError{Row: d.stats.Rows - 1, Offset: d.br.offset(), Reason: "invalid MMR code"})
			return
		}
		if st == rowBad && !d.opts.NoEOL && d.opts.Compression != MMR && d.rowData > save.offset() {
			// Search for the next EOL from the start of the bad row's data, not from where the
			// decoding failed: a damaged code may have run over the EOL of the next row, which
			// would lose that row too (T.4 §4.1.2: the EOL lets the receiver resynchronise).
			d.br.seek(d.rowData)
			d.eolPending = false
		}
		if st != rowOK && (d.opts.NoEOL || d.br.offset() == save.offset()) {
			// Without EOLs there is nothing to resynchronise on (T.4 §4.1.2).
			d.fail(&CorruptInputError{Row: d.stats.Rows - 1, Offset: d.br.offset(), Reason: "invalid code in a stream without EOLs"})
			return
		}
	}
}

// checkPending bounds the bytes a streaming decoder keeps for one unfinished row.
func (d *Decoder) checkPending() {
	if d.br.end-int(d.br.offset()/8) > maxPending {
		d.fail(fmt.Errorf("%w: a row longer than %d bytes", ErrLimit, maxPending))
	}
}

func (d *Decoder) fail(err error) {
	d.err = err
	d.done = true
}

// finish ends the page: with a known height, missing rows are delivered white.
func (d *Decoder) finish(st rowStatus) {
	d.done = true
	if d.opts.Height == 0 {
		return
	}
	missing := d.stats.Rows < d.opts.Height
	for d.stats.Rows < d.opts.Height && d.err == nil {
		// Rows that never came are delivered white and counted bad, for copy-quality checking.
		d.ncur = 0
		d.emit(rowBad)
	}
	if missing && d.err == nil && (d.opts.Compression != MMR || d.stats.Rows == 0 || st == rowEOF) && !d.stats.Trailer {
		d.err = &CorruptInputError{Row: d.stats.Rows, Offset: d.br.offset(), Reason: "data ends before the last row"}
	}
}

// decodeRow decodes one row into d.cur. end reports the end of the page (RTC, EOFB, no more data
// before a row starts), in which case no row was decoded unless st is rowEOF with a partial row.
func (d *Decoder) decodeRow() (st rowStatus, end bool) {
	r := &d.br
	mmr := d.opts.Compression == MMR
	if r.n < 16 {
		r.acc, r.n = r.refill(r.acc, r.n)
	}
	if d.opts.AlignRows && (mmr || d.opts.NoEOL) {
		// With EOLs the EOL search skips the fill zeros; see the layouts below.
		r.skipToByte()
	}
	if d.restZero() {
		// Only zero fill bits are left: the stream ends without RTC or EOFB, as TIFF strips and
		// truncated PDF streams do.
		return rowEOF, true
	}
	if !mmr && !d.opts.NoEOL {
		if r.atEnd() {
			return rowEOF, true
		}
		pending := d.eolPending
		if !d.syncEOL() {
			return rowEOF, true
		}
		if d.skipped && !pending && d.stats.Rows > 0 && d.rowData >= 0 && d.rowData < r.offset() && !d.prevBad {
			// Bits other than fill bits between the last row and this EOL: that row was damaged,
			// though it decoded to the right length, and may have run over the EOL of the row
			// after it. Count it bad and search again from its start.
			d.markPrevBad()
			d.br.seek(d.rowData + 1) // one bit into the row, so that its own EOL is not found again
			if !d.syncEOL() {
				return rowEOF, true
			}
		}
	}
	if !mmr {
		if d.opts.Compression == MR {
			if r.n < 16 {
				r.acc, r.n = r.refill(r.acc, r.n)
			}
			d.next2D = r.acc>>63 == 0
			r.acc <<= 1
			r.n--
		}
		// RTC (T.4 §4.1.4): an EOL right after an EOL. With a known height libtiff reads the extra EOLs
		// as empty rows; only an open-ended stream stops here.
		if !d.opts.NoEOL && d.opts.Height == 0 {
			if r.n < 16 {
				r.acc, r.n = r.refill(r.acc, r.n)
			}
			if r.acc>>(64-11) == 0 {
				if r.past() || r.offset()+11 > int64(r.end)*8 {
					return rowEOF, true
				}
				d.stats.Trailer = true
				return rowOK, true
			}
		}
		if d.opts.NoEOL && r.atEnd() {
			return rowEOF, true
		}
		if d.opts.AlignRows && !d.opts.NoEOL {
			// Byte-aligned rows with EOLs come in two layouts: the EOL starts on a byte boundary
			// (PDF EncodedByteAlign as pdf.js and TwelveMonkeys read it; the EOL search skips the
			// fill zeros) or the row data after the EOL does (golang.org/x/image/ccitt). The first
			// row of a page decides: it is tried as the first layout, then as the second.
			switch d.layout {
			case layoutUnknown:
				save, saveEOL := d.br, d.eolPending
				if st = d.decodeT4Data(); st == rowOK && d.eolFollows() {
					d.layout = layoutEOLAligned
					return st, false
				}
				d.br, d.eolPending = save, saveEOL
				d.layout = layoutDataAligned
				r.skipToByte()
			case layoutDataAligned:
				r.skipToByte()
			}
		}
		d.rowData = d.br.offset()
		return d.decodeT4Data(), false
	}
	// MMR: EOFB (T.6 §2.4.4) is an EOL where a row would start; libtiff stops at any EOL.
	if r.atEnd() {
		return rowEOF, true
	}

	if r.n < 16 {
		r.acc, r.n = r.refill(r.acc, r.n)
	}
	if r.acc>>(64-12) == 1 {
		d.stats.Trailer = true
		return rowOK, true
	}
	return d.decode2D(), false
}

// decodeT4Data decodes the data of a T.4 row after its EOL and tag bit.
func (d *Decoder) decodeT4Data() rowStatus {
	if d.opts.Compression == MR && d.next2D {
		return d.decode2D()
	}
	return d.decode1D()
}

// Layouts of byte-aligned T.4 rows with EOLs (see decodeRow).
const (
	layoutUnknown = iota
	layoutEOLAligned
	layoutDataAligned
)

// eolFollows reports whether the next bits are an EOL: at least 11 zeros (fill bits included) and
// a 1, or the end of the data.
func (d *Decoder) eolFollows() bool {
	r := &d.br
	if r.n < 56 {
		r.acc, r.n = r.refill(r.acc, r.n)
	}
	lz := uint(bits.LeadingZeros64(r.acc))
	return lz >= 11 || r.atEnd()
}

// markPrevBad counts the last row delivered as bad after the fact.
func (d *Decoder) markPrevBad() {
	d.prevBad = true
	d.stats.BadRows++
	d.badRun = d.runBefore + 1
	d.stats.LongestBadRun = max(d.stats.LongestBadRun, d.badRun)
}

// syncEOL moves past the next EOL: at least 11 zero bits (more are fill bits, T.4 §4.1.3) and a 1.
// If an EOL was already consumed inside the last row, only the zeros up to the 1 are skipped, as
// libtiff does. It returns false when the data ends first.
func (d *Decoder) syncEOL() bool {
	r := &d.br
	d.skipped = false
	zeros := uint(0)
	if d.eolPending {
		zeros = 11
		d.eolPending = false
	}
	for {
		if r.n < 56 {
			r.acc, r.n = r.refill(r.acc, r.n)
			if r.past() {
				return false
			}
		}
		lz := uint(bits.LeadingZeros64(r.acc))
		if lz >= r.n {
			zeros += r.n
			r.acc, r.n = 0, 0
			continue
		}
		zeros += lz
		r.acc <<= lz + 1
		r.n -= lz + 1
		if zeros >= 11 {
			return !r.past()
		}
		d.skipped = true
		zeros = 0
	}
}

// restZero reports whether fewer than 64 real bits are left and all of them are zero.
func (d *Decoder) restZero() bool {
	r := &d.br
	left := int64(r.end)*8 - r.offset()
	if left >= 56 {
		return false
	}
	if left <= 0 {
		return true
	}
	if r.n < 56 {
		r.acc, r.n = r.refill(r.acc, r.n)
	}
	return r.acc>>(64-uint(left)) == 0
}

// appendReversed appends src with the bits of each byte reversed (FillOrder 2 to 1).
func appendReversed(dst, src []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	for i, b := range src {
		dst[n+i] = bits.Reverse8(b)
	}
	return dst
}
