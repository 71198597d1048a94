package v17

import (
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// frontEnd is the receiver's pass-band filter and mixer: dsp.Baseband's design (a complex RRC
// centred on the carrier, a polyphase bank indexed by the symbol-timing phase, then the NCO mix-down,
// brief §3.5 item 2), specialised for V.17's receive rate so the work per sample is small:
//   - the filter runs only at the T/2 instants (4800 times a second, not 8000), as in Baseband;
//   - the carrier phase advances every sample but the NCO is only read at those instants;
//   - the bank is split into real and imaginary rows padded to a multiple of 4 taps, and the dot
//     product keeps four independent sums so the additions do not wait on each other (a single sum
//     makes each tap wait for the previous addition's latency).
//
// TestFrontEndMatchesBaseband checks it against dsp.Baseband.
type frontEnd struct {
	hist    [2 * feTaps]float64 // the last feTaps samples twice, so a window is contiguous
	pos     int
	bank    *feBank
	acc     float64 // samples since the last output, as in dsp.Baseband
	Carrier dsp.NCO
}

// feTaps is rxTaps padded to a multiple of 4 (the oldest taps are zero).
const feTaps = (rxTaps + 3) &^ 3

// feBank holds, per timing phase, the real and imaginary parts of the complex taps, oldest first.
type feBank [rxPhases + 1]struct{ re, im [feTaps]float64 }

// frontEndBank is built once at start-up and only read afterwards.
var frontEndBank = func() *feBank {
	b := new(feBank)
	sps := float64(dsp.SampleRate) / baud
	w := 2 * math.Pi * carrierHz / dsp.SampleRate
	centre := float64(rxTaps-1) / 2
	for p := range b {
		d := float64(p) / rxPhases
		for i := range rxTaps {
			k := float64(rxTaps - 1 - i) // age of this sample, in samples
			t := k - d - centre
			win := 0.54 + 0.46*math.Cos(math.Pi*t/(centre+1))
			// As dsp.NewBaseband: 2 undoes taking one side of the real signal, 1/sps gives the
			// cascade with the transmit pulse a unit peak.
			h := 2 / sps * dsp.RRC(t/sps, rxBeta) * win
			j := i + feTaps - rxTaps
			b[p].re[j] = h * math.Cos(w*k)
			b[p].im[j] = h * math.Sin(w*k)
		}
	}
	return b
}()

func newFrontEnd() *frontEnd {
	return &frontEnd{bank: frontEndBank, Carrier: dsp.NewNCO(carrierHz)}
}

// period is the number of input samples per T/2 output.
const period = float64(dsp.SampleRate) / (2 * baud)

// Put feeds one sample. When a T/2 output falls due it is returned with ok true.
func (f *frontEnd) Put(x float64) (z complex128, ok bool) {
	ph, due := f.push(x)
	if !due {
		return 0, false
	}
	return f.output(ph), true
}

// output computes the T/2 output due now; ph is the carrier phase at the newest sample.
func (f *frontEnd) output(ph uint32) complex128 {
	// The ideal instant lies acc samples before the newest one.
	p := min(rxPhases, max(0, int(f.acc*rxPhases+0.5)))
	row := &f.bank[p]
	w := (*[feTaps]float64)(f.hist[f.pos : f.pos+feTaps])
	var r0, r1, r2, r3, i0, i1, i2, i3 float64
	for k := 0; k < feTaps; k += 4 {
		r0 += w[k] * row.re[k]
		i0 += w[k] * row.im[k]
		r1 += w[k+1] * row.re[k+1]
		i1 += w[k+1] * row.im[k+1]
		r2 += w[k+2] * row.re[k+2]
		i2 += w[k+2] * row.im[k+2]
		r3 += w[k+3] * row.re[k+3]
		i3 += w[k+3] * row.im[k+3]
	}
	re, im := (r0+r1)+(r2+r3), (i0+i1)+(i2+i3)
	// Mix down by the conjugate of the carrier at the newest sample.
	c, s := dsp.Cos(ph), dsp.Sin(ph)
	return complex(re*c+im*s, im*c-re*s)
}

// AdjustTiming moves the sampling instants by samples (positive: later).
func (f *frontEnd) AdjustTiming(samples float64) { f.acc -= samples }

// Fillin advances carrier and symbol clock over n missing samples without producing output (brief
// §3.1) and returns how many T/2 outputs were skipped; the history is filled with zeros.
func (f *frontEnd) Fillin(n int) int {
	f.Carrier.Advance(n)
	f.acc += float64(n)
	skipped := 0
	for f.acc >= period {
		f.acc -= period
		skipped++
	}
	for i := 0; i < n && i < feTaps; i++ {
		f.hist[f.pos] = 0
		f.hist[f.pos+feTaps] = 0
		if f.pos++; f.pos == feTaps {
			f.pos = 0
		}
	}
	return skipped
}

// Reset clears history and timing (the carrier frequency is kept; the phase is reset).
func (f *frontEnd) Reset() {
	clear(f.hist[:])
	f.pos = 0
	f.acc = 0
	f.Carrier.Phase = 0
}

// equalizer is the T/2 fractionally spaced LMS equaliser (brief §3.5 item 7), dsp.Equalizer with the
// tap count fixed at eqLen so loops have constant bounds, and an output sum split three ways (33 =
// 3·11) so the additions overlap.
type equalizer struct {
	Taps [eqLen]complex128 // Taps[i] multiplies the i-th oldest sample of the window
	line [2 * eqLen]complex128
	pos  int
	Mu   float64 // LMS step size
	// Taps[lo:hi] are in use (the others are zero): all of them, or after training on a line that
	// needs no long equaliser, the short span (see narrow). hi-lo is a multiple of 3.
	lo, hi int
}

// The short span: 18 taps around the main one (8 after it in time, 9 ahead). On the flat and
// band-pass test lines every tap outside it trains to below -50 dB of the total; on the dispersive
// channel 3 those outside hold -25 dB, so it keeps all 33.
const (
	eqShortLo = eqLen - 1 - eqPre - 8
	eqShortHi = eqShortLo + 18
)

// ResetTaps restores the pass-through state over the full span.
func (e *equalizer) ResetTaps() {
	clear(e.Taps[:])
	e.Taps[eqLen-1-eqPre] = 1
	e.lo, e.hi = 0, eqLen
}

// narrow drops to the short span if the taps outside it hold less than 1e-4 (-40 dB) of the
// energy, which costs nothing measurable in BER, and saves 45 % of the equaliser's work for the
// rest of the call. It reports whether it did.
func (e *equalizer) narrow() bool {
	var in, out float64
	for i, c := range e.Taps {
		p := real(c)*real(c) + imag(c)*imag(c)
		if i >= eqShortLo && i < eqShortHi {
			in += p
		} else {
			out += p
		}
	}
	if out >= 1e-4*(in+out) {
		return false
	}
	clear(e.Taps[:eqShortLo])
	clear(e.Taps[eqShortHi:])
	e.lo, e.hi = eqShortLo, eqShortHi
	return true
}

// ResetLine clears the sample history (taps are kept).
func (e *equalizer) ResetLine() {
	clear(e.line[:])
	e.pos = 0
}

// Put enters one T/2 sample.
func (e *equalizer) Put(x complex128) {
	e.line[e.pos] = x
	e.line[e.pos+eqLen] = x
	if e.pos++; e.pos == eqLen {
		e.pos = 0
	}
}

func (e *equalizer) window() *[eqLen]complex128 {
	return (*[eqLen]complex128)(e.line[e.pos : e.pos+eqLen])
}

// Output returns the equalised symbol for the current window.
func (e *equalizer) Output() complex128 {
	w := e.window()[e.lo:e.hi]
	taps := e.Taps[e.lo:e.hi]
	taps = taps[:len(w)]
	var r0, r1, r2, i0, i1, i2 float64
	for k := 0; k+2 < len(w); k += 3 {
		x, c := w[k], taps[k]
		r0 += real(x)*real(c) - imag(x)*imag(c)
		i0 += real(x)*imag(c) + imag(x)*real(c)
		x, c = w[k+1], taps[k+1]
		r1 += real(x)*real(c) - imag(x)*imag(c)
		i1 += real(x)*imag(c) + imag(x)*real(c)
		x, c = w[k+2], taps[k+2]
		r2 += real(x)*real(c) - imag(x)*imag(c)
		i2 += real(x)*imag(c) + imag(x)*real(c)
	}
	return complex(r0+r1+r2, i0+i1+i2)
}

// Adapt applies one LMS update with err = wanted - Output(): c += μ·err·conj(x).
func (e *equalizer) Adapt(err complex128) {
	gr, gi := real(err)*e.Mu, imag(err)*e.Mu
	w := e.window()[e.lo:e.hi]
	taps := e.Taps[e.lo:e.hi]
	taps = taps[:len(w)]
	for i, x := range w {
		taps[i] += complex(gr*real(x)+gi*imag(x), gi*real(x)-gr*imag(x))
	}
}

// Save copies the taps into dst, Restore loads them back (short training, brief §3.5 item 7); the
// span in use goes with them (the taps outside it are zero).
func (e *equalizer) Save(dst []complex128) (lo, hi int) {
	copy(dst, e.Taps[:])
	return e.lo, e.hi
}

func (e *equalizer) Restore(src []complex128, lo, hi int) {
	copy(e.Taps[:], src)
	e.lo, e.hi = lo, hi
}

// push enters one sample and advances the carrier; when a T/2 output falls due it reports due and
// the carrier phase at that sample, for output. Put is push then output; the receiver calls the two
// separately so the per-sample part inlines into its loop.
func (f *frontEnd) push(x float64) (ph uint32, due bool) {
	f.hist[f.pos] = x
	f.hist[f.pos+feTaps] = x
	if f.pos++; f.pos == feTaps {
		f.pos = 0
	}
	ph = f.Carrier.Phase
	f.Carrier.Phase += uint32(f.Carrier.Step)
	if f.acc++; f.acc < period {
		return ph, false
	}
	f.acc -= period
	return ph, true
}

// carrierDetect is dsp.CarrierDetect (brief §3.5 item 1: a DC-blocked power meter with absolute
// and relative hysteresis; see there for the thresholds' reasons), its per-sample step written into
// the receive loop, where it runs for every sample of a call.
type carrierDetect struct {
	x1, y1  float64 // DC blocker state
	power   float64 // mean square, time constant 2^carrierShift samples
	onPow   float64
	offPow  float64
	level   float64 // while on: the carrier's level (peak hold, slow decay)
	floor   float64 // while off: the noise floor (slow average)
	present bool
}

func newCarrierDetect(onDBm0, offDBm0 float64) carrierDetect {
	return carrierDetect{onPow: dsp.DBm0Power(onDBm0), offPow: dsp.DBm0Power(offDBm0)}
}

// The per-sample update runs in Receiver.Receive, on locals (see there). Its constants:
const (
	cdAlpha = 1.0 / (1 << carrierShift) // power meter, time constant 2^carrierShift samples
	cdDecay = 1 - 1.0/4096              // peak hold decay of the carrier level
	cdFloor = 1.0 / 512                 // noise floor averaging
)

// toggle switches carrier on or off and returns the new state.
func (c *carrierDetect) toggle() bool {
	if c.present {
		c.present = false
		c.floor = c.power
	} else {
		c.present = true
		c.level = c.power
	}
	return c.present
}

// Present reports the current state; Power the metered mean square.
func (c *carrierDetect) Present() bool  { return c.present }
func (c *carrierDetect) Power() float64 { return c.power }

// Reset returns to "no carrier".
func (c *carrierDetect) Reset() {
	c.x1, c.y1, c.power, c.level, c.floor = 0, 0, 0, 0, 0
	c.present = false
}

// piLoop is dsp.PI (proportional-integral loop filter with a bounded integrator) with the builtin
// min/max, so its update inlines (math.Max/Min are calls).
type piLoop struct {
	Kp, Ki, Integ, Limit float64
}

// Update returns the correction for error e.
func (l *piLoop) Update(e float64) float64 {
	l.Integ += l.Ki * e
	if l.Limit > 0 {
		l.Integ = max(-l.Limit, min(l.Limit, l.Integ))
	}
	return l.Kp*e + l.Integ
}
