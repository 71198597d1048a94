package v17

import (
	"math"
	"math/bits"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// Receiver front-end and loop parameters. The structure is the one the fax brief describes (§3.5);
// the numbers were tuned on the loopback tests (see NOTES.md).
const (
	// Pass-band receive filter: RRC with 50 % roll-off (wider than the transmitter's 25 %, which
	// gives the timing detector more band-edge energy; the equaliser absorbs the mismatch).
	// 27 taps span about 8 symbols (spandsp's length too).
	rxBeta   = 0.5
	rxTaps   = 27
	rxPhases = 64

	// T/2 equaliser: 33 taps (16.5 symbols, 6.9 ms), 12 of them ahead of the main tap. spandsp 0.0.6
	// uses 17/8, which is enough on a flat line, but on the line model's dispersive channel 3 (band
	// edges at 300/3400 Hz plus echoes up to 1.25 ms) its residual ISI after training (MSE 0.38 on
	// the |A|² = 40 scale at 40 dB SNR) exceeds half the 14400 decision distance, so 14400 never
	// trains; 33 taps bring it to 0.05. More taps after the main one than before it because the
	// echoes and the band-pass's long low-frequency tail are post-cursor (33/12 beat 33/16: MSE 0.024
	// against 0.046 at 40 dB). Step sizes are normalised by the tap count (eqMu), so training speed
	// per symbol is unchanged.
	eqLen = 33
	eqPre = 12

	// Carrier detection (brief §3.1/§3.4: fax cut-off -45.5 dBm0, ±2.5 dB hysteresis).
	carrierOnDBm0  = -43.0
	carrierOffDBm0 = -48.0
	carrierShift   = 5

	// maxCarrierOffsetHz is the largest carrier error accepted from the segment 1 estimate; anything
	// beyond it is not a V.17 signal on a telephone line (spandsp uses the same bound).
	maxCarrierOffsetHz = 20

	// abPower is |A|² = |B|² on the constellation grid: the AGC scales the ABAB segment to it.
	abPower = 40.0
)

// LMS step sizes, normalised to the tap count and the symbol power (stable below 2).
const (
	eqDeltaFast = 0.25
	eqDeltaSlow = 0.05
	eqDeltaData = 0.02
)

func eqMu(delta float64) float64 { return delta / (eqLen * abPower) }

type rxStage int

const (
	rxIdle         rxStage = iota + 1 // no carrier
	rxAcquire                         // carrier present: settle timing, look for ABAB
	rxWaitReversal                    // in ABAB: wait for the phase reversal into segment 2
	rxTrainLong                       // segment 2, long training: LMS on the known sequence
	rxBridge                          // segment 3
	rxTrainShort                      // segment 2, short training
	rxSearch                          // a fill-in hid the reversal: find the place in segment 2
	rxData                            // segment 4 and data: Viterbi decoding
	rxParked                          // training failed: wait for carrier down
)

// maxTimingStep bounds one symbol's timing correction, in samples.
const maxTimingStep = 0.1

// holdoffSymbols is how long adaptation stays frozen after a fill-in: the filter and equaliser windows
// still hold the zeros that replaced the lost audio.
const holdoffSymbols = eqLen/2 + rxTaps/3 + 2

// Level tracking in data mode. Decision-directed LMS cannot recover from a large level step: when the
// points shrink by more than half a decision distance the decisions pull the gain further the wrong
// way. Scrambled data has the constellation's mean power, so a blind power measurement on the
// equaliser output corrects such steps; the dead band leaves small errors (and the noise's share of
// the power) to the LMS.
const (
	levelAlpha    = 1.0 / 64
	levelEvery    = 16
	levelDeadband = 0.1 // relative power error tolerated
)

// Receiver is a V.17 demodulator. It is not safe for concurrent use.
type Receiver struct {
	rate   Rate
	bits   int
	points []complex128
	sink   Sink
	short  bool // the next training is expected to be short

	cd     carrierDetect
	bb     *frontEnd
	eq     *equalizer
	ted    dsp.Gardner
	timing piLoop
	vits   [4]*viterbi
	vit    *viterbi

	gen  scrambler // local copy of the transmitter's scrambler during training
	desc scrambler // data descrambler

	stage   rxStage
	count   int // symbols in the current stage
	half    bool
	mid     complex128
	powAvg  float64 // running T/2 power, normalises the timing error
	gain    float64 // AGC gain, fixed after segment 1
	holdoff int

	carrierKp, carrierKi float64

	recent    [16]complex128 // last symbols (equaliser output), newest at recentPos
	recentPos int
	abab      int // consecutive symbols that look like ABAB
	reversals int
	gapInWait bool // a fill-in fell in segment 1 after acquisition
	search    [searchLen]complex128
	searchN   int
	freqAcc   complex128
	mse       float64
	mseN      int
	state     uint8 // 4-point phase state in the bridge

	level      float64      // mean |z|² of the equaliser output in data mode
	errPower   float64      // mean |z - decision|² in data mode, for SNR
	constPower float64      // mean power of the data constellation
	invPower   [128]float64 // 1/|p|² per label, for the carrier loop

	diff    int // previous Y2Y1 for differential decoding
	decoded int // symbols decoded since segment 4 began
	onesBad int
	seg4Bad int // segment 4 symbols lost to fill-in or received during its hold-off

	failure string // why the last training failed, for logs

	saved struct {
		valid bool
		taps  [eqLen]complex128
		span  [2]int // the equaliser's taps in use
		step  int32
		gain  float64
	}
}

// NewReceiver returns a receiver for rate, delivering bits and events to sink, expecting a long
// training.
func NewReceiver(rate Rate, sink Sink) (*Receiver, error) {
	r := &Receiver{
		sink: sink,
		cd:   newCarrierDetect(carrierOnDBm0, carrierOffDBm0),
		bb:   newFrontEnd(),
		eq:   &equalizer{Mu: eqMu(eqDeltaFast)},
	}
	for i, rt := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		r.vits[i] = newViterbi(rt.points())
	}
	if err := r.Restart(rate, false); err != nil {
		return nil, err
	}
	return r, nil
}

