package send

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// Dialer places one outbound fax call and sends a document over it: the gateway (SIP call, T.38 or
// G.711 transport, T.30 sender) behind a small interface, so this package does not import the
// real-time tier. Dial returns when the call has ended.
type Dialer interface {
	Dial(ctx context.Context, c Call) Result
}

// Call is one dial attempt.
type Call struct {
	FaxID    string // for logs and call correlation
	Trunk    string // the trunk of the caller's DID
	To       string // E.164
	CallerID string // E.164: the user's provisioned number (seed: the caller ID cannot be overridden)
	// Pages are the pages still to send, bilevel at fine resolution (204 x 196 dpi), 1728 pixels
	// wide, each with its header line drawn: on a resend they start at the first unconfirmed page
	// (T.30 cannot resume a page; the header still numbers pages within the whole fax). The dialer
	// codes them as the call negotiates (render.NewDocument, or the gateway's own page source).
	Pages []*g3.Page
	// Progress reports call events as they happen. It does not block (the pipeline queues them), so
	// a dialer may call it from its real-time loop.
	Progress func(Progress)
	// AudioOnly places the call on G.711 only (no T.38 offer, a peer's T.38 re-INVITE refused):
	// set on every attempt after one that had T.38 trouble (see t38Trouble).
	AudioOnly bool
}

// t38Trouble reports whether an attempt that ran with transport and ended with T.30 code c failed
// because of T.38 rather than the line or the remote: the call had switched to T.38 (so a fax
// machine answered and asked for it) and T.30 then failed in a way a lossy or broken UDPTL path
// causes: no DIS after the switch (UDPTL silence, T.30 §5.4.3.1 T1), training failed at every
// rate, no response to DCS or to a post-page command, a command timeout, an ECM block given up,
// or garbled frames. Busy, SIP no-answer, a remote that hung up, an incompatible terminal and our
// own cancellation are not T.38 trouble: G.711 would not change them. The next attempt after
// such an attempt, and every one after it, goes audio-only (the fallback of issue 7).
func t38Trouble(transport string, c t30.Code) bool {
	if transport != "t38" {
		return false
	}
	for _, t := range t38TroubleCodes {
		if c == t {
			return true
		}
	}
	return false
}

var t38TroubleCodes = [...]t30.Code{t30.NoAnswer, t30.TrainingFailed, t30.NoResponseDCS,
	t30.NoResponsePostPage, t30.TimeoutCommand, t30.ECMBlockAbandoned, t30.ProtocolError}

