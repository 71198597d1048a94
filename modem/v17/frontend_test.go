package v17

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// TestFrontEndMatchesBaseband: the specialised front end and equaliser compute what the generic
// dsp.Baseband and dsp.Equalizer compute (to rounding), including timing adjustments, fill-in,
// adaptation and carrier steps.
func TestFrontEndMatchesBaseband(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := dsp.NewBaseband(carrierHz, baud, rxBeta, rxTaps, rxPhases)
	fe := newFrontEnd()
	refEq := dsp.NewEqualizer(eqLen, eqPre, eqMu(eqDeltaFast))
	eq := &equalizer{Mu: eqMu(eqDeltaFast)}
	eq.ResetTaps()
	outputs := 0
	var worst float64
	for n := range 40000 {
		x := 6 * rng.NormFloat64() // baseband samples of about the AGC-scaled size
		z1, ok1 := ref.Put(x)
		z2, ok2 := fe.Put(x)
		if ok1 != ok2 {
			t.Fatalf("sample %d: output due %v, Baseband %v", n, ok2, ok1)
		}
		if n%1000 == 999 {
			adj := rng.Float64() - 0.5
			ref.AdjustTiming(adj)
			fe.AdjustTiming(adj)
			ref.Carrier.Step += 1000
			fe.Carrier.Step += 1000
		}
		if n%7919 == 0 {
			if a, b := ref.Fillin(160), fe.Fillin(160); a != b {
				t.Fatalf("fill-in skipped %d, Baseband %d", b, a)
			}
		}
		if !ok1 {
			continue
		}
		outputs++
		refEq.Put(z1)
		eq.Put(z2)
		y1, y2 := refEq.Output(), eq.Output()
		worst = max(worst, cmplx.Abs(z1-z2)/max(1, cmplx.Abs(z1)), cmplx.Abs(y1-y2)/max(1, cmplx.Abs(y1)))
		want := complex(float64(rng.IntN(3)-1), float64(rng.IntN(3)-1)) * 6
		refEq.Adapt(want - y1)
		eq.Adapt(want - y2)
	}
	t.Logf("%d outputs, worst relative difference %.1e", outputs, worst)
	if outputs < 20000 || worst > 1e-9 || math.IsNaN(worst) {
		t.Errorf("%d outputs, worst relative difference %.1e", outputs, worst)
	}
}

// TestEqualizerSpan: after a long training on a flat line the equaliser drops to its short span
// (and a short training restores it), while on the dispersive channel 3 it keeps every tap.
func TestEqualizerSpan(t *testing.T) {
	for _, c := range []struct {
		line int
		want [2]int
	}{{0, [2]int{eqShortLo, eqShortHi}}, {3, [2]int{0, eqLen}}} {
		tx, _ := NewTransmitter(Rate14400, newPRBS(2, 5000))
		sig := transmit(tx)
		rx, _ := NewReceiver(Rate14400, &collectSink{})
		ch := atSNR(30)
		m := &lineModel{snrDB: 30, gainDB: ch.gainDB, law: ch.law, sigPower: meanSquare(sig), channel: c.line, seed: 4}
		m.run(sig, rx)
		if !rx.saved.valid || rx.saved.span != c.want {
			t.Errorf("channel %d: trained %v, span %v, want %v", c.line, rx.saved.valid, rx.saved.span, c.want)
		}
		if c.want[0] > 0 {
			rx.Restart(Rate14400, true)
			if rx.eq.lo != c.want[0] || rx.eq.hi != c.want[1] {
				t.Errorf("channel %d: short training restores span %d-%d", c.line, rx.eq.lo, rx.eq.hi)
			}
		}
	}
}
