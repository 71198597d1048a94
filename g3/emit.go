// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package g3

// emit turns d.cur into a packed row, delivers it, makes it the reference line and counts it.
func (d *Decoder) emit(st rowStatus) {
	k := d.ncur
	var row []byte
	if p := d.page; p != nil {
		n := len(p.Pix)
		if n+p.Stride > cap(p.Pix) {
			p.Pix = append(p.Pix[:n:n], make([]byte, p.Stride+n)...)
		}
		p.Pix = p.Pix[:n+p.Stride]
		row = p.Pix[n:]
		p.Height++
	} else {
		row = d.row
	}
	if k&1 == 1 {
		d.cur[k] = d.width // the last black span runs to the end of the row
		fillRow(row, d.cur[:k+1])
	} else {
		fillRow(row, d.cur[:k])
	}
	d.cur, d.ref = d.ref, d.cur
	d.nref = k
	w := d.width
	d.ref[k], d.ref[k+1], d.ref[k+2], d.ref[k+3] = w, w, w, w
	d.stats.Rows++
	d.runBefore, d.prevBad = d.badRun, st != rowOK
	if st != rowOK {
		d.stats.BadRows++
		d.badRun++
		d.stats.LongestBadRun = max(d.stats.LongestBadRun, d.badRun)
	} else {
		d.badRun = 0
	}
	if d.page == nil && d.sink != nil {
		if d.opts.BlackIs0 {
			invertRow(row, d.opts.Width)
		}
		if err := d.sink.WriteRow(row); err != nil {
			d.fail(err)
		}
	}
}

// fillRow writes row from its black spans [ch[0], ch[1]), [ch[2], ch[3]), ...; len(ch) is even
// (emit closes an open black span with the width). Most spans are shorter than a byte or two, so
// the row is cleared and each span ORed in with byte masks.
func fillRow(row []byte, ch []int32) {
	clear(row)
	for j := 1; j < len(ch); j += 2 {
		s, e := ch[j-1], ch[j]
		if s >= e {
			continue
		}
		sb, eb := int(s>>3), int(e>>3)
		if sb == eb {
			row[sb] |= byte(0xff>>(s&7)) &^ byte(0xff>>(e&7))
			continue
		}
		row[sb] |= 0xff >> (s & 7)
		for x := sb + 1; x < eb; x++ {
			row[x] = 0xff
		}
		if e&7 != 0 {
			row[eb] |= ^byte(0xff >> (e & 7))
		}
	}
}

// invertRow swaps black and white, keeping the bits after the last pixel zero.
func invertRow(row []byte, width int) {
	n := (width + 7) / 8
	for i := range row[:n] {
		row[i] = ^row[i]
	}
	row[n-1] &= tailMask(width)
}
