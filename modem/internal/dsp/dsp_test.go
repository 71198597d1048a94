package dsp

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestLevels(t *testing.T) {
	if a := SineAmplitude(3.14); math.Abs(a-32767) > 0.01 {
		t.Fatalf("full-scale sine amplitude %v", a)
	}
	a := SineAmplitude(-14)
	if got := PowerDBm0(a * a / 2); math.Abs(got+14) > 1e-9 {
		t.Fatalf("PowerDBm0 round trip %v", got)
	}
	if got := PowerDBm0(DBm0Power(-43)); math.Abs(got+43) > 1e-9 {
		t.Fatalf("DBm0Power round trip %v", got)
	}
}

func TestNCOFrequency(t *testing.T) {
	n := NewNCO(1700)
	// After one second the phase must be back where it started (1700 whole cycles), to table accuracy.
	n.Advance(8000)
	if d := math.Abs(PhaseToRadians(n.Phase)); d > 1e-4 {
		t.Fatalf("phase after 1 s: %v rad", d)
	}
	n = NewNCO(1000)
	var maxErr float64
	for i := 0; i < 1000; i++ {
		z := n.Next()
		want := cmplx.Exp(complex(0, 2*math.Pi*1000*float64(i)/8000))
		maxErr = math.Max(maxErr, cmplx.Abs(z-want))
	}
	if maxErr > 2e-3 {
		t.Fatalf("NCO error %v", maxErr)
	}
}

func TestRRCIsNyquistWhenSquared(t *testing.T) {
	// RRC ⊛ RRC sampled at symbol instants must be ~δ (zero ISI).
	const beta, sps = 0.25, 16
	h := RRCTaps(16*sps+1, sps, beta)
	c := make([]float64, 2*len(h)-1)
	for i := range h {
		for j := range h {
			c[i+j] += h[i] * h[j]
		}
	}
	mid := len(h) - 1
	for k := 1; k < 6; k++ {
		if r := math.Abs(c[mid+k*sps] / c[mid]); r > 0.02 {
			t.Fatalf("ISI at %d symbols: %v", k, r)
		}
	}
}

func TestGoertzel(t *testing.T) {
	g := NewGoertzel(1100, 160)
	amp := SineAmplitude(-20)
	var p float64
	for i := 0; i < 160; i++ {
		v, ok := g.Put(amp * math.Sin(2*math.Pi*1100*float64(i)/8000))
		if ok {
			p = v
		}
	}
	if d := PowerDBm0(p); math.Abs(d+20) > 0.2 {
		t.Fatalf("Goertzel level %v dBm0, want -20", d)
	}
}

func TestScramblerRoundTrip(t *testing.T) {
	for _, mk := range []func() Scrambler{
		func() Scrambler { return NewScrambler(18, 23) },
		func() Scrambler { return NewScrambler(6, 7) },
		NewV27Scrambler,
	} {
		tx, rx := mk(), mk()
		rx.Reg = 0x5a5a5a // start out of sync: must recover within b bits
		r := rand.New(rand.NewPCG(1, 2))
		ones := 0
		for i := 0; i < 5000; i++ {
			bit := 1
			if i > 2000 {
				bit = r.IntN(2)
			}
			line := tx.Scramble(bit)
			ones += line
			got := rx.Descramble(line)
			if i > 40 && got != bit {
				t.Fatalf("bit %d: got %d want %d", i, got, bit)
			}
		}
		if ones < 2000 || ones > 3000 {
			t.Fatalf("scrambled ones %d of 5000: not whitened", ones)
		}
	}
}

