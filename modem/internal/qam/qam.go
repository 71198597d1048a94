// Package qam is the engine shared by the V.27ter and V.29 modems: on the transmit side the
// modulator glue (Transmitter, tx.go), on the receive side (usable by any T/2-equalised PSK/QAM
// modem with a two-symbol training pattern) carrier detection, the pass-band
// RRC front end, AGC, Gardner symbol timing, a 33-tap T/2 LMS equaliser, a decision-directed carrier
// loop, the training state machine, and fill-in for lost packets. The modem supplies a Scheme: its
// known training symbols, its slicer/differential decoder/descrambler, and the length of its
// test segment.
//
// The training state machine follows the structure the fax-protocols brief (§3.5) describes for
// spandsp's v29rx.c/v27ter_rx.c:
//
//  1. Acquire: on carrier-up, run AGC and symbol timing for a few dozen symbols with the equaliser
//     fixed; then lock the AGC.
//  2. Pattern: both modems open with a two-symbol periodic segment (V.29 segment 2 ABAB, V.27ter
//     segment 3 reversals), so y[k]·conj(y[k-2]) measures the carrier offset. The first symbol that
//     breaks the pattern (the first C of V.29's CDCD, the first non-reversal of V.27ter segment 4)
//     marks a known position: the carrier frequency is slammed into line from the average rotation
//     (offsets beyond ±20 Hz are implausible and park the receiver), and the phase is stepped so that
//     symbol lands on its known point.
//  3. Train: LMS on the known training symbols; the mean-squared error over the last part must be
//     small or training fails.
//  4. Test: the test segment (scrambled ones) is decoded decision-directed to synchronise the
//     descrambler; its error is checked again. Then data flows.
//
// A receiver that fails stays parked until the carrier drops (brief §3.5 item 6).
package qam

import (
	"fmt"
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// State is the receiver state.
type State uint8

const (
	StateInvalid State = iota
	Idle               // no carrier
	Training           // carrier present, training in progress
	Data               // trained: bits are flowing
	Failed             // training failed; parked until the carrier drops
)

func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case Training:
		return "training"
	case Data:
		return "data"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("qam.State(%d)", uint8(s))
}

// Scheme is what a modem contributes to the engine.
type Scheme interface {
	// BeginData prepares the slicer and descrambler for the symbols after training; last is the
	// final known training symbol (the differential reference).
	BeginData(last complex128)
	// Decide slices the equalised point z, appends its data bits (differentially decoded and
	// descrambled) to bits, and returns the decided constellation point.
	Decide(z complex128, bits []byte) (complex128, []byte)
	// TestSymbols is the length of the test segment that follows training.
	TestSymbols() int
}

// Config holds a modem's constants.
type Config struct {
	CarrierHz   float64
	Baud        float64
	SymbolPower float64 // mean constellation power: the AGC target, and the scale of error checks
	Acquire     int     // symbols of AGC/timing acquisition before looking for the pattern break
	PatternMin  int     // pattern symbols needed before a break is believed
	PatternMax  int     // give up if the pattern lasts longer
	OnDBm0      float64 // carrier detector thresholds
	OffDBm0     float64
	// TrainMSE and TestMSE are the largest mean-squared errors, relative to SymbolPower, accepted at
	// the end of training and over the test segment.
	TrainMSE, TestMSE float64
	// Training is the known training segment: Training[0] is the symbol that breaks the opening
	// two-symbol pattern. The receiver keeps the slice (the modem's own table) and never writes it.
	Training []complex128
}

const (
	eqTaps = 33
	eqPre  = 16
)

// Receiver is the engine. It never allocates after New.
type Receiver struct {
	cfg     Config
	scheme  Scheme
	cd      dsp.CarrierDetect
	fe      *dsp.Baseband
	agc     dsp.AGC
	eq      *dsp.Equalizer
	ted     dsp.Gardner
	tloop   dsp.PI
	cloop   dsp.CarrierLoop
	nomStep int32

	state    State
	stage    stage
	count    int
	total    int     // symbols spent looking for the pattern
	refPower float64 // channel power when the AGC locked; 0 before
	level    float64 // data mode: mean |y|², for level tracking
	levelN   int
	quiet    bool    // waiting out a silence before the training pattern
	floor    float64 // lowest power seen while quiet
	half     int
	mid      complex128
	y1, y2   complex128 // previous two equaliser outputs
	rotSum   complex128
	last     complex128
	mseSum   float64
	mseN     int
	holdoff  int // T/2 samples to wait after fill-in before adapting again
	muTrain  float64
	muData   float64
	scratch  []byte

	// Diagnostics.
	trainMSE  float64
	offsetHz  float64
	failCause string
}

