package hdlc

import "fmt"

// Status is what the deframer reports after a bit.
type Status uint8

const (
	// None: nothing to report (the zero value).
	None Status = iota
	// Preamble: FramingOK consecutive flags were seen; V.21 preamble flags are the definitive fax
	// indicator (brief §3.6) and tell T.30 a frame is coming. Reported once per run of flags.
	Preamble
	// FrameOK: a frame with a valid FCS ended; Frame returns it without its FCS.
	FrameOK
	// FrameBad: a frame with a bad FCS, a non-octet length or over the size limit ended; Frame
	// returns what was collected (without the last two octets).
	FrameBad
	// Abort: seven or more ones arrived inside a frame.
	Abort
)

func (s Status) String() string {
	switch s {
	case None:
		return "none"
	case Preamble:
		return "preamble"
	case FrameOK:
		return "frame ok"
	case FrameBad:
		return "frame bad"
	case Abort:
		return "abort"
	}
	return fmt.Sprintf("hdlc.Status(%d)", uint8(s))
}

// FramingOK is the number of back-to-back flags that count as a preamble (spandsp
// HDLC_FRAMING_OK_THRESHOLD, brief §3.2).
const FramingOK = 5

// minFrame is the shortest octet string between flags treated as a frame: anything shorter (line
// noise between flags) is dropped silently. Address + control + FCS is 4.
const minFrame = 4

// Deframer recovers frames from a line bit stream: flag hunt, zero-bit removal, FCS check, aborts,
// and a size limit. It never allocates after NewDeframer.
type Deframer struct {
	// Check, if set, must accept a frame rebuilt across a gap (see PutGap) before it is reported;
	// T.30 uses it to demand the 0xFF address and a 0x03/0x13 control field, which makes a false
	// repair far less likely than the FCS alone.
	Check func(frame []byte) bool

	buf     []byte
	max     int
	nbits   int // bits collected in the current frame
	ones    int // current run of 1s not yet committed
	synced  bool
	flags   int // consecutive empty flags
	told    bool
	tooLong bool
	frame   []byte

	// Gap repair: the line bits since the last flag, and where a gap of unknown bits fell.
	raw    []byte
	gapAt  int
	gapLen int
	gaps   int
	rep    []byte // repaired frame
	cand   []byte // candidate being checked
	line   []byte // candidate line bits
}

// NewDeframer returns a deframer accepting frames up to maxLen octets without FCS (MaxFrame if
// maxLen <= 0).
func NewDeframer(maxLen int) *Deframer {
	if maxLen <= 0 {
		maxLen = MaxFrame
	}
	return &Deframer{
		buf:  make([]byte, maxLen+2+1),
		max:  maxLen + 2,
		raw:  make([]byte, 0, maxRawBits(maxLen)),
		rep:  make([]byte, 0, maxLen+2),
		cand: make([]byte, 0, maxLen+3),
		line: make([]byte, 0, maxRawBits(maxLen)+MaxGap+1),
	}
}

// maxRawBits bounds the line bits of one frame: data and FCS with worst-case stuffing, plus a flag.
func maxRawBits(maxLen int) int { return (maxLen+2)*8*6/5 + 16 }

// Frame returns the frame reported by the last FrameOK or FrameBad, without the FCS. The slice is
// valid until the next PutBit.
func (d *Deframer) Frame() []byte { return d.frame }

// Reset returns to flag hunting.
func (d *Deframer) Reset() {
	d.nbits, d.ones, d.synced, d.flags, d.told, d.tooLong = 0, 0, false, 0, false, false
	d.frame = nil
	d.raw, d.gaps = d.raw[:0], 0
}

// PutGap tells the deframer that n line bits were lost here: an erasure count, from a modem's
// fill-in for a lost packet (v21.Rx.Fillin: 6 or 7 bits per 20 ms at V.21's 300 bit/s). If the
// frame around the gap then fails its FCS, the deframer tries every value of n-1, n or n+1 missing
// bits (n up to MaxGap), also as the end of the opening flag, and reports the frame as good if
// exactly one rebuilt frame passes the FCS and Check. A lost packet then costs no V.21 frame, the
// most fragile part of fax over G.711 with packet loss (TestGapRepairT30Frames). Frames with more
// than one gap are not repaired (the search would grow too large to trust the FCS).
func (d *Deframer) PutGap(n int) {
	if n <= 0 || !d.synced {
		return
	}
	d.gaps++
	d.gapAt, d.gapLen = len(d.raw), n
	// Do not let ones on both sides of the gap join into a false flag or abort.
	d.ones = 0
}

