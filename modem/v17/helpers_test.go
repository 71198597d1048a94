package v17

import (
	"math"
	"math/rand/v2"

	"github.com/faxseal/faxseal/modem/g711"
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

// lineModel is the test channel between transmitter and receiver: level change, sample-clock drift,
// white Gaussian noise at a signal-to-noise ratio, G.711 companding and packet loss with fill-in.
//
// SNR is the ratio of the signal's mean square to the noise's over the whole 0-4 kHz band (the V.17
// signal occupies 3 kHz of it, so the in-band SNR is 1.2 dB better).
type lineModel struct {
	gainDB   float64 // level change applied to the signal
	snrDB    float64 // +Inf for no noise
	sigPower float64 // mean square of the transmitted signal, for the noise level
	ppm      float64 // receiver clock faster (+) or slower (-) than the transmitter's
	law      g711.Law
	loss     float64 // probability a 160-sample packet is lost
	rng      *rand.Rand

	// resampler state
	in  []float64
	pos float64
}

// run passes the whole transmitted signal through the line and into rx in 160-sample packets. It
// returns the number of packets lost.
func (m *lineModel) run(tx []int16, rx *Receiver) int {
	sig := make([]float64, len(tx))
	g := math.Pow(10, m.gainDB/20)
	for i, s := range tx {
		sig[i] = float64(s) * g
	}
	if m.ppm != 0 {
		sig = resample(sig, 1+m.ppm*1e-6)
	}
	if !math.IsInf(m.snrDB, 1) {
		sigma := math.Sqrt(m.sigPower * g * g / math.Pow(10, m.snrDB/10))
		for i := range sig {
			sig[i] += m.rng.NormFloat64() * sigma
		}
	}
	out := make([]int16, len(sig))
	for i, v := range sig {
		out[i] = int16(math.Max(-32768, math.Min(32767, math.Round(v))))
	}
	if m.law != 0 {
		enc := m.law.Encode(nil, out)
		out = m.law.Decode(out[:0], enc)
	}
	lost := 0
	for i := 0; i < len(out); i += 160 {
		end := min(i+160, len(out))
		if m.loss > 0 && m.rng.Float64() < m.loss {
			rx.FillIn(end - i)
			lost++
			continue
		}
		rx.Receive(out[i:end])
	}
	return lost
}

// resample returns x resampled so that the output has ratio times as many samples (the receiver's
// clock runs ratio times faster), by windowed-sinc interpolation.
func resample(x []float64, ratio float64) []float64 {
	const half = 12
	n := int(float64(len(x)) * ratio)
	y := make([]float64, n)
	for i := range y {
		t := float64(i) / ratio
		k0 := int(math.Floor(t))
		var acc float64
		for k := k0 - half + 1; k <= k0+half; k++ {
			if k < 0 || k >= len(x) {
				continue
			}
			d := t - float64(k)
			w := 0.5 + 0.5*math.Cos(math.Pi*d/half)
			s := 1.0
			if d != 0 {
				s = math.Sin(math.Pi*d) / (math.Pi * d)
			}
			acc += x[k] * s * w
		}
		y[i] = acc
	}
	return y
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