type stage uint8

const (
	stageAcquire stage = iota + 1
	stagePattern
	stageTrain
	stageTest
	stageData
)

// trainSymbol returns known training symbol i; ok is false outside the training segment.
func (r *Receiver) trainSymbol(i int) (complex128, bool) {
	if i < 0 || i >= len(r.cfg.Training) {
		return 0, false
	}
	return r.cfg.Training[i], true
}

// New returns a receiver for cfg and scheme, idle.
func New(cfg Config, scheme Scheme) *Receiver {
	sps := dsp.SampleRate / cfg.Baud
	taps := int(8*sps) | 1
	r := &Receiver{
		cfg:     cfg,
		scheme:  scheme,
		cd:      dsp.NewCarrierDetect(cfg.OnDBm0, cfg.OffDBm0, 5),
		fe:      dsp.NewBaseband(cfg.CarrierHz, cfg.Baud, 0.5, taps, 48),
		eq:      dsp.NewEqualizer(eqTaps, eqPre, 0),
		muTrain: 0.25 / (eqTaps * cfg.SymbolPower),
		muData:  0.03 / (eqTaps * cfg.SymbolPower),
		scratch: make([]byte, 0, 16),
		state:   Idle,
	}
	r.nomStep = r.fe.Carrier.Step
	return r
}

// State returns the receiver state.
func (r *Receiver) State() State { return r.state }

// TrainingMSE returns the relative mean-squared error measured at the end of training.
func (r *Receiver) TrainingMSE() float64 { return r.trainMSE }

// CarrierOffset returns the carrier offset in Hz measured from the training pattern.
func (r *Receiver) CarrierOffset() float64 { return r.offsetHz }

// FailCause says why the last training failed ("" if it did not).
func (r *Receiver) FailCause() string { return r.failCause }

// Reset drops the carrier and returns to Idle.
func (r *Receiver) Reset() {
	r.cd.Reset()
	r.state = Idle
}

func (r *Receiver) restart() {
	r.fe.Reset()
	r.fe.Carrier.Step = r.nomStep
	r.agc = dsp.NewAGC(r.cfg.SymbolPower, 0.02)
	r.eq.ResetTaps()
	r.eq.ResetLine()
	r.eq.Mu = r.muTrain
	r.ted.Reset()
	r.tloop = dsp.PI{Kp: 0.02, Ki: 0.0002, Limit: 0.01}
	r.cloop = dsp.NewCarrierLoop(0.03, 0.0008, dsp.SampleRate/r.cfg.Baud)
	r.state, r.stage = Training, stageAcquire
	r.count, r.total, r.half, r.holdoff = 0, 0, 0, 0
	r.y1, r.y2, r.rotSum = 0, 0, 0
	r.mseSum, r.mseN = 0, 0
	r.trainMSE, r.offsetHz, r.failCause = 0, 0, ""
	r.refPower = 0
	r.quiet, r.floor = false, 0
}

func (r *Receiver) fail(cause string) {
	r.state = Failed
	r.failCause = cause
}

