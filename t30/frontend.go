// Package t30 is the T.30 fax procedure engine (ITU-T T.30, with the error
// correction mode of T.30 Annex A / T.4 Annex A): phases A-E for the sending
// and the receiving terminal, on the calling or the answering side.
//
// The engine is a pure state machine. It owns no goroutines, reads no clock
// and opens no sockets: the caller feeds it events stamped with a virtual time
// and it answers by driving a FrontEnd (the modem-level transport) and by
// reporting progress. The same engine therefore runs over T.38 (package t38)
// and over G.711 audio (package modem) without change, and runs in tests far
// faster than real time.
//
// # The front-end contract
//
// The split follows spandsp's proven one (t30.c set_rx_type / set_tx_type /
// send_hdlc and t30_front_end_status / t30_hdlc_accept), restated in Go:
//
//   - t30 -> transport: FrontEnd.Receive selects what the receiver listens for
//     (V.21 HDLC, a fast modem carrying ECM HDLC frames, or a fast modem
//     carrying non-ECM bytes, or nothing); FrontEnd.Transmit queues one
//     transmission (silence, CNG, CED, a burst of HDLC frames, or training
//     followed by image/TCF bytes).
//   - transport -> t30: Session.Handle(now, Event) reports what happened:
//     carrier up/down, training succeeded/failed, an HDLC frame with its FCS
//     verdict, received non-ECM bytes, a detected tone, or that a queued
//     transmission has completely left the line (EventTxDone).
//   - time: every Session method takes now, the time elapsed since the session
//     started (a monotonic virtual clock owned by the caller). Session.Deadline
//     reports when the engine next needs to be woken if no event arrives;
//     the caller then calls Session.Advance(now). Calling Advance early or
//     often is harmless.
//
// The Session API the transport and the gateway use (session.go):
//
//	s, err := t30.NewSession(cfg)         // cfg.FrontEnd, role, ident, Source or Sink
//	s.Start(now)                          // phase A: CNG or CED, first receive mode
//	s.Handle(now, ev)                     // every transport Event
//	at, ok := s.Deadline()                // next timer, if any
//	s.Advance(now)                        // fire timers due by now
//	s.Done(); s.Result()                  // phase E reached; the outcome
//	s.Cancel(now)                         // local abort: DCN, then done
//	s.Hangup(now)                         // the call is gone (BYE): done at once
//
// A T.38 transport in localTCF mode (T.38 §8.1, brief §1.7) reports
// EventTrained then EventCarrierDown with no EventData for TCF; the session
// accepts that as a good TCF when Config.LocalTCF is set.
//
// Outcome: Result.Code is one of a small documented taxonomy (see Code)
// with a human Message; Config.OnPage reports each page; Session.Trace is the
// frame-by-frame diagnostic log.
//
// Switching transport mid-call (a T.38 re-INVITE while phase B runs on
// G.711, brief §6.3 SW-1): T.30 restarts, so stop feeding the old Session
// and start a new one, same role and calling side, on the new FrontEnd.
//
// Calls must not nest: a FrontEnd must not call back into the Session from
// inside Receive or Transmit. It records the request and reports the outcome
// through a later Session.Handle call (the natural shape for both a T.38
// packet pacer and a 20 ms audio tick).
//
// # Octet and bit order
//
// Every octet crossing this interface is in the LSB-first convention used by
// spandsp (fax-protocols brief §0): bit 0 of an octet is the first bit on the
// line. So an HDLC frame starts 0xFF (address), then 0x03 (control, not
// final) or 0x13 (control, final), then the FCF, where DIS is 0x80, DCS is
// 0x82 (0x83 with the X bit) and MCF is 0x8C. Non-ECM image bytes and TCF
// bytes are the T.4 bit stream in the same order (first bit on the line =
// bit 0, TIFF FillOrder 2). The T.38 transport bit-reverses every data octet
// at its boundary (T.38 carries MSB-first); the audio transport needs no
// conversion because it serialises bit 0 first.
//
// HDLC frames crossing the interface never include the FCS: the transport
// appends it on transmit (CRC-16/X.25, T.30 §5.3.7) and checks and strips it
// on receive, reporting the verdict in Event.FCSOK. Flags, zero-bit stuffing
// and preambles are the transport's job too.
package t30

