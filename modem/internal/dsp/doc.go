// Package dsp holds the signal-processing primitives shared by FaxSeal's fax modems (V.21, V.27ter,
// V.29, V.17) and tone detectors: dBm0 levels and a power meter, a table-driven NCO, root-raised-cosine
// design, FIR filters, a transmit pulse shaper/modulator, a receive front end that turns pass-band
// samples into T/2-spaced complex baseband samples under symbol-timing control, a Gardner timing error
// detector, a PI carrier-recovery loop, an AGC, a T/2 fractionally spaced LMS equaliser, the modem
// scramblers and a Goertzel filter.
//
// Conventions, used by every modem package:
//   - The sample rate is 8000 Hz (ITU-T G.711); audio blocks are normally 160 samples (20 ms).
//   - Samples are float64 on the int16 scale (full scale ±32767), so a level in dBm0 maps to an
//     amplitude the same way as in G.711: a full-scale sine is +3.14 dBm0 (ITU-T G.711 §1, the
//     "digital milliwatt" is 3.14 dB below the overload point).
//   - Every type is a plain value with no goroutines and no allocation after construction: the hot
//     methods (per sample, per symbol) never allocate.
//
// A receiver is wired as: Baseband.Put per sample -> AGC.Put per T/2 output -> Equalizer.Put; on
// every second output compute Gardner.Error(mid, onTime) -> PI -> Baseband.AdjustTiming(-correction),
// then Equalizer.Output -> slicer -> Equalizer.Adapt(decision-output) and
// CarrierLoop.Update(&Baseband.Carrier, PhaseError(output, decision)). loopback in dsp_test.go is
// that loop with gains that converge (QPSK, 2400 Bd, ±7 Hz carrier offset, arbitrary timing).
//
// The structure follows the classic receiver layout described for spandsp (pass-band RRC in a polyphase
// bank, then mixing to baseband; Gardner/band-edge timing; decision-directed carrier loop; LMS
// equaliser) but the code is FaxSeal's own.
package dsp

// SampleRate is the audio sample rate every modem runs at, in Hz.
const SampleRate = 8000