// Restart prepares for the next transmission at rate, with a long or a short training. A short
// training needs the state saved by a successful long training at the same rate; without it the
// receiver expects a long one.
func (r *Receiver) Restart(rate Rate, short bool) error {
	if !rate.Valid() {
		return ErrRate
	}
	if rate != r.rate {
		r.saved.valid = false
	}
	r.rate, r.bits, r.points = rate, rate.bitsPerSymbol(), rate.points()
	r.vit = r.vits[rate/2400-3]
	r.constPower = 0
	for l, p := range r.points {
		r.constPower += dsp.Abs2(p)
		r.invPower[l] = 1 / dsp.Abs2(p)
	}
	r.constPower /= float64(len(r.points))
	r.short = short && r.saved.valid
	r.cd.Reset()
	r.reset()
	return nil
}

// SetSink replaces the bit and event sink.
func (r *Receiver) SetSink(s Sink) { r.sink = s }

// reset returns to waiting for carrier, keeping the saved training state.
func (r *Receiver) reset() {
	r.stage = rxIdle
	r.bb.Reset()
	r.bb.Carrier.SetFreq(carrierHz)
	r.eq.ResetTaps()
	r.eq.ResetLine()
	r.gain = 1
	if r.short {
		r.eq.Restore(r.saved.taps[:], r.saved.span[0], r.saved.span[1])
		r.bb.Carrier.Step = r.saved.step
		r.gain = r.saved.gain
	}
	r.ted.Reset()
	r.timing = piLoop{}
	r.half = false
	r.powAvg = 0
	r.holdoff = 0
}

func (r *Receiver) status(s Status) {
	if r.sink != nil {
		r.sink.ModemStatus(s)
	}
}

// Receive demodulates a block of 8 kHz linear samples (normally 160, 20 ms). It never allocates.
func (r *Receiver) Receive(samples []int16) {
	// The carrier detector runs on every sample, so its state is kept in locals for the block
	// (registers: a struct's fields would go through memory on every recurrence) and written back
	// before anything can read it. The recurrences are written as a·p + b·x so each sample waits on
	// one multiply and one add of the previous one.
	c := &r.cd
	x1, y1, pw, level, floor := c.x1, c.y1, c.power, c.level, c.floor
	for _, s := range samples {
		x := float64(s)
		y := x - x1 + 0.995*y1 // DC blocker
		x1, y1 = x, y
		pw = pw*(1-cdAlpha) + y*y*cdAlpha
		var edge bool
		if c.present {
			level = max(pw, level*cdDecay)
			edge = pw < c.offPow || 10*pw < level
		} else {
			floor = floor*(1-cdFloor) + pw*cdFloor
			edge = pw > c.onPow && pw > 4*floor
		}
		if edge {
			c.x1, c.y1, c.power, c.level, c.floor = x1, y1, pw, level, floor
			if c.toggle() {
				r.carrierUp()
			} else {
				r.carrierDown()
			}
			level, floor = c.level, c.floor
		}
		// Without carrier (or parked) the front end is not needed: carrier up resets it anyway.
		if !c.present || r.stage == rxParked {
			continue
		}
		if ph, due := r.bb.push(x); due {
			c.power = pw // the sink may ask for SignalDBm0
			r.halfBaud(r.bb.output(ph) * complex(r.gain, 0))
		}
	}
	c.x1, c.y1, c.power, c.level, c.floor = x1, y1, pw, level, floor
}