import (
	"fmt"
	"time"
)

// Modulation is a modem type named by its ITU-T recommendation. The bit rate
// is carried beside it (RxMode.BitRate, Tx.BitRate).
type Modulation uint8

const (
	// V21 is V.21 channel 2, 300 bit/s FSK, used for all T.30 control frames
	// (T.30 §5.1).
	V21 Modulation = iota + 1
	// V27ter carries 2400 or 4800 bit/s (T.30 §5.2, V.27ter).
	V27ter
	// V29 carries 7200 or 9600 bit/s.
	V29
	// V17 carries 7200, 9600, 12000 or 14400 bit/s, with long or short
	// training.
	V17
)

// String returns the recommendation name, e.g. "V.17".
func (m Modulation) String() string {
	switch m {
	case V21:
		return "V.21"
	case V27ter:
		return "V.27ter"
	case V29:
		return "V.29"
	case V17:
		return "V.17"
	}
	return fmt.Sprintf("Modulation(%d)", uint8(m))
}

// ValidRate reports whether bitRate is one the modulation carries in
// facsimile use (T.30 Table 2, DCS bits 11-14; V.21 is always 300).
func (m Modulation) ValidRate(bitRate int) bool {
	switch m {
	case V21:
		return bitRate == 300
	case V27ter:
		return bitRate == 2400 || bitRate == 4800
	case V29:
		return bitRate == 7200 || bitRate == 9600
	case V17:
		return bitRate == 7200 || bitRate == 9600 || bitRate == 12000 || bitRate == 14400
	}
	return false
}

// RxKind says what the receiver listens for.
type RxKind uint8

const (
	// RxOff: the receiver reports nothing but tones and carrier changes it
	// cannot help seeing. Used while the engine is idle or finished.
	RxOff RxKind = iota + 1
	// RxV21: V.21 channel 2 HDLC control frames (phases B and D).
	RxV21
	// RxHDLC: a fast modem (Modulation, BitRate, ShortTrain) carrying HDLC
	// frames: the ECM phase C (T.4 Annex A), FCD and RCP frames.
	RxHDLC
	// RxData: a fast modem carrying a non-ECM bit stream: TCF after DCS, or
	// a non-ECM T.4 page. Bytes are reported with EventData.
	RxData
)

// String returns a short name such as "V.21 HDLC".
func (k RxKind) String() string {
	switch k {
	case RxOff:
		return "off"
	case RxV21:
		return "V.21 HDLC"
	case RxHDLC:
		return "fast HDLC"
	case RxData:
		return "fast data"
	}
	return fmt.Sprintf("RxKind(%d)", uint8(k))
}

// RxMode is a receive request (spandsp set_rx_type).
//
// For RxHDLC and RxData the transport must keep a V.21 HDLC receiver running
// in parallel until the fast modem has trained (fax-protocols brief §3.3,
// spandsp fax_modems_v17_v21_rx): a peer that missed our CFR repeats DCS on
// V.21 instead of sending the page, and the engine must see that frame. Over
// T.38 this is automatic: V.21 and fast data arrive as different IFP types.
type RxMode struct {
	Kind RxKind
	// Modulation and BitRate name the fast modem for RxHDLC and RxData; they
	// are V21/300 for RxV21 and ignored for RxOff.
	Modulation Modulation
	BitRate    int
	// ShortTrain: expect V.17 short training (only ever for image data after
	// a long-trained TCF at the same rate; T.30 §5.2, brief §3.4).
	ShortTrain bool
}

// String describes the mode, e.g. "fast data V.17 14400 short".
func (m RxMode) String() string {
	switch m.Kind {
	case RxHDLC, RxData:
		s := fmt.Sprintf("%v %v %d", m.Kind, m.Modulation, m.BitRate)
		if m.ShortTrain {
			s += " short"
		}
		return s
	}
	return m.Kind.String()
}

