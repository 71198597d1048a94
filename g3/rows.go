// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

// This file decodes single rows into changing elements. The hot loops cache the bit accumulator in
// locals (acc, n) and write it back on return; the rare cases (EOL, invalid codes) leave the loops.
// Damaged rows are finished the way libtiff's CLEANUP_RUNS finishes them, so that damaged files decode
// to the same pixels as with libtiff.

// decode1D decodes a one-dimensional row (T.4 §4.1.1): alternating white and black runs, each a
// sequence of make-up codes and one terminating code.
func (d *Decoder) decode1D() rowStatus {
	r := &d.br
	acc, n := r.acc, r.n
	cur := d.cur[:d.maxChanges]
	w := d.width
	k := 0
	a0 := int32(0)
	st := rowOK
	pend := false // make-up codes have moved a0 past the last change (libtiff's RunLength)
	for {
		// White run.
		start := a0
		for {
			if n < 16 {
				acc, n = r.refill(acc, n)
			}
			e := whiteDecode[acc>>(64-whitePrimaryBits)]
			if e&15 == 0 {
				e = whiteDecode[int(e>>4)+int(acc>>(64-whiteCodeBits))&(1<<(whiteCodeBits-whitePrimaryBits)-1)]
				if e == 0 || e>>4 == eolValue {
					st, acc, n = d.badCode(acc, n)
					goto cleanup
				}
			}
			acc <<= e & 15
			n -= uint(e & 15)
			a0 += int32(e >> 4)
			if e>>4 < 64 {
				break
			}
			pend = true
		}
		pend = false
		if a0 >= w {
			if a0 > w {
				st = rowBad
			}
			goto cleanup
		}
		if k >= len(cur) {
			st = rowBad
			goto cleanup
		}
		cur[k] = a0
		k++
		wrun := a0 - start
		// Black run.
		start = a0
		for {
			if n < 16 {
				acc, n = r.refill(acc, n)
			}
			e := blackDecode[acc>>(64-blackPrimaryBits)]
			if e&15 == 0 {
				e = blackDecode[int(e>>4)+int(acc>>(64-blackCodeBits))&(1<<(blackCodeBits-blackPrimaryBits)-1)]
				if e == 0 || e>>4 == eolValue {
					st, acc, n = d.badCode(acc, n)
					goto cleanup
				}
			}
			acc <<= e & 15
			n -= uint(e & 15)
			a0 += int32(e >> 4)
			if e>>4 < 64 {
				break
			}
			pend = true
		}
		pend = false
		if a0 >= w {
			if a0 > w {
				st = rowBad
			}
			goto cleanup
		}
		if wrun == 0 && a0 == start {
			// Two zero-length runs in a row carry no change; libtiff drops them too.
			k--
			continue
		}
		if k >= len(cur) {
			st = rowBad
			goto cleanup
		}
		cur[k] = a0
		k++
	}
cleanup:
	r.acc, r.n = acc, n
	if st == rowEOL && pend && a0 == w {
		// An EOL right after make-up codes that fill the row: the terminating code is missing but
		// the row is whole, and libtiff takes it without a warning (g3aoe.tif has such rows).
		st = rowOK
	}
	if st != rowOK {
		k = d.cleanup(k, a0, pend)
	}
	d.ncur = k
	return st
}

// badCode classifies a code that is not a run or mode code: the end of the data, an EOL (libtiff
// takes any 11 zero bits for one and consumes them; the next row then starts after the 1 bit), or an
// invalid code.
func (d *Decoder) badCode(acc uint64, n uint) (rowStatus, uint64, uint) {
	r := &d.br
	if int64(r.pos)*8-int64(n) >= int64(r.end)*8 {
		return rowEOF, acc, n
	}
	if acc>>(64-11) == 0 {
		d.eolPending = true
		return rowEOL, acc << 11, n - 11
	}
	return rowBad, acc, n
}

// cleanup finishes a damaged row as libtiff does: the pending run is closed, changes beyond the row
// are dropped and the rest of the row is white.
func (d *Decoder) cleanup(k int, a0 int32, pend bool) int {
	w := d.width
	cur := d.cur
	if pend && a0 < w && k < d.maxChanges {
		cur[k] = a0
		k++
	}
	for k > 0 && cur[k-1] >= w {
		k--
	}
	if k&1 == 1 {
		cur[k] = cur[k-1]
		k++
	}
	return k
}

