// Package v17 is the ITU-T V.17 fax modem: 7200, 9600, 12000 and 14400 bit/s, trellis coded QAM at
// 2400 baud on an 1800 Hz carrier, with the long (≈1393 ms) and short (≈142 ms) training sequences and
// the optional talker echo protection tone (TEP).
//
// The Transmitter turns data bits into 8 kHz linear samples: scrambler, differential and trellis
// encoding (trellis.go), the signal constellations (constellation.go), the training sequences
// (training.go) and root-raised-cosine shaping (β = 0.25) onto the carrier.
//
// The Receiver does the reverse on 8 kHz samples, one 20 ms block at a time: carrier detection with
// hysteresis, a pass-band RRC front end with fractional timing, AGC fixed during training, Gardner
// symbol timing, a T/2 adaptive equaliser trained on the known training symbols then decision
// directed, a decision-directed carrier loop, an 8-state Viterbi decoder, differential decoding and
// descrambling. FillIn keeps carrier phase, symbol clock and training position running over lost
// packets. The structure follows the receiver design the fax brief describes for spandsp (§3.5); the
// code and tables are FaxSeal's own, derived from the recommendation.
//
// Tier 0: standard library (and modem/internal/dsp) only; no goroutines, clocks or allocation per
// block.
package v17

import "fmt"

// Rate is a V.17 data signalling rate in bit/s. The zero value is invalid.
type Rate int

// The four V.17 rates (V.17 introduction).
const (
	Rate7200  Rate = 7200
	Rate9600  Rate = 9600
	Rate12000 Rate = 12000
	Rate14400 Rate = 14400
)

func (r Rate) String() string {
	if r.Valid() {
		return fmt.Sprintf("%d bit/s", int(r))
	}
	return fmt.Sprintf("v17.Rate(%d)", int(r))
}

// Valid reports whether r is one of the four V.17 rates.
func (r Rate) Valid() bool {
	switch r {
	case Rate7200, Rate9600, Rate12000, Rate14400:
		return true
	}
	return false
}

// bitsPerSymbol returns the data bits carried by one symbol (the trellis adds one more).
func (r Rate) bitsPerSymbol() int { return int(r) / 2400 }

// minDistance2 returns the squared minimum distance between points of the rate's constellation.
func (r Rate) minDistance2() float64 {
	switch r {
	case Rate14400:
		return 2
	case Rate12000:
		return 4
	case Rate9600:
		return 8
	}
	return 16
}

// ErrRate is returned for a rate V.17 does not define.
var ErrRate = fmt.Errorf("v17: unsupported rate")

// points returns the constellation for rate r, indexed by label.
func (r Rate) points() []complex128 {
	switch r {
	case Rate14400:
		return constellation14400
	case Rate12000:
		return constellation12000
	case Rate9600:
		return constellation9600
	default:
		return constellation7200
	}
}

// The full constellations, built once from the quarter diagrams and only read afterwards.
var (
	constellation14400 = buildConstellation(quarter14400[:])
	constellation12000 = buildConstellation(quarter12000[:])
	constellation9600  = buildConstellation(quarter9600[:])
	constellation7200  = buildConstellation(quarter7200[:])
)

// BitSource supplies the data bits to transmit, first bit first. NextBit returns 0 or 1, or
// EndOfData once the data is finished; the transmitter then sends the V.17 turn-off sequence.
type BitSource interface {
	NextBit() int
}

// EndOfData is what a BitSource returns when it has no more bits.
const EndOfData = -1

// Status is a receiver event. The zero value is invalid.
type Status int

// Receiver events, in the order a good reception produces them.
const (
	StatusCarrierUp         Status = iota + 1 // signal power rose above the carrier-on threshold
	StatusTraining                            // the training sequence was recognised
	StatusTrainingSucceeded                   // equaliser trained; data bits follow
	StatusTrainingFailed                      // training did not converge; parked until carrier drops
	StatusCarrierDown                         // signal power fell below the carrier-off threshold
)

func (s Status) String() string {
	switch s {
	case StatusCarrierUp:
		return "carrier up"
	case StatusTraining:
		return "training"
	case StatusTrainingSucceeded:
		return "training succeeded"
	case StatusTrainingFailed:
		return "training failed"
	case StatusCarrierDown:
		return "carrier down"
	}
	return fmt.Sprintf("v17.Status(%d)", int(s))
}

// Sink receives the demodulated data bits and the receiver's status events.
type Sink interface {
	PutBit(bit int)
	ModemStatus(s Status)
}