// TxKind is the kind of one queued transmission.
type TxKind uint8

const (
	// TxSilence: Tx.Duration of silence (T.30 §5.3.2.4: 75 ± 20 ms between
	// signals). Over T.38 the transport sends no-signal as needed and simply
	// waits.
	TxSilence TxKind = iota + 1
	// TxCNG: the calling tone, 1100 Hz 0.5 s on / 3 s off (T.30 §4.1), for
	// Tx.Duration, or until the next Transmit call if Duration is 0. Over
	// T.38: the cng indicator, repeated.
	TxCNG
	// TxCED: the called station answer tone, 2100 Hz for Tx.Duration
	// (2.6-4.0 s, T.30 §4.2), preceded by the transport's own >= 0.2 s of
	// silence if it needs it. Over T.38: the ced indicator, then waiting.
	TxCED
	// TxHDLC: a burst of HDLC frames on one carrier. Modulation V21 for
	// control frames; a fast modem for ECM phase C. The transport sends the
	// preamble (1 s of flags on V.21; training plus >= 200 ms of flags on a
	// fast modem), each frame of Tx.Frames with its FCS, and closing flags,
	// then drops the carrier. The burst ends after the last frame: over T.38
	// that frame carries hdlc-fcs-OK-sig-end. The engine sets the final bit
	// (control 0x13) on the last frame of a T.30 command or response itself;
	// the transport need not look at it.
	TxHDLC
	// TxData: fast-modem training followed by the non-ECM bit stream Tx.Data
	// (a T.4 page including RTC and fill, or TCF zeros) at line rate, then
	// carrier off. Over T.38: the vXX-training indicator, t4-non-ecm-data
	// paced at BitRate, t4-non-ecm-sig-end.
	TxData
)

// String returns a short name.
func (k TxKind) String() string {
	switch k {
	case TxSilence:
		return "silence"
	case TxCNG:
		return "CNG"
	case TxCED:
		return "CED"
	case TxHDLC:
		return "HDLC"
	case TxData:
		return "data"
	}
	return fmt.Sprintf("TxKind(%d)", uint8(k))
}

// Tx is one queued transmission (spandsp set_tx_type plus send_hdlc or the
// non-ECM byte source). Transmissions are sent in the order queued, back to
// back; the transport reports one EventTxDone per Tx when its last bit has
// left the line (T.38: after the final packet and its pacing), which is when
// the engine starts its response timers.
//
// The engine never changes Frames or Data after queueing them, and the
// transport must not change them either; both may be retained until the
// corresponding EventTxDone.
type Tx struct {
	Kind TxKind
	// Duration applies to TxSilence, TxCNG (0 = until the next Transmit) and
	// TxCED.
	Duration time.Duration
	// Modulation and BitRate apply to TxHDLC (V21/300 or a fast modem) and
	// TxData (a fast modem).
	Modulation Modulation
	BitRate    int
	// ShortTrain selects V.17 short training. The engine always asks for long
	// training for TCF, for the first transmission after FTT and after
	// CTC/CTR (T.30 §5.2; spandsp issue #54).
	ShortTrain bool
	// Frames are the HDLC frames of a TxHDLC burst, without FCS.
	Frames [][]byte
	// Data is the bit stream of a TxData transmission.
	Data []byte
	// TCF marks TxData that is the training check (T.30 §5.3.2.2, 1.5 s of
	// zeros). A T.38 transport using localTCF (T.38 §8.1) may send only the
	// training indicator; all others send Data like any other bytes.
	TCF bool
}

// Tone is a call-establishment tone detected by the transport.
type Tone uint8

const (
	// ToneCNG is the calling tone (1100 Hz).
	ToneCNG Tone = iota + 1
	// ToneCED is the answer tone (2100 Hz, also ANSam).
	ToneCED
)

// String returns "CNG" or "CED".
func (t Tone) String() string {
	switch t {
	case ToneCNG:
		return "CNG"
	case ToneCED:
		return "CED"
	}
	return fmt.Sprintf("Tone(%d)", uint8(t))
}