// FillIn tells the receiver that n samples were lost (a missing packet at playout time, brief §3.1):
// the carrier phase, the symbol clock and the position in the training sequence advance as if they
// had been received, with no adaptation, and the Viterbi decoder treats the lost symbols as erasures
// so the bit count stays right.
func (r *Receiver) FillIn(n int) {
	if n <= 0 || !r.cd.Present() || r.stage == rxParked || r.stage == rxIdle {
		return
	}
	skipped := r.bb.Fillin(n)
	for range skipped {
		r.eq.Put(0)
		if r.half = !r.half; r.half {
			continue
		}
		r.holdoff = holdoffSymbols
		r.lostSymbol()
	}
	r.ted.Reset()
}

func (r *Receiver) carrierUp() {
	r.reset()
	r.failure = ""
	r.stage = rxAcquire
	r.count = 0
	r.abab = 0
	r.status(StatusCarrierUp)
}

func (r *Receiver) carrierDown() {
	r.reset()
	r.status(StatusCarrierDown)
}

func (r *Receiver) park(why string) {
	r.failure = why
	r.stage = rxParked
	if !r.short {
		r.saved.valid = false
	}
	r.status(StatusTrainingFailed)
}

// halfBaud processes one T/2 sample: every second one completes a symbol.
func (r *Receiver) halfBaud(y complex128) {
	r.eq.Put(y)
	r.powAvg += (dsp.Abs2(y) - r.powAvg) / 64
	if r.half = !r.half; r.half {
		r.mid = y
		return
	}
	if r.holdoff > 0 {
		r.holdoff--
	} else if r.powAvg > 0 {
		// Gardner timing (brief §3.5 item 4): a positive error means the on-time samples are late.
		// Clamped, so a burst (the carrier arriving while the power estimate still reads the noise
		// before it) cannot throw the clock about.
		e := max(-1, min(1, r.ted.Error(r.mid, y)/r.powAvg))
		r.bb.AdjustTiming(-max(-maxTimingStep, min(maxTimingStep, r.timing.Update(e))))
	}
	r.symbol(r.eq.Output())
}

// remember stores an equaliser output in the ring of recent symbols.
func (r *Receiver) remember(z complex128) {
	r.recentPos = (r.recentPos + 1) % len(r.recent)
	r.recent[r.recentPos] = z
}

// ago returns the symbol j places before the newest.
func (r *Receiver) ago(j int) complex128 {
	return r.recent[(r.recentPos-j+len(r.recent))%len(r.recent)]
}

func (r *Receiver) symbol(z complex128) {
	r.count++
	switch r.stage {
	case rxAcquire:
		r.acquire(z)
	case rxWaitReversal:
		r.waitReversal(z)
	case rxTrainLong, rxBridge, rxTrainShort:
		r.train(z)
	case rxSearch:
		r.searchSegment2(z)
	case rxData:
		r.data(z)
	}
}