// Put processes received samples and appends the data bits recovered (only in the Data state).
func (r *Receiver) Put(samples []int16, bits []byte) []byte {
	for _, s := range samples {
		x := float64(s)
		present, changed := r.cd.Put(x)
		if changed {
			if present {
				r.restart()
			} else {
				r.state = Idle
			}
		}
		if !present {
			continue
		}
		// A signal arriving over a noise floor that already holds the carrier detector on (or a new
		// training after a failed one) shows as a jump in power: start over on it.
		// Likewise a deep drop before training has started (TEP's unmodulated carrier ending in its
		// 20 ms of silence, V.29 §2.6/V.27ter segment 1) means the training proper is still to come:
		// wait through the quiet and restart when the power rises again, so AGC and timing are
		// learnt on the training pattern itself, never on the silence.
		if r.refPower > 0 && (r.stage == stageAcquire || r.stage == stagePattern) {
			p := r.cd.Power()
			switch {
			case p > 2.5*r.refPower:
				r.restart()
			case p < r.refPower/10:
				r.quiet = true
				r.floor = p
				r.refPower = 0
			}
		} else if r.quiet {
			p := r.cd.Power()
			r.floor = min(r.floor, p)
			if p > 4*r.floor {
				r.restart()
			} else {
				r.fe.Put(x) // keep carrier phase and symbol clock running
				continue
			}
		} else if r.refPower > 0 && r.stage != stageData && r.cd.Power() > 2.5*r.refPower {
			r.restart()
		}
		z, ok := r.fe.Put(x)
		if !ok {
			continue
		}
		bits = r.halfBaud(z, bits)
	}
	return bits
}

// Fillin bridges n lost samples (brief §3.1, §3.5 item 9): carrier phase and symbol clock advance,
// the equaliser line is filled with zeros, and adaptation stops until the line holds real samples
// again. No bits are produced for the gap.
func (r *Receiver) Fillin(n int) {
	if r.state == Idle {
		return
	}
	skipped := r.fe.Fillin(n)
	for range skipped {
		r.eq.Put(0)
		r.half ^= 1
		if r.half == 0 && (r.stage == stageTrain || r.stage == stageTest) {
			// Keep the known-symbol index in step with the transmitter across the gap.
			r.count++
		}
	}
	r.holdoff = eqTaps
}

func (r *Receiver) halfBaud(z complex128, bits []byte) []byte {
	z = r.agc.Put(z)
	r.eq.Put(z)
	if r.holdoff > 0 {
		r.holdoff--
	}
	r.half ^= 1
	if r.half == 1 {
		r.mid = z
		return bits
	}
	adapt := r.holdoff == 0
	if adapt && dsp.Abs2(z)+dsp.Abs2(r.mid) > 0.1*r.cfg.SymbolPower {
		// No timing updates on silence: Gardner's error on noise is a random walk.
		e := r.ted.Error(r.mid, z) / r.cfg.SymbolPower
		r.fe.AdjustTiming(-r.tloop.Update(e))
	}
	y := r.eq.Output()
	switch r.stage {
	case stageAcquire:
		r.count++
		if r.count >= r.cfg.Acquire {
			r.agc.Freeze()
			r.refPower = r.cd.Power()
			r.stage, r.count = stagePattern, 0
		}
	case stagePattern:
		// Symbols of the pattern alternate (V.29 A/B are 135° apart, V.27ter reversals 180°) and
		// repeat every two. TEP's unmodulated carrier and the silence after it do not alternate,
		// so they never count as pattern.
		r.total++
		if r.count >= r.cfg.PatternMin && real(y*complex(real(r.y2), -imag(r.y2))) < 0 {
			// More than 90° away from the symbol two back: the pattern broke.
			r.slam(y)
			if r.state != Failed {
				r.stage, r.count = stageTrain, 1
			}
			break
		}
		if real(y*complex(real(r.y1), -imag(r.y1))) < 0 {
			if r.count >= 1 {
				r.rotSum += y * complex(real(r.y2), -imag(r.y2))
			}
			r.count++
		} else {
			r.count, r.rotSum = 0, 0
		}
		if r.count > r.cfg.PatternMax {
			r.fail("no end to the training pattern")
		} else if r.total > 4*r.cfg.PatternMax+600 {
			// Nothing like the pattern for a long time (noise, or a carrier we do not know): keep
			// listening from scratch rather than parking.
			r.restart()
		}
	case stageTrain:
		t, ok := r.trainSymbol(r.count)
		if !ok {
			r.trainMSE = r.mseSum / float64(max(r.mseN, 1)) / r.cfg.SymbolPower
			if r.trainMSE > r.cfg.TrainMSE {
				r.fail(fmt.Sprintf("training error %.3f", r.trainMSE))
				break
			}
			r.scheme.BeginData(r.last)
			r.stage, r.count = stageTest, 0
			r.mseSum, r.mseN = 0, 0
			r.eq.Mu = r.muData
			r.tloop.Kp, r.tloop.Ki = 0.01, 0.0001
			// Fall into the test stage with this symbol.
			bits = r.data(y, bits, true)
			break
		}
		r.last = t
		err := t - y
		if adapt {
			r.eq.Adapt(err)
			r.cloop.Update(&r.fe.Carrier, dsp.PhaseError(y, t))
		}
		// Measure over the last quarter of the known symbols (not over a fill-in gap).
		if _, more := r.trainSymbol(r.count + r.count/3 + 1); !more && adapt {
			r.mseSum += dsp.Abs2(err)
			r.mseN++
		}
		r.count++
	case stageTest, stageData:
		bits = r.data(y, bits, adapt)
	}
	r.y2, r.y1 = r.y1, y
	return bits
}