// decode2D decodes a two-dimensional row (T.4 §4.2.1.3, T.6 §2.2) against d.ref. a0 starts on the
// imaginary white element before the row (-1), and i is the index in ref of b1: the first changing
// element right of a0 whose colour is opposite to a0's, which is the element whose index has the
// parity of k (the changes so far), because colours alternate.
//
//	reference line  . . . . b1 . . . b2 . . .
//	coding line     . . a0 . . . a1 . . . a2 .
func (d *Decoder) decode2D() rowStatus {
	r := &d.br
	acc, n := r.acc, r.n
	cur := d.cur[:d.maxChanges]
	ref := d.ref
	w := d.width
	k := 0
	a0 := int32(-1)
	i := 0
	st := rowOK
	pend := false // pass mode moved a0 past the last change
	for a0 < w {
		if n < 16 {
			acc, n = r.refill(acc, n)
		}
		e := modeDecode[acc>>(64-modeCodeBits)]
		acc <<= e & 15
		n -= uint(e & 15)
		if e>>4 == modeV0 {
			// V0, most of all mode codes: a1 = b1, which is never beyond the row.
			a0 = ref[i]
			pend = false
			if a0 == w {
				break
			}
			if k >= len(cur) {
				st = rowBad
				goto cleanup
			}
			cur[k] = a0
			k++
			i++
			for ref[i] <= a0 {
				i += 2
			}
			continue
		}
		var a1 int32
		switch e >> 4 {
		case modeV0:
			a1 = ref[i]
			i++
		case modeVR1:
			a1 = ref[i] + 1
			i++
		case modeVR2:
			a1 = ref[i] + 2
			i++
		case modeVR3:
			a1 = ref[i] + 3
			i++
		case modeVL1, modeVL2, modeVL3:
			a1 = ref[i] - int32(e>>4-modeVL1+1)
			if a1 < max(a0, 0) {
				st = rowBad
				goto cleanup
			}
			if i > 0 {
				i--
			} else {
				i++
			}
		case modePass:
			a0 = ref[i+1]
			pend = true
			i += 2
			if a0 < w {
				for ref[i] <= a0 {
					i += 2
				}
			}
			continue
		case modeH:
			a0 = max(a0, 0)
			var ok bool
			black := k&1 == 1
			for j := 0; j < 2; j++ {
				// One run: make-up codes and a terminating code, inline (a call here would make the
				// loop keep its variables on the stack).
				run := int32(0)
				ok = true
				for {
					if n < 16 {
						acc, n = r.refill(acc, n)
					}
					var e uint16
					if black {
						e = blackDecode[acc>>(64-blackPrimaryBits)]
						if e&15 == 0 {
							e = blackDecode[int(e>>4)+int(acc>>(64-blackCodeBits))&(1<<(blackCodeBits-blackPrimaryBits)-1)]
						}
					} else {
						e = whiteDecode[acc>>(64-whitePrimaryBits)]
						if e&15 == 0 {
							e = whiteDecode[int(e>>4)+int(acc>>(64-whiteCodeBits))&(1<<(whiteCodeBits-whitePrimaryBits)-1)]
						}
					}
					if e == 0 || e>>4 == eolValue {
						ok = false
						break
					}
					acc <<= e & 15
					n -= uint(e & 15)
					run += int32(e >> 4)
					if e>>4 < 64 {
						break
					}
				}
				a0 += run
				if !ok {
					pend = run > 0
					st, acc, n = d.badCode(acc, n)
					if st == rowEOL {
						// libtiff consumes the 11 zeros but takes them for a bad code here, so the next
						// row searches for a new EOL.
						st = rowBad
						d.eolPending = false
					}
					goto cleanup
				}
				if a0 < w && k < len(cur) {
					cur[k] = a0
					k++
				}
				black = !black
			}
			pend = false
			if a0 > w || k >= len(cur) {
				st = rowBad
				goto cleanup
			}
			if a0 < w {
				for ref[i] <= a0 {
					i += 2
				}
			}
			continue
		default:
			// Seven zero bits (EOL to libtiff, which consumes 11) or the extension code of T.4 §4.2.1.4
			// (uncompressed mode), which fax terminals never negotiate here.
			if int64(r.pos)*8-int64(n)-int64(e&15) >= int64(r.end)*8 {
				st = rowEOF
				goto cleanup
			}
			if e>>4 == modeExt {
				st = rowBad
			} else {
				d.eolPending = true
				acc <<= 11
				n -= 11
				st = rowEOL
			}
			k = d.restOfRow(k, a0, pend)
			r.acc, r.n = acc, n
			d.ncur = k
			return st
		}
		// Vertical modes.
		if a1 > w {
			st = rowBad
			goto cleanup
		}
		pend = false
		a0 = a1
		if a1 == w {
			break
		}
		if k >= len(cur) {
			st = rowBad
			goto cleanup
		}
		cur[k] = a1
		k++
		for ref[i] <= a0 {
			i += 2
		}
	}
	r.acc, r.n = acc, n
	d.ncur = k
	return st
cleanup:
	r.acc, r.n = acc, n
	d.ncur = d.cleanup(k, a0, pend)
	return st
}

// restOfRow ends a row cut short by an EOL or an extension code the way libtiff does: the colour at
// a0 runs on for the width left after a0, measured from the last change.
func (d *Decoder) restOfRow(k int, a0 int32, pend bool) int {
	w := d.width
	a0 = max(a0, 0)
	last := int32(0)
	if k > 0 {
		last = d.cur[k-1]
	}
	if p := last + (w - a0); p < w && k < d.maxChanges {
		d.cur[k] = p
		k++
	}
	return k
}