// acquire lets the symbol timing settle on segment 1 and checks it really is ABAB: consecutive points
// 90° apart (TEP's unmodulated carrier is not), then fixes the AGC gain from their power.
func (r *Receiver) acquire(z complex128) {
	prev := r.ago(0)
	r.remember(z)
	if r.count == 1 {
		r.timing = piLoop{Kp: 0.4, Ki: 0.02, Limit: 0.05}
	}
	p := real(z)*imag(prev) - imag(z)*real(prev) // Im(z·conj(prev)), sign aside
	q := real(z)*real(prev) + imag(z)*imag(prev)
	if math.Abs(p) > 2*math.Abs(q) && r.count > 1 {
		r.abab++
	} else {
		r.abab = 0
	}
	if r.count >= 48 && r.abab >= 16 {
		r.gapInWait = false
		var pw float64
		for j := range 16 {
			pw += dsp.Abs2(r.ago(j))
		}
		pw /= 16
		if pw <= 0 {
			r.park("no signal in segment 1")
			return
		}
		g := math.Sqrt(abPower / pw)
		r.gain *= g
		r.powAvg *= g * g
		for j := range r.recent {
			r.recent[j] *= complex(g, 0)
		}
		r.timing.Kp, r.timing.Ki = 0.1, 0.005
		r.stage, r.count = rxWaitReversal, 0
		r.reversals = 0
		r.freqAcc = 0
		return
	}
	// TEP (480 + 48 symbols) plus segment 1 (256) is the longest run before ABAB has to be seen.
	if r.count > tepCarrierSymbols+tepSilenceSymbols+seg1Symbols {
		r.park("no ABAB segment")
	}
}

// waitReversal accumulates the carrier rotation over ABAB and waits for segment 2, whose first two
// points (C, D) are A and B reversed: two symbols in a row more than 90° from the ones two before.
func (r *Receiver) waitReversal(z complex128) {
	w := z * conj(r.ago(1))
	r.remember(z)
	if r.holdoff > 0 {
		r.reversals = 0
		r.gapInWait = true
		return
	}
	if r.count > seg1Symbols+searchSpan {
		r.park("no reversal into segment 2")
		return
	}
	if r.gapInWait {
		// The reversal may have been in the lost audio, and the patterns early in segment 2 look
		// like segment 1 to the reversal test: find the place by correlation instead.
		r.gapInWait = false
		r.stage = rxSearch
		r.search[0], r.searchN = z, 1
		return
	}
	if real(w) < 0 && dsp.Abs2(z) > abPower/4 {
		r.reversals++
	} else {
		r.reversals = 0
		// The first symbols still come partly from samples taken before the AGC gain was set:
		// leave them out, and weigh the rest equally (unit phasors).
		if a := math.Hypot(real(w), imag(w)); r.count > eqLen/4+2 && a > 0 {
			r.freqAcc += w / complex(a, 0)
		}
	}
	if r.reversals == 2 {
		r.startSegment2()
		return
	}
	if r.count > seg1Symbols {
		r.park("no reversal into segment 2")
	}
}

// searchLen is how many symbols the search after a lost packet correlates; searchSpan is how far
// into segment 2 it looks (a lost packet is 48 symbols, plus the hold-off after it).
const (
	searchLen  = 32
	searchSpan = 200
)

// trainingStart is segments 1 and the start of 2 as indices into abcd (ABAB... then the scrambled
// ones), generated once and only read afterwards.
var trainingStart = func() (seq [seg1Symbols + searchSpan + searchLen]uint8) {
	for i := range seg1Symbols {
		seq[i] = uint8(i & 1)
	}
	s := dsp.NewScrambler(18, 23)
	s.Reg = scramblerSeed
	for i := seg1Symbols; i < len(seq); i++ {
		hi := s.Scramble(1)
		seq[i] = seg2Point[hi<<1|s.Scramble(1)]
	}
	return seq
}()

// searchSegment2 collects searchLen symbols after a lost packet and finds where in the training they
// are by correlation with the known sequence. The correlation's magnitude does not depend on the
// carrier phase; its angle then gives the phase.
func (r *Receiver) searchSegment2(z complex128) {
	r.remember(z)
	r.search[r.searchN] = z
	if r.searchN++; r.searchN < searchLen {
		return
	}
	var energy float64
	for _, x := range r.search {
		energy += dsp.Abs2(x)
	}
	best, at := 0.0, 0
	var bestC complex128
	for k := range len(trainingStart) - searchLen + 1 {
		var c complex128
		for j, x := range r.search {
			c += x * conj(abcd[trainingStart[k+j]])
		}
		if m := dsp.Abs2(c); m > best {
			best, at, bestC = m, k, c
		}
	}
	// Normalised correlation: 1 for a perfect match, about 1/searchLen for noise.
	if energy <= 0 || best/(energy*abPower*searchLen) < 0.5 {
		r.park("lost the training after a fill-in")
		return
	}
	next := at + searchLen // index of the next symbol in the training
	if next < seg1Symbols-2 {
		// Still in segment 1: go back to waiting for the reversal.
		r.stage, r.reversals = rxWaitReversal, 0
		return
	}
	if r.short {
		r.park("short training hidden by a fill-in")
		return
	}
	r.rotateEqualizer(-math.Atan2(imag(bestC), real(bestC)))
	if r.freqAcc != 0 {
		perSymbol := math.Atan2(imag(r.freqAcc), real(r.freqAcc)) / 2
		if hz := perSymbol / (2 * math.Pi) * baud; math.Abs(hz) <= maxCarrierOffsetHz {
			r.bb.Carrier.Step += dsp.PhaseStep(hz)
		}
	}
	r.gen = scramblerSeed
	for range next - seg1Symbols {
		r.genDibit()
	}
	r.mse, r.mseN = 0, 0
	r.count = next - seg1Symbols
	r.stage = rxTrainLong
	r.eq.Mu = eqMu(eqDeltaFast)
	r.carrierKp, r.carrierKi = 0.05, 0.002
	r.status(StatusTraining)
}

