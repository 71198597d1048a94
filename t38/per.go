package t38

import "errors"

// errShort is returned by bitReader when the input ends before the value being read.
var errShort = errors.New("t38: packet truncated")

// bitReader reads aligned-PER bit fields MSB first (X.691 §10: bits are placed in octets from the most
// significant bit). It never allocates.
type bitReader struct {
	b   []byte
	pos int // bit position from the start of b
}

func (r *bitReader) bits(n int) (uint32, error) {
	if r.pos+n > len(r.b)*8 {
		return 0, errShort
	}
	var v uint32
	for i := 0; i < n; i++ {
		bit := r.b[r.pos>>3] >> (7 - uint(r.pos&7)) & 1
		v = v<<1 | uint32(bit)
		r.pos++
	}
	return v, nil
}

// align skips to the next octet boundary (X.691 §10.1: aligned variant pads with zero bits).
func (r *bitReader) align() { r.pos = (r.pos + 7) &^ 7 }

// octet returns the index of the current octet; the reader must be aligned.
func (r *bitReader) octet() int { return r.pos >> 3 }

// restZero reports whether every bit from the current position to the end is zero (tolerated padding).
func (r *bitReader) restZero() bool {
	for p := r.pos; p < len(r.b)*8; p++ {
		if r.b[p>>3]>>(7-uint(p&7))&1 != 0 {
			return false
		}
	}
	return true
}

// bytes returns n octets at the (aligned) current position, aliasing the input.
func (r *bitReader) bytes(n int) ([]byte, error) {
	r.align()
	o := r.octet()
	if n < 0 || o+n > len(r.b) {
		return nil, errShort
	}
	r.pos += n * 8
	return r.b[o : o+n : o+n], nil
}

// lengthDet reads an unconstrained length determinant (X.691 §10.9.3.6-8): one octet 0xxxxxxx for
// lengths below 128, two octets 10xxxxxx xxxxxxxx below 16384. Fragmented lengths (11xxxxxx, ×16K) are
// never produced by T.38 peers for real packets and are rejected.
func (r *bitReader) lengthDet() (int, error) {
	r.align()
	v, err := r.bits(8)
	if err != nil {
		return 0, err
	}
	switch {
	case v&0x80 == 0:
		return int(v), nil
	case v&0xC0 == 0x80:
		lo, err := r.bits(8)
		if err != nil {
			return 0, err
		}
		return int(v&0x3F)<<8 | int(lo), nil
	}
	return 0, errFragmented
}

var errFragmented = errors.New("t38: fragmented PER length (>= 16384) not supported")

// bitWriter writes MSB-first bit fields by appending to a byte slice. It allocates only if the slice
// it appends to lacks capacity (callers pass a pre-sized buffer on hot paths).
type bitWriter struct {
	b    []byte
	used int // bits used in the last octet of b, 0 = aligned
}

func (w *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.used == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.used)
		}
		w.used = (w.used + 1) & 7
	}
}

func (w *bitWriter) align() { w.used = 0 }

func (w *bitWriter) bytes(p []byte) {
	w.align()
	w.b = append(w.b, p...)
}

// lengthDet writes an unconstrained length determinant; n must be below 16384.
func (w *bitWriter) lengthDet(n int) {
	w.align()
	if n < 128 {
		w.b = append(w.b, byte(n))
		return
	}
	w.b = append(w.b, 0x80|byte(n>>8), byte(n))
}

// lengthDetSize is the number of octets lengthDet writes for n.
func lengthDetSize(n int) int {
	if n < 128 {
		return 1
	}
	return 2
}
