// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// A code is a code word of T.4 Tables 2-4: the low n bits of bits, first bit most significant.
type code struct {
	bits uint16
	n    uint8
}

// An Encoder codes rows as MH, MR or MMR. Rows go in with WriteRow and coded bytes come out with
// Next as they are produced, so a sender can transmit a page while it is being coded; EncodePage
// codes a whole Page. Rows are turned into lists of changing elements 64 pixels at a time, and the
// two-dimensional coding walks those lists, never the bitmap (the method of spandsp's encoder).
// The output is the canonical coding of T.4 §4.2.1.3.4 and T.6 §2.2.3: the same bytes libtiff writes.
// A reused Encoder allocates nothing once its buffers have grown.
type Encoder struct {
	opts  Options
	width int32

	cur, ref []int32 // changing elements of the coding and reference lines, with sentinels
	nref     int
	inv      []byte // the inverted row, with BlackIs0

	out      []byte // coded bytes not yet taken by Next
	taken    int64  // bytes taken by Next
	acc      uint64 // pending bits, the last nacc of them valid, right-aligned
	nacc     uint
	rowStart int64 // bit offset where the current T.4 row (its EOL) started, for MinRowBits
	rows     int
	closed   bool
}

// NewEncoder returns an encoder for opts (Height is ignored).
func NewEncoder(opts Options) (*Encoder, error) {
	e := new(Encoder)
	if err := e.Reset(opts); err != nil {
		return nil, err
	}
	return e, nil
}

// Reset starts a new page, dropping any coded bytes not yet taken.
func (e *Encoder) Reset(opts Options) error {
	opts.Height = 0
	if err := opts.check(); err != nil {
		return err
	}
	e.opts = opts
	e.width = int32(opts.Width)
	// rowChanges writes through a 64-entry window at the next free entry (see there).
	if n := opts.Width + 72; cap(e.cur) < n {
		e.cur = make([]int32, n)
		e.ref = make([]int32, n)
	}
	e.cur, e.ref = e.cur[:opts.Width+72], e.ref[:opts.Width+72]
	e.nref = 0
	for i := 0; i < 4; i++ {
		e.ref[i] = e.width
	}
	e.out = e.out[:0]
	e.acc, e.nacc, e.rowStart, e.rows, e.closed, e.taken = 0, 0, 0, 0, false, 0
	return nil
}

// Rows returns the number of rows coded since Reset.
func (e *Encoder) Rows() int { return e.rows }

// Next returns the coded bytes produced since the last call (only whole bytes; Close flushes the
// rest). The slice is valid until the next call of any method.
func (e *Encoder) Next() []byte {
	e.fixOrder(0)
	b := e.out
	e.taken += int64(len(b))
	e.out = e.out[:0]
	return b
}

// WriteRow codes one packed row of at least (Width+7)/8 bytes (1 = black, or 1 = white with
// BlackIs0). Bits after the last pixel are ignored.
func (e *Encoder) WriteRow(row []byte) error {
	if e.closed {
		return ErrClosed
	}
	stride := (e.opts.Width + 7) / 8
	if len(row) < stride {
		return ErrRowSize
	}
	if e.rows >= MaxRows {
		return fmt.Errorf("%w: more than %d rows", ErrLimit, MaxRows)
	}
	if e.opts.BlackIs0 {
		if cap(e.inv) < stride {
			e.inv = make([]byte, stride)
		}
		e.inv = e.inv[:stride]
		copy(e.inv, row)
		invertRow(e.inv, e.opts.Width)
		row = e.inv
	}
	k := rowChanges(row[:stride], e.width, e.cur)
	w := e.width
	e.cur[k], e.cur[k+1], e.cur[k+2], e.cur[k+3] = w, w, w, w
	switch e.opts.Compression {
	case MH:
		e.startT4Row(false)
		e.code1D(k)
	case MR:
		oneD := e.rows%e.opts.K == 0
		e.startT4Row(oneD)
		if oneD {
			e.code1D(k)
		} else {
			e.code2D()
		}
	case MMR:
		if e.opts.AlignRows {
			e.align()
		}
		e.code2D()
	}
	e.cur, e.ref = e.ref, e.cur
	e.nref = k
	e.rows++
	return nil
}

// Close ends the page with RTC (T.4 §4.1.4: six EOLs, each with tag bit 1 in MR) or EOFB (T.6
// §2.4.4: two EOLs) unless NoTrailer is set, and pads the last byte with zeros. Take the last bytes
// with Next.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if !e.opts.NoTrailer {
		switch e.opts.Compression {
		case MMR:
			if e.opts.AlignRows {
				e.align()
			}
			e.put(1, 12)
			e.put(1, 12)
		default:
			e.padRow()
			for i := 0; i < 6; i++ {
				if e.opts.Compression == MR {
					e.put(1<<1|1, 13)
				} else {
					e.put(1, 12)
				}
			}
		}
	} else if e.opts.Compression != MMR {
		e.padRow()
	}
	e.align()
	return nil
}