// PutBit feeds one line bit (only bit 0 of bit is used).
func (d *Deframer) PutBit(bit int) Status {
	if d.synced && len(d.raw) < cap(d.raw) {
		d.raw = append(d.raw, byte(bit&1))
	}
	if bit&1 == 1 {
		d.ones++
		if d.ones == 7 {
			st := None
			if d.synced && d.nbits > 0 {
				st = Abort
			}
			d.synced, d.nbits, d.flags, d.told = false, 0, 0, false
			d.raw, d.gaps = d.raw[:0], 0
			return st
		}
		return None
	}
	k := d.ones
	d.ones = 0
	switch {
	case k >= 7:
		// End of an abort or idle ones: the 0 may be the first bit of a flag.
		d.nbits = 0
		d.addBit(0)
		return None
	case k == 6:
		return d.flag()
	case k == 5:
		for range 5 {
			d.addBit(1)
		}
		return None // stuffed zero removed
	}
	for range k {
		d.addBit(1)
	}
	d.addBit(0)
	return None
}

func (d *Deframer) addBit(b int) {
	if d.tooLong {
		return
	}
	i := d.nbits >> 3
	if i >= len(d.buf) {
		d.tooLong = true
		return
	}
	if d.nbits&7 == 0 {
		d.buf[i] = 0
	}
	d.buf[i] |= byte(b) << (d.nbits & 7)
	d.nbits++
}

// flag handles a completed flag; its leading 0 was collected as data and is dropped here.
func (d *Deframer) flag() Status {
	n := d.nbits - 1
	wasSynced := d.synced
	tooLong := d.tooLong
	d.synced, d.nbits, d.tooLong = true, 0, false
	// The line bits of the frame that just ended: everything since the last flag but this flag.
	raw := d.raw[:max(0, len(d.raw)-8)]
	gaps, gapAt, gapLen := d.gaps, d.gapAt, d.gapLen
	d.raw, d.gaps = d.raw[:0], 0
	if wasSynced && gaps == 1 && gapAt <= len(raw) && len(raw) >= 8*minFrame-8 {
		if st, ok := d.repair(raw, gapAt, gapLen, n, tooLong); ok {
			d.flags = 0
			return st
		}
	}
	if !wasSynced || n <= 0 {
		d.flags++
		if d.flags >= FramingOK && !d.told {
			d.told = true
			return Preamble
		}
		return None
	}
	if n < 8*minFrame && !tooLong {
		return None // noise between flags
	}
	d.flags = 0
	if tooLong || n%8 != 0 || n/8 > d.max {
		d.frame = d.buf[:max(0, min(n/8, d.max)-2)]
		return FrameBad
	}
	octets := n / 8
	d.frame = d.buf[:octets-2]
	if CheckFCS(d.buf[:octets]) {
		return FrameOK
	}
	return FrameBad
}

// MaxGap is the longest erasure PutGap repairs (in line bits, before the ±1 of slack): 2^(MaxGap+1)
// candidates per length still leave the FCS-16 and the caller's Check a wide margin (brief §3.3;
// TestGapRepairFalseAccept measures it).
const MaxGap = 10

// flagBits is the flag 0x7E in line order (LSB first): 0 1 1 1 1 1 1 0.
var flagBits = [8]byte{0, 1, 1, 1, 1, 1, 1, 0}

