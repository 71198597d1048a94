package dsp

// FIR is a real FIR filter on real samples, over a Delay so there is no modulo in the inner loop and
// no allocation per sample.
type FIR struct {
	taps []float64 // reversed: taps[0] multiplies the oldest sample of the window
	hist Delay[float64]
}

// NewFIR returns a filter with the given taps (copied); taps[0] applies to the newest sample.
func NewFIR(taps []float64) *FIR {
	n := len(taps)
	f := &FIR{taps: make([]float64, n), hist: NewDelay[float64](n)}
	// Reverse so the dot product runs oldest..newest over the contiguous window.
	for i, t := range taps {
		f.taps[n-1-i] = t
	}
	return f
}

// Put feeds one sample and returns the filter output.
func (f *FIR) Put(x float64) float64 {
	f.hist.Put(x)
	return DotReal(f.taps, f.hist.Window())
}

// Reset clears the history.
func (f *FIR) Reset() { f.hist.Reset() }

// Delay is a sample ring holding the last n samples. The history is kept twice over so the newest n
// samples are always one contiguous slice: filters (FIR, polyphase banks, the equaliser) run their dot
// products over it with no modulo and no allocation per sample.
type Delay[T float64 | complex128] struct {
	hist []T // len 2n
	pos  int
	n    int
}

// NewDelay returns a line holding n samples.
func NewDelay[T float64 | complex128](n int) Delay[T] { return Delay[T]{hist: make([]T, 2*n), n: n} }

// Put appends a sample.
func (d *Delay[T]) Put(x T) {
	d.hist[d.pos] = x
	d.hist[d.pos+d.n] = x
	d.pos++
	if d.pos == d.n {
		d.pos = 0
	}
}

// Window returns the last n samples, oldest first. The slice aliases internal storage and is valid
// until the next Put.
func (d *Delay[T]) Window() []T { return d.hist[d.pos : d.pos+d.n] }

// Reset clears the line.
func (d *Delay[T]) Reset() {
	clear(d.hist)
	d.pos = 0
}

// DotReal returns Σ a[i]·b[i]; len(b) must be >= len(a).
func DotReal(a, b []float64) float64 {
	b = b[:len(a)]
	var acc float64
	for i, x := range a {
		acc += x * b[i]
	}
	return acc
}

// DotRealComplex returns Σ x[i]·c[i] for real samples and complex taps; len(c) must be >= len(x).
func DotRealComplex(x []float64, c []complex128) complex128 {
	c = c[:len(x)]
	var re, im float64
	for i, v := range x {
		re += v * real(c[i])
		im += v * imag(c[i])
	}
	return complex(re, im)
}

// DotComplex returns Σ a[i]·b[i]; len(b) must be >= len(a).
func DotComplex(a, b []complex128) complex128 {
	b = b[:len(a)]
	var re, im float64
	for i, x := range a {
		y := b[i]
		re += real(x)*real(y) - imag(x)*imag(y)
		im += real(x)*imag(y) + imag(x)*real(y)
	}
	return complex(re, im)
}
