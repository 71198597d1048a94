package t30

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// Code is the outcome of a session: OK or one failure from a small taxonomy.
// The codes group the spandsp T30_ERR_* catalogue (brief §7) by what an
// operator or a partner can do about them; Message gives the human text.
//
//	code                  when
//	OK                    all pages confirmed and DCN exchanged
//	NoAnswer              T1 expired in phase B: no DIS (caller) / no DCS (answerer)
//	NotFax                hung up before any T.30 frame was seen
//	Incompatible          no common modem, width, resolution or coding; DCS we cannot accept
//	NothingToPoll         we asked to receive (polling) but the remote has no document
//	TrainingFailed        FTT at the lowest usable rate (TSB-85 MTGX11)
//	NoResponseDCS         3 × DCS+TCF without CFR/FTT at each modem, V.17, V.29, V.27ter (TSB-85 MTGX07)
//	NoResponsePostPage    3 × MPS/EOP/EOM/PPS without a response (TSB-85 MTGX08-10)
//	CopyQuality           the receiver rejected a page (RTN/PIN) 3 times, or we rejected the last one
//	ECMBlockAbandoned     an ECM block stayed incomplete after PPR/CTC and was dropped with EOR
//	RemoteBusy            the receiver stayed not ready (RNR) for T5
//	TimeoutCommand        receiver: T2 expired waiting for the next command or page
//	RemoteDisconnected    the remote sent DCN before the document was complete
//	HungUpMidPage         the line dropped or DCN arrived during a page
//	HungUp                the line dropped in phase B or D
//	Cancelled             the local application cancelled the session
//	DocumentError         the Source could not encode a page
//	PageStoreError        the Sink failed
//	ProtocolError         an invalid or unexpected frame sequence we cannot recover from
type Code uint8

// Result codes; see Code.
const (
	OK Code = iota + 1
	NoAnswer
	NotFax
	Incompatible
	NothingToPoll
	TrainingFailed
	NoResponseDCS
	NoResponsePostPage
	CopyQuality
	ECMBlockAbandoned
	RemoteBusy
	TimeoutCommand
	RemoteDisconnected
	HungUpMidPage
	HungUp
	Cancelled
	DocumentError
	PageStoreError
	ProtocolError
)

var codeNames = [...]string{
	OK: "ok", NoAnswer: "no-answer", NotFax: "not-fax", Incompatible: "incompatible",
	NothingToPoll: "nothing-to-poll", TrainingFailed: "training-failed",
	NoResponseDCS: "no-response-dcs", NoResponsePostPage: "no-response-post-page",
	CopyQuality: "copy-quality", ECMBlockAbandoned: "ecm-block-abandoned",
	RemoteBusy: "remote-busy", TimeoutCommand: "timeout-command",
	RemoteDisconnected: "remote-disconnected", HungUpMidPage: "hung-up-mid-page",
	HungUp: "hung-up", Cancelled: "cancelled", DocumentError: "document-error",
	PageStoreError: "page-store-error", ProtocolError: "protocol-error",
}

var codeMessages = [...]string{
	OK:                 "fax transferred",
	NoAnswer:           "no answer from remote fax",
	NotFax:             "the call ended before a fax machine answered",
	Incompatible:       "remote fax has no compatible capabilities",
	NothingToPoll:      "remote fax has no document to send",
	TrainingFailed:     "training failed at all rates",
	NoResponseDCS:      "remote fax did not respond to the training",
	NoResponsePostPage: "remote fax did not confirm the page",
	CopyQuality:        "page rejected for poor copy quality (RTN)",
	ECMBlockAbandoned:  "part of a page could not be corrected and was dropped",
	RemoteBusy:         "remote fax stayed busy (receive not ready)",
	TimeoutCommand:     "remote fax stopped sending",
	RemoteDisconnected: "remote fax disconnected before the end of the document",
	HungUpMidPage:      "disconnected mid-page",
	HungUp:             "call disconnected during the fax exchange",
	Cancelled:          "fax cancelled",
	DocumentError:      "the document could not be encoded",
	PageStoreError:     "received page could not be stored",
	ProtocolError:      "fax protocol error",
}

// String returns a stable machine name such as "training-failed".
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Message returns a human sentence such as "training failed at all rates".
func (c Code) Message() string {
	if int(c) < len(codeMessages) && codeMessages[c] != "" {
		return codeMessages[c]
	}
	return c.String()
}