// EncodePage codes all rows of p (whose width must be opts.Width) with a trailer as Close writes it,
// and appends the bytes to dst.
func (e *Encoder) EncodePage(dst []byte, p *Page, opts Options) ([]byte, error) {
	if p.Width != opts.Width {
		return dst, fmt.Errorf("%w: page width %d, options width %d", ErrOptions, p.Width, opts.Width)
	}
	if err := e.Reset(opts); err != nil {
		return dst, err
	}
	keep := e.out
	e.out = dst
	e.taken = -int64(len(dst))
	for y := 0; y < p.Height; y++ {
		if err := e.WriteRow(p.Pix[y*p.Stride : (y+1)*p.Stride]); err != nil {
			e.out = keep[:0]
			return dst, err
		}
	}
	e.Close()
	e.fixOrder(len(dst))
	res := e.out
	e.out = keep[:0]
	return res, nil
}

// Encode codes a page into a new byte slice.
func Encode(p *Page, opts Options) ([]byte, error) {
	var e Encoder
	return e.EncodePage(nil, p, opts)
}

// rowChanges stores the changing elements of row in ch (T.4 §4.2.1.3.1: pixels whose colour differs
// from the pixel before; the imaginary pixel before the row is white) and returns their number. It
// takes 64 pixels at a time: bit 63-x of d = v ^ (v>>1) is set where pixel x differs from pixel x-1.
// The changes of a word are counted first and then stored from the last to the first, each found
// with a trailing-zero count and cleared with d &= d-1: cheaper than walking from the top, whose
// variable shift ties up a register the loop needs. ch must hold Width+72 entries, as each word
// writes through the window ch[k:k+64].
func rowChanges(row []byte, w int32, ch []int32) int {
	// Whole words of pixels: every change found is inside the row.
	nfull := min(len(row)/8, int(w)/64)
	x := nfull * 8
	k, prev := wordChanges(row[:x], ch)
	base := int32(x * 8)
	if x >= len(row) {
		return k
	}
	// The last, partial word: pixels from w on are cleared and changes from w on dropped.
	var v uint64
	for i := x; i < len(row) && i < x+8; i++ {
		v |= uint64(row[i]) << (56 - 8*(i-x))
	}
	if base+64 > w {
		v &= ^uint64(0) << (64 - uint(w-base)&63)
	}
	d := v ^ (v>>1 | prev<<63)
	for d != 0 {
		lz := bits.LeadingZeros64(d) & 63
		pos := base + int32(lz)
		if pos >= w {
			break
		}
		ch[k] = pos
		k++
		d &^= 1 << 63 >> lz
	}
	return k
}

// wordChanges is rowChanges for whole 64-pixel words, in a function of its own so that its few
// variables stay in registers. It returns the number of changes and the last pixel.
func wordChanges(row []byte, ch []int32) (int, uint64) {
	k := 0
	prev := uint64(0) // the last pixel of the previous word
	top := int32(63)  // the pixel of bit 0 of the word
	// Shrinking r as it is read lets the compiler drop the bounds checks of the loads.
	for r := row; len(r) >= 8; r, top = r[8:], top+64 {
		v := binary.BigEndian.Uint64(r)
		d := v ^ (v>>1 | prev<<63)
		prev = v & 1
		if d == 0 {
			continue
		}
		win := ch[k : k+64]
		j := bits.OnesCount64(d)
		k += j
		for ; d != 0; d &= d - 1 {
			j--
			win[j&63] = top - int32(bits.TrailingZeros64(d))
		}
	}
	return k, prev
}

// startT4Row pads the previous row to MinRowBits and writes the EOL (with fill bits before it when
// FillEOL is set) and, in MR, the tag bit (T.4 §4.2.1.3: 1 before a one-dimensional row).
func (e *Encoder) startT4Row(oneD bool) {
	e.padRow()
	if e.opts.AlignRows {
		e.align()
	}
	e.rowStart = e.bitOffset()
	if e.opts.NoEOL {
		if e.opts.Compression == MR {
			e.put(b2u(oneD), 1)
		}
		return
	}
	if e.opts.FillEOL {
		// Enough zeros that the 12-bit EOL ends on a byte boundary (T.4 §4.1.3).
		e.put(0, (4-e.nacc&7)&7)
	}
	if e.opts.Compression == MR {
		e.put(1<<1|b2u(oneD), 13)
	} else {
		e.put(1, 12)
	}
}

