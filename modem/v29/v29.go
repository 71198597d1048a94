// Package v29 is the ITU-T V.29 modem at 7200 and 9600 bit/s as T.30 uses it for image data and TCF:
// 1700 Hz carrier, 2400 baud, 8-point (7200) or 16-point (9600) QAM with differential phase coding,
// scrambler 1 + x^-18 + x^-23, RRC pulse shaping (brief §3.4). The 4800 bit/s mode is not used by
// fax and not offered.
//
// Training (V.29 §2.6; brief §3.4): optional TEP (480 symbols of unmodulated carrier), segment 1
// 48 symbols of silence, segment 2 128 symbols alternating A/B, segment 3 384 symbols of C/D chosen
// by the 1 + x^-6 + x^-7 training scrambler (seed 0x2A), segment 4 48 symbols of scrambled ones.
// Points, phase steps and seeds are those spandsp's v29tx.c uses, so the two interoperate.
package v29

import (
	"errors"
	"fmt"
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

const (
	// CarrierHz and Baud are the V.29 carrier and symbol rate.
	CarrierHz = 1700.0
	Baud      = 2400
	// TxLevel is the transmit level in dBm0 (spandsp's fax default).
	TxLevel = -14.0
)

// ErrRate is returned for a bit rate V.29 fax does not use.
var ErrRate = errors.New("v29: bit rate must be 7200 or 9600")

// constellation is the 16-point map: index = amplitude bit << 3 | phase (multiples of 45°).
var constellation = [16]complex128{
	3, 1 + 1i, 3i, -1 + 1i, -3, -1 - 1i, -3i, 1 - 1i,
	5, 3 + 3i, 5i, -3 + 3i, -5, -3 - 3i, -5i, 3 - 3i,
}

// abab and cdcd are the training points per rate: [rate index][0/1].
var (
	abab  = [2][2]complex128{{3 - 3i, -3}, {1 - 1i, -3}} // 9600, 7200
	cdcd  = [2][2]complex128{{3, -3 + 3i}, {3, -1 + 1i}} // bit 0 -> C, bit 1 -> D
	cdPos = [2][2]int{{0, 11}, {0, 3}}                   // their constellation indices
)

// phaseStep maps three data bits (first bit most significant) to a phase change in 45° units
// (V.29 Table 1).
var phaseStep = [8]int{1, 0, 2, 3, 6, 7, 5, 4}

// Segment lengths in symbols.
const (
	segTEP     = 480
	segSilence = 48
	segABAB    = 128
	segCDCD    = 384
	segOnes    = 48
	segEnd     = 32 // shutdown: scrambled ones after the data
)

// BitSource supplies data bits; ok false ends the data.
type BitSource interface {
	Bit() (bit int, ok bool)
}

func rateIndex(rate int) (int, error) {
	switch rate {
	case 9600:
		return 0, nil
	case 7200:
		return 1, nil
	}
	return 0, fmt.Errorf("%w (got %d)", ErrRate, rate)
}

// meanPower is the average constellation power of each rate (training segments match it).
var meanPower = [2]float64{13.5, 5.5}

// trainingBits returns the n bits of the 1 + x^-6 + x^-7 training scrambler seeded 0x2A.
func trainingBit(reg *uint8) int {
	bit := int(*reg & 1)
	*reg >>= 1
	*reg |= uint8((bit^int(*reg))&1) << 6
	return bit
}

// Tx is a V.29 transmitter: training, then the bits of its source, then a short shutdown.
type Tx struct {
	out qam.Transmitter
	sym txSymbols
}

// txSymbols generates the V.29 training segments, data and shutdown; qam.Transmitter modulates them.
type txSymbols struct {
	ri       int
	rate     int
	src      BitSource
	scr      dsp.Scrambler
	trainReg uint8
	step     int // symbols sent
	tep      bool
	state    int // differential phase state
	dataEnd  int // symbol index where the shutdown began, -1 while data flows
}

// NewTx returns a transmitter at rate (7200 or 9600), with TEP if tep.
func NewTx(rate int, tep bool, src BitSource) (*Tx, error) {
	ri, err := rateIndex(rate)
	if err != nil {
		return nil, err
	}
	t := &Tx{sym: txSymbols{
		ri: ri, rate: rate, src: src, tep: tep,
		scr:      dsp.NewScrambler(18, 23),
		trainReg: 0x2A,
		dataEnd:  -1,
	}}
	t.out = qam.Transmitter{
		Shaper:  dsp.NewShaper(CarrierHz, Baud, 0.25, 12),
		Gain:    math.Sqrt(2 * dsp.DBm0Power(TxLevel) / meanPower[ri]),
		Symbols: &t.sym,
	}
	if !tep {
		t.sym.step = segTEP
	}
	return t, nil
}

// TrainingSymbols is the number of symbols before data (without TEP): 608, 253 ms.
const TrainingSymbols = segSilence + segABAB + segCDCD + segOnes

// Done reports whether the transmission, including shutdown, has ended.
func (t *Tx) Done() bool { return t.out.Done() }

// Read fills dst and returns the number of samples carrying signal; after the end the rest is
// silence.
func (t *Tx) Read(dst []int16) int { return t.out.Read(dst) }

func (t *txSymbols) bit() int {
	if t.dataEnd >= 0 {
		return t.scr.Scramble(1)
	}
	b, ok := t.src.Bit()
	if !ok {
		t.dataEnd = t.step
		b = 1
	}
	return t.scr.Scramble(b)
}

// Next returns the next V.29 symbol, or ok false when the transmission is over.
func (t *txSymbols) Next() (complex128, bool) {
	s := t.step
	t.step++
	switch {
	case s < segTEP:
		return constellation[0], true
	case s < segTEP+segSilence:
		return 0, true
	case s < segTEP+segSilence+segABAB:
		// spandsp's numbering makes the first symbol B: B, A, B, A, ... ending on A.
		k := s - segTEP - segSilence
		return abab[t.ri][1-k&1], true
	case s < segTEP+segSilence+segABAB+segCDCD:
		return cdcd[t.ri][trainingBit(&t.trainReg)], true
	}
	data := s - (segTEP + segSilence + segABAB + segCDCD)
	if data < segOnes {
		return t.dataSymbol(true), true
	}
	if t.dataEnd >= 0 && s >= t.dataEnd+segEnd {
		if s >= t.dataEnd+segEnd+6 {
			return 0, false
		}
		return 0, true // let the pulse-shaping filter ring out
	}
	return t.dataSymbol(false), true
}

func (t *txSymbols) dataSymbol(ones bool) complex128 {
	next := t.bit
	if ones {
		next = func() int { return t.scr.Scramble(1) }
	}
	amp := 0
	if t.rate == 9600 && next() == 1 {
		amp = 8
	}
	b := next()<<2 | next()<<1
	b |= next()
	t.state = (t.state + phaseStep[b]) & 7
	return constellation[amp|t.state]
}

// Rx is a V.29 receiver.
type Rx struct {
	*qam.Receiver
	scheme *scheme
}

// NewRx returns a receiver for rate (7200 or 9600).
func NewRx(rate int) (*Rx, error) {
	ri, err := rateIndex(rate)
	if err != nil {
		return nil, err
	}
	sc := &scheme{ri: ri, rate: rate, scr: dsp.NewScrambler(18, 23)}
	reg := uint8(0x2A)
	for i := range sc.train {
		sc.train[i] = cdcd[ri][trainingBit(&reg)]
	}
	for d, b := range phaseStep {
		sc.inv[b] = d
	}
	if rate == 9600 {
		sc.grid = buildGrid(16)
	} else {
		sc.grid = buildGrid(8)
	}
	cfg := qam.Config{
		CarrierHz:   CarrierHz,
		Baud:        Baud,
		SymbolPower: meanPower[ri],
		Acquire:     30,
		PatternMin:  12,
		PatternMax:  segABAB,
		OnDBm0:      -45.5, // brief §3.4: fax carrier-on threshold
		OffDBm0:     -50.5,
		TrainMSE:    0.1,
		TestMSE:     0.08,
		Training:    sc.train[:],
	}
	return &Rx{Receiver: qam.New(cfg, sc), scheme: sc}, nil
}

type scheme struct {
	ri, rate int
	train    [segCDCD]complex128
	inv      [8]int // phase change -> three bits
	grid     [gridN][gridN]uint8
	state    int
	scr      dsp.Scrambler
}

func (s *scheme) BeginData(complex128) {
	// The transmitter's differential state is 0 when data (segment 4) starts.
	s.state = 0
	s.scr.Reset()
}

func (s *scheme) TestSymbols() int { return segOnes }

// Slicer grid: the plane from -gridEdge to +gridEdge in both axes is cut into gridN² cells, each
// holding the index of the constellation point nearest its centre (the approach of spandsp's
// space_map_9600, computed here at start-up). Cells are 0.25 wide, so only points within an eighth of
// a unit of a decision boundary can be sliced differently from exact nearest-point search.
const (
	gridN    = 48
	gridEdge = 6.0
)

func buildGrid(n int) (g [gridN][gridN]uint8) {
	for i := range gridN {
		for j := range gridN {
			c := complex(-gridEdge+(float64(i)+0.5)*2*gridEdge/gridN, -gridEdge+(float64(j)+0.5)*2*gridEdge/gridN)
			best, bd := 0, math.Inf(1)
			for k := range n {
				if d := dsp.Abs2(c - constellation[k]); d < bd {
					best, bd = k, d
				}
			}
			g[i][j] = uint8(best)
		}
	}
	return g
}

func gridIndex(v float64) int {
	i := int((v + gridEdge) * (gridN / (2 * gridEdge)))
	return max(0, min(gridN-1, i))
}

func (s *scheme) Decide(z complex128, bits []byte) (complex128, []byte) {
	best := int(s.grid[gridIndex(real(z))][gridIndex(imag(z))])
	if s.rate == 9600 {
		bits = append(bits, byte(s.scr.Descramble(best>>3)))
	}
	b := s.inv[(best-s.state)&7]
	s.state = best & 7
	bits = append(bits,
		byte(s.scr.Descramble(b>>2)),
		byte(s.scr.Descramble(b>>1)),
		byte(s.scr.Descramble(b)))
	return constellation[best], bits
}
