// Package v21 is the ITU-T V.21 channel 2 modem T.30 uses for every control frame: binary FSK at
// 300 bit/s, mark (1) 1650 Hz, space (0) 1850 Hz (V.21 §2; brief §3.3). The transmitter is
// phase-continuous; the receiver follows spandsp's fsk.c structure (brief §3.3): two quadrature
// correlators over a one-bit sliding window, an energy comparison, a carrier detector with
// hysteresis and a DPLL that locks the bit clock to transitions.
package v21

import (
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

const (
	// BitRate is the V.21 data rate.
	BitRate = 300
	// MarkHz and SpaceHz are the channel 2 tones for 1 and 0.
	MarkHz  = 1650.0
	SpaceHz = 1850.0
	// TxLevel is the transmit level in dBm0 (spandsp's fax default, brief §3.1).
	TxLevel = -14.0
	// CarrierOnDBm0 and CarrierOffDBm0 set the carrier detector. spandsp uses -39 dBm0 ±2.5 dB; we go lower so a -43 dBm0 signal (brief §3.1, §6.3 G711-5) is still received.
	CarrierOnDBm0  = -45.0
	CarrierOffDBm0 = -50.0
)

// BitSource supplies bits to a transmitter; ok false means no more bits (end of the transmission).
// hdlc.Framer implements it.
type BitSource interface {
	Bit() (bit int, ok bool)
}

// Tx is a V.21 channel 2 transmitter.
type Tx struct {
	src   BitSource
	nco   dsp.NCO
	amp   float64
	clock int // bit clock in 1/8000 s units of BitRate: a new bit is due when it reaches SampleRate
	bit   int
	done  bool
	mark  int32
	space int32
}

// NewTx returns a transmitter pulling its bits from src.
func NewTx(src BitSource) *Tx {
	t := &Tx{src: src, amp: dsp.SineAmplitude(TxLevel), mark: dsp.PhaseStep(MarkHz), space: dsp.PhaseStep(SpaceHz)}
	t.clock = dsp.SampleRate // fetch the first bit at once
	return t
}

// Read fills dst with modulated samples and returns how many carry signal. Once the source is empty
// the carrier stops at the end of the last bit; the rest of dst is silence and Done reports true.
func (t *Tx) Read(dst []int16) int {
	n := 0
	for i := range dst {
		if !t.done && t.clock >= dsp.SampleRate {
			t.clock -= dsp.SampleRate
			b, ok := t.src.Bit()
			if !ok {
				t.done = true
			}
			t.bit = b
		}
		if t.done {
			dst[i] = 0
			continue
		}
		if t.bit != 0 {
			t.nco.Step = t.mark
		} else {
			t.nco.Step = t.space
		}
		dst[i] = int16(math.Round(t.amp * t.nco.NextReal()))
		t.clock += BitRate
		n++
	}
	return n
}

// Done reports whether the source ran dry and the carrier has stopped.
func (t *Tx) Done() bool { return t.done }

// window is the correlator length: one bit at 8 kHz, 26.67 samples, rounded down (spandsp does the
// same).
const window = 26

// Rx is a V.21 channel 2 receiver. Feed it audio with Put; it returns the bits recovered while
// carrier is present, one per bit period.
type Rx struct {
	mark, space dsp.NCO
	mBuf, sBuf  [window]complex128
	mSum, sSum  complex128
	pos         int
	cd          dsp.CarrierDetect
	phase       float64 // bit phase in bits, [0,1): sample at 0.5, transitions expected at 0
	last        int     // last per-sample decision
	// After a fill-in: fresh counts the samples since the gap while the correlator window refills,
	// and skip drops the first bit after it when too few fresh samples would decide it.
	fresh int
	skip  bool
}

// minFresh is the fewest post-gap samples (of the 26-sample window) that decide a bit after a
// fill-in. Over 14 samples (1.75 ms) the mark and space correlators still separate (200 Hz apart
// is 0.35 of a cycle); at 12 dB SNR 10 was still error-free and 6 gave wrong bits. A wrong bit is
// what the HDLC gap repair cannot find, an erasure it can (TestFillinResync).
const minFresh = 14

// NewRx returns a receiver in the no-carrier state.
func NewRx() *Rx {
	return &Rx{
		mark:  dsp.NewNCO(MarkHz),
		space: dsp.NewNCO(SpaceHz),
		cd:    dsp.NewCarrierDetect(CarrierOnDBm0, CarrierOffDBm0, 5),
	}
}

// Carrier reports whether a V.21 carrier is present.
func (r *Rx) Carrier() bool { return r.cd.Present() }

// Put demodulates samples, appending one bit (0 or 1) per bit period to bits while carrier is
// present, and returns the extended slice. It does not allocate if bits has room (about
// len(samples)/26 + 1).
func (r *Rx) Put(samples []int16, bits []byte) []byte {
	const step = float64(BitRate) / dsp.SampleRate
	for _, s := range samples {
		x := float64(s)
		present, changed := r.cd.Put(x)
		if changed && present {
			r.phase = 0
			r.last = -1
		}
		// Sliding one-bit correlators at both tones.
		m := r.mark.Next()
		sp := r.space.Next()
		mv := complex(x*real(m), -x*imag(m))
		sv := complex(x*real(sp), -x*imag(sp))
		r.mSum += mv - r.mBuf[r.pos]
		r.sSum += sv - r.sBuf[r.pos]
		r.mBuf[r.pos], r.sBuf[r.pos] = mv, sv
		r.pos++
		if r.pos == window {
			r.pos = 0
		}
		if r.fresh < window {
			r.fresh++
		}
		if !present {
			continue
		}
		d := 0
		if dsp.Abs2(r.mSum) > dsp.Abs2(r.sSum) {
			d = 1
		}
		// DPLL: a decision transition marks a bit boundary; pull the phase toward 0 there. Not
		// while the window refills after a gap: the clock ran on through it (brief §3.5 item 9)
		// and a partial window's transitions come early. Its decisions stand: the window holds
		// only post-gap samples of the current bit.
		if r.fresh < window {
			r.last = -1
		} else if r.last >= 0 && d != r.last {
			e := r.phase
			if e > 0.5 {
				e -= 1
			}
			r.phase -= 0.5 * e
			if r.phase < 0 {
				r.phase += 1
			}
		}
		r.last = d
		prev := r.phase
		r.phase += step
		if prev < 0.5 && r.phase >= 0.5 {
			if r.skip {
				r.skip = false // counted as an erasure by Fillin
			} else {
				bits = append(bits, byte(d))
			}
		}
		if r.phase >= 1 {
			r.phase -= 1
		}
	}
	return bits
}

// Fillin accounts for n lost samples (a missing packet): the bit clock runs on and carrier state
// is held, so the receiver resumes in step after the gap (brief §3.1, §3.5 item 9). No bits are
// produced; it returns the erasures, for hdlc.Deframer.PutGap: the bit instants that fell in the
// gap (6 for a 20 ms packet) plus the first one after it if it comes before minFresh new samples.
// The correlators restart empty: pre-gap samples next to post-gap ones are a discontinuity that
// made the first bit after a gap wrong at about half the phases before (TestFillinResync).
func (r *Rx) Fillin(n int) int {
	if !r.cd.Present() || n <= 0 {
		return 0
	}
	p0 := r.phase
	p1 := p0 + float64(n)*BitRate/dsp.SampleRate
	// Bits are sampled where the phase crosses 0.5.
	skipped := int(math.Floor(p1-0.5) - math.Floor(p0-0.5))
	if r.skip && skipped > 0 {
		// The instant dropped after an earlier gap falls in this one: it was already counted.
		r.skip = false
		skipped--
	}
	r.phase = p1 - math.Floor(p1)
	r.mark.Advance(n)
	r.space.Advance(n)
	r.mBuf, r.sBuf = [window]complex128{}, [window]complex128{}
	r.mSum, r.sSum, r.pos, r.fresh, r.last = 0, 0, 0, 0, -1
	// Samples until the next sampling instant (the sample whose phase step crosses 0.5).
	const step = float64(BitRate) / dsp.SampleRate
	to := 0.5 - r.phase
	if to <= 0 {
		to += 1
	}
	if next := int(math.Ceil(to / step)); next < minFresh && !r.skip {
		r.skip = true
		skipped++
	}
	return skipped
}

// Reset returns to the no-carrier state.
func (r *Rx) Reset() { *r = *NewRx() }
