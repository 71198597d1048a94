package v17

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestModulatorMatchesShaper: the table-driven modulator produces the signal of the generic
// dsp.Shaper (pulse-shaped symbols on an 1800 Hz carrier) for a whole transmission with TEP, long
// training and data at every rate. The shaper's carrier comes from a 4096-entry sine table, so the two
// differ by its phase quantisation (about 1e-3 of the signal), not more.
func TestModulatorMatchesShaper(t *testing.T) {
	for _, rate := range allRates {
		fast, _ := NewTransmitter(rate, newPRBS(3, 20000))
		slow, _ := NewTransmitter(rate, newPRBS(3, 20000))
		slow.setCarrierOffset(0)
		fast.Restart(rate, true, false)
		slow.Restart(rate, true, false)
		a, b := transmit(fast), transmit(slow)
		if len(a) != len(b) {
			t.Fatalf("%v: %d samples, shaper %d", rate, len(a), len(b))
		}
		var diff, sig float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			diff += d * d
			sig += float64(b[i]) * float64(b[i])
		}
		r := math.Sqrt(diff / sig)
		t.Logf("%v: relative rms difference %.1e", rate, r)
		if r > 2e-3 {
			t.Errorf("%v: relative rms difference %.1e", rate, r)
		}
	}
}

// TestDescrambleWord: descrambling a symbol's bits at once equals descrambling them one by one.
func TestDescrambleWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	a, b := scrambler(scramblerSeed), scrambler(scramblerSeed)
	for range 20000 {
		n := 1 + rng.IntN(6)
		q := rng.IntN(64)
		want := 0
		for i := range n {
			want |= a.descramble(q>>i&1) << i
		}
		if got := b.descrambleWord(q, n); got != want || a != b {
			t.Fatalf("word %06b/%d: %06b (register %x), bit by bit %06b (%x)", q, n, got, b, want, a)
		}
	}
}