// rotateEqualizer turns the equaliser's output by rad.
func (r *Receiver) rotateEqualizer(rad float64) {
	rot := complex(math.Cos(rad), math.Sin(rad))
	for i := range r.eq.Taps {
		r.eq.Taps[i] *= rot
	}
}

// startSegment2 runs at the second symbol of segment 2: it corrects the carrier frequency from the
// rotation seen over segment 1 ("slam the carrier into line"), rotates the equaliser so the points sit
// where segment 2 puts them, and starts the local copy of the scrambler.
func (r *Receiver) startSegment2() {
	perSymbol := 0.0 // carrier rotation per symbol, radians
	if r.freqAcc != 0 {
		perSymbol = math.Atan2(imag(r.freqAcc), real(r.freqAcc)) / 2
	}
	hz := perSymbol / (2 * math.Pi) * baud
	if math.Abs(hz) > maxCarrierOffsetHz {
		r.park("carrier offset too large")
		return
	}
	if !r.short {
		r.bb.Carrier.Step += dsp.PhaseStep(hz)
	}
	// Newest first: D, C (segment 2) then B, A, B, A ... (segment 1), each corrected for the rotation
	// accumulated since it arrived.
	var acc complex128
	for j, ref := range reversalRefs {
		rot := complex(math.Cos(perSymbol*float64(j)), math.Sin(perSymbol*float64(j)))
		acc += r.ago(j) * conj(ref) * rot
	}
	r.rotateEqualizer(-math.Atan2(imag(acc), real(acc)))
	r.gen = scramblerSeed
	r.genDibit()
	r.genDibit()
	r.mse, r.mseN = 0, 0
	r.count = 2 // segment 2 symbols seen
	if r.short {
		r.stage = rxTrainShort
		r.eq.Mu = eqMu(eqDeltaSlow)
		r.carrierKp, r.carrierKi = 0.05, 0
		r.timing.Kp, r.timing.Ki = 0.02, 0.0005
	} else {
		r.stage = rxTrainLong
		r.eq.Mu = eqMu(eqDeltaFast)
		r.carrierKp, r.carrierKi = 0.05, 0.002
	}
	r.status(StatusTraining)
}

// reversalRefs are the last eight points sent when segment 2's second symbol arrives, newest first.
var reversalRefs = [8]complex128{pointD, pointC, pointB, pointA, pointB, pointA, pointB, pointA}

// genDibit returns the next pair of scrambled ones from the local scrambler.
func (r *Receiver) genDibit() int {
	hi := r.gen.scramble(1)
	return hi<<1 | r.gen.scramble(1)
}

// nextTrainingPoint returns the point the transmitter sends at the current training position
// (r.count counts symbols of the stage, the current one included).
func (r *Receiver) nextTrainingPoint() complex128 {
	if r.stage == rxBridge {
		k := uint(r.count-1) & 7 * 2
		hi := r.gen.scramble(bridgeWord >> k & 1)
		d := hi<<1 | r.gen.scramble(bridgeWord>>(k+1)&1)
		r.state = (r.state + bridgeStep[d]) & 3
		return abcd[r.state]
	}
	r.state = seg2Point[r.genDibit()]
	return abcd[r.state]
}

// adapt trains the equaliser and carrier loop towards ref, unless the windows still hold fill-in.
func (r *Receiver) adapt(z, ref complex128) {
	if r.holdoff > 0 {
		return
	}
	r.eq.Adapt(ref - z)
	r.adaptCarrier(z, ref, 1/abPower) // every training point has power abPower
}

