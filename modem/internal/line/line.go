// Package line is a telephone-line model for testing the fax modems over what a G.711 call really
// does to audio (fax-protocols brief §3.1, §6.1): a level change, additive white Gaussian noise, a
// sample-clock offset between the two ends (±100 ppm), G.711 companding, and loss of whole 20 ms
// packets, which the receiver bridges with its fill-in. It is deterministic for a given seed.
//
// It also holds BER helpers shared by the modem tests. It is an internal test-support package: the
// modems never import it.
package line

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// Block is the packet size the model delivers, 20 ms at 8 kHz.
const Block = 160

// Config describes one line.
type Config struct {
	Law       g711.Law // companding; LawInvalid for a linear line
	GainDB    float64  // level change applied to the signal
	NoiseDBm0 float64  // white noise level; use NoNoise for none
	DriftPPM  float64  // far-end sample clock offset: + means the receiver gets more samples
	LossRate  float64  // probability that a 20 ms packet is lost
	Seed      uint64
	// Channel selects a linear distortion ahead of the noise, standing in for the analogue loops
	// and ATAs a fax may cross (spandsp's line models play the same role): 0 none; 1 a 300-3400 Hz
	// band-pass; 2 the band-pass with a mild echo (amplitude ripple, group-delay variation); 3 a
	// stronger, dispersive one.
	Channel int
	// JitterMin..JitterMax is the network delay of each packet (uniform), and Playout the fixed
	// receive buffer delay (brief §3.1: fixed, no time-stretching): a packet whose delay exceeds
	// Playout arrives too late and is lost; packets are played in order. Zero Playout disables it.
	JitterMin, JitterMax, Playout time.Duration
	// StepAt and StepDB change the level by StepDB once StepAt input samples have passed (a level
	// change in the middle of a transmission).
	StepAt int
	StepDB float64
}

// NoNoise disables the noise source.
var NoNoise = math.Inf(-1)

// Model carries audio across one Config. Write transmitter samples in, Read 160-sample packets out.
type Model struct {
	cfg   Config
	rng   *rand.Rand
	gain  float64
	sigma float64
	// Resampler: output sample k is taken at input time k·ratio.
	ratio   float64
	t       float64   // next output time, in input samples relative to hist[0]
	hist    []float64 // pending input samples
	out     []int16
	written int
	late    int
	channel *dsp.FIR
}

// channelTaps designs the impulse response of line channel n (see Config.Channel).
func channelTaps(n int) []float64 {
	const taps = 63
	bp := make([]float64, taps)
	c := float64(taps-1) / 2
	lo, hi := 300.0/dsp.SampleRate, 3400.0/dsp.SampleRate
	for i := range bp {
		t := float64(i) - c
		var h float64
		if t == 0 {
			h = 2 * (hi - lo)
		} else {
			h = (math.Sin(2*math.Pi*hi*t) - math.Sin(2*math.Pi*lo*t)) / (math.Pi * t)
		}
		bp[i] = h * (0.54 + 0.46*math.Cos(math.Pi*t/(c+1)))
	}
	var echo []float64
	switch n {
	case 2:
		echo = []float64{1, -0.15, 0, 0, 0, 0.12}
	case 3:
		echo = []float64{1, 0, 0, 0.3, 0, 0, 0, -0.2, 0, 0, 0.1}
	default:
		echo = []float64{1}
	}
	out := make([]float64, len(bp)+len(echo)-1)
	for i, a := range bp {
		for j, b := range echo {
			out[i+j] += a * b
		}
	}
	return out
}

// New returns a model for cfg.
func New(cfg Config) *Model {
	m := &Model{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x6c696e65)),
		gain:  math.Pow(10, cfg.GainDB/20),
		ratio: 1 / (1 + cfg.DriftPPM*1e-6),
	}
	if !math.IsInf(cfg.NoiseDBm0, -1) {
		m.sigma = math.Sqrt(dsp.DBm0Power(cfg.NoiseDBm0))
	}
	if cfg.Channel > 0 {
		m.channel = dsp.NewFIR(channelTaps(cfg.Channel))
	}
	// Pre-fill so the interpolator has history before the first sample.
	m.hist = make([]float64, taps/2)
	m.t = taps / 2
	return m
}

const taps = 16 // windowed-sinc interpolator length

// Write feeds transmitted samples into the line.
func (m *Model) Write(in []int16) {
	for _, s := range in {
		if m.cfg.StepDB != 0 && m.written == m.cfg.StepAt {
			m.gain *= math.Pow(10, m.cfg.StepDB/20)
		}
		m.written++
		v := float64(s) * m.gain
		if m.channel != nil {
			v = m.channel.Put(v)
		}
		m.hist = append(m.hist, v)
	}
	for m.t+taps/2 < float64(len(m.hist)) {
		m.out = append(m.out, m.sample(m.interp(m.t)))
		m.t += m.ratio
	}
	// Drop consumed history, keeping enough for the interpolator.
	if keep := int(m.t) - taps; keep > 4096 {
		m.hist = append(m.hist[:0], m.hist[keep:]...)
		m.t -= float64(keep)
	}
}

