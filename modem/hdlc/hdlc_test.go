package hdlc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

type vector struct {
	frame []byte
	fcs   []byte // nil when the file gives none
}

func loadVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/frames.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		var v vector
		if v.frame, err = hex.DecodeString(fields[0]); err != nil {
			t.Fatal(err)
		}
		if len(fields) > 1 {
			if v.fcs, err = hex.DecodeString(fields[1]); err != nil {
				t.Fatal(err)
			}
		}
		vs = append(vs, v)
	}
	return vs
}

func TestFCSGolden(t *testing.T) {
	for _, v := range loadVectors(t) {
		got := AppendFCS(nil, v.frame)
		if v.fcs != nil && !bytes.Equal(got, v.fcs) {
			t.Errorf("% X: FCS % X want % X", v.frame, got, v.fcs)
		}
		if !CheckFCS(append(append([]byte{}, v.frame...), got...)) {
			t.Errorf("% X: residue check failed", v.frame)
		}
	}
}

// frameBits frames frames with a preamble of n flags and returns the bits.
func frameBits(t testing.TB, pre int, frames ...[]byte) []int {
	var f Framer
	f.Flags(pre)
	for _, fr := range frames {
		if err := f.Frame(fr); err != nil {
			t.Fatal(err)
		}
	}
	f.Flags(2)
	var bits []int
	for {
		b, ok := f.Bit()
		if !ok {
			return bits
		}
		bits = append(bits, b)
	}
}

type result struct {
	st    Status
	frame []byte
}

func deframe(d *Deframer, bits []int) []result {
	var out []result
	for _, b := range bits {
		if st := d.PutBit(b); st != None {
			out = append(out, result{st, append([]byte(nil), d.Frame()...)})
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	vs := loadVectors(t)
	var frames [][]byte
	for _, v := range vs {
		frames = append(frames, v.frame)
	}
	bits := frameBits(t, 32, frames...)
	// Stuffing: never six 1s in a row outside flags. Count runs.
	got := deframe(NewDeframer(0), bits)
	if len(got) != 1+len(frames) || got[0].st != Preamble {
		t.Fatalf("got %v", got)
	}
	for i, fr := range frames {
		if got[i+1].st != FrameOK || !bytes.Equal(got[i+1].frame, fr) {
			t.Errorf("frame %d: %v % X, want % X", i, got[i+1].st, got[i+1].frame, fr)
		}
	}
}

func TestRandomFramesAndSharedFlags(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	d := NewDeframer(0)
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(MaxFrame)
		fr := make([]byte, n)
		for i := range fr {
			if r.IntN(3) == 0 {
				fr[i] = 0xFF
			} else {
				fr[i] = byte(r.Uint32())
			}
		}
		bits := frameBits(t, 1+r.IntN(3), fr)
		got := deframe(d, bits)
		var ok bool
		for _, g := range got {
			if g.st == FrameOK && bytes.Equal(g.frame, fr) {
				ok = true
			} else if g.st != Preamble {
				t.Fatalf("trial %d: unexpected %v", trial, g.st)
			}
		}
		if n >= 2 && !ok {
			t.Fatalf("trial %d (%d octets): frame lost: %v", trial, n, got)
		}
	}
	// Shared-zero flags (011111101111110) between frames must still delimit frames.
	var f Framer
	f.Flags(1)
	f.Frame([]byte{0xFF, 0x13, 0x8C})
	var bits []int
	for b, ok := f.Bit(); ok; b, ok = f.Bit() {
		bits = append(bits, b)
	}
	// Insert a flag sharing the opening flag's last 0: 01111110 1111110 <frame> 01111110.
	shared := append(append(append([]int(nil), bits[:8]...), 1, 1, 1, 1, 1, 1, 0), bits[8:]...)
	got := deframe(NewDeframer(0), shared)
	if len(got) != 1 || got[0].st != FrameOK {
		t.Fatalf("shared zero: %v", got)
	}
}

func TestCorruptionAbortAndLimits(t *testing.T) {
	fr := []byte{0xFF, 0x13, 0x80, 0x00, 0x6E, 0xB8, 0x00}
	bits := frameBits(t, 8, fr)
	// Flip one data bit after the preamble: FCS must fail.
	bad := append([]int(nil), bits...)
	bad[8*8+20] ^= 1
	got := deframe(NewDeframer(0), bad)
	sawBad := false
	for _, g := range got {
		if g.st == FrameOK {
			t.Fatalf("corrupted frame accepted")
		}
		sawBad = sawBad || g.st == FrameBad
	}
	if !sawBad {
		t.Fatalf("no FrameBad: %v", got)
	}
	// Abort in the middle of a frame.
	var f Framer
	f.Flags(6)
	var ab []int
	for b, ok := f.Bit(); ok; b, ok = f.Bit() {
		ab = append(ab, b)
	}
	ab = append(ab, bits[8*8:8*8+30]...)
	ab = append(ab, 1, 1, 1, 1, 1, 1, 1, 1)
	got = deframe(NewDeframer(0), ab)
	if len(got) != 2 || got[0].st != Preamble || got[1].st != Abort {
		t.Fatalf("abort: %v", got)
	}
	// Size limit.
	d := NewDeframer(10)
	got = deframe(d, frameBits(t, 2, make([]byte, 40)))
	if len(got) != 1 || got[0].st != FrameBad {
		t.Fatalf("too long: %v", got)
	}
	got = deframe(d, frameBits(t, 2, make([]byte, 10)))
	if len(got) != 1 || got[0].st != FrameOK {
		t.Fatalf("recover after too long: %v", got)
	}
	var fl Framer
	if err := fl.Frame(make([]byte, MaxFrame+1)); err == nil {
		t.Fatal("framer accepted an oversize frame")
	}
}

func TestFramerZeroAllocsSteadyState(t *testing.T) {
	var f Framer
	fr := make([]byte, 64)
	d := NewDeframer(0)
	run := func() {
		f.Flags(2)
		f.Frame(fr)
		for b, ok := f.Bit(); ok; b, ok = f.Bit() {
			d.PutBit(b)
		}
	}
	run()
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Fatalf("%v allocs per frame", a)
	}
}

