package qam

import (
	"math"

	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// Symbols is a modem's transmit symbol sequence: its training segments, then differentially coded,
// scrambled data, then its shutdown.
type Symbols interface {
	// Next returns the next symbol, or ok false once the transmission (shutdown included) is over.
	Next() (sym complex128, ok bool)
}

// Transmitter is the transmit side V.27ter and V.29 share (brief §3.4): at each symbol instant it
// takes the modem's next symbol, RRC pulse-shapes and modulates it onto the carrier, scales it to the
// transmit level and rounds it to 16-bit PCM. What the symbols are stays with the modem.
type Transmitter struct {
	Shaper  *dsp.Shaper
	Gain    float64 // PCM units per constellation unit
	Symbols Symbols
	done    bool
}

// Done reports whether the transmission, including shutdown, has ended.
func (t *Transmitter) Done() bool { return t.done }

// Read fills dst and returns the number of samples carrying signal; after the end the rest is
// silence.
func (t *Transmitter) Read(dst []int16) int {
	n := 0
	for i := range dst {
		if t.done {
			dst[i] = 0
			continue
		}
		if t.Shaper.Step() {
			sym, ok := t.Symbols.Next()
			if !ok {
				t.done = true
				dst[i] = 0
				continue
			}
			t.Shaper.Push(sym)
		}
		v := t.Shaper.Sample() * t.Gain
		dst[i] = int16(math.Round(math.Max(-32768, math.Min(32767, v))))
		n++
	}
	return n
}
