package hdlc

import (
	"errors"
	"fmt"
)

// MaxFrame is the largest frame (without FCS) the framer accepts and the deframer collects by default:
// an ECM FCD frame is address, control, FCF, frame number and 256 data octets (T.4 Annex A), and T.30
// control frames are far shorter.
const MaxFrame = 260

// ErrFrameTooLong is returned when a frame exceeds MaxFrame.
var ErrFrameTooLong = errors.New("hdlc: frame too long")

type itemKind uint8

const (
	itemFlags itemKind = iota + 1
	itemFrame
	itemAbort
)

type item struct {
	kind itemKind
	off  int // frame: offset of data+FCS in Framer.data; flags: count
	n    int
}

// Framer turns queued frames into a line bit stream: flags, stuffed frame bits with FCS, aborts.
// Queue with Flags, Frame and Abort, then pull bits with Bit. Buffers are reused once the queue
// drains, so a steady flow of frames does not allocate.
type Framer struct {
	items []item
	data  []byte
	head  int // index of the current item

	// position inside the current item
	bitPos int // frames: bit index into data; flags/abort: bits emitted
	ones   int // consecutive 1s emitted inside a frame, for zero insertion
	stuff  bool
}

// Flags queues n flag octets (a preamble or inter-frame fill).
func (f *Framer) Flags(n int) {
	if n > 0 {
		f.items = append(f.items, item{kind: itemFlags, n: n})
	}
}

// Frame queues one frame: data (address, control, FCF, FIF — without FCS) is copied, the FCS is
// appended, and a closing flag follows. The caller queues the opening flags (preamble) itself.
func (f *Framer) Frame(data []byte) error {
	if len(data) > MaxFrame {
		return fmt.Errorf("%w: %d octets", ErrFrameTooLong, len(data))
	}
	off := len(f.data)
	f.data = append(f.data, data...)
	f.data = AppendFCS(f.data, data)
	f.items = append(f.items, item{kind: itemFrame, off: off, n: len(data) + 2}, item{kind: itemFlags, n: 1})
	return nil
}

// Abort queues an abort sequence: eight ones, which the far end's deframer reports as an abort
// (seven or more ones, ISO/IEC 13239 §4.6).
func (f *Framer) Abort() { f.items = append(f.items, item{kind: itemAbort, n: 8}) }

// Pending reports whether bits remain queued.
func (f *Framer) Pending() bool { return f.head < len(f.items) }

// Reset drops everything queued.
func (f *Framer) Reset() {
	f.items, f.data = f.items[:0], f.data[:0]
	f.head, f.bitPos, f.ones, f.stuff = 0, 0, 0, false
}

// Bit returns the next line bit, or ok false when the queue is empty.
func (f *Framer) Bit() (bit int, ok bool) {
	for f.head < len(f.items) {
		it := &f.items[f.head]
		switch it.kind {
		case itemFlags:
			if f.bitPos < 8*it.n {
				b := (0x7E >> (f.bitPos & 7)) & 1
				f.bitPos++
				return b, true
			}
		case itemAbort:
			if f.bitPos < it.n {
				f.bitPos++
				return 1, true
			}
		case itemFrame:
			if f.stuff {
				f.stuff = false
				f.ones = 0
				return 0, true
			}
			if f.bitPos < 8*it.n {
				b := int(f.data[it.off+f.bitPos>>3]>>(f.bitPos&7)) & 1
				f.bitPos++
				if b == 1 {
					f.ones++
					if f.ones == 5 {
						f.stuff = true // T.30 §5.3.1: a 0 after five contiguous 1s
					}
				} else {
					f.ones = 0
				}
				return b, true
			}
			if f.stuff { // five ones at the very end of the FCS still need their 0
				f.stuff = false
				f.ones = 0
				return 0, true
			}
		}
		f.head++
		f.bitPos, f.ones = 0, 0
	}
	// Drained: recycle the buffers.
	f.items, f.data, f.head = f.items[:0], f.data[:0], 0
	return 0, false
}