// Result is the outcome of a finished session.
type Result struct {
	Code Code
	// Detail adds the specific reason, e.g. "3 × EOP without response".
	Detail string
	// Pages is the number of pages confirmed (MCF/RTP/PIP) and, on the
	// receiving side, kept.
	Pages int
	// Modulation and BitRate of the last successful training.
	Modulation Modulation
	BitRate    int
	ECM        bool
	// Format of the page data (zero if phase B never completed).
	Format Format
	// RemoteIdent is the remote CSI (when we send) or TSI (when we receive).
	RemoteIdent string
	// Retrains counts trainings after the first: FTT step-downs, RTP/RTN
	// retrains and CTC rate changes (as sent or answered by this side).
	Retrains int
}

// Error returns nil for OK and otherwise an error describing the failure.
func (r Result) Error() error {
	if r.Code == OK {
		return nil
	}
	return &Error{Code: r.Code, Detail: r.Detail}
}

// Error is a failed session's outcome as an error.
type Error struct {
	Code   Code
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "t30: " + e.Code.Message()
	}
	return "t30: " + e.Code.Message() + ": " + e.Detail
}

// PageResult is the per-page progress report.
type PageResult struct {
	// Page is the 0-based page index within the document.
	Page int
	// Response is what the receiver answered: FCFMCF, FCFRTP, FCFRTN (or
	// PIP/PIN), or FCFERR for an ECM page whose block was abandoned.
	Response FCF
	// Accepted: the page counts as transferred (MCF, RTP, PIP).
	Accepted bool
	// Quality is the receiver's decode report (receiving side only).
	Quality    Quality
	Format     Format
	Modulation Modulation
	BitRate    int
	// Bytes is the size of the coded page (sent, or received and kept by
	// ECM, or received as heard without ECM).
	Bytes int
}

// Direction of a traced frame.
type Direction uint8

const (
	// Sent by us.
	Sent Direction = iota + 1
	// Received from the remote.
	Received
)

// String returns "tx" or "rx".
func (d Direction) String() string {
	switch d {
	case Sent:
		return "tx"
	case Received:
		return "rx"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// TraceEntry is one control frame in the diagnostic trace. ECM data frames
// (FCD/RCP) are summarised, not traced one by one.
type TraceEntry struct {
	Time      time.Duration
	Direction Direction
	// Modulation the frame travelled on.
	Modulation Modulation
	FCF        FCF
	// Decoded fields, e.g. "DCS V.17 14400 fine MMR 1728 ECM".
	Decoded string
	// Raw frame octets (LSB-first, no FCS).
	Raw []byte
	// BadFCS marks a received frame whose FCS failed (it was not acted on).
	BadFCS bool
	// Note carries a remark such as "echo ignored" or "ECM burst: 57 frames".
	Note string
}

// String formats the entry as one trace line.
func (e TraceEntry) String() string {
	s := fmt.Sprintf("%9.3fs %v %-8v %s", e.Time.Seconds(), e.Direction, e.Modulation, e.Decoded)
	if e.BadFCS {
		s += " [bad FCS]"
	}
	if e.Note != "" {
		s += " (" + e.Note + ")"
	}
	if len(e.Raw) > 0 {
		s += " [" + hexOctets(e.Raw, false) + " | T.38 " + hexOctets(e.Raw, true) + "]"
	}
	return s
}

// hexOctets renders up to 16 octets in LSB-first form, or bit-reversed as
// T.38 and Wireshark show them (brief §7: support reads both notations).
func hexOctets(b []byte, wire bool) string {
	const max = 16
	var sb strings.Builder
	for i, c := range b {
		if i == max {
			sb.WriteString(" …")
			break
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		if wire {
			c = bits.Reverse8(c)
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

// Phase is the T.30 phase a session is in (T.30 §2.2, Figure 1).
type Phase uint8

const (
	// PhaseA is call set-up: CNG/CED, before any frame.
	PhaseA Phase = iota + 1
	// PhaseB is the pre-message procedure: identification, DIS/DCS, TCF.
	PhaseB
	// PhaseC is the message: a page or an ECM burst is on the line.
	PhaseC
	// PhaseD is the post-message procedure: MPS/EOP/PPS and responses.
	PhaseD
	// PhaseE is release: DCN sent or received, or the session ended.
	PhaseE
)

// String returns "A" to "E".
func (p Phase) String() string {
	if p >= PhaseA && p <= PhaseE {
		return string(rune('A' + p - PhaseA))
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}