// Level tracking in data mode: decision-directed LMS cannot follow a level step of more than a few
// dB at 9600 (the amplitude decisions pull the gain the wrong way), but scrambled data has the
// constellation's mean power, so a blind power measurement on the equaliser output can. Outside a
// ±1.2 dB dead band (wide enough that the blind estimate of a 16-point constellation never
// crosses it on its own) the taps are rescaled; inside it the LMS does the fine work.
const (
	levelAlpha = 1.0 / 96
	levelEvery = 16
)

func (r *Receiver) trackLevel(y complex128) {
	r.level += (dsp.Abs2(y) - r.level) * levelAlpha
	r.levelN++
	if r.levelN < levelEvery {
		return
	}
	r.levelN = 0
	ratio := r.level / r.cfg.SymbolPower
	if ratio > 0.76 && ratio < 1.32 || ratio <= 0 {
		return
	}
	g := math.Sqrt(1 / ratio)
	for i := range r.eq.Taps {
		r.eq.Taps[i] *= complex(g, 0)
	}
	r.level *= g * g
}

// slam applies the coarse carrier frequency and phase at the pattern break.
func (r *Receiver) slam(y complex128) {
	// rotSum accumulates y[k]·conj(y[k-2]): its angle is the carrier rotation over two symbols.
	perSymbol := math.Atan2(imag(r.rotSum), real(r.rotSum)) / 2
	r.offsetHz = perSymbol / (2 * math.Pi) * r.cfg.Baud
	if math.Abs(r.offsetHz) > 20 {
		r.fail(fmt.Sprintf("implausible carrier offset %.1f Hz", r.offsetHz))
		return
	}
	r.fe.Carrier.AdjustFreq(r.offsetHz)
	t0, _ := r.trainSymbol(0)
	theta := dsp.PhaseError(y, t0)
	r.fe.Carrier.Rotate(theta)
	r.eq.RotateLine(complex(math.Cos(theta), -math.Sin(theta)))
	r.last = t0
}

func (r *Receiver) data(y complex128, bits []byte, adapt bool) []byte {
	var d complex128
	if r.stage == stageTest {
		d, r.scratch = r.scheme.Decide(y, r.scratch[:0])
	} else {
		d, bits = r.scheme.Decide(y, bits)
	}
	err := d - y
	if adapt {
		// Adapting on every symbol measured better at 18 dB SNR than thinning it out as spandsp
		// does (every tenth symbol); the cost is about a sixth of the receiver.
		r.eq.Adapt(err)
		r.cloop.Update(&r.fe.Carrier, dsp.PhaseError(y, d))
	}
	if r.stage == stageData && adapt {
		r.trackLevel(y)
	}
	if r.stage == stageTest {
		if adapt {
			r.mseSum += dsp.Abs2(err)
			r.mseN++
		}
		r.count++
		if r.count >= r.scheme.TestSymbols() {
			mse := r.mseSum / float64(max(r.mseN, 1)) / r.cfg.SymbolPower
			if mse > r.cfg.TestMSE {
				r.fail(fmt.Sprintf("test segment error %.3f", mse))
				return bits
			}
			r.stage, r.state = stageData, Data
			r.level, r.levelN = r.cfg.SymbolPower, 0
		}
	}
	return bits
}

// Stage names the training stage, for diagnostics and tests.
func (r *Receiver) Stage() string {
	switch r.stage {
	case stageAcquire:
		return "acquire"
	case stagePattern:
		return "pattern"
	case stageTrain:
		return "train"
	case stageTest:
		return "test"
	case stageData:
		return "data"
	}
	return "none"
}