// repair handles a frame that had one gap. If the frame as received is good it is reported as
// usual; otherwise every filling of the gap is tried. The gap may also have taken the opening
// flag (or the end of the preamble and the frame's first bits): then the frame starts after a
// flag that the filling completes, and the bits before that flag must continue the preamble's flag
// pattern. Stuffing is why the search runs over line bits, not data bits: a filling changes which
// later zeros are stuffed ones' guards (ISO 3309 zero-bit insertion, T.30 §5.3.1), so each
// candidate line is destuffed from the frame start and must give whole octets, a good FCS and pass
// Check. Exactly one distinct frame must result, or nothing is reported. It returns ok false to
// fall back to the normal handling.
func (d *Deframer) repair(raw []byte, gapAt, gapLen, n int, tooLong bool) (Status, bool) {
	found := 0
	// The frame as received is a candidate too: the gap may have taken only flag bits. But it is
	// not taken on trust: with a gap of whole octets a CRC can pass without them (after FF FF the
	// register is 0 and leading zero octets leave it unchanged), so it must be the only one.
	asIsFCS := !tooLong && n%8 == 0 && n/8 >= minFrame && n/8 <= d.max && CheckFCS(d.buf[:n/8])
	if asIsFCS && (d.Check == nil || d.Check(d.buf[:n/8-2])) {
		d.rep = append(d.rep[:0], d.buf[:n/8-2]...)
		found = 1
	}
	for _, g := range [3]int{gapLen, gapLen - 1, gapLen + 1} {
		if g <= 0 || g > MaxGap+1 {
			continue
		}
		for p := 0; p < 1<<g; p++ {
			f, ok := d.candidate(raw, gapAt, g, p)
			if !ok || len(f) < minFrame || !CheckFCS(f) {
				continue
			}
			f = f[:len(f)-2]
			if d.Check != nil && !d.Check(f) {
				continue
			}
			if found == 0 {
				d.rep = append(d.rep[:0], f...)
				found = 1
			} else if !bytesEqual(d.rep, f) {
				found = 2 // ambiguous: do not guess
				break
			}
		}
		if found == 2 {
			break
		}
	}
	switch {
	case found == 1:
		d.frame = d.rep
		return FrameOK, true
	case found == 2 || asIsFCS:
		d.frame = d.buf[:max(0, min(n/8, d.max)-2)]
		return FrameBad, true
	}
	return None, false
}

// candidate builds the line bits of raw with the g bits of p filled in at gapAt, finds where the
// frame starts (after a flag the filling completes, if any) and destuffs it. ok is false for a
// filling that gives no valid frame body (six ones, a broken flag pattern ahead of the frame, not
// whole octets, too long).
func (d *Deframer) candidate(raw []byte, gapAt, g, p int) ([]byte, bool) {
	c := append(d.line[:0], raw[:gapAt]...)
	for k := g - 1; k >= 0; k-- {
		c = append(c, byte(p>>k)&1)
	}
	c = append(c, raw[gapAt:]...)
	d.line = c[:0]
	// raw holds no flag of its own (the deframer would have ended the frame there), so a flag in
	// c overlaps the filling: it ends (exclusive) in (gapAt, gapAt+g+8). Take the last.
	start := 0
	for e := min(len(c), gapAt+g+7); e > gapAt && e >= 8; e-- {
		if isFlag(c[e-8 : e]) {
			start = e
			break
		}
	}
	if start > 0 {
		// Ahead of the opening flag the line was preamble: flags back to back (T.30 §5.3.1).
		for i := range start - 8 {
			if c[i] != flagBits[(i-(start-8)+8*len(c))%8] {
				return nil, false
			}
		}
	}
	return d.destuff(c[start:])
}

func isFlag(b []byte) bool {
	for i, x := range b {
		if x != flagBits[i] {
			return false
		}
	}
	return true
}

// destuff removes the stuffed zeros from the line bits of one frame body and packs the octets.
// ok is false for six ones in a row, a partial last octet or a body over the size limit.
func (d *Deframer) destuff(line []byte) ([]byte, bool) {
	out := d.cand[:0]
	var acc byte
	nb, ones := 0, 0
	for _, b := range line {
		if ones == 5 {
			ones = 0
			if b != 0 {
				return nil, false // six ones: a flag or an abort, not a frame body
			}
			continue // stuffed zero
		}
		if b == 1 {
			ones++
		} else {
			ones = 0
		}
		acc |= b << nb
		nb++
		if nb == 8 {
			if len(out) == cap(out) {
				return nil, false
			}
			out = append(out, acc)
			acc, nb = 0, 0
		}
	}
	if nb != 0 {
		return nil, false
	}
	d.cand = out[:0]
	return out, true
}

func bytesEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
