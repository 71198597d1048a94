// Package tone generates and detects the fax connect tones: CNG (calling tone, 1100 Hz, 0.5 s on /
// 3 s off) and CED (answer tone, 2100 Hz for 2.6–4.0 s), plus ANSam (CED amplitude-modulated at 15 Hz
// with phase reversals, V.8/V.34). The detector is what the SIP gateway uses for its T.38 re-INVITE
// decision (fax-protocols brief §3.6): feed it every received 20 ms block and act on the first CNG or
// CED it reports.
//
// Levels and timings follow the brief §3.2 and Appendix A, which quote ITU-T T.30 §4 and spandsp's
// modem_connect_tones.c: tones are sent at -11 dBm0; a tone is declared after 415 ms of continuous
// energy at its frequency that dominates the channel, at any level above -43 dBm0.
package tone

import (
	"fmt"
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// Tone names a connect tone.
type Tone int

const (
	ToneInvalid Tone = iota
	CNG              // 1100 Hz calling tone of a sending fax (T.30 §4.1)
	CED              // 2100 Hz answer tone of a called fax (T.30 §4.2, V.25)
	ANSam            // 2100 Hz with 15 Hz AM (V.8): a V.34-capable answerer
)

func (t Tone) String() string {
	switch t {
	case CNG:
		return "CNG"
	case CED:
		return "CED"
	case ANSam:
		return "ANSam"
	}
	return fmt.Sprintf("tone.Tone(%d)", int(t))
}

// Timing constants, in samples at 8 kHz.
const (
	cngOn         = 4000  // 0.5 s (T.30 §4.1: 0.5 s ± 15 %)
	cngOff        = 24000 // 3 s
	cedLeadIn     = 1600  // 0.2 s of silence before CED (T.30 §4.2: ≥ 0.2 s)
	cedOn         = 26400 // 3.3 s, the typical value inside 2.6–4.0 s
	cedTail       = 600   // 75 ms of silence after CED before the first V.21 (T.30 §4.2: 75 ± 20 ms)
	ansamReversal = 3600  // 450 ms between phase reversals (V.8 / V.25)
)

// TxLevel is the transmit level of the connect tones, in dBm0 (spandsp's default).
const TxLevel = -11.0

// Generator produces CNG, CED or ANSam samples. CNG repeats its cadence until the caller stops
// asking; CED and ANSam end after their tail of silence.
type Generator struct {
	tone   Tone
	nco    dsp.NCO
	amp    float64
	pos    int // samples since start
	am     dsp.NCO
	total  int // length of a finite tone sequence, 0 for CNG
	steady bool
}

// NewGenerator returns a generator for t at TxLevel. An invalid tone yields silence.
func NewGenerator(t Tone) *Generator {
	g := &Generator{tone: t, amp: dsp.SineAmplitude(TxLevel)}
	switch t {
	case CNG:
		g.nco = dsp.NewNCO(1100)
	case CED, ANSam:
		g.nco = dsp.NewNCO(2100)
		g.total = cedLeadIn + cedOn + cedTail
		g.am = dsp.NewNCO(15)
	}
	return g
}

// NewSteady returns a generator for t without CED's lead-in silence and tail and without an end:
// CED and ANSam sound until the caller stops asking (the T.30 engine times them and queues its own
// silences, T.30 §4.2); CNG keeps its 0.5 s on / 3 s off cadence.
func NewSteady(t Tone) *Generator {
	g := NewGenerator(t)
	if t == CED || t == ANSam {
		g.steady = true
		g.total = 0
	}
	return g
}

// Fill writes the next len(dst) samples into dst and reports whether the tone sequence is still
// running (false once a CED/ANSam sequence has finished; the rest of dst is then silence).
func (g *Generator) Fill(dst []int16) bool {
	for i := range dst {
		dst[i] = int16(math.Round(g.sample()))
		g.pos++
	}
	return g.tone != ToneInvalid && (g.total == 0 || g.pos < g.total)
}

func (g *Generator) sample() float64 {
	switch g.tone {
	case CNG:
		if g.pos%(cngOn+cngOff) < cngOn {
			return g.amp * g.nco.NextReal()
		}
		g.nco.Advance(1)
		return 0
	case CED, ANSam:
		t := g.pos - cedLeadIn
		if g.steady {
			t = g.pos
		} else if t < 0 || t >= cedOn {
			return 0
		}
		v := g.amp * g.nco.NextReal()
		if g.tone == ANSam {
			// V.8 §7.1.1: 15 Hz AM between 0.8 and 1.2 of the mean amplitude; phase reversals every
			// 450 ms.
			v *= 1 + 0.2*g.am.NextReal()
			if t > 0 && t%ansamReversal == 0 {
				g.nco.Rotate(math.Pi)
			}
		}
		return v
	}
	return 0
}

// Detector finds CNG, CED and ANSam in received audio. It works on 10 ms blocks: per block it
// measures the DC-blocked channel power and, with Goertzel filters around 1100 and 2100 Hz (three
// bins spanning the ±38 Hz / ±15 Hz tolerances of T.30 §4), the tone power. A block is "tone" when
// the channel is above -43 dBm0 and the tone carries at least 60 % of its power — a ratio test,
// so it is level independent and holds down to an SNR of about 2 dB in the 4 kHz band. A tone is
// declared after 415 ms of such blocks (spandsp's figure); up to two consecutive bad blocks are
// forgiven so a phase reversal or one lost packet does not restart the count.
type Detector struct {
	dc       dsp.DCBlock
	bins     [2][3]dsp.Goertzel // [cng, ced][low, centre, high]
	energy   float64
	n        int
	run      [2]int // consecutive tone blocks (with forgiven gaps)
	gap      [2]int
	reported [2]bool
	env      [2]envelope // AM analysis of the CED candidate
	minPower float64
}

const (
	blockSamples = 80
	declareBlock = 42 // 420 ms of 10 ms blocks
	maxGap       = 2
	toneFraction = 0.6
	minLevelDBm0 = -43.0
)

// NewDetector returns a detector in its initial state.
func NewDetector() *Detector {
	d := &Detector{minPower: dsp.DBm0Power(minLevelDBm0)}
	for k, f := range [2]float64{1100, 2100} {
		for j, off := range [3]float64{-25, 0, 25} {
			d.bins[k][j] = dsp.NewGoertzel(f+off, blockSamples)
		}
	}
	return d
}

// Put feeds samples (any length) and reports a tone the first time it is declared in a burst.
// If several blocks complete within samples, the first declaration wins.
func (d *Detector) Put(samples []int16) (Tone, bool) {
	found := ToneInvalid
	for _, s := range samples {
		x := d.dc.Put(float64(s))
		d.energy += x * x
		var p [2]float64
		var done bool
		for k := range d.bins {
			for j := range d.bins[k] {
				if v, ok := d.bins[k][j].Put(x); ok {
					p[k] = math.Max(p[k], v)
					done = true
				}
			}
		}
		d.n++
		if !done {
			continue
		}
		if t := d.block(p, d.energy/float64(d.n)); t != ToneInvalid && found == ToneInvalid {
			found = t
		}
		d.energy, d.n = 0, 0
	}
	return found, found != ToneInvalid
}

// block classifies one 10 ms block given the best tone power per tone and the mean channel power.
func (d *Detector) block(p [2]float64, power float64) Tone {
	found := ToneInvalid
	for k := range p {
		good := power > d.minPower && p[k] >= toneFraction*power
		if good {
			d.run[k]++
			d.gap[k] = 0
			d.env[k].put(math.Sqrt(p[k]))
		} else if d.run[k] > 0 {
			// Keep the envelope sampled uniformly through a forgiven gap (an ANSam trough in noise).
			d.env[k].put(math.Sqrt(p[k]))
			d.gap[k]++
			if d.gap[k] > maxGap {
				d.run[k], d.gap[k] = 0, 0
				d.reported[k] = false
				d.env[k].reset()
			}
		}
		if d.run[k] >= declareBlock && !d.reported[k] {
			d.reported[k] = true
			if k == 0 {
				found = CNG
			} else if d.env[k].modulated() {
				found = ANSam
			} else {
				found = CED
			}
		}
	}
	return found
}

// Reset returns the detector to its initial state.
func (d *Detector) Reset() { *d = *NewDetector() }

// envelope accumulates the tone amplitude per 10 ms block (100 Hz) and measures how much of it is a
// 15 Hz component: ANSam's AM of ±20 % gives a 15 Hz amplitude near 0.2 of the mean; plain CED with
// noise stays well under 0.07.
type envelope struct {
	g      dsp.Goertzel
	sum    float64
	n      int
	am15   float64
	nBlock int
}

func (e *envelope) reset() { *e = envelope{} }

func (e *envelope) put(a float64) {
	if e.nBlock == 0 {
		// 15 Hz at a 100 Hz block rate, as a Goertzel on a 8000 Hz scale: scale the frequency.
		e.g = dsp.NewGoertzel(15*dsp.SampleRate/100, 40)
	}
	e.nBlock++
	e.sum += a
	e.n++
	if v, ok := e.g.Put(a); ok {
		e.am15 = math.Sqrt(2 * v) // amplitude of the 15 Hz component
		e.sum /= float64(e.n)
		if e.sum > 0 {
			e.am15 /= e.sum
		}
		e.sum, e.n = 0, 0
	}
}

func (e *envelope) modulated() bool { return e.am15 > 0.1 }
