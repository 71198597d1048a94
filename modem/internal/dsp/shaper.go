package dsp

import "math"

// Shaper is a transmit pulse shaper and modulator: complex symbols at the baud rate go in, real
// pass-band samples at 8 kHz come out, as Re{Σ a_k g(t-kT) e^{jωt}} with g a root-raised-cosine.
// The 8000/baud ratio is an exact fraction P/Q, so a P-phase polyphase bank gives every output
// sample its exact pulse phase (2400 Bd: 10/3, 1600 Bd: 5/1, 1200 Bd: 20/3) with no drift.
//
// Per output sample call Step; if it reports true, Push the next symbol before calling Sample.
type Shaper struct {
	bank    [][]float64 // [phase][k], k=0 the oldest symbol in the window
	syms    Delay[complex128]
	p, q    int
	phase   int
	Carrier NCO
}

// NewShaper returns a shaper for baud symbols/s with roll-off beta, a pulse spanning span symbols,
// modulated onto carrierHz (0 gives a baseband real output of the in-phase part).
func NewShaper(carrierHz float64, baud int, beta float64, span int) *Shaper {
	g := gcd(SampleRate, baud)
	p, q := SampleRate/g, baud/g
	s := &Shaper{p: p, q: q, syms: NewDelay[complex128](span), Carrier: NewNCO(carrierHz)}
	s.bank = make([][]float64, p)
	centre := float64(span) / 2
	for ph := range s.bank {
		row := make([]float64, span)
		// The window's newest symbol (index span-1) was pushed ph/P symbol periods ago.
		for i := range row {
			age := float64(span-1-i) + float64(ph)/float64(p)
			t := age - centre
			w := 0.54 + 0.46*math.Cos(math.Pi*t/(centre+0.5))
			row[i] = RRC(t, beta) * w
		}
		s.bank[ph] = row
	}
	// Start so that the very first Step asks for a symbol.
	s.phase = p - q
	return s
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Step advances one output sample and reports whether a new symbol must be pushed now.
func (s *Shaper) Step() bool {
	s.phase += s.q
	if s.phase >= s.p {
		s.phase -= s.p
		return true
	}
	return false
}

// Push enters the next symbol.
func (s *Shaper) Push(sym complex128) { s.syms.Put(sym) }

// Sample returns the current pass-band output sample (unit-power symbols give mean-square 1/2) and
// advances the carrier.
func (s *Shaper) Sample() float64 {
	b := DotRealComplexRev(s.bank[s.phase], s.syms.Window())
	c := s.Carrier.Next()
	return real(b)*real(c) - imag(b)*imag(c)
}

// Baseband returns the current complex baseband output without modulation and advances the carrier.
func (s *Shaper) Baseband() complex128 {
	s.Carrier.Next()
	return DotRealComplexRev(s.bank[s.phase], s.syms.Window())
}

// Reset clears the symbol history and restarts the phase (the carrier phase is kept).
func (s *Shaper) Reset() {
	s.syms.Reset()
	s.phase = s.p - s.q
}

// DotRealComplexRev returns Σ h[i]·c[i] for real taps h and complex samples c.
func DotRealComplexRev(h []float64, c []complex128) complex128 {
	c = c[:len(h)]
	var re, im float64
	for i, t := range h {
		re += t * real(c[i])
		im += t * imag(c[i])
	}
	return complex(re, im)
}
