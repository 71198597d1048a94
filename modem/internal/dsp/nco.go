package dsp

import "math"

// sineBits sets the NCO table size. 4096 entries give a worst-case phase error of π/4096, spurs near
// -66 dBc: far below the noise any fax modem copes with.
const (
	sineBits = 12
	sineSize = 1 << sineBits
)

// sineTable holds one cycle of sin. It is filled once by init and only read afterwards.
var sineTable [sineSize]float64

func init() {
	for i := range sineTable {
		sineTable[i] = math.Sin(2 * math.Pi * float64(i) / sineSize)
	}
}

// PhaseStep converts a frequency in Hz into a 32-bit phase increment per 8 kHz sample.
func PhaseStep(hz float64) int32 {
	return int32(int64(math.Round(hz / SampleRate * (1 << 32))))
}

// RadiansToPhase converts radians into 32-bit phase units (2π = 2^32).
func RadiansToPhase(rad float64) int32 {
	// Truncation instead of rounding: the error is below 1.5e-9 rad, and this runs per symbol.
	return int32(int64(rad * ((1 << 32) / (2 * math.Pi))))
}

// PhaseToRadians converts 32-bit phase units into radians in [-π, π).
func PhaseToRadians(p uint32) float64 {
	return float64(int32(p)) * (2 * math.Pi / (1 << 32))
}

// Sin returns sin of a 32-bit phase.
func Sin(p uint32) float64 { return sineTable[p>>(32-sineBits)] }

// Cos returns cos of a 32-bit phase.
func Cos(p uint32) float64 { return sineTable[(p+(1<<30))>>(32-sineBits)] }

// Expj returns e^{jθ} for a 32-bit phase θ.
func Expj(p uint32) complex128 { return complex(Cos(p), Sin(p)) }

// NCO is a numerically controlled oscillator (direct digital synthesiser) with a 32-bit phase
// accumulator, so frequency and phase can be nudged exactly by the carrier-recovery loop and advanced
// over lost packets without drift.
type NCO struct {
	Phase uint32 // current phase, 2π = 2^32
	Step  int32  // phase increment per sample
}

// NewNCO returns an oscillator at hz.
func NewNCO(hz float64) NCO { return NCO{Step: PhaseStep(hz)} }

// SetFreq sets the frequency in Hz.
func (n *NCO) SetFreq(hz float64) { n.Step = PhaseStep(hz) }

// Freq returns the frequency in Hz.
func (n *NCO) Freq() float64 { return float64(n.Step) * SampleRate / (1 << 32) }

// Next returns e^{jθ} at the current phase and then advances one sample.
func (n *NCO) Next() complex128 {
	z := Expj(n.Phase)
	n.Phase += uint32(n.Step)
	return z
}

// NextReal returns cos θ at the current phase and advances one sample.
func (n *NCO) NextReal() float64 {
	c := Cos(n.Phase)
	n.Phase += uint32(n.Step)
	return c
}

// Current returns e^{jθ} without advancing.
func (n *NCO) Current() complex128 { return Expj(n.Phase) }

// Advance moves the phase forward by samples steps (fill-in for lost audio).
func (n *NCO) Advance(samples int) { n.Phase += uint32(n.Step) * uint32(samples) }

// Rotate shifts the phase by rad radians.
func (n *NCO) Rotate(rad float64) { n.Phase += uint32(RadiansToPhase(rad)) }

// AdjustFreq shifts the frequency by hz.
func (n *NCO) AdjustFreq(hz float64) { n.Step += PhaseStep(hz) }