// padRow adds fill bits so that the row just coded, from its EOL, takes at least MinRowBits.
func (e *Encoder) padRow() {
	if e.opts.MinRowBits == 0 || e.rows == 0 {
		return
	}
	for short := int64(e.opts.MinRowBits) - (e.bitOffset() - e.rowStart); short > 0; short -= 32 {
		e.put(0, uint(min(short, 32)))
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (e *Encoder) bitOffset() int64 { return (e.taken+int64(len(e.out)))*8 + int64(e.nacc) }

// put appends the low n bits of c, n <= 32.
func (e *Encoder) put(c uint32, n uint) {
	buf, o := e.reserve(8)
	e.acc, e.nacc, o = putBits(e.acc, e.nacc, buf, o, c, n)
	e.out = buf[:o]
}

// putBits is the bit writer of the hot loops, which keep acc, n and the write index o in locals:
// acc holds n pending bits right-aligned, and every 32 bits go to buf[o:] most significant bit
// first. buf has room reserved for a whole row (see reserve), so nothing grows in the loop.
// LSB-first output is reversed byte by byte when the bytes are handed out (see fixOrder).
func putBits(acc uint64, n uint, buf []byte, o int, c uint32, l uint) (uint64, uint, int) {
	// The &63 masks tell the compiler the shifts are below 64, which saves the code Go otherwise
	// emits for larger shift counts.
	acc = acc<<(l&63) | uint64(c)
	n += l
	if n >= 32 {
		n -= 32
		binary.BigEndian.PutUint32(buf[o:], uint32(acc>>(n&63)))
		o += 4
	}
	return acc, n, o
}

// align pads with zeros to a byte boundary and moves the whole bytes to out.
func (e *Encoder) align() {
	e.put(0, (8-e.nacc&7)&7)
	for e.nacc >= 8 {
		e.nacc -= 8
		e.out = append(e.out, byte(e.acc>>e.nacc))
	}
}

// fixOrder bit-reverses out[from:] for LSB-first output.
func (e *Encoder) fixOrder(from int) {
	if e.opts.Order != LSBFirst {
		return
	}
	for i := from; i < len(e.out); i++ {
		e.out[i] = bits.Reverse8(e.out[i])
	}
}

// putWide is the bit writer of the hot loops: it appends the low l bits of c to the n pending bits
// of acc (n+l <= 64) and stores the pending bits with one unconditional 8-byte store at buf[o:],
// advancing o by the whole bytes, so n < 8 afterwards. Unlike putBits it has no branch on the bit
// count, which a shared, loaded CPU mispredicts about once per four codes. The store may write
// garbage past the last whole byte; the next store or append overwrites it. buf must have 8 bytes
// of room at o (see reserve).
func putWide(acc uint64, n uint, buf []byte, o int, c uint64, l uint) (uint64, uint, int) {
	acc = acc<<(l&63) | c
	n += l
	binary.BigEndian.PutUint64(buf[o:], acc<<((64-n)&63))
	o += int(n >> 3)
	return acc, n & 7, o
}

// maxTableRun is the longest run whose make-up and terminating codes whiteRunCodes and
// blackRunCodes hold as one word (at most 13+12 bits).
const maxTableRun = 2560 + 64 - 1

// pairCode joins the table words of a white-then-black (or black-then-white) pair of runs into one
// code of at most 50 bits, its length in the second result.
func pairCode(first, second uint32) (uint64, uint) {
	l2 := uint(second & 31)
	return uint64(first>>5)<<l2 | uint64(second>>5), uint(first&31) + l2
}

// putRun writes a run as make-up codes and a terminating code (T.4 §4.1.1.2; runs of 2560+64 and
// more repeat the 2560 make-up code first, as libtiff and spandsp do). n < 8 on entry and exit.
func putRun(acc uint64, n uint, buf []byte, o int, run int32, codes *[2560 + 64 + 1]uint32) (uint64, uint, int) {
	for run > maxTableRun {
		c := codes[2560+64]
		acc, n, o = putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
		run -= 2560
	}
	c := codes[run]
	return putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
}

// code1D writes a one-dimensional row from its k changing elements: alternating white and black
// runs, starting with a white run that may be empty (T.4 §4.1.1). A white and black pair goes out
// as one code.
func (e *Encoder) code1D(k int) {
	buf, o := e.reserve(e.opts.Width + 64)
	// Flush to fewer than 8 pending bits, as putWide needs room for a pair's 50 bits.
	acc, n, o := putWide(e.acc, e.nacc, buf, o, 0, 0)
	cur := e.cur[:k+1] // cur[k] is the width sentinel
	a0 := int32(0)
	// Pairs of a white and a black run; shrinking cur lets the compiler drop bounds checks.
	for ; len(cur) >= 2; cur = cur[2:] {
		a1, a2 := cur[0], cur[1]
		rw, rb := uint32(a1-a0), uint32(a2-a1)
		// Runs too long for one table word are coded here, not by calling putRun: a call in the
		// loop makes the compiler keep the loop's variables on the stack.
		for rw > maxTableRun {
			c := whiteRunCodes[2560+64]
			acc, n, o = putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
			rw -= 2560
		}
		if rb <= maxTableRun {
			c, l := pairCode(whiteRunCodes[rw], blackRunCodes[rb])
			acc, n, o = putWide(acc, n, buf, o, c, l)
		} else {
			c := whiteRunCodes[rw]
			acc, n, o = putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
			for rb > maxTableRun {
				c := blackRunCodes[2560+64]
				acc, n, o = putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
				rb -= 2560
			}
			c = blackRunCodes[rb]
			acc, n, o = putWide(acc, n, buf, o, uint64(c>>5), uint(c&31))
		}
		a0 = a2
	}
	if len(cur) == 1 {
		// The last white run, to the sentinel.
		acc, n, o = putRun(acc, n, buf, o, cur[0]-a0, &whiteRunCodes)
	}
	e.acc, e.nacc, e.out = acc, n, buf[:o]
}

// reserve makes room for need more bytes in out and returns out's whole capacity and its length,
// for the hot loops to write by index.
func (e *Encoder) reserve(need int) ([]byte, int) {
	if cap(e.out)-len(e.out) < need {
		e.out = slices.Grow(e.out, need+len(e.out))
	}
	return e.out[:cap(e.out)], len(e.out)
}

// code2D writes a two-dimensional row against the reference line (T.4 §4.2.1.3.4, Figure 7):
// pass mode if b2 lies left of a1, vertical mode if |a1-b1| <= 3, horizontal mode otherwise. a0
// starts on the imaginary white element before the row; j indexes a1 in cur and i indexes b1 in
// ref, kept as the decoder keeps them.
func (e *Encoder) code2D() {
	acc, n := e.acc, e.nacc
	// The longest row: horizontal mode for every pair of one-pixel runs, 3+6+3 bits per 2 pixels.
	buf, o := e.reserve(e.opts.Width + 64)
	cur, ref := e.cur, e.ref
	w := e.width
	a0 := int32(-1)
	i, j := 0, 0
	b1, b2 := ref[0], ref[1]
	for a0 < w {
		a1 := cur[j]
		// The reference line's changes are strictly increasing (they come from pixels), so after
		// pass mode (a0 = b2) and V0 (a0 = b1) the next element is already the new b1.
		if b2 < a1 {
			acc, n, o = putBits(acc, n, buf, o, 0b0001, 4) // pass
			a0 = b2
			i += 2
			b1, b2 = ref[i], ref[i+1]
			continue
		}
		if a1 == b1 {
			acc, n, o = putBits(acc, n, buf, o, 1, 1) // V0
			if a1 >= w {
				break
			}
			a0 = a1
			j++
			i++
			b1, b2 = b2, ref[i+1]
			continue
		}
		if d := a1 - b1; d >= -3 && d <= 3 {
			c := vertical[d+3]
			acc, n, o = putBits(acc, n, buf, o, uint32(c.bits), uint(c.n))
			a0 = a1
			j++
			if d < 0 && i > 0 {
				i--
			} else {
				i++
			}
		} else {
			a2 := cur[j+1]
			first, second := &whiteRunCodes, &blackRunCodes
			if j&1 == 1 {
				first, second = second, first
			}
			acc, n, o = putBits(acc, n, buf, o, 0b001, 3) // horizontal
			// Make-up codes for long runs inline: a call in the loop would make the compiler keep
			// the loop's variables on the stack.
			r1, r2 := uint32(a1-max(a0, 0)), uint32(a2-a1)
			for r1 > maxTableRun {
				c := first[2560+64]
				acc, n, o = putBits(acc, n, buf, o, c>>5, uint(c&31))
				r1 -= 2560
			}
			c := first[r1]
			acc, n, o = putBits(acc, n, buf, o, c>>5, uint(c&31))
			for r2 > maxTableRun {
				c := second[2560+64]
				acc, n, o = putBits(acc, n, buf, o, c>>5, uint(c&31))
				r2 -= 2560
			}
			c = second[r2]
			acc, n, o = putBits(acc, n, buf, o, c>>5, uint(c&31))
			a0 = a2
			j += 2
		}
		if a0 >= w {
			break
		}
		for ref[i] <= a0 {
			i += 2
		}
		b1, b2 = ref[i], ref[i+1]
	}
	e.acc, e.nacc, e.out = acc, n, buf[:o]
}

// vertical holds the vertical mode codes by a1-b1+3 (T.4 Table 4).
var vertical = [7]code{
	modeCodes[modeVL3-1], modeCodes[modeVL2-1], modeCodes[modeVL1-1], modeCodes[modeV0-1],
	modeCodes[modeVR1-1], modeCodes[modeVR2-1], modeCodes[modeVR3-1],
}
