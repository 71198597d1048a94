package dsp

// Equalizer is a T/2 fractionally spaced adaptive linear equaliser with complex taps, trained by LMS
// (brief §3.5 item 7): feed every T/2 sample with Put, read one Output per symbol, and Adapt with the
// error (decision or known training symbol minus output). Because it is fractionally spaced it also
// absorbs a static timing offset; the timing loop only has to follow drift.
type Equalizer struct {
	Taps []complex128 // Taps[i] multiplies the i-th oldest sample of the window
	line Delay[complex128]
	Mu   float64 // LMS step size, for unit-power input
	pre  int
}

// NewEqualizer returns an n-tap equaliser with pre taps ahead of the main tap (spandsp: 33 taps with 16
// ahead, or 32 with 16), initialised to a pass-through on the main tap.
func NewEqualizer(n, pre int, mu float64) *Equalizer {
	e := &Equalizer{Taps: make([]complex128, n), line: NewDelay[complex128](n), Mu: mu, pre: pre}
	e.ResetTaps()
	return e
}

// ResetTaps restores the pass-through state.
func (e *Equalizer) ResetTaps() {
	clear(e.Taps)
	e.Taps[len(e.Taps)-1-e.pre] = 1
}

// Put enters one T/2 sample.
func (e *Equalizer) Put(x complex128) { e.line.Put(x) }

// Output returns the equalised symbol for the current window.
func (e *Equalizer) Output() complex128 { return DotComplex(e.Taps, e.line.Window()) }

// Adapt applies one LMS update with err = wanted - Output().
func (e *Equalizer) Adapt(err complex128) {
	g := complex(real(err)*e.Mu, imag(err)*e.Mu)
	w := e.line.Window()
	for i, x := range w {
		// c += μ·err·conj(x)
		e.Taps[i] += complex(real(g)*real(x)+imag(g)*imag(x), imag(g)*real(x)-real(g)*imag(x))
	}
}

// Save copies the taps into dst (len(dst) must equal the tap count), for short-train restarts and
// retransmissions (brief §3.5 item 7).
func (e *Equalizer) Save(dst []complex128) { copy(dst, e.Taps) }

// Restore loads taps saved by Save.
func (e *Equalizer) Restore(src []complex128) { copy(e.Taps, src) }

// ResetLine clears the sample history (taps are kept).
func (e *Equalizer) ResetLine() { e.line.Reset() }

// Len returns the number of taps.
func (e *Equalizer) Len() int { return len(e.Taps) }

// RotateLine multiplies every sample held in the delay line by rot. A receiver that steps its carrier
// phase (the "slam into line" at the end of a training pattern, brief §3.5 item 5) rotates the held
// samples by the same amount so the next outputs are consistent.
func (e *Equalizer) RotateLine(rot complex128) {
	for i := range e.line.hist {
		e.line.hist[i] *= rot
	}
}