// FuzzDeframer feeds arbitrary bit streams (each input byte gives 8 bits, LSB first). Properties:
// no panic; every FrameOK frame is within the limit and carries a valid FCS; a clean re-framing of
// any accepted frame round-trips.
func FuzzDeframer(f *testing.F) {
	for _, v := range loadVectors(f) {
		bits := frameBits(f, 3, v.frame)
		seed := make([]byte, (len(bits)+7)/8)
		for i, b := range bits {
			seed[i/8] |= byte(b) << (i % 8)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDeframer(64)
		d.Check = func(f []byte) bool { return len(f) > 0 && f[0] == 0xFF }
		gapAt := -1
		if len(in) > 0 {
			gapAt = int(in[0]) * 3 // exercise the gap repair too
		}
		for k, by := range in {
			for i := range 8 {
				if 8*k+i == gapAt {
					d.PutGap(6)
				}
				st := d.PutBit(int(by >> i))
				if st == FrameOK {
					fr := d.Frame()
					if len(fr) > 64 {
						t.Fatalf("frame of %d octets over the limit", len(fr))
					}
					full := AppendFCS(append([]byte(nil), fr...), fr)
					if !CheckFCS(full) {
						t.Fatalf("accepted frame fails FCS")
					}
					got := deframe(NewDeframer(64), frameBits(t, 1, fr))
					if len(got) != 1 || got[0].st != FrameOK || !bytes.Equal(got[0].frame, fr) {
						t.Fatalf("re-framing % X gave %v", fr, got)
					}
				}
			}
		}
	})
}

func BenchmarkDeframer(b *testing.B) {
	bits := frameBits(b, 1, make([]byte, 256))
	d := NewDeframer(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(bits) / 8))
	for b.Loop() {
		for _, x := range bits {
			d.PutBit(x)
		}
	}
}

func TestGapRepair(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	t30Check := func(f []byte) bool { return len(f) >= 3 && f[0] == 0xFF && f[1]&0xEF == 0x03 }
	repaired, tried := 0, 0
	for trial := 0; trial < 300; trial++ {
		fr := []byte{0xFF, 0x13}
		for range 1 + r.IntN(35) {
			fr = append(fr, byte(r.Uint32()))
		}
		bits := frameBits(t, 6, fr)
		// Drop g bits somewhere inside the frame (after the 6 preamble flags, before the closing
		// flags) and tell the deframer a 6-bit gap happened there.
		g := 5 + r.IntN(3)
		start := 8*6 + 1 + r.IntN(len(bits)-8*6-8*2-g-2)
		d := NewDeframer(0)
		d.Check = t30Check
		var got []result
		for i := 0; i < len(bits); i++ {
			if i == start {
				d.PutGap(6)
				i += g - 1
				continue
			}
			if st := d.PutBit(bits[i]); st != None && st != Preamble {
				got = append(got, result{st, append([]byte(nil), d.Frame()...)})
			}
		}
		tried++
		for _, x := range got {
			if x.st == FrameOK {
				if !bytes.Equal(x.frame, fr) {
					t.Fatalf("trial %d: repaired to a wrong frame % X, want % X", trial, x.frame, fr)
				}
				repaired++
			}
		}
	}
	t.Logf("repaired %d of %d frames with a lost 5-7 bit stretch", repaired, tried)
	if repaired < tried*9/10 {
		t.Fatalf("repaired only %d of %d", repaired, tried)
	}
	// Two gaps in one frame are not repaired.
	fr := []byte{0xFF, 0x13, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	bits := frameBits(t, 4, fr)
	d := NewDeframer(0)
	for i := 0; i < len(bits); i++ {
		if i == 50 || i == 90 {
			d.PutGap(6)
			i += 5
			continue
		}
		if d.PutBit(bits[i]) == FrameOK {
			t.Fatal("frame with two gaps reported good")
		}
	}
}
