package dsp

import "math"

// Goertzel measures the power of one frequency over blocks of n samples: cheaper than an FFT when
// only a few tones matter (CNG, CED, V.21 energy checks).
type Goertzel struct {
	coeff  float64
	s1, s2 float64
	n, i   int
}

// NewGoertzel returns a filter for hz over blocks of n samples.
func NewGoertzel(hz float64, n int) Goertzel {
	return Goertzel{coeff: 2 * math.Cos(2*math.Pi*hz/SampleRate), n: n}
}

// Put feeds one sample; when a block completes it returns the block's tone power as mean-square
// power of the tone component (a sine of amplitude A gives about A²/2) and true.
func (g *Goertzel) Put(x float64) (float64, bool) {
	s := x + g.coeff*g.s1 - g.s2
	g.s2, g.s1 = g.s1, s
	g.i++
	if g.i < g.n {
		return 0, false
	}
	p := g.s1*g.s1 + g.s2*g.s2 - g.coeff*g.s1*g.s2
	g.s1, g.s2, g.i = 0, 0, 0
	// |X|² = p; a sine of amplitude A gives |X| = A·n/2, hence mean square A²/2 = 2p/n².
	return 2 * p / float64(g.n*g.n), true
}

// Reset restarts the block.
func (g *Goertzel) Reset() { g.s1, g.s2, g.i = 0, 0, 0 }
