package send

import (
	"context"
	"errors"
	"time"

	"github.com/faxseal/faxseal/gateway"
	"github.com/faxseal/faxseal/t30"
)

// GatewayDialer is the Dialer of a running fax gateway: each Dial is one gateway.Send (SIP call
// over the trunk of the caller's DID, T.38 or G.711, T.30 sender).
type GatewayDialer struct {
	Gateway *gateway.Gateway
	// RingTimeout bounds the wait for an answer; 0 means the gateway's default (60 s).
	RingTimeout time.Duration
	// CallerName is sent as the display name of the caller ID (optional).
	CallerName string
}

// Dial implements Dialer.
func (d GatewayDialer) Dial(ctx context.Context, c Call) Result {
	gr := d.Gateway.Send(ctx, gateway.SendRequest{
		Trunk: c.Trunk, To: c.To, CallerID: c.CallerID, CallerName: d.CallerName, Pages: c.Pages,
		RingTimeout: d.RingTimeout, AudioOnly: c.AudioOnly,
		Progress: func(p gateway.Progress) {
			switch {
			case p.Stage == gateway.StageAnswered:
				c.Progress(Progress{Kind: ProgressAnswered})
			case p.Stage == gateway.StagePage && p.Accepted:
				c.Progress(Progress{Kind: ProgressPageConfirmed, Page: p.Page - 1})
			}
		},
	})
	return resultOf(ctx, gr)
}

// resultOf maps the gateway's result. A call that never reached T.30 has a zero T30 result.
func resultOf(ctx context.Context, gr gateway.Result) Result {
	r := Result{Confirmed: gr.Pages, SIPStatus: gr.SIPStatus}
	if gr.Media.String() != "invalid" {
		r.Transport = gr.Media.String()
	}
	if gr.T30.Code != 0 {
		tr := gr.T30
		r.T30 = &tr
	}
	if !gr.Delivered && gr.Detail != "" {
		r.Err = errors.New(gr.Detail)
	}
	switch {
	case gr.Delivered:
		r.Outcome = OutcomeDelivered
	case gr.Reason == "busy":
		r.Outcome = OutcomeBusy
	case gr.Reason == "no-answer":
		r.Outcome = OutcomeNoAnswer
	case gr.Reason == "canceled" || ctx.Err() != nil:
		r.Outcome = OutcomeCanceled
	case r.T30 != nil && (r.T30.Code == t30.NoAnswer || r.T30.Code == t30.NotFax):
		// Answered, but no fax machine did (T.30 §5.4.3.1: T1 expired without DIS): the seed's
		// no-answer, redialled like one.
		r.Outcome = OutcomeNoAnswer
	default:
		r.Outcome = OutcomeFailed
	}
	return r
}
