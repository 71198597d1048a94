package dsp

import "math"

// Gardner is the Gardner timing error detector on a T/2 sample stream: with the previous on-time
// sample y[k-1], the midpoint y[k-1/2] and the current on-time sample y[k],
// e = Re{(y[k]-y[k-1])·conj(y[k-1/2])}. Positive e means the on-time samples are late. It needs
// symbol transitions, which the training sequences (ABAB, reversals) and scrambled data provide.
type Gardner struct {
	prev complex128
}

// Error returns the timing error for one symbol given its midpoint and on-time samples.
func (g *Gardner) Error(mid, cur complex128) float64 {
	d := cur - g.prev
	g.prev = cur
	return real(d)*real(mid) + imag(d)*imag(mid)
}

// Reset forgets the previous sample.
func (g *Gardner) Reset() { g.prev = 0 }

// PI is a proportional-integral loop filter, used both for symbol timing (output in samples) and
// carrier phase (output in radians). The integral term tracks a constant frequency offset: sample
// clock drift for timing, carrier offset for phase.
type PI struct {
	Kp, Ki float64
	Integ  float64
	Limit  float64 // bound on |Integ|, 0 for none
}

// Update returns the correction for error e.
func (l *PI) Update(e float64) float64 {
	l.Integ += l.Ki * e
	if l.Limit > 0 {
		l.Integ = math.Max(-l.Limit, math.Min(l.Limit, l.Integ))
	}
	return l.Kp*e + l.Integ
}

// Reset clears the integrator.
func (l *PI) Reset() { l.Integ = 0 }

// CarrierLoop is a decision-directed carrier-phase loop (brief §3.5 item 5) steering an NCO: the
// phase error between a received point and its decision is fed through a PI filter into the NCO phase
// (proportional) and frequency (integral). Coarse frequency acquisition (from a training segment's
// phase rotation) is done by the modem with SetOffset.
type CarrierLoop struct {
	Kp, Ki float64 // per-symbol gains; Ki acts on frequency, in radians per symbol per radian
	// samplesPerSymbol converts a per-symbol frequency correction into the NCO's per-sample step.
	samplesPerSymbol float64
}

// NewCarrierLoop returns a loop with proportional gain kp and integral gain ki for symbols lasting
// samplesPerSymbol samples.
func NewCarrierLoop(kp, ki, samplesPerSymbol float64) CarrierLoop {
	return CarrierLoop{Kp: kp, Ki: ki, samplesPerSymbol: samplesPerSymbol}
}

// PhaseError returns the angle from decision d to received point z (radians, small-angle exact).
func PhaseError(z, d complex128) float64 {
	// arg(z·conj(d))
	re := real(z)*real(d) + imag(z)*imag(d)
	im := imag(z)*real(d) - real(z)*imag(d)
	return math.Atan2(im, re)
}

// Update steers nco by one symbol's phase error (radians; positive means the received point leads).
func (c *CarrierLoop) Update(nco *NCO, e float64) {
	// The received point leads when the NCO lags: advance the NCO phase and frequency.
	nco.Rotate(c.Kp * e)
	nco.Step += RadiansToPhase(c.Ki * e / c.samplesPerSymbol)
}

// AGC scales baseband samples to a target mean-square power. While running it tracks the measured
// power; Freeze holds the gain once the equaliser has converged (brief §3.5 item 3).
type AGC struct {
	Gain   float64
	target float64
	meter  float64
	alpha  float64
	frozen bool
}

// NewAGC returns an AGC aiming at mean-square target, averaging over about 1/alpha samples.
func NewAGC(target, alpha float64) AGC {
	return AGC{Gain: 1, target: target, alpha: alpha}
}

// Put scales one sample, updating the gain unless frozen.
func (a *AGC) Put(z complex128) complex128 {
	if !a.frozen {
		p := real(z)*real(z) + imag(z)*imag(z)
		if a.meter == 0 {
			a.meter = p // first sample: start from its power rather than ramping up from zero
		}
		a.meter += (p - a.meter) * a.alpha
		if a.meter > 0 {
			a.Gain = math.Sqrt(a.target / a.meter)
		}
	}
	return complex(real(z)*a.Gain, imag(z)*a.Gain)
}

// Prime sets the power estimate directly (e.g. from a block measured before the first symbol).
func (a *AGC) Prime(meanSquare float64) {
	a.meter = meanSquare
	if meanSquare > 0 {
		a.Gain = math.Sqrt(a.target / meanSquare)
	}
}

// Freeze stops gain updates; Unfreeze resumes them.
func (a *AGC) Freeze()   { a.frozen = true }
func (a *AGC) Unfreeze() { a.frozen = false }

// Frozen reports whether the gain is held.
func (a *AGC) Frozen() bool { return a.frozen }

// Abs2 returns |z|².
func Abs2(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }
