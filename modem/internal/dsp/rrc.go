package dsp

import "math"

// RRC returns the root-raised-cosine impulse response with roll-off beta at time t, in symbol periods
// (unit energy per symbol; value 1-β+4β/π at t=0). The two removable singularities at t=0 and
// |t|=1/(4β) are handled explicitly.
func RRC(t, beta float64) float64 {
	if math.Abs(t) < 1e-9 {
		return 1 - beta + 4*beta/math.Pi
	}
	if beta > 0 && math.Abs(math.Abs(t)-1/(4*beta)) < 1e-9 {
		return beta / math.Sqrt2 * ((1+2/math.Pi)*math.Sin(math.Pi/(4*beta)) +
			(1-2/math.Pi)*math.Cos(math.Pi/(4*beta)))
	}
	num := math.Sin(math.Pi*t*(1-beta)) + 4*beta*t*math.Cos(math.Pi*t*(1+beta))
	den := math.Pi * t * (1 - 16*beta*beta*t*t)
	return num / den
}

// RaisedCosine returns the raised-cosine (RRC convolved with itself) response at t symbol periods,
// useful in tests as the ideal end-to-end pulse.
func RaisedCosine(t, beta float64) float64 {
	if math.Abs(t) < 1e-9 {
		return 1
	}
	if beta > 0 && math.Abs(math.Abs(t)-1/(2*beta)) < 1e-9 {
		return math.Pi / 4 * math.Sin(math.Pi/(2*beta)) / (math.Pi / (2 * beta))
	}
	return math.Sin(math.Pi*t) / (math.Pi * t) * math.Cos(math.Pi*beta*t) / (1 - 4*beta*beta*t*t)
}

// RRCTaps designs an n-tap RRC FIR for sps samples per symbol, centred on tap (n-1)/2 and windowed
// with a Hamming window to keep the truncated tails' sidelobes low. The taps are scaled so that the
// DC gain is 1.
func RRCTaps(n int, sps, beta float64) []float64 {
	h := make([]float64, n)
	c := float64(n-1) / 2
	var sum float64
	for i := range h {
		t := (float64(i) - c) / sps
		w := 0.54 + 0.46*math.Cos(math.Pi*(float64(i)-c)/(c+1))
		h[i] = RRC(t, beta) * w
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}
