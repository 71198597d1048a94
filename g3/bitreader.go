// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

import (
	"encoding/binary"
	"math/bits"
)

// A bitReader reads a coded stream most significant bit first through a 64-bit accumulator, as
// compress/flate does. acc holds the next n bits left-aligned; the bits below them are either zero
// or copies of the following stream bits, so a refill may OR the same bits in again. Past the end of
// src it supplies zero bits (as libtiff pads a short strip) and counts them, so the decoder can tell
// a code that ran off the end of the data from a bad one.
type bitReader struct {
	src []byte
	pos int    // next byte of src to load; beyond len(src) it counts virtual zero bytes
	acc uint64 // next bits, left-aligned
	n   uint   // valid bits in acc
	lsb bool   // bytes are LSB first (FillOrder 2): reverse each byte as it is loaded
}

func (r *bitReader) reset(src []byte, lsb bool) {
	*r = bitReader{src: src, lsb: lsb}
}

// offset returns the number of bits consumed so far.
func (r *bitReader) offset() int64 { return int64(r.pos)*8 - int64(r.n) }

// past reports whether the bits consumed so far run beyond the real data.
func (r *bitReader) past() bool { return r.offset() > int64(len(r.src))*8 }

// atEnd reports whether no real bit is left.
func (r *bitReader) atEnd() bool { return r.offset() >= int64(len(r.src))*8 }

// refill tops acc up to at least 56 valid bits. It is called with the caller's cached acc and n.
func (r *bitReader) refill(acc uint64, n uint) (uint64, uint) {
	if r.pos+8 <= len(r.src) {
		w := binary.BigEndian.Uint64(r.src[r.pos:])
		if r.lsb {
			w = bits.Reverse64(bits.ReverseBytes64(w))
		}
		acc |= w >> n
		k := (63 - n) >> 3
		r.pos += int(k)
		return acc, n + k*8
	}
	for n <= 56 {
		var b byte
		if r.pos < len(r.src) {
			b = r.src[r.pos]
			if r.lsb {
				b = bits.Reverse8(b)
			}
		}
		acc |= uint64(b) << (56 - n)
		r.pos++
		n += 8
	}
	return acc, n
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
