// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"encoding/binary"
)

// A bitReader reads a coded stream most significant bit first through a 64-bit accumulator, as
// compress/flate does. LSB-first streams are bit-reversed into the Decoder's buffer before they
// reach it, so the refill in the hot loops has no second case. acc holds the next n bits left-aligned; the bits below them are either zero
// or copies of the following stream bits, so a refill may OR the same bits in again. Past the end of
// src it supplies zero bits (as libtiff pads a short strip) and counts them, so the decoder can tell
// a code that ran off the end of the data from a bad one.
type bitReader struct {
	src []byte // the data, then at least readPad zero bytes
	end int    // the length of the data
	pos int    // next byte of src to load; beyond len(src) it counts virtual zero bytes
	acc uint64 // next bits, left-aligned
	n   uint   // valid bits in acc
}

// readPad is the number of zero bytes after the data in a bitReader's buffer, so that refill can
// always load 8 bytes.
const readPad = 16

// reset reads src, whose capacity must hold readPad more bytes: they are zeroed.
func (r *bitReader) reset(src []byte) {
	*r = bitReader{src: padded(src), end: len(src)}
}

// setData points r at src (grown in place, see reset) keeping its position.
func (r *bitReader) setData(src []byte) {
	r.src, r.end = padded(src), len(src)
}

func padded(src []byte) []byte {
	n := len(src)
	src = src[:n+readPad]
	clear(src[n:])
	return src
}

// offset returns the number of bits consumed so far.
func (r *bitReader) offset() int64 { return int64(r.pos)*8 - int64(r.n) }

// past reports whether the bits consumed so far run beyond the real data.
func (r *bitReader) past() bool { return r.offset() > int64(r.end)*8 }

// atEnd reports whether no real bit is left.
func (r *bitReader) atEnd() bool { return r.offset() >= int64(r.end)*8 }

// refill tops acc up to at least 56 valid bits. It is called with the caller's cached acc and n,
// and is small enough to be inlined into the decoding loops: it always loads 8 bytes, which the
// zero padding after the data allows. Past the end it loads the last 8 padding bytes, all zero,
// while pos goes on counting the virtual zero bytes.
func (r *bitReader) refill(acc uint64, n uint) (uint64, uint) {
	p := min(r.pos, len(r.src)-8)
	acc |= binary.BigEndian.Uint64(r.src[p:]) >> (n & 63)
	k := (63 - n) >> 3
	r.pos += int(k)
	return acc, n + k*8
}

// skipToByte drops the bits up to the next byte boundary of the stream.
func (r *bitReader) skipToByte() {
	k := r.n & 7
	r.acc <<= k
	r.n -= k
}

// seek positions r at bit offset off of src.
func (r *bitReader) seek(off int64) {
	r.pos, r.acc, r.n = int(off>>3), 0, 0
	r.acc, r.n = r.refill(0, 0)
	k := uint(off & 7)
	r.acc <<= k
	r.n -= k
}
