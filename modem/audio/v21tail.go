package audio

import "github.com/faxseal/faxseal/modem/hdlc"

// v21TailBits bounds the line bits kept for one V.21 frame: T.30 control frames are at most 2.55 s
// at 300 bit/s (T.30 §5.3.1; spandsp's comment puts it at ~95 octets with flags).
const v21TailBits = 1024

// v21TailAfterGap is the most line bits that may follow the gap for the frame to be taken as ending
// in it: the rest of a damaged closing flag, 7 bits of the next flag and a few bits of slack.
const v21TailAfterGap = 24

// v21Tail rebuilds a V.21 frame whose end was taken by a lost packet. hdlc.Deframer repairs a gap
// inside a frame when an intact closing flag follows it; when the packet took the last FCS bits
// and the start of the closing flag, either no flag ever ends the frame (a sender that closes
// with a single flag, as spandsp does, then drops its carrier) or the next flag follows the
// remnant of the damaged one and the deframer reports a bad frame. Under 1 % loss that was how a
// spandsp sender's PPS got lost without any loss-free bit being wrong (docs/benchmarks.md). Here
// the line bits since the last flag are kept; when the carrier goes, an abort arrives, or the
// deframer gives up on a frame, after exactly one gap that lies near the end, the frame is taken
// to end inside the gap (or just before the first bits of a closing flag received ahead of it):
// the missing bits are the rest of its last octet, and every filling is tried against the FCS.
// Only the bits of that last octet are guessed (at most 7: 128 candidates against a 16-bit FCS,
// for at most 8 endings), the T.30 address/control check applies, and an ambiguous result is
// dropped, so a false frame is rare (TestV21TailNoFalseFrames); a frame that cannot be rebuilt is
// ignored as before and the sender repeats its command (T.30 §5.4.3).
type v21Tail struct {
	raw    [v21TailBits]byte
	n      int  // line bits since the last flag
	over   bool // more than v21TailBits since the last flag
	sr     byte // the last 8 line bits, newest in bit 7
	ones   int  // run of ones, for aborts
	gapAt  int
	gapLen int
	gaps   int
	// flagged: the last bit completed a flag.
	flagged bool
	oct     [v21TailBits/8 + 2]byte
	out     [v21TailBits/8 + 2]byte
}

func (v *v21Tail) reset() {
	v.n, v.over, v.gaps, v.ones, v.flagged = 0, false, 0, 0, false
}

// put records one line bit.
func (v *v21Tail) put(b byte) {
	b &= 1
	v.sr = v.sr>>1 | b<<7
	if b == 1 {
		v.ones++
	} else {
		v.ones = 0
	}
	if v.sr == 0x7E { // 0 1 1 1 1 1 1 0: a flag ends the frame; the caller looks, then resets
		v.flagged = true
		return
	}
	if v.n < len(v.raw) {
		v.raw[v.n] = b
		v.n++
	} else {
		v.over = true
	}
}

// gap records k bits lost.
func (v *v21Tail) gap(k int) {
	v.gaps++
	v.gapAt, v.gapLen = v.n, k
	// Ones on both sides of the gap must not join into a false flag.
	v.sr, v.ones = 0, 0
}

// rebuild tries to end the frame inside the gap. It returns the frame without its FCS.
func (v *v21Tail) rebuild(check func([]byte) bool) ([]byte, bool) {
	defer v.reset()
	// The gap must be near the end: at most a damaged closing flag and the start of the next one
	// (or the last bits before the carrier went) follow it.
	if v.over || v.gaps != 1 || v.gapAt < 8*3 || v.n-v.gapAt > v21TailAfterGap {
		return nil, false
	}
	found := -1
	// The frame ends at the gap, or just before a closing flag's first bits (0, 01, ... 0111111)
	// received ahead of the gap.
	for l := 0; l < 8 && l <= v.gapAt; l++ {
		e := v.gapAt - l
		if !v.flagPrefix(e, l) {
			continue
		}
		n, ok := v.try(e, check)
		if !ok {
			return nil, false
		}
		if n < 0 {
			continue
		}
		if found >= 0 {
			return nil, false // two endings pass: do not guess
		}
		found = n
	}
	if found < 0 {
		return nil, false
	}
	return v.out[:found], true
}

// flagPrefix reports whether the l bits at e are the start of a flag: 0 then l-1 ones.
func (v *v21Tail) flagPrefix(e, l int) bool {
	if l == 0 {
		return true
	}
	if v.raw[e] != 0 {
		return false
	}
	for _, b := range v.raw[e+1 : e+l] {
		if b != 1 {
			return false
		}
	}
	return true
}

// try takes the frame to end at line bit e plus the rest of its last octet lost in the gap, and
// tries every filling of those bits. n is the length of the one frame that passes (into v.out),
// -1 for none; ok is false when more than one passes.
func (v *v21Tail) try(e int, check func([]byte) bool) (n int, ok bool) {
	// Destuff (T.30 §5.3.1 / ISO 3309 zero-bit insertion).
	var data [v21TailBits]byte
	m, ones := 0, 0
	for _, b := range v.raw[:e] {
		if ones == 5 {
			ones = 0
			if b != 0 {
				return -1, true // six ones inside a frame: not a frame body
			}
			continue
		}
		if b == 1 {
			ones++
		} else {
			ones = 0
		}
		data[m] = b
		m++
	}
	g := (8 - m%8) % 8
	if g > v.gapLen+1 || (m+g)/8 < 5 { // address, control, FCF + FCS at least
		return -1, true
	}
	octets := (m + g) / 8
	n = -1
	for p := 0; p < 1<<g; p++ {
		o := v.oct[:octets]
		clear(o)
		for i := range m {
			o[i>>3] |= data[i] << (i & 7)
		}
		for j := range g {
			i := m + j
			o[i>>3] |= byte(p>>j&1) << (i & 7)
		}
		if !hdlc.CheckFCS(o) || !check(o[:octets-2]) {
			continue
		}
		if n >= 0 {
			return -1, false
		}
		n = copy(v.out[:], o[:octets-2])
	}
	return n, true
}
