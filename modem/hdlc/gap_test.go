package hdlc

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/t30"
)

// t30Plausible is the check a T.30 receiver puts on a rebuilt frame: the 0xFF address, a 0x03/0x13
// control field and a known FCF (T.30 §5.3.4-5.3.6).
func t30Plausible(f []byte) bool {
	fr, err := t30.ParseFrame(f)
	return err == nil && fr.FCF.Known()
}

// t30Frames are real control frames as our t30 sends them (DIS/DCS FIFs of a V.17 ECM fine fax,
// PPS after block 0 of page 0 with 256 frames, PPR with a 32-octet bitmap: 35 octets + FCS = 37).
func t30Frames() map[string][]byte {
	ppr := make([]byte, 32)
	for i := range ppr {
		ppr[i] = byte(0x11 * (i % 16)) // a mixed bitmap, with runs of ones for stuffing
	}
	ppr[5], ppr[6] = 0xFF, 0xFF
	return map[string][]byte{
		"DIS": t30.AppendFrame(nil, t30.FCFDIS, false, true, 0x00, 0xEE, 0xF8, 0x80, 0x80, 0x91, 0x80, 0x80),
		"DCS": t30.AppendFrame(nil, t30.FCFDCS, true, true, 0x00, 0x46, 0xE0, 0x80, 0x80, 0x91),
		"CFR": t30.AppendFrame(nil, t30.FCFCFR, true, true),
		"MCF": t30.AppendFrame(nil, t30.FCFMCF, false, true),
		"PPS": t30.AppendFrame(nil, t30.FCFPPS, true, true, byte(t30.FCFNull), 0x00, 0x00, 0xFF),
		"PPR": t30.AppendFrame(nil, t30.FCFPPR, false, true, ppr...),
	}
}

// gapFeed feeds bits to d with k bits from at erased (PutGap(told) in their place) and returns the
// frames reported good.
func gapFeed(d *Deframer, bits []int, at, k, told int) [][]byte {
	var good [][]byte
	for i := 0; i < len(bits); i++ {
		if i == at {
			d.PutGap(told)
			i += k - 1
			continue
		}
		if d.PutBit(bits[i]) == FrameOK {
			good = append(good, append([]byte(nil), d.Frame()...))
		}
	}
	return good
}

func TestGapRepairT30Frames(t *testing.T) {
	// Every position of an erasure of 1-8 bits from the last preamble flags to the last FCS bit
	// of real T.30 frames: the frame must come back, and never as a different one. The closing
	// flag is left out: a gap there is modem/audio's v21Tail (the frame ends inside the gap).
	const pre = 8
	names := []string{"DIS", "DCS", "CFR", "MCF", "PPS", "PPR"}
	frames := t30Frames()
	for _, name := range names {
		fr := frames[name]
		bits := frameBits(t, pre, fr)
		end := len(bits) - 24 // first bit of the closing flags (the frame's own and two more)
		for k := 1; k <= 8; k++ {
			lost := 0
			var at []int
			for p := 8 * (pre - 3); p+k <= end; p++ {
				d := NewDeframer(0)
				d.Check = t30Plausible
				good := gapFeed(d, bits, p, k, k)
				for _, g := range good {
					if !bytes.Equal(g, fr) {
						t.Fatalf("%s, %d bits lost at %d: false frame % X", name, k, p, g)
					}
				}
				if len(good) != 1 {
					lost++
					at = append(at, p-8*pre)
				}
			}
			if lost > 0 {
				t.Errorf("%s (%d octets), %d bits lost: frame lost at %d positions (relative to the opening flag's end) %v", name, len(fr)+2, k, lost, at)
			}
		}
	}
}

func TestGapRepairFalseAccept(t *testing.T) {
	// Random frame bodies behind a real preamble and a real address/control, a gap of 6-8 bits,
	// a closing flag: since the true body has a random FCS, any frame reported is false. The FCS
	// alone lets about (candidates) x 2^-16 through; the T.30 check must bring that to ~0.
	r := rand.New(rand.NewPCG(3, 4))
	const tries = 4000
	falseFCS, falseT30 := 0, 0
	for range tries {
		body := []byte{0xFF, 0x13}
		for range 1 + r.IntN(36) {
			body = append(body, byte(r.Uint32()))
		}
		var f Framer
		f.Flags(6)
		f.Frame(body)
		f.Flags(2)
		var bits []int
		for {
			b, ok := f.Bit()
			if !ok {
				break
			}
			bits = append(bits, b)
		}
		// Flip one bit of the body or FCS so the true frame is gone (a single error always
		// breaks the FCS), then erase bits at random elsewhere.
		first, end := 8*6+16, len(bits)-24
		flip := first + r.IntN(end-first)
		bits[flip] ^= 1
		k := 6 + r.IntN(3)
		at := 8*4 + r.IntN(end-8*4-k)
		if at <= flip && flip < at+k {
			at = flip + 1 // the flipped bit must not be the one erased
			if at+k > end {
				at = flip - k
			}
		}
		d := NewDeframer(0)
		d.Check = func([]byte) bool { return true }
		if len(gapFeed(d, bits, at, k, k)) > 0 {
			falseFCS++
		}
		d = NewDeframer(0)
		d.Check = t30Plausible
		if len(gapFeed(d, bits, at, k, k)) > 0 {
			falseT30++
		}
	}
	t.Logf("false accepts in %d random frames with a 6-8 bit gap: FCS only %d, FCS + T.30 check %d", tries, falseFCS, falseT30)
	if falseT30 > tries/1000 {
		t.Fatalf("%d false frames in %d with the T.30 check", falseT30, tries)
	}
}

func TestGapRepairZeroAllocs(t *testing.T) {
	fr := t30Frames()["PPR"]
	bits := frameBits(t, 4, fr)
	d := NewDeframer(0)
	d.Check = func(f []byte) bool { return len(f) > 2 && f[0] == 0xFF }
	n := testing.AllocsPerRun(20, func() {
		d.Reset()
		for i := 0; i < len(bits); i++ {
			if i == 100 {
				d.PutGap(8)
				i += 7
				continue
			}
			d.PutBit(bits[i])
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per repaired frame", n)
	}
}

// FuzzGapRepair frames an arbitrary body, erases k line bits at an arbitrary place from the
// preamble to the closing flag and feeds the rest with PutGap(k). Properties: no panic, and the
// only frame ever reported good is the one sent (a unique FCS-checked candidate cannot be another
// frame when the true one also passes, and an ambiguous search reports nothing).
func FuzzGapRepair(f *testing.F) {
	for _, fr := range t30Frames() {
		f.Add(fr, uint16(40), uint8(6))
		f.Add(fr, uint16(60), uint8(7))
		f.Add(fr, uint16(28), uint8(8))
	}
	f.Fuzz(func(t *testing.T, body []byte, at uint16, k uint8) {
		if len(body) < 2 || len(body) > 64 {
			return
		}
		body = append([]byte{0xFF}, body...)
		bits := frameBits(t, 4, body)
		n := 1 + int(k)%(MaxGap+1)
		p := 8 + int(at)%(len(bits)-8-n)
		d := NewDeframer(64)
		d.Check = func(f []byte) bool { return len(f) > 0 && f[0] == 0xFF }
		for _, g := range gapFeed(d, bits, p, n, n) {
			if !bytes.Equal(g, body) {
				t.Fatalf("%d bits lost at %d: false frame % X, sent % X", n, p, g, body)
			}
		}
	})
}
