package v17

import (
	"math"
	"math/rand/v2"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/internal/line"
)

// prbsSource sends n pseudo-random bits from a fixed seed, then EndOfData.
type prbsSource struct {
	rng  *rand.Rand
	n    int
	sent []byte
}

func newPRBS(seed uint64, n int) *prbsSource {
	return &prbsSource{rng: rand.New(rand.NewPCG(seed, 0x5eed)), n: n, sent: make([]byte, 0, n)}
}

func (p *prbsSource) NextBit() int {
	if len(p.sent) >= p.n {
		return EndOfData
	}
	b := byte(p.rng.IntN(2))
	p.sent = append(p.sent, b)
	return int(b)
}

// collectSink records bits and events.
type collectSink struct {
	bits   []byte
	events []Status
}

func (c *collectSink) PutBit(b int)         { c.bits = append(c.bits, byte(b)) }
func (c *collectSink) ModemStatus(s Status) { c.events = append(c.events, s) }

func (c *collectSink) has(s Status) bool {
	for _, e := range c.events {
		if e == s {
			return true
		}
	}
	return false
}

// lineModel is the test channel between transmitter and receiver, on top of the shared
// modem/internal/line model (level change, sample-clock drift, white Gaussian noise, G.711
// companding, loss of 20 ms packets with fill-in), plus a level step half way through.
//
// SNR is the ratio of the signal's mean square to the noise's over the whole 0-4 kHz band (the V.17
// signal occupies 3 kHz of it, so the in-band SNR is 1.2 dB better).
type lineModel struct {
	gainDB   float64 // level change applied to the signal
	stepDB   float64 // a further level step half way through the signal
	snrDB    float64 // +Inf for no noise
	sigPower float64 // mean square of the transmitted signal, for the noise level
	ppm      float64 // receiver clock faster (+) or slower (-) than the transmitter's
	law      g711.Law
	loss     float64 // probability a 160-sample packet is lost
	channel  int     // line.Config.Channel: 0 flat, 1 band-pass, 2 mild echo, 3 dispersive echo
	seed     uint64
	onLoss   func() // called before each fill-in, for debugging
}

// run passes the whole transmitted signal through the line and into rx in 160-sample packets. It
// returns the number of packets lost.
func (m *lineModel) run(tx []int16, rx *Receiver) int {
	noise := line.NoNoise
	if !math.IsInf(m.snrDB, 1) {
		noise = dsp.PowerDBm0(m.sigPower) + m.gainDB - m.snrDB
	}
	lm := line.New(line.Config{Law: m.law, GainDB: m.gainDB, NoiseDBm0: noise, DriftPPM: m.ppm, LossRate: m.loss, Seed: m.seed, Channel: m.channel})
	sig := tx
	if m.stepDB != 0 {
		sig = make([]int16, len(tx))
		g := math.Pow(10, m.stepDB/20)
		for i, s := range tx {
			v := float64(s)
			if i > len(tx)/2 {
				v *= g
			}
			sig[i] = int16(math.Max(-32768, math.Min(32767, math.Round(v))))
		}
	}
	lm.Write(sig)
	buf := make([]int16, line.Block)
	lost := 0
	for {
		gone, ok := lm.Read(buf)
		if !ok {
			break
		}
		if gone {
			if m.onLoss != nil {
				m.onLoss()
			}
			rx.FillIn(len(buf))
			lost++
			continue
		}
		rx.Receive(buf)
	}
	return lost
}

// transmit runs a transmitter to completion and returns its samples, preceded and followed by
// silence.
func transmit(tx *Transmitter) []int16 {
	out := make([]int16, 800) // 100 ms of silence first
	buf := make([]int16, 160)
	for !tx.Done() {
		n := tx.Transmit(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
	}
	return append(out, make([]int16, 1600)...)
}

func meanSquare(x []int16) float64 {
	var acc float64
	var n int
	for _, s := range x {
		if s != 0 {
			acc += float64(s) * float64(s)
			n++
		}
	}
	return acc / float64(max(n, 1))
}

// bitErrors compares received bits with sent ones, bit for bit from the first, and returns the
// number of errors among the sent bits (missing bits count as errors).
func bitErrors(sent, got []byte) int {
	errs := 0
	for i, b := range sent {
		if i >= len(got) || got[i] != b {
			errs++
		}
	}
	return errs
}
