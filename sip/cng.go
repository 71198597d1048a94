package sip

import "github.com/faxseal/faxseal/modem/tone"

// cngDetector adapts modem/tone's connect-tone detector to ToneDetector: it reports CNG only
// (CED/ANSam on an inbound call would be a modem answering, not a fax calling).
type cngDetector struct{ d *tone.Detector }

// NewCNGDetector returns the modem/tone calling-tone detector (declares CNG after ~420 ms of
// 1100 Hz, T.30 §4.1). Endpoints use it for t38.reinvite: cng unless Options.CNGDetector is set.
func NewCNGDetector() ToneDetector { return cngDetector{tone.NewDetector()} }

func (c cngDetector) Feed(samples []int16) bool {
	t, ok := c.d.Put(samples)
	return ok && t == tone.CNG
}
