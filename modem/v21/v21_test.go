package v21

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/internal/line"
)

type bitSlice struct {
	bits []byte
	i    int
}

func (b *bitSlice) Bit() (int, bool) {
	if b.i >= len(b.bits) {
		return 1, false
	}
	b.i++
	return int(b.bits[b.i-1]), true
}

// run sends bits through a line and returns the received bits.
func run(bits []byte, cfg line.Config) []byte {
	tx := NewTx(&bitSlice{bits: bits})
	rx := NewRx()
	m := line.New(cfg)
	buf := make([]int16, line.Block)
	var got []byte
	// Lead-in silence, the signal, then silence for the tail.
	m.Write(make([]int16, 800))
	for !tx.Done() {
		tx.Read(buf)
		m.Write(buf)
		for {
			lost, ok := m.Read(buf)
			if !ok {
				break
			}
			if lost {
				rx.Fillin(line.Block)
				continue
			}
			got = rx.Put(buf, got)
		}
	}
	m.Write(make([]int16, 1600))
	for {
		lost, ok := m.Read(buf)
		if !ok {
			break
		}
		if !lost {
			got = rx.Put(buf, got)
		}
	}
	return got
}

func randomBits(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(2))
	}
	return b
}

// snrNoise returns the noise level for an SNR against the V.21 signal after gainDB.
func snrNoise(gainDB, snr float64) float64 { return TxLevel + gainDB - snr }

func TestBERThreshold(t *testing.T) {
	// V.21 at 300 bit/s is the most robust modem: below 1e-3 BER at 10 dB SNR through µ-law, drift and
	// a 20 dB level drop.
	bits := randomBits(3000, 1)
	got := run(bits, line.Config{Law: g711.MuLaw, GainDB: -20, NoiseDBm0: snrNoise(-20, 10), DriftPPM: 100, Seed: 2})
	errs, n, _ := line.BER(bits, got, 200, 10)
	t.Logf("SNR 10 dB: %d errors in %d bits", errs, n)
	if n < 2900 || float64(errs)/float64(n) > 1e-3 {
		t.Fatalf("BER %d/%d", errs, n)
	}
	got = run(bits, line.Config{Law: g711.ALaw, GainDB: 0, NoiseDBm0: line.NoNoise, DriftPPM: -100, Seed: 3})
	if errs, n, _ := line.BER(bits, got, 200, 10); errs != 0 || n < 2900 {
		t.Fatalf("clean A-law line: %d errors in %d bits", errs, n)
	}
}

func TestHDLCOverLine(t *testing.T) {
	frames := [][]byte{{0xFF, 0x03, 0x40, 'a', 'b', 'c'}, {0xFF, 0x13, 0x80, 0x00, 0x6E, 0xB8, 0x00}}
	var f hdlc.Framer
	f.Flags(32) // brief §2.2: ~1 s of preamble (spandsp sends 32 flags)
	for _, fr := range frames {
		f.Frame(fr)
	}
	f.Flags(2)
	var bits []byte
	for b, ok := f.Bit(); ok; b, ok = f.Bit() {
		bits = append(bits, byte(b))
	}
	for _, cfg := range []line.Config{
		{Law: g711.MuLaw, NoiseDBm0: line.NoNoise},
		{Law: g711.ALaw, GainDB: -29, NoiseDBm0: -14 - 29 - 15, DriftPPM: 100, Seed: 4}, // -43 dBm0 rx
	} {
		got := run(bits, cfg)
		d := hdlc.NewDeframer(0)
		var ok []string
		sawPreamble := false
		for _, b := range got {
			switch d.PutBit(int(b)) {
			case hdlc.FrameOK:
				ok = append(ok, fmt.Sprintf("% X", d.Frame()))
			case hdlc.Preamble:
				sawPreamble = true
			}
		}
		if !sawPreamble || len(ok) != 2 || ok[0] != fmt.Sprintf("% X", frames[0]) || ok[1] != fmt.Sprintf("% X", frames[1]) {
			t.Errorf("%+v: preamble %v frames %q", cfg, sawPreamble, ok)
		}
	}
}

func TestFillinKeepsBitClock(t *testing.T) {
	// Lose two packets in the preamble: the receiver bridges them and the frame that follows decodes.
	var f hdlc.Framer
	f.Flags(32)
	f.Frame([]byte{0xFF, 0x13, 0x8C})
	f.Flags(2)
	tx := NewTx(&f)
	rx := NewRx()
	d := hdlc.NewDeframer(0)
	buf := make([]int16, 160)
	var bits []byte
	frames := 0
	for i := 0; !tx.Done(); i++ {
		tx.Read(buf)
		if i == 10 || i == 25 {
			rx.Fillin(len(buf))
			continue
		}
		bits = rx.Put(buf, bits[:0])
		for _, b := range bits {
			if d.PutBit(int(b)) == hdlc.FrameOK {
				frames++
			}
		}
	}
	if frames != 1 {
		t.Fatalf("%d frames after fill-in", frames)
	}
}

func TestNoCarrierOnSilenceAndLowLevel(t *testing.T) {
	rx := NewRx()
	buf := make([]int16, 160)
	for i := range buf {
		buf[i] = int16(30 * (i%7 - 3)) // ~-55 dBm0 hum
	}
	var got []byte
	for range 50 {
		got = rx.Put(buf, got)
	}
	if rx.Carrier() || len(got) != 0 {
		t.Fatalf("carrier %v, %d bits from near-silence", rx.Carrier(), len(got))
	}
}

// TestBERTable prints BER versus SNR (for docs/benchmarks.md); run with -v.
func TestBERTable(t *testing.T) {
	if testing.Short() {
		t.Skip("table")
	}
	bits := randomBits(6000, 7)
	for _, snr := range []float64{3, 4, 5, 6, 8, 10} {
		got := run(bits, line.Config{Law: g711.MuLaw, NoiseDBm0: snrNoise(0, snr), DriftPPM: 100, Seed: uint64(snr)})
		errs, n, slips := line.BER(bits, got, 200, 10)
		t.Logf("V.21 SNR %4.0f dB: BER %.2e (%d/%d), %d slips", snr, float64(errs)/float64(max(n, 1)), errs, n, slips)
	}
}

func TestZeroAllocs(t *testing.T) {
	bits := randomBits(1000, 3)
	tx := NewTx(&bitSlice{bits: bits})
	rx := NewRx()
	buf := make([]int16, 160)
	out := make([]byte, 0, 16)
	if a := testing.AllocsPerRun(10, func() {
		tx.Read(buf)
		out = rx.Put(buf, out[:0])
	}); a != 0 {
		t.Fatalf("%v allocs per block", a)
	}
	_ = bytes.Equal
}

func BenchmarkRx(b *testing.B) {
	tx := NewTx(&bitSlice{bits: randomBits(100000, 3)})
	buf := make([]int16, 160)
	tx.Read(buf)
	rx := NewRx()
	out := make([]byte, 0, 16)
	b.ReportAllocs()
	b.SetBytes(320)
	for b.Loop() {
		out = rx.Put(buf, out[:0])
	}
}