// loopback drives Shaper -> channel -> Baseband -> Gardner timing -> equaliser -> carrier loop with
// QPSK at 2400 Bd and returns the symbol error count after convergence and the mean squared error.
func loopback(t *testing.T, offsetHz, gain float64, timingShift float64) (errs int, mse float64) {
	t.Helper()
	const baud, fc = 2400, 1800.0
	tx := NewShaper(fc, baud, 0.25, 12)
	rx := NewBaseband(fc, baud, 0.5, 27, 48)
	rx.AdjustTiming(timingShift)
	rx.Carrier.SetFreq(fc - offsetHz)
	eq := NewEqualizer(33, 16, 0.02)
	agc := NewAGC(1, 0.01)
	var ted Gardner
	tloop := PI{Kp: 0.05, Ki: 0.0005}
	cloop := NewCarrierLoop(0.02, 0.0005, SampleRate/baud)
	r := rand.New(rand.NewPCG(3, 4))
	pts := [4]complex128{1, 1i, -1, -1i}
	var sent []int
	var got []int
	half := 0
	var mid complex128
	nsyms := 0
	const nsym = 6000
	for n := 0; len(sent) < nsym || n < nsym*4; n++ {
		if tx.Step() {
			k := r.IntN(4)
			sent = append(sent, k)
			tx.Push(pts[k] * complex(math.Sqrt2/2, math.Sqrt2/2))
		}
		x := tx.Sample() * gain
		z, ok := rx.Put(x)
		if !ok {
			continue
		}
		z = agc.Put(z)
		eq.Put(z)
		half ^= 1
		if half == 1 {
			mid = z
			continue
		}
		nsyms++
		if nsyms < 100 {
			got = append(got, -1)
			continue // let the AGC settle before adapting anything
		}
		rx.AdjustTiming(-tloop.Update(ted.Error(mid, z)))
		y := eq.Output()
		// QPSK on the diagonals after the π/4 rotation above.
		d := complex(math.Copysign(math.Sqrt2/2, real(y)), math.Copysign(math.Sqrt2/2, imag(y)))
		eq.Adapt(d - y)
		cloop.Update(&rx.Carrier, PhaseError(y, d))
		k := 0
		switch {
		case real(d) > 0 && imag(d) > 0:
			k = 0
		case real(d) < 0 && imag(d) > 0:
			k = 1
		case real(d) < 0 && imag(d) < 0:
			k = 2
		default:
			k = 3
		}
		got = append(got, k)
		if len(got) > nsym/2 {
			mse += Abs2(d - y)
		}
	}
	// Find the lag and the rotation (the loop may lock at any multiple of 90°).
	best := len(got)
	for lag := 0; lag < 40; lag++ {
		for rot := 0; rot < 4; rot++ {
			e := 0
			for i := nsym / 2; i < len(got) && i-lag < len(sent); i++ {
				if (sent[i-lag]+rot)%4 != got[i] {
					e++
				}
			}
			best = min(best, e)
		}
	}
	return best, mse / float64(len(got)-nsym/2)
}

func TestLoopbackQPSK(t *testing.T) {
	for _, c := range []struct {
		name          string
		off, g, shift float64
	}{
		{"clean", 0, 1000, 0},
		{"offset+7Hz", 7, 3000, 0.4},
		{"offset-7Hz", -7, 100, 0.9},
	} {
		errs, mse := loopback(t, c.off, c.g, c.shift)
		t.Logf("%s: symbol errors %d, MSE %.2e", c.name, errs, mse)
		if errs != 0 || mse > 0.01 {
			t.Errorf("%s: symbol errors %d, MSE %.3g", c.name, errs, mse)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	tx := NewShaper(1700, 2400, 0.25, 12)
	rx := NewBaseband(1700, 2400, 0.5, 27, 48)
	eq := NewEqualizer(33, 16, 0.01)
	allocs := testing.AllocsPerRun(10, func() {
		for i := 0; i < 160; i++ {
			if tx.Step() {
				tx.Push(1 + 1i)
			}
			if z, ok := rx.Put(tx.Sample()); ok {
				eq.Put(z)
				eq.Adapt(eq.Output())
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 160-sample block", allocs)
	}
}

func BenchmarkBasebandBlock(b *testing.B) {
	rx := NewBaseband(1700, 2400, 0.5, 27, 48)
	eq := NewEqualizer(33, 16, 0.01)
	in := make([]float64, 160)
	for i := range in {
		in[i] = 1000 * math.Sin(float64(i))
	}
	b.ReportAllocs()
	b.SetBytes(160 * 2)
	for b.Loop() {
		for _, x := range in {
			if z, ok := rx.Put(x); ok {
				eq.Put(z)
				eq.Adapt(eq.Output() * 0.001)
			}
		}
	}
}
