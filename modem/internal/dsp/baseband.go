package dsp

import "math"

// Baseband is the receive front end shared by the QAM/PSK modems: real 8 kHz pass-band samples go in,
// complex baseband samples at twice the symbol rate (T/2, for a fractionally spaced equaliser) come
// out. Following the structure the brief describes for spandsp's receivers (§3.5 item 2), the real
// signal is filtered by a complex RRC centred on the carrier, evaluated from a polyphase bank at the
// fractional instant chosen by the symbol-timing control, then mixed down by the NCO: no separate
// low-pass filter is needed and timing can move in steps of 1/phases of a sample.
//
// Timing: AdjustTiming moves the sampling instants; a positive value delays them. The carrier NCO is
// exported so the carrier loop can steer it.
type Baseband struct {
	hist    Delay[float64]
	bank    [][]complex128 // [phase][i], i=0 oldest sample in the window
	phases  int
	period  float64 // input samples per output sample (T/2)
	acc     float64
	Carrier NCO
}

// NewBaseband returns a front end for the given carrier and symbol rate, with an RRC of roll-off beta
// spanning taps input samples, and phases fractional-delay phases per input sample.
func NewBaseband(carrierHz, baud, beta float64, taps, phases int) *Baseband {
	b := &Baseband{
		hist:    NewDelay[float64](taps),
		phases:  phases,
		period:  SampleRate / (2 * baud),
		Carrier: NewNCO(carrierHz),
	}
	sps := SampleRate / baud
	w := 2 * math.Pi * carrierHz / SampleRate
	centre := float64(taps-1) / 2
	b.bank = make([][]complex128, phases+1)
	for p := range b.bank {
		row := make([]complex128, taps)
		d := float64(p) / float64(phases)
		for i := range row {
			k := float64(taps - 1 - i) // age of this sample, in samples
			t := k - d - centre
			win := 0.54 + 0.46*math.Cos(math.Pi*t/(centre+1))
			// Factor 2 undoes the 1/2 of taking one side of the real pass-band signal; 1/sps makes
			// the cascade with the transmitter's pulse a unit-peak raised cosine.
			h := 2 / sps * RRC(t/sps, beta) * win
			row[i] = complex(h*math.Cos(w*k), h*math.Sin(w*k))
		}
		b.bank[p] = row
	}
	return b
}

// Put feeds one sample. When a T/2 output falls due it is returned with ok true.
func (b *Baseband) Put(x float64) (z complex128, ok bool) {
	b.hist.Put(x)
	c := b.Carrier.Next()
	b.acc++
	if b.acc < b.period {
		return 0, false
	}
	b.acc -= b.period
	// The ideal instant lies acc samples before the newest one.
	p := int(b.acc*float64(b.phases) + 0.5)
	if p > b.phases {
		p = b.phases
	} else if p < 0 {
		p = 0
	}
	v := DotRealComplex(b.hist.Window(), b.bank[p])
	// Mix down by the conjugate of the carrier at the newest sample (see the bank design).
	return complex(real(v)*real(c)+imag(v)*imag(c), imag(v)*real(c)-real(v)*imag(c)), true
}

// AdjustTiming moves the sampling instants by samples (positive: later).
func (b *Baseband) AdjustTiming(samples float64) { b.acc -= samples }

// Period returns the nominal number of input samples per T/2 output.
func (b *Baseband) Period() float64 { return b.period }

// Fillin advances carrier and symbol clock over n missing samples without producing output, the
// fill-in the brief asks for when a packet is lost (§3.1). It returns how many T/2 outputs were
// skipped, so the caller can keep its symbol parity.
func (b *Baseband) Fillin(n int) int {
	b.Carrier.Advance(n)
	b.acc += float64(n)
	skipped := 0
	for b.acc >= b.period {
		b.acc -= b.period
		skipped++
	}
	// Keep the history continuous-ish: zeros rather than stale samples from before the gap.
	for i := 0; i < n && i < b.hist.n; i++ {
		b.hist.Put(0)
	}
	return skipped
}

// Reset clears history and timing (the carrier frequency is kept; the phase is reset).
func (b *Baseband) Reset() {
	b.hist.Reset()
	b.acc = 0
	b.Carrier.Phase = 0
}