// adaptCarrier steers the carrier loop towards ref, whose power is 1/inv.
func (r *Receiver) adaptCarrier(z, ref complex128, inv float64) {
	// Phase error in radians; the small-angle form Im(z·conj(ref))/|ref|² is exact enough once
	// locked and saves an arctangent per symbol.
	e := (imag(z)*real(ref) - real(z)*imag(ref)) * inv
	e = max(-0.5, min(0.5, e))
	r.bb.Carrier.Phase += uint32(int32(r.carrierKp * e * radToPhase))
	r.bb.Carrier.Step += int32(r.carrierKi * e * radToPhase / (dsp.SampleRate / baud))
}

// radToPhase converts radians to the NCO's 32-bit phase units.
const radToPhase = (1 << 32) / (2 * math.Pi)

// train handles segments 2 and 3 against the locally generated sequence.
func (r *Receiver) train(z complex128) {
	ref := r.nextTrainingPoint()
	r.adapt(z, ref)
	switch r.stage {
	case rxTrainLong:
		if r.count == 1000 {
			// The fast step has converged the taps: a line that needs only the short span
			// (equalizer.narrow) can train the rest on it. If not yet, segment 4 checks again.
			r.eq.narrow()
			r.eq.Mu = eqMu(eqDeltaSlow)
			r.carrierKp, r.carrierKi = 0.03, 0.0005
			r.timing.Kp, r.timing.Ki = 0.02, 0.0005
		}
		if r.count > seg2LongSymbols-512 && r.holdoff == 0 {
			r.mse += dsp.Abs2(ref - z)
			r.mseN++
		}
		if r.count == seg2LongSymbols {
			if !r.trainedWell() {
				r.park("long training did not converge")
				return
			}
			r.stage, r.count = rxBridge, 0
		}
	case rxBridge:
		if r.count == seg3Symbols {
			r.startSegment4()
		}
	case rxTrainShort:
		if r.count > 8 && r.holdoff == 0 {
			r.mse += dsp.Abs2(ref - z)
			r.mseN++
		}
		if r.count == seg2ShortSymbols {
			if !r.trainedWell() {
				r.park("short training did not converge")
				return
			}
			r.startSegment4()
		}
	}
}

// trainedWell judges the equaliser on the mean squared error over the end of segment 2: it must be
// well inside the decision distance of the data constellation.
func (r *Receiver) trainedWell() bool {
	if r.mseN == 0 {
		return true // every measured symbol was lost; let segment 4 decide
	}
	return r.mse/float64(r.mseN) < r.rate.minDistance2()/4
}

func (r *Receiver) startSegment4() {
	r.stage, r.count = rxData, 0
	if !r.short {
		r.eq.narrow() // most lines need only the short span: see equalizer.narrow
	}
	r.vit.reset()
	r.desc = r.gen // the transmitter's register at the start of segment 4
	r.diff = firstDiff(r.short)
	r.decoded = 0
	r.onesBad = 0
	r.seg4Bad = 0
	r.eq.Mu = eqMu(eqDeltaData)
	r.carrierKp, r.carrierKi = 0.02, 0.0002
	r.timing.Kp, r.timing.Ki = 0.01, 0.0002
	r.level = r.constPower
	r.errPower = r.mse / float64(max(r.mseN, 1))
}

// data decodes segment 4 (the trellis-coded ones that prove the training) and then the data.
func (r *Receiver) data(z complex128) {
	if r.holdoff > 0 && r.count <= seg4Symbols {
		r.seg4Bad++
	}
	nearest, decided := r.vit.decode(z)
	if r.holdoff == 0 {
		r.errPower += (dsp.Abs2(z-r.points[nearest]) - r.errPower) * levelAlpha
	}
	// In data mode the equaliser only follows slow changes (eqDeltaData is a tenth of the training
	// step), so it adapts on every other symbol with twice the step: the same tracking for half the
	// cost, the LMS update being a third of the receiver's time with 33 taps. The carrier loop still
	// runs every symbol.
	if r.holdoff == 0 {
		if r.count&1 == 0 {
			r.eq.Adapt(r.points[nearest] - z)
		}
		r.adaptCarrier(z, r.points[nearest], r.invPower[nearest&127])
	}
	r.trackLevel(z)
	for _, l := range decided {
		r.output(int(l))
	}
}

