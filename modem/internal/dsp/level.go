package dsp

import "math"

// dBm0FullScaleSine is the level of a full-scale (±32767) sine: G.711 places the overload point
// 3.14 dB above the 0 dBm0 reference.
const dBm0FullScaleSine = 3.14

// fullScale is the peak amplitude of a full-scale sample.
const fullScale = 32767.0

// SineAmplitude returns the peak amplitude, on the int16 scale, of a sine at level dbm0.
func SineAmplitude(dbm0 float64) float64 {
	return fullScale * math.Pow(10, (dbm0-dBm0FullScaleSine)/20)
}

// PowerDBm0 converts a mean-square power on the int16 scale to dBm0 (a sine of peak A has mean square
// A²/2). Zero power returns -200.
func PowerDBm0(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return -200
	}
	return 10*math.Log10(meanSquare/(fullScale*fullScale/2)) + dBm0FullScaleSine
}

// DBm0Power is the inverse of PowerDBm0: the mean-square power of a signal at level dbm0.
func DBm0Power(dbm0 float64) float64 {
	return fullScale * fullScale / 2 * math.Pow(10, (dbm0-dBm0FullScaleSine)/10)
}

// PowerMeter is a single-pole running mean-square estimate. The zero value is not usable; use
// NewPowerMeter.
type PowerMeter struct {
	alpha float64
	power float64
}

// NewPowerMeter returns a meter whose averaging time constant is about 2^shift samples (spandsp uses
// shift 4..6 for carrier detection: 2 ms .. 8 ms at 8 kHz).
func NewPowerMeter(shift uint) PowerMeter {
	return PowerMeter{alpha: 1 / float64(uint(1)<<shift)}
}

// Put feeds one sample and returns the updated mean-square power.
func (m *PowerMeter) Put(x float64) float64 {
	m.power += (x*x - m.power) * m.alpha
	return m.power
}

// Power returns the current mean-square estimate.
func (m *PowerMeter) Power() float64 { return m.power }

// DBm0 returns the current level in dBm0.
func (m *PowerMeter) DBm0() float64 { return PowerDBm0(m.power) }

// Reset clears the estimate.
func (m *PowerMeter) Reset() { m.power = 0 }

// DCBlock is a one-pole DC-removal high-pass filter, y = x - x[-1] + a·y[-1], used ahead of carrier
// detection so a line offset does not read as carrier (spandsp uses the same idea).
type DCBlock struct {
	x1, y1 float64
}

// Put filters one sample.
func (d *DCBlock) Put(x float64) float64 {
	y := x - d.x1 + 0.995*d.y1
	d.x1, d.y1 = x, y
	return y
}

// CarrierDetect is a carrier on/off detector with hysteresis on a DC-blocked power meter (brief
// §3.5 item 1). Besides the absolute thresholds it is relative to the line: it switches on only 6 dB
// above the noise floor it measured while off, and off once the power falls 10 dB below the level the
// carrier had, so a noisy line (a floor above the absolute thresholds) still gives clean
// CARRIER_UP/DOWN edges around each transmission.
type CarrierDetect struct {
	dc      DCBlock
	meter   PowerMeter
	onPow   float64
	offPow  float64
	present bool
	level   float64 // while on: the carrier's level (peak hold, slow decay)
	floor   float64 // while off: the noise floor (slow average)
}

// NewCarrierDetect returns a detector switching on above onDBm0 and off below offDBm0 (off < on), with
// a meter time constant of 2^shift samples.
func NewCarrierDetect(onDBm0, offDBm0 float64, shift uint) CarrierDetect {
	return CarrierDetect{meter: NewPowerMeter(shift), onPow: DBm0Power(onDBm0), offPow: DBm0Power(offDBm0)}
}

// Put feeds one sample and returns whether carrier is present and whether the state changed.
func (c *CarrierDetect) Put(x float64) (present, changed bool) {
	p := c.meter.Put(c.dc.Put(x))
	if c.present {
		c.level = max(p, c.level*(1-1.0/4096))
		if p < c.offPow || p < c.level/10 {
			c.present = false
			c.floor = p
			return false, true
		}
	} else {
		c.floor += (p - c.floor) / 512
		if p > c.onPow && p > 4*c.floor {
			c.present = true
			c.level = p
			return true, true
		}
	}
	return c.present, false
}

// Present reports the current state.
func (c *CarrierDetect) Present() bool { return c.present }

// Power returns the metered mean-square power.
func (c *CarrierDetect) Power() float64 { return c.meter.Power() }

// Reset returns to "no carrier".
func (c *CarrierDetect) Reset() {
	c.dc = DCBlock{}
	c.meter.Reset()
	c.present = false
	c.level, c.floor = 0, 0
}