func (m *Model) interp(t float64) float64 {
	if m.cfg.DriftPPM == 0 {
		return m.hist[int(t+0.5)]
	}
	i0 := int(t)
	row := &interpTable[int((t-float64(i0))*interpPhases+0.5)]
	var acc float64
	for k := range taps {
		acc += m.hist[i0-taps/2+1+k] * row[k]
	}
	return acc
}

const interpPhases = 512

// interpTable holds the Hann-windowed sinc interpolator for each fractional phase; built once at
// init, read only.
var interpTable [interpPhases + 1][taps]float64

func init() {
	for p := range interpTable {
		frac := float64(p) / interpPhases
		for k := range taps {
			x := float64(k-taps/2+1) - frac
			w := 0.5 + 0.5*math.Cos(math.Pi*x/(taps/2+1))
			s := 1.0
			if x != 0 {
				s = math.Sin(math.Pi*x) / (math.Pi * x)
			}
			interpTable[p][k] = s * w
		}
	}
}

func (m *Model) sample(v float64) int16 {
	if m.sigma > 0 {
		v += m.sigma * m.rng.NormFloat64()
	}
	v = math.Round(math.Max(-32768, math.Min(32767, v)))
	s := int16(v)
	switch m.cfg.Law {
	case g711.MuLaw:
		s = g711.MuLawToLinear(g711.LinearToMuLaw(s))
	case g711.ALaw:
		s = g711.ALawToLinear(g711.LinearToALaw(s))
	}
	return s
}

// Read returns the next 160-sample packet and whether it was lost (then the receiver should call
// its fill-in instead of using the samples). ok is false if fewer than 160 samples are buffered.
func (m *Model) Read(dst []int16) (lost, ok bool) {
	if len(m.out) < Block {
		return false, false
	}
	copy(dst, m.out[:Block])
	m.out = append(m.out[:0], m.out[Block:]...)
	lost = m.cfg.LossRate > 0 && m.rng.Float64() < m.cfg.LossRate
	if m.cfg.Playout > 0 {
		d := m.cfg.JitterMin + time.Duration(m.rng.Float64()*float64(m.cfg.JitterMax-m.cfg.JitterMin))
		if d > m.cfg.Playout {
			lost = true // late: the fixed playout buffer has already played fill-in for it
			m.late++
		}
	}
	return lost, true
}

// BER compares received bits with sent bits. The receiver may start early or late, so the initial
// alignment (got[i] corresponds to sent[i-lag]) is searched in [-maxLag, maxLag]; afterwards the
// comparison runs in chunks of 256 bits and re-aligns by up to ±4 bits when a chunk is better
// explained by a shifted alignment, counting each such event as a slip (a slip destroys an HDLC frame
// just like a burst of errors, so callers should report slips beside the BER). Bits before skip are
// ignored.
func BER(sent, got []byte, maxLag, skip int) (errs, compared, slips int) {
	return BERRealign(sent, got, maxLag, skip, 4)
}

// BERRealign is BER with a re-alignment window of ±realign bits: with packet loss the receiver
// produces no bits for a lost packet, so the stream shifts by one packet's worth of bits.
func BERRealign(sent, got []byte, maxLag, skip, realign int) (errs, compared, slips int) {
	count := func(from, to, lag int) (e, n int) {
		for i := from; i < to && i < len(got); i++ {
			j := i - lag
			if j < 0 || j >= len(sent) {
				continue
			}
			n++
			if got[i] != sent[j] {
				e++
			}
		}
		return
	}
	best := func(from, to, lo, hi int) (lag, e, n int) {
		be := -1.0
		for l := lo; l <= hi; l++ {
			ee, nn := count(from, to, l)
			if nn > 0 && (be < 0 || float64(ee)/float64(nn) < be) {
				be, lag, e, n = float64(ee)/float64(nn), l, ee, nn
			}
		}
		return
	}
	const chunk = 256
	lag, _, _ := best(skip, skip+2000, -maxLag, maxLag)
	for from := skip; from < len(got); from += chunk {
		e, n := count(from, from+chunk, lag)
		if n > 32 && e*5 > n {
			if l, e2, n2 := best(from, from+chunk, lag-realign, lag+realign); l != lag && e2*3 < e {
				lag, e, n = l, e2, n2
				slips++
			}
		}
		errs += e
		compared += n
	}
	return errs, compared, slips
}

// Late returns how many packets arrived after their playout time.
func (m *Model) Late() int { return m.late }
