package dsp

// FIR is a real FIR filter on real samples. The history is kept twice over so the newest n samples
// are always one contiguous slice: no modulo in the inner loop and no allocation per sample.
type FIR struct {
	taps []float64 // taps[0] multiplies the newest sample
	hist []float64 // len 2n
	pos  int
}

// NewFIR returns a filter with the given taps (copied); taps[0] applies to the newest sample.
func NewFIR(taps []float64) *FIR {
	n := len(taps)
	f := &FIR{taps: make([]float64, n), hist: make([]float64, 2*n)}
	// Reverse so the dot product runs oldest..newest over the contiguous window.
	for i, t := range taps {
		f.taps[n-1-i] = t
	}
	return f
}

// Put feeds one sample and returns the filter output.
func (f *FIR) Put(x float64) float64 {
	n := len(f.taps)
	f.hist[f.pos] = x
	f.hist[f.pos+n] = x
	f.pos++
	if f.pos == n {
		f.pos = 0
	}
	w := f.hist[f.pos : f.pos+n]
	var acc float64
	for i, t := range f.taps {
		acc += t * w[i]
	}
	return acc
}

// Reset clears the history.
func (f *FIR) Reset() {
	clear(f.hist)
	f.pos = 0
}

// Delay is a real sample ring holding the last n samples contiguously (see FIR), for filters whose
// taps change per output such as polyphase banks.
type Delay struct {
	hist []float64
	pos  int
	n    int
}

// NewDelay returns a line holding n samples.
func NewDelay(n int) Delay { return Delay{hist: make([]float64, 2*n), n: n} }

// Put appends a sample.
func (d *Delay) Put(x float64) {
	d.hist[d.pos] = x
	d.hist[d.pos+d.n] = x
	d.pos++
	if d.pos == d.n {
		d.pos = 0
	}
}

// Window returns the last n samples, oldest first. The slice aliases internal storage and is valid
// until the next Put.
func (d *Delay) Window() []float64 { return d.hist[d.pos : d.pos+d.n] }

// Reset clears the line.
func (d *Delay) Reset() {
	clear(d.hist)
	d.pos = 0
}

// ComplexDelay is Delay for complex samples.
type ComplexDelay struct {
	hist []complex128
	pos  int
	n    int
}

// NewComplexDelay returns a line holding n samples.
func NewComplexDelay(n int) ComplexDelay { return ComplexDelay{hist: make([]complex128, 2*n), n: n} }

// Put appends a sample.
func (d *ComplexDelay) Put(x complex128) {
	d.hist[d.pos] = x
	d.hist[d.pos+d.n] = x
	d.pos++
	if d.pos == d.n {
		d.pos = 0
	}
}

// Window returns the last n samples, oldest first (valid until the next Put).
func (d *ComplexDelay) Window() []complex128 { return d.hist[d.pos : d.pos+d.n] }

// Reset clears the line.
func (d *ComplexDelay) Reset() {
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
