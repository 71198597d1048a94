package v17

import (
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// The transmitter's pulse shaping and modulation, table driven. At 8000 samples/s, 2400 Bd and an
// 1800 Hz carrier, 12 symbols last exactly 40 samples and 40 samples are exactly 9 carrier cycles, so
// the pass-band waveform a symbol contributes, Re{a·g(t-kT)·e^{jωt}} over its 12-symbol pulse, is one
// of 12 fixed pairs of 40-sample shapes chosen by k mod 12: Re(a)·g·cos ωn and -Im(a)·g·sin ωn. Adding
// a symbol is then 40 independent multiply-adds into an output buffer (overlap-add), instead of a
// 12-tap complex dot product, a carrier lookup and a complex mix for every sample (the generic
// dsp.Shaper, which computes the same signal). TestModulatorMatchesShaper checks the two agree.

// The shapes are held as integers, two samples to an int64 (the even sample in the low half), and
// the symbols, whose coordinates are small integers on every V.17 diagram and training point, as
// integers too: one 64-bit multiply-add then does the work for two samples. Sums stay far inside 32
// bits (|Σ| < 50·modScale), so the halves never interfere; modScale 2^21 leaves the shapes' rounding
// at -126 dB of the signal, below a 16-bit sample's resolution.

// Symbols and samples per modulation period (12 symbols = 40 samples = 9 carrier cycles), and the
// pairs of samples one symbol's shape covers: 40 samples, from an even one (one more when the first
// sample is odd).
const (
	modSymbols = 12
	modSamples = 40
	modPairs   = modSamples/2 + 1
	modScale   = 1 << 21
)

// modPulse is one symbol slot's contribution in sample pairs, from the pair holding the sample at
// which the symbol enters (the first whose pulse window includes it).
type modPulse struct {
	cos, sin [modPairs]int64
}

// modPulses holds the 12 slots, built once at start-up and only read afterwards.
var modPulses = func() (p [modSymbols]modPulse) {
	w := 2 * math.Pi * carrierHz / dsp.SampleRate
	const centre = txSpan / 2.0
	for j := range p {
		// Symbol j is at time 10j/3 samples; the first sample that sees it is the next whole one.
		n0 := (10*j + 2) / 3
		var c, s [2 * modPairs]float64
		for m := range modSamples {
			n := n0 + m
			age := float64(3*n-10*j) / 10 // symbols since symbol j's instant, in [0, 12)
			t := age - centre
			g := dsp.RRC(t, txBeta) * (0.54 + 0.46*math.Cos(math.Pi*t/(centre+0.5)))
			k := n - n0&^1 // index from the even sample at or before n0
			c[k] = g * math.Cos(w*float64(n))
			s[k] = -g * math.Sin(w*float64(n))
		}
		for i := range modPairs {
			p[j].cos[i] = pack(c[2*i], c[2*i+1])
			p[j].sin[i] = pack(s[2*i], s[2*i+1])
		}
	}
	return p
}()

// pack scales two samples to integers and packs them, the first in the low half.
func pack(lo, hi float64) int64 {
	return int64(math.Round(lo*modScale)) + int64(math.Round(hi*modScale))<<32
}

// modulator renders symbols to pass-band samples with modPulses. acc holds sample pairs; sample pos
// is the next output. Contributions reach at most 41 samples ahead, so the buffer holds more than two
// periods and shifts down by one period whenever pos reaches the end of the first.
type modulator struct {
	acc   [48]int64
	pos   int // next output sample, 0..39
	slot  int // the next symbol's slot (symbol count mod 12)
	phase int // symbol clock in thirds of a sample period: a symbol is due when it passes 10
}

func (m *modulator) reset() {
	clear(m.acc[:])
	m.pos = 0
	m.slot = 0
	m.phase = 10 - 3 // the first sample asks for a symbol
}

// step advances one sample and reports whether a symbol is due before it.
func (m *modulator) step() bool {
	if m.phase += 3; m.phase >= 10 {
		m.phase -= 10
		return true
	}
	return false
}

// push adds the next symbol's waveform. Its coordinates must be integers (every V.17 point is).
func (m *modulator) push(z complex128) {
	p := &modPulses[m.slot]
	if m.slot++; m.slot == modSymbols {
		m.slot = 0
	}
	if z == 0 {
		return
	}
	re, im := int64(real(z)), int64(imag(z))
	dst := (*[modPairs]int64)(m.acc[m.pos>>1:])
	for i := range dst {
		dst[i] += re*p.cos[i] + im*p.sin[i]
	}
}

// sample returns the next output sample, scaled by modScale (unit-power symbols give mean square
// modScale²/2, as dsp.Shaper gives 1/2).
func (m *modulator) sample() int64 {
	pair := m.acc[m.pos>>1]
	v := int64(int32(pair))
	if m.pos&1 != 0 {
		v = (pair - v) >> 32
	}
	if m.pos++; m.pos == modSamples {
		copy(m.acc[:], m.acc[modSamples/2:])
		clear(m.acc[len(m.acc)-modSamples/2:])
		m.pos = 0
	}
	return v
}
