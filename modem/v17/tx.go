package v17

import (
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// DefaultLevel is the transmit level in dBm0 (the fax brief §3.1: fast modems send at -14 dBm0).
const DefaultLevel = -14.0

// carrierHz and baud are V.17's carrier frequency and modulation rate (V.17 line signals).
const (
	carrierHz = 1800
	baud      = 2400
)

// txBeta and txSpan shape the transmitted pulse: a root raised cosine with 25 % roll-off spanning
// 12 symbols (the tails beyond ±6 symbols are below -50 dB).
const (
	txBeta = 0.25
	txSpan = 12
)

// meanSymbolPower is the mean power of every V.17 constellation on its grid (40 to 42) and of the
// training points (40): the transmit gain is set from it so all rates leave at the same level.
const meanSymbolPower = 40.0

type txStage int

const (
	txTEPCarrier txStage = iota + 1
	txTEPSilence
	txSeg1
	txSeg2
	txSeg3
	txSeg4
	txData
	txShutdownOnes
	txShutdownSilence
	txDone
)

// Transmitter is a V.17 modulator. It is not safe for concurrent use.
type Transmitter struct {
	rate   Rate
	bits   int
	points []complex128
	tep    bool
	short  bool
	src    BitSource

	scr  scrambler
	enc  encoder
	mod  modulator
	gain float64
	// shaper replaces mod when the carrier is moved off 1800 Hz (tests of the receiver's carrier
	// recovery): the table-driven modulator only exists for the nominal carrier.
	shaper *dsp.Shaper

	stage txStage
	count int   // symbols sent in the current stage
	state uint8 // 4-point phase state (index into abcd) for segments 2 and 3
}

// NewTransmitter returns a transmitter at rate, taking data from src, set for a long training without
// TEP.
func NewTransmitter(rate Rate, src BitSource) (*Transmitter, error) {
	t := &Transmitter{src: src}
	t.SetLevel(DefaultLevel)
	if err := t.Restart(rate, false, false); err != nil {
		return nil, err
	}
	return t, nil
}

// SetLevel sets the transmit level in dBm0 (mean power of the modulated signal).
func (t *Transmitter) SetLevel(dbm0 float64) {
	// The shaper gives mean square 1/2 for unit-power symbols.
	t.gain = math.Sqrt(dsp.DBm0Power(dbm0) / (meanSymbolPower / 2))
}

// SetSource replaces the data source.
func (t *Transmitter) SetSource(src BitSource) { t.src = src }

// Restart begins a new transmission at rate: optional TEP, then the long or short training, then the
// data from the source. Short training is only valid after a long training at the same rate with the
// same peer (T.30: never for TCF).
func (t *Transmitter) Restart(rate Rate, tep, short bool) error {
	if !rate.Valid() {
		return ErrRate
	}
	t.rate, t.bits, t.points = rate, rate.bitsPerSymbol(), rate.points()
	t.tep, t.short = tep, short
	t.scr = scramblerSeed
	t.mod.reset()
	if t.shaper != nil {
		t.shaper.Reset()
		t.shaper.Carrier.Phase = 0
	}
	t.count = 0
	t.state = 0
	if tep {
		t.stage = txTEPCarrier
	} else {
		t.stage = txSeg1
	}
	return nil
}

// Done reports whether the turn-off sequence has been sent completely.
func (t *Transmitter) Done() bool { return t.stage == txDone }

// Transmit fills dst with samples and returns how many it wrote: len(dst) until the turn-off
// sequence ends, then fewer (0 once done).
func (t *Transmitter) Transmit(dst []int16) int {
	if t.shaper != nil {
		return t.transmitShaper(dst)
	}
	// Output scaling in 32-bit fixed point: sample·g rounds to the nearest integer in one multiply
	// and shift (|sample| < 2^28 and g < 2^27 up to +20 dBm0: the product stays below 2^55).
	g := int64(math.Round(t.gain / modScale * (1 << 32)))
	for i := range dst {
		if t.mod.step() {
			if t.stage == txDone {
				return i
			}
			t.mod.push(t.nextSymbol())
		}
		v := (t.mod.sample()*g + 1<<31) >> 32
		dst[i] = int16(min(32767, max(-32768, v)))
	}
	return len(dst)
}

// transmitShaper is Transmit through the generic shaper (carrier off nominal).
func (t *Transmitter) transmitShaper(dst []int16) int {
	for i := range dst {
		if t.shaper.Step() {
			if t.stage == txDone {
				return i
			}
			t.shaper.Push(t.nextSymbol())
		}
		dst[i] = toSample(t.shaper.Sample() * t.gain)
	}
	return len(dst)
}

// setCarrierOffset moves the carrier by hz (tests); it takes effect at the next Restart.
func (t *Transmitter) setCarrierOffset(hz float64) {
	t.shaper = dsp.NewShaper(carrierHz+hz, baud, txBeta, txSpan)
	t.shaper.Carrier.SetFreq(carrierHz + hz)
}

// toSample rounds half away from zero and saturates (cheaper than math.Round per sample).
func toSample(v float64) int16 {
	if v >= 0 {
		v += 0.5
	} else {
		v -= 0.5
	}
	if v > 32767 {
		v = 32767
	} else if v < -32768 {
		v = -32768
	}
	return int16(v)
}

// advance moves to stage s after n symbols of the current one.
func (t *Transmitter) advance(n int, s txStage) {
	if t.count++; t.count >= n {
		t.count = 0
		t.stage = s
	}
}

// dibit scrambles two bits (first in the high position).
func (t *Transmitter) dibit(b1, b2 int) int {
	hi := t.scr.scramble(b1)
	return hi<<1 | t.scr.scramble(b2)
}

// nextSymbol returns the next symbol to shape.
func (t *Transmitter) nextSymbol() complex128 {
	switch t.stage {
	case txTEPCarrier:
		t.advance(tepCarrierSymbols, txTEPSilence)
		return pointA
	case txTEPSilence:
		t.advance(tepSilenceSymbols, txSeg1)
		return 0
	case txSeg1:
		z := abcd[t.count&1] // A on even counts, B on odd
		t.advance(seg1Symbols, txSeg2)
		return z
	case txSeg2:
		t.state = seg2Point[t.dibit(1, 1)]
		n := seg2LongSymbols
		next := txSeg3
		if t.short {
			n, next = seg2ShortSymbols, txSeg4
		}
		t.advance(n, next)
		if t.stage == txSeg4 {
			t.enc.reset(firstDiff(t.short))
		}
		return abcd[t.state]
	case txSeg3:
		shift := uint(t.count&7) * 2
		d := t.dibit(bridgeWord>>shift&1, bridgeWord>>(shift+1)&1)
		t.state = (t.state + bridgeStep[d]) & 3
		t.advance(seg3Symbols, txSeg4)
		if t.stage == txSeg4 {
			t.enc.reset(firstDiff(t.short))
		}
		return abcd[t.state]
	case txSeg4:
		t.advance(seg4Symbols, txData)
		return t.points[t.enc.encode(t.scrambledOnes())]
	case txData:
		q := 0
		for i := range t.bits {
			b := 1
			if t.src != nil {
				b = t.src.NextBit()
			}
			if b == EndOfData {
				// Pad the symbol with ones and start the turn-off sequence.
				for j := i; j < t.bits; j++ {
					q |= t.scr.scramble(1) << j
				}
				t.stage, t.count = txShutdownOnes, 0
				break
			}
			q |= t.scr.scramble(b&1) << i
		}
		return t.points[t.enc.encode(q)]
	case txShutdownOnes:
		t.advance(shutdownOnes, txShutdownSilence)
		return t.points[t.enc.encode(t.scrambledOnes())]
	case txShutdownSilence:
		t.advance(shutdownSilence, txDone)
		return 0
	}
	return 0
}

// scrambledOnes returns one symbol's worth of scrambled binary ones.
func (t *Transmitter) scrambledOnes() int {
	q := 0
	for i := range t.bits {
		q |= t.scr.scramble(1) << i
	}
	return q
}