// EventKind is the kind of a transport report.
type EventKind uint8

const (
	// EventCarrierUp: the receiver sees a carrier (Event.Modulation). For V.21
	// this is flag detection (spandsp "framing OK"); the engine uses it to
	// extend its T2/T4 waits while a frame is still arriving (T.30 §5.4.3.1).
	// Optional: a transport that cannot tell may omit it.
	EventCarrierUp EventKind = iota + 1
	// EventCarrierDown: the carrier currently received has ended (audio:
	// carrier loss; T.38: any *-sig-end or a no-signal indicator, or the 15 s
	// mid-receive backstop). This is the end of TCF, of a non-ECM page and
	// of an ECM burst.
	EventCarrierDown
	// EventTrained: the fast-modem receiver trained (T.38: the matching
	// training indicator arrived). Event.Modulation and Event.BitRate say
	// at what.
	EventTrained
	// EventTrainingFailed: a fast carrier was seen but training failed.
	EventTrainingFailed
	// EventHDLC: one HDLC frame without its FCS in Event.Frame, with
	// Event.FCSOK. A frame with missing pieces (T.38 packet loss) is reported
	// with FCSOK false. Event.Modulation says on which carrier (V21 or the
	// fast modem).
	EventHDLC
	// EventData: received non-ECM bytes (TCF or image) in Event.Data.
	EventData
	// EventTxDone: the oldest queued Tx has completely been sent.
	EventTxDone
	// EventTone: Event.Tone was detected. Optional and informational.
	EventTone
)