// trackLevel corrects large level changes by scaling the equaliser (see levelDeadband).
func (r *Receiver) trackLevel(z complex128) {
	if r.holdoff > 0 {
		return
	}
	r.level += (dsp.Abs2(z) - r.level) * levelAlpha
	if r.count%levelEvery != 0 || r.level <= 0 {
		return
	}
	if ratio := r.constPower / r.level; math.Abs(ratio-1) > levelDeadband {
		g := complex(math.Sqrt(ratio), 0)
		for i := range r.eq.Taps {
			r.eq.Taps[i] *= g
		}
		r.level = r.constPower
	}
}

// output differentially decodes and descrambles one decided label.
func (r *Receiver) output(label int) {
	y21 := label >> 1 & 3
	q := (y21-r.diff)&3 | label>>3<<2
	r.diff = y21
	r.decoded++
	data := r.desc.descrambleWord(q, r.bits)
	if r.decoded <= seg4Symbols {
		r.onesBad += r.bits - bits.OnesCount(uint(data))
	} else if r.sink != nil {
		for i := range r.bits {
			r.sink.PutBit(data >> i & 1)
		}
	}
	if r.decoded == seg4Symbols {
		// V.17 synchronizing signals: segment 4 is all ones. Allow an error in eight bits of the symbols that were
		// received whole, plus every bit of those lost to a fill-in (they decode as garbage). If most
		// of segment 4 was lost, segment 2's error measurement has to do.
		allowed := (seg4Symbols-r.seg4Bad)*r.bits/8 + r.seg4Bad*r.bits
		if r.seg4Bad < seg4Symbols/2 && r.onesBad > allowed {
			r.park("segment 4 ones test failed")
			return
		}
		if !r.short {
			r.saved.valid = true
			r.saved.span[0], r.saved.span[1] = r.eq.Save(r.saved.taps[:])
			r.saved.step = r.bb.Carrier.Step
			r.saved.gain = r.gain
		}
		r.status(StatusTrainingSucceeded)
	}
}

// lostSymbol keeps the stage position in step over a symbol lost to fill-in.
func (r *Receiver) lostSymbol() {
	r.count++
	switch r.stage {
	case rxAcquire:
		r.remember(0)
		r.abab = 0
	case rxWaitReversal:
		r.remember(0)
		r.reversals = 0
		r.gapInWait = true
	case rxSearch:
		// A gap inside the search window: start collecting again after it.
		r.stage, r.gapInWait = rxWaitReversal, true
	case rxTrainLong, rxBridge, rxTrainShort:
		r.train(r.nextTrainingPointPeek())
	case rxData:
		if r.count <= seg4Symbols {
			r.seg4Bad++
		}
		// An erasure: the survivors' decision for it is arbitrary, but the bit count stays right.
		for _, l := range r.vit.erase() {
			r.output(int(l))
		}
	}
}

// nextTrainingPointPeek returns a stand-in received point for a lost training symbol: the expected
// point itself, so train() advances the sequence and measures no error. Adaptation is frozen by the
// hold-off anyway.
func (r *Receiver) nextTrainingPointPeek() complex128 {
	g, s := r.gen, r.state
	p := r.nextTrainingPoint()
	r.gen, r.state = g, s
	return p
}

// SNR estimates the signal-to-noise ratio of the symbols in dB, from the mean squared distance
// between equalised symbols and their nearest constellation points while data is being received
// (0 before training has succeeded). Decision errors make it read high below about 15 dB.
func (r *Receiver) SNR() float64 {
	if r.stage != rxData || r.errPower <= 0 {
		return 0
	}
	return 10 * math.Log10(r.constPower/r.errPower)
}

// FailureReason says why the last training failed ("" if none has), for logs.
func (r *Receiver) FailureReason() string { return r.failure }

// Rate returns the rate the receiver is set for.
func (r *Receiver) Rate() Rate { return r.rate }

// CarrierPresent reports whether the carrier detector sees a signal.
func (r *Receiver) CarrierPresent() bool { return r.cd.Present() }

// CarrierOffsetHz returns the carrier frequency error the receiver is correcting.
func (r *Receiver) CarrierOffsetHz() float64 { return r.bb.Carrier.Freq() - carrierHz }

// SignalDBm0 returns the received level.
func (r *Receiver) SignalDBm0() float64 { return dsp.PowerDBm0(r.cd.Power()) }

func conj(z complex128) complex128 { return complex(real(z), -imag(z)) }