// audioOnlyAfter reports whether attempt (1-based) of fax goes audio-only: an earlier attempt of
// it had T.38 trouble, read from its send_attempts row (transport, t30_code), so the decision
// survives a crash between attempts.
func (s *Service) audioOnlyAfter(ctx context.Context, faxID string, attempt int) (bool, error) {
	codes := make([]string, len(t38TroubleCodes))
	for i, c := range t38TroubleCodes {
		codes[i] = c.String()
	}
	var yes bool
	err := s.st.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM send_attempts WHERE fax_id = $1 AND number < $2
		AND transport = 't38' AND t30_code = ANY($3))`, faxID, attempt, codes).Scan(&yes)
	return yes, err
}

// ProgressKind says what happened.
type ProgressKind int

const (
	ProgressInvalid ProgressKind = iota
	// ProgressAnswered: the far end answered and T.30 started (fax.sending).
	ProgressAnswered
	// ProgressPageConfirmed: the receiver confirmed page Page of Call.Pages (MCF, or RTP/PIP:
	// T.30 §5.3.6.2.3, the page counts as received).
	ProgressPageConfirmed
)

func (k ProgressKind) String() string {
	switch k {
	case ProgressAnswered:
		return "answered"
	case ProgressPageConfirmed:
		return "page-confirmed"
	}
	return "invalid"
}

// Progress is one call event.
type Progress struct {
	Kind ProgressKind
	Page int // 0-based, within Call.Pages (ProgressPageConfirmed)
}

// Outcome is how an attempt ended. The failure outcomes are the seed's failureReason values.
type Outcome int

const (
	OutcomeInvalid   Outcome = iota
	OutcomeDelivered         // every page of Call.Pages confirmed, DCN exchanged
	OutcomeBusy              // SIP 486/600
	OutcomeNoAnswer          // SIP 408/480/487, ring timeout, or T.30 T1 expiry (no fax answered)
	OutcomeFailed            // any other failure: SIP errors, T.30 failures
	OutcomeCanceled          // our context was canceled (DELETE /fax/{jobId})
)

func (o Outcome) String() string {
	switch o {
	case OutcomeDelivered:
		return "delivered"
	case OutcomeBusy:
		return "busy"
	case OutcomeNoAnswer:
		return "no-answer"
	case OutcomeFailed:
		return "failed"
	case OutcomeCanceled:
		return "canceled"
	}
	return "invalid"
}

// Result is the end of an attempt.
type Result struct {
	Outcome Outcome
	// Confirmed is the number of pages of Call.Pages the receiver confirmed, from the first.
	// It may exceed the ProgressPageConfirmed events seen (the pipeline takes the larger).
	Confirmed int
	SIPStatus int    // the final SIP status of the INVITE, 0 if none
	SIPPhrase string // its reason phrase
	// Transport is "t38" or "audio" once media was set up.
	Transport string
	// T30 is the sender session's outcome, nil if T.30 never started.
	T30 *t30.Result
	// Err is the underlying error, if any, for the attempt log.
	Err error
}

// Policy is the redial policy (beyond the seed): which failed attempts are retried, how often and
// after how long. The zero value of each field takes DefaultPolicy's.
//
//   - busy and no-answer: retried until MaxAttempts, the n-th retry Delays[n-1] after the attempt
//     ended (the last delay repeats);
//   - a T.30 failure after the far end answered (line drop, no response after a page, copy
//     quality): retried the same way, resending only the pages not yet confirmed (unless NoRetryT30);
//   - other failures (SIP 404/484/604, incompatible terminal) and cancellation: final;
//   - T.38 trouble (t38Trouble: the attempt ran on T.38 and T.30 failed for want of a working UDPTL
//     path) makes every later attempt of the fax audio-only (Call.AudioOnly), decided from the
//     send_attempts rows so a crash between attempts keeps it.
type Policy struct {
	MaxAttempts int             // dial attempts in all, default 3
	Delays      []time.Duration // default 5 min, 10 min: 3 tries over 15 minutes
	// NoRetryT30 makes a T.30 failure after answer final instead of resending the unconfirmed pages.
	NoRetryT30 bool
}

// DefaultPolicy: 3 attempts over 15 minutes, T.30 failures resent from the first unconfirmed page.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 3, Delays: []time.Duration{5 * time.Minute, 10 * time.Minute}}
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if len(p.Delays) == 0 {
		p.Delays = d.Delays
	}
	return p
}

func (p Policy) check() error {
	for _, d := range p.Delays {
		if d < 0 {
			return errors.New("send: negative redial delay")
		}
	}
	if p.MaxAttempts > 20 {
		return fmt.Errorf("send: %d dial attempts is more than a fax line should take", p.MaxAttempts)
	}
	return nil
}

// retry reports whether the attempt numbered attempt (1-based) that ended with r is followed by
// another, and after how long.
func (p Policy) retry(attempt int, r Result) (time.Duration, bool) {
	if attempt >= p.MaxAttempts {
		return 0, false
	}
	switch r.Outcome {
	case OutcomeBusy, OutcomeNoAnswer:
	case OutcomeFailed:
		if p.NoRetryT30 || r.T30 == nil || !retriableT30(r.T30.Code) {
			return 0, false
		}
	default:
		return 0, false
	}
	i := min(attempt-1, len(p.Delays)-1)
	return p.Delays[i], true
}

// retriableT30 separates line trouble (worth another call) from a remote that cannot take this fax.
func retriableT30(c t30.Code) bool {
	switch c {
	case t30.Incompatible, t30.NothingToPoll, t30.DocumentError, t30.Cancelled:
		return false
	}
	return true
}