// String returns a short name.
func (k EventKind) String() string {
	switch k {
	case EventCarrierUp:
		return "carrier up"
	case EventCarrierDown:
		return "carrier down"
	case EventTrained:
		return "trained"
	case EventTrainingFailed:
		return "training failed"
	case EventHDLC:
		return "HDLC frame"
	case EventData:
		return "data"
	case EventTxDone:
		return "tx done"
	case EventTone:
		return "tone"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a report from the transport to Session.Handle. Frame and Data
// are only read during the Handle call; the transport may reuse them after it
// returns.
//
// Modulation must be set on carrier, training and HDLC events: the session
// tells the end of a V.21 burst (ignored while it waits for TCF or a page)
// from the end of the fast carrier by it. Zero is read as "the fast modem".
type Event struct {
	Kind       EventKind
	Modulation Modulation
	BitRate    int
	Frame      []byte
	FCSOK      bool
	Data       []byte
	Tone       Tone
}

// FrontEnd is the modem-level transport a Session drives: the T.38 terminal
// transport (package t38) or the G.711 audio modems (package modem). Neither
// method may call back into the Session (see the package comment).
type FrontEnd interface {
	// Receive switches the receiver to mode, immediately. It is independent
	// of transmission: the engine listens for V.21 while CNG plays, for
	// example. A half-duplex audio transport should suppress what it
	// receives while it is itself modulating (echo of our own signal); the
	// engine also ignores echoes of its own frames (brief §2.6).
	Receive(mode RxMode)
	// Transmit queues tx after any transmissions still in progress.
	Transmit(tx Tx)
}

// Compression is the coding scheme of page data (T.4 §4, T.6).
type Compression uint8

const (
	// MH is T.4 one-dimensional Modified Huffman.
	MH Compression = iota + 1
	// MR is T.4 two-dimensional Modified READ (K = 2 standard, 4 fine).
	MR
	// MMR is T.6 Modified Modified READ; T.30 requires ECM with it.
	MMR
)

// String returns "MH", "MR" or "MMR".
func (c Compression) String() string {
	switch c {
	case MH:
		return "MH"
	case MR:
		return "MR"
	case MMR:
		return "MMR"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// Resolution is the vertical/horizontal resolution of a page (T.30 Table 2
// bits 15, 41-43; T.4 §2.2).
type Resolution uint8

const (
	// Standard is R8 × 3.85 lines/mm.
	Standard Resolution = iota + 1
	// Fine is R8 × 7.7 lines/mm.
	Fine
	// Superfine is R8 × 15.4 lines/mm.
	Superfine
)

// String returns "standard", "fine" or "superfine".
func (r Resolution) String() string {
	switch r {
	case Standard:
		return "standard"
	case Fine:
		return "fine"
	case Superfine:
		return "superfine"
	}
	return fmt.Sprintf("Resolution(%d)", uint8(r))
}

// Page widths in pixels at R8 (T.4 §2.2, T.30 Table 2 bits 17-18).
const (
	WidthA4 = 1728
	WidthB4 = 2048
	WidthA3 = 2432
)

// Format is how the pages of this call are encoded, as agreed in DCS.
type Format struct {
	Compression Compression
	Resolution  Resolution
	// Width in pixels: WidthA4, WidthB4 or WidthA3.
	Width int
	// MinRowBits is the minimum number of bits per coded row, fill included
	// (T.4 §4.1.3: bit rate × minimum scan line time). Zero in ECM (T.30
	// Annex A: the minimum scan line time does not apply) and for MMR.
	MinRowBits int
	// ECM reports whether the page travels in ECM frames.
	ECM bool
}

// String describes the format, e.g. "MMR fine 1728 ECM".
func (f Format) String() string {
	s := fmt.Sprintf("%v %v %d", f.Compression, f.Resolution, f.Width)
	if f.ECM {
		s += " ECM"
	} else if f.MinRowBits > 0 {
		s += fmt.Sprintf(" min %d bits/row", f.MinRowBits)
	}
	return s
}

// Source supplies the pages a sending session transmits. The gateway binds
// it to the g3 encoder; t30 treats the bytes as opaque.
type Source interface {
	// Pages returns the number of pages in the document (at least 1).
	Pages() int
	// Prepared returns the width and resolution the document was prepared
	// at. The engine chooses the closest format the receiver accepts
	// (T.30 §5.3.6.1: DCS must be a subset of DIS) and asks Encode for it.
	Prepared() (width int, res Resolution)
	// Encode returns page n (0-based) coded in format f, LSB-first: the
	// complete T.4/T.6 bit stream including fill to f.MinRowBits and the end
	// of page (RTC for MH/MR, EOFB for MMR; T.4 §4.1.4, T.6 §2.4). The engine
	// may ask for the same page again (resend after RTN, or a new format
	// after a fallback) and does not modify the returned slice.
	Encode(n int, f Format) ([]byte, error)
}

// Documents is an optional extension of Source for a transmission of
// several documents in one call. After a page for which EndsDocument
// reports true (other than the last page) the sender sends EOM instead of
// MPS and returns to phase B once it is confirmed (T.30 §5.3.2.5): the
// receiver sends DIS again and a new DCS follows, so a document may be
// encoded in a different format (Prepared is asked again).
type Documents interface {
	EndsDocument(page int) bool
}

// Quality is a receiver's decode report for one page, the basis of the
// copy-quality decision (T.30 §5.3.6.2.3: MCF, RTP or RTN).
type Quality struct {
	// Rows is the number of rows decoded.
	Rows int
	// BadRows is the number of rows that did not decode (and were repaired,
	// e.g. by repeating the previous row).
	BadRows int
	// LongestBadRun is the longest run of consecutive bad rows.
	LongestBadRun int
}

// Sink receives the pages of a receiving session. The gateway binds it to the
// g3 decoder.
type Sink interface {
	// StartPage begins a page in format f.
	StartPage(f Format) error
	// Write adds page bytes, LSB-first. Non-ECM: as received, errors
	// included. ECM: the data of a completed block, in frame order, once per
	// block (never a partial block).
	Write(p []byte) error
	// EndPage finishes the page and reports its quality. An error means the
	// page could not be decoded at all.
	EndPage() (Quality, error)
	// Commit is called once after EndPage with the engine's decision: keep
	// is true when the page was confirmed (MCF or RTP) and false when it was
	// rejected (RTN): the sender may then send it again, and the sink should
	// drop it.
	Commit(keep bool) error
}
