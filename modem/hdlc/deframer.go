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
	buf     []byte
	max     int
	nbits   int // bits collected in the current frame
	ones    int // current run of 1s not yet committed
	synced  bool
	flags   int // consecutive empty flags
	told    bool
	tooLong bool
	frame   []byte
}

// NewDeframer returns a deframer accepting frames up to maxLen octets without FCS (MaxFrame if
// maxLen <= 0).
func NewDeframer(maxLen int) *Deframer {
	if maxLen <= 0 {
		maxLen = MaxFrame
	}
	return &Deframer{buf: make([]byte, maxLen+2+1), max: maxLen + 2}
}

// Frame returns the frame reported by the last FrameOK or FrameBad, without the FCS. The slice is
// valid until the next PutBit.
func (d *Deframer) Frame() []byte { return d.frame }

// Reset returns to flag hunting.
func (d *Deframer) Reset() {
	d.nbits, d.ones, d.synced, d.flags, d.told, d.tooLong = 0, 0, false, 0, false, false
	d.frame = nil
}

// PutBit feeds one line bit (only bit 0 of bit is used).
func (d *Deframer) PutBit(bit int) Status {
	if bit&1 == 1 {
		d.ones++
		if d.ones == 7 {
			st := None
			if d.synced && d.nbits > 0 {
				st = Abort
			}
			d.synced, d.nbits, d.flags, d.told = false, 0, 0, false
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
