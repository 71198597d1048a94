package audio

import (
	"bytes"
	"testing"

	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/v21"
	"github.com/faxseal/faxseal/t30"
)

// v21Lossy sends one V.21 frame (34 preamble flags, closing flags as given) to a receiving
// transport, losing the 20 ms packet with index lose (-1: none), and returns the good frames the
// receiver reported.
func v21Lossy(t *testing.T, frame []byte, closing, lose int) (good [][]byte, blocks int) {
	t.Helper()
	var fr hdlc.Framer
	fr.Flags(v21PreambleFlags)
	if err := fr.Frame(frame); err != nil {
		t.Fatal(err)
	}
	fr.Flags(closing)
	tx := v21.NewTx(&fr)
	rx := New(0)
	rx.Receive(t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300})
	buf := make([]int16, Block)
	for i := 0; i < 100; i++ {
		clear(buf)
		if !tx.Done() {
			tx.Read(buf)
			blocks = i + 1
		}
		if i == lose {
			rx.RxFillin(Block)
		} else {
			rx.Rx(buf)
		}
		for _, e := range rx.Events() {
			if e.Kind == t30.EventHDLC && e.FCSOK {
				good = append(good, append([]byte(nil), e.Frame...))
			}
		}
	}
	return good, blocks
}

func TestV21FrameEndInLostPacket(t *testing.T) {
	// A lost packet that takes a frame's last FCS bits and its closing flag: with a single closing
	// flag (spandsp's senders) no flag ever ends the frame, with two the second one follows a
	// damaged first one. Either way the frame is rebuilt from the bits before the gap. Every
	// packet position of the transmission is tried: no position may produce a wrong frame, and a
	// loss in the frame's last packets (before this change packet 59 of 61 lost the frame) must
	// not lose it. Losses inside the frame's body are hdlc.Deframer's gap repair; the positions
	// where it fails are logged (1 of 15 since the V.21 receiver resynchronises after a fill-in
	// and the deframer repairs gaps across the opening flag: the closing flag's packet).
	pps := []byte{0xFF, 0x13, 0xBF, 0x4F, 0x00, 0x00, 0x36}
	for _, closing := range []int{1, 2} {
		good, blocks := v21Lossy(t, pps, closing, -1)
		if len(good) != 1 || !bytes.Equal(good[0], pps) {
			t.Fatalf("closing %d, no loss: frames % X", closing, good)
		}
		var lost []int
		for k := range blocks + 2 {
			good, _ := v21Lossy(t, pps, closing, k)
			for _, f := range good {
				if !bytes.Equal(f, pps) {
					t.Fatalf("closing %d, loss at %d: false frame % X", closing, k, f)
				}
			}
			if len(good) != 1 {
				lost = append(lost, k)
			}
		}
		t.Logf("closing flags %d: %d packets, frame lost for a loss at %v", closing, blocks, lost)
		// The last packets carry the end of the FCS and the closing flag(s).
		for _, k := range lost {
			if k >= blocks-2 {
				t.Errorf("closing flags %d: a loss at packet %d of %d (the frame's end) lost the frame", closing, k, blocks)
			}
		}
	}
}

func TestV21TailNoFalseFrames(t *testing.T) {
	// Random bits around a gap must (almost) never come out as a frame: the FCS and the T.30
	// address/control check guard the guessed bits.
	check := newV21Deframer().Check
	var v v21Tail
	x := uint64(1)
	falseN := 0
	const tries = 20000
	for range tries {
		v.reset()
		// A real-looking start (address and control) then random bits, a gap, a few bits.
		for _, o := range []byte{0xFF, 0x13} {
			for j := range 8 {
				v.put(o >> j & 1)
			}
		}
		n := 24 + int(x%64)
		for range n {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			v.put(byte(x & 1))
		}
		v.gap(7)
		for range int(x % 12) {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			v.put(byte(x & 1))
		}
		if _, ok := v.rebuild(check); ok {
			falseN++
		}
	}
	// 2^-16 per candidate, at most 8 endings x 128 fillings: expect well under 2 %.
	if falseN > tries/50 {
		t.Fatalf("%d false frames in %d", falseN, tries)
	}
	t.Logf("%d false frames in %d random tails", falseN, tries)
}
