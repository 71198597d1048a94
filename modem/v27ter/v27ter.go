// Package v27ter is the ITU-T V.27ter modem at 2400 and 4800 bit/s as T.30 uses it (the fallback
// rates every fax supports): 1800 Hz carrier, 8-phase DPSK at 1600 baud (4800 bit/s, three bits per
// symbol) or 4-phase DPSK at 1200 baud (2400 bit/s, two bits), scrambler 1 + x^-6 + x^-7 with its
// 33-bit pattern guard, RRC pulse shaping with roll-off 0.5 (brief §3.4).
//
// Training (V.27ter §2.6): optional segment 1 of unmodulated carrier (talker echo protection, 320
// symbols), segment 2 32 symbols of silence, segment 3 50 phase reversals, segment 4 1074 symbols of
// scrambled reversals (0° or 180° from every third scrambler output, all-ones input), segment 5 8
// symbols of scrambled ones. Seeds, phase tables and lengths are spandsp's v27ter_tx.c ones, so the
// two interoperate.
package v27ter

import (
	"errors"
	"fmt"
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

const (
	// CarrierHz is the V.27ter carrier.
	CarrierHz = 1800.0
	// TxLevel is the transmit level in dBm0 (spandsp's fax default).
	TxLevel = -14.0
)

// ErrRate is returned for a bit rate V.27ter does not have.
var ErrRate = errors.New("v27ter: bit rate must be 2400 or 4800")

// constellation holds the eight phases, 45° apart, on a circle of radius √2.
var constellation [8]complex128

func init() {
	for i := range constellation {
		a := float64(i) * math.Pi / 4
		constellation[i] = complex(math.Sqrt2*math.Cos(a), math.Sqrt2*math.Sin(a))
	}
}

// Phase changes in 45° units for each group of data bits, first bit most significant (V.27ter
// §2.4 Tables 1 and 2).
var (
	phaseStep4800 = [8]int{1, 0, 2, 3, 6, 7, 5, 4}
	phaseStep2400 = [4]int{0, 2, 6, 4}
)

const (
	segTEP        = 320
	segSilence    = 32
	segReversals  = 50
	segScrambled  = 1074
	segOnes       = 8
	segEnd        = 32
	scramblerSeed = 0x3C
	symbolPower   = 2.0
)

// Baud returns the symbol rate for a bit rate.
func Baud(rate int) int {
	if rate == 2400 {
		return 1200
	}
	return 1600
}

func checkRate(rate int) error {
	if rate != 2400 && rate != 4800 {
		return fmt.Errorf("%w (got %d)", ErrRate, rate)
	}
	return nil
}

// BitSource supplies data bits; ok false ends the data.
type BitSource interface {
	Bit() (bit int, ok bool)
}

// Tx is a V.27ter transmitter: the shared modulator (qam.Transmitter) fed by the V.27ter symbols.
type Tx struct {
	out qam.Transmitter
	sym txSymbols
}

// txSymbols generates the V.27ter training segments, data and shutdown.
type txSymbols struct {
	rate    int
	src     BitSource
	scr     dsp.Scrambler
	step    int
	state   int
	dataEnd int
}

// NewTx returns a transmitter at rate (2400 or 4800), with the segment 1 echo protection tone if
// tep.
func NewTx(rate int, tep bool, src BitSource) (*Tx, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	t := &Tx{sym: txSymbols{rate: rate, src: src, scr: dsp.NewV27Scrambler(), dataEnd: -1}}
	t.sym.scr.Reg = scramblerSeed
	if !tep {
		t.sym.step = segTEP
	}
	t.out = qam.Transmitter{
		Shaper:  dsp.NewShaper(CarrierHz, Baud(rate), 0.5, 10),
		Gain:    math.Sqrt(2 * dsp.DBm0Power(TxLevel) / symbolPower),
		Symbols: &t.sym,
	}
	return t, nil
}

// Done reports whether the transmission, including shutdown, has ended.
func (t *Tx) Done() bool { return t.out.Done() }

// Read fills dst and returns the number of samples carrying signal.
func (t *Tx) Read(dst []int16) int { return t.out.Read(dst) }

// Next returns the next V.27ter symbol, or ok false when the transmission is over.
func (t *txSymbols) Next() (complex128, bool) {
	s := t.step
	t.step++
	switch {
	case s < segTEP:
		return constellation[0], true
	case s < segTEP+segSilence:
		return 0, true
	case s < segTEP+segSilence+segReversals:
		t.state = (t.state + 4) & 7
		return constellation[t.state], true
	case s < segTEP+segSilence+segReversals+segScrambled:
		b := t.scr.Scramble(1) << 2
		t.scr.Scramble(1)
		t.scr.Scramble(1)
		t.state = (t.state + b) & 7
		return constellation[t.state], true
	}
	data := s - (segTEP + segSilence + segReversals + segScrambled)
	if t.dataEnd >= 0 && s >= t.dataEnd+segEnd {
		if s >= t.dataEnd+segEnd+5 {
			return 0, false
		}
		return 0, true // let the pulse-shaping filter ring out
	}
	ones := data < segOnes || t.dataEnd >= 0
	next := func() int {
		if ones {
			return t.scr.Scramble(1)
		}
		b, ok := t.src.Bit()
		if !ok {
			t.dataEnd, ones, b = s, true, 1
		}
		return t.scr.Scramble(b)
	}
	var d int
	if t.rate == 4800 {
		b := next() << 2
		b |= next() << 1
		b |= next()
		d = phaseStep4800[b]
	} else {
		b := next() << 1
		b |= next()
		d = phaseStep2400[b]
	}
	t.state = (t.state + d) & 7
	return constellation[t.state], true
}

// Rx is a V.27ter receiver.
type Rx struct {
	*qam.Receiver
}

// NewRx returns a receiver for rate (2400 or 4800).
func NewRx(rate int) (*Rx, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	sc := &scheme{rate: rate}
	// Regenerate segment 4 exactly as the transmitter does, from the state segment 3 leaves.
	scr := dsp.NewV27Scrambler()
	scr.Reg = scramblerSeed
	state := 0
	for i := range sc.train {
		b := scr.Scramble(1) << 2
		scr.Scramble(1)
		scr.Scramble(1)
		state = (state + b) & 7
		sc.train[i] = constellation[state]
	}
	sc.endState, sc.endScr = state, scr
	if rate == 4800 {
		for d, b := range phaseStep4800 {
			sc.inv[b] = d
		}
	} else {
		for d, b := range phaseStep2400 {
			sc.inv[b>>1] = d
		}
	}
	cfg := qam.Config{
		CarrierHz:   CarrierHz,
		Baud:        float64(Baud(rate)),
		SymbolPower: symbolPower,
		Acquire:     16,
		PatternMin:  10,
		PatternMax:  segReversals + 20,
		OnDBm0:      -45.5,
		OffDBm0:     -50.5,
		TrainMSE:    0.1,
		TestMSE:     0.1,
		Training:    sc.train[:],
	}
	if rate == 2400 {
		// Four phases are 90° apart: twice the error margin of eight-phase 4800.
		cfg.TrainMSE, cfg.TestMSE = 0.2, 0.2
	}
	return &Rx{Receiver: qam.New(cfg, sc)}, nil
}

type scheme struct {
	rate     int
	train    [segScrambled]complex128
	endState int
	endScr   dsp.Scrambler
	inv      [8]int
	state    int
	scr      dsp.Scrambler
}

func (s *scheme) BeginData(complex128) {
	// Continue exactly where the transmitter's segment 4 left its differential state and scrambler.
	s.state, s.scr = s.endState, s.endScr
}

func (s *scheme) TestSymbols() int { return segOnes }

func (s *scheme) Decide(z complex128, bits []byte) (complex128, []byte) {
	a := math.Atan2(imag(z), real(z))
	var idx int
	if s.rate == 4800 {
		idx = int(math.Round(a/(math.Pi/4))) & 7
		b := s.inv[(idx-s.state)&7]
		bits = append(bits, byte(s.scr.Descramble(b>>2)), byte(s.scr.Descramble(b>>1)), byte(s.scr.Descramble(b)))
	} else {
		idx = (int(math.Round(a/(math.Pi/2))) * 2) & 7
		b := s.inv[((idx-s.state)&7)>>1]
		bits = append(bits, byte(s.scr.Descramble(b>>1)), byte(s.scr.Descramble(b)))
	}
	s.state = idx
	return constellation[idx], bits
}
