package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// FailureReason classifies why an outbound call did not connect (the table is in the package
// documentation).
type FailureReason int

const (
	ReasonInvalid  FailureReason = iota
	ReasonBusy                   // 486, 600
	ReasonNoAnswer               // 408, 480, 487 (not ours), our ring timeout
	ReasonFailed                 // 404, 484, 604, every other final error, transport errors
	ReasonCanceled               // our context was canceled: CANCEL sent
)

func (r FailureReason) String() string {
	switch r {
	case ReasonBusy:
		return "busy"
	case ReasonNoAnswer:
		return "no-answer"
	case ReasonFailed:
		return "failed"
	case ReasonCanceled:
		return "canceled"
	}
	return "invalid"
}

// Reason maps the final status of an outbound INVITE to a FailureReason.
func Reason(status int) FailureReason {
	switch status {
	case 486, 600:
		return ReasonBusy
	case 408, 480, 487:
		return ReasonNoAnswer
	}
	return ReasonFailed
}

// DialError is the error of a call that did not connect.
type DialError struct {
	Reason FailureReason
	Status int    // final SIP status, 0 if none
	Phrase string // its reason phrase
	Err    error  // underlying error, if any
}

func (e *DialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("sip: call %s: %d %s", e.Reason, e.Status, e.Phrase)
	}
	if e.Err != nil {
		return fmt.Sprintf("sip: call %s: %v", e.Reason, e.Err)
	}
	return "sip: call " + e.Reason.String()
}

func (e *DialError) Unwrap() error { return e.Err }

// DialRequest describes an outbound call.
type DialRequest struct {
	Trunk      string // trunk name; "" = the first trunk
	To         string // called number, E.164
	CallerID   string // our number, E.164 (the user's fax number)
	CallerName string // optional display name
	// RingTimeout bounds the wait for an answer (default 60 s): then CANCEL and no-answer.
	RingTimeout time.Duration
	// AudioOnly keeps the call on G.711 (a redial after T.38 trouble): the INVITE offers audio
	// only (as every INVITE does), we never re-INVITE to T.38, and a peer's T.38 re-INVITE is
	// refused with 488 Not Acceptable Here (RFC 3261 §14.2, sip.md §2.5), so the call stays on
	// its audio stream.
	AudioOnly bool
}

// Dial places a call and returns once it is answered (and ACKed), or with a *DialError. Early
// media (183 with SDP) is ignored: fax needs the answered session (issue 5). Canceling ctx
// before answer sends CANCEL and returns ReasonCanceled.
func (e *Endpoint) Dial(ctx context.Context, r DialRequest) (*Call, error) {
	trunk, ok := e.Trunk(r.Trunk)
	if !ok {
		return nil, &DialError{Reason: ReasonFailed, Err: fmt.Errorf("sip: no trunk %q", r.Trunk)}
	}
	to, err := trunk.Format(r.To)
	if err != nil {
		return nil, &DialError{Reason: ReasonFailed, Err: err}
	}
	caller, err := trunk.Format(r.CallerID)
	if err != nil {
		return nil, &DialError{Reason: ReasonFailed, Err: fmt.Errorf("sip: caller ID: %w", err)}
	}
	d, tr := e.dialogUA(trunk.Transport)
	if d == nil {
		return nil, &DialError{Reason: ReasonFailed, Err: errors.New("sip: endpoint not started")}
	}

	c := e.newCall(Outbound, trunk)
	c.from, c.to = r.CallerID, r.To
	c.audioOnly = r.AudioOnly
	c.log = e.log.With("dir", "out", "to", r.To, "trunk", trunk.Name)
	c.mu.Lock()
	prefs := trunk.codecs
	err = c.newAudioStreamLocked(prefs[0], prefs[0].PayloadType(), netipZero)
	var body []byte
	if err == nil {
		body = c.sdp.offer(audioOfferMedia(c.audioPort, prefs))
	}
	c.mu.Unlock()
	if err != nil {
		c.finish(err, false)
		return nil, &DialError{Reason: ReasonFailed, Err: err}
	}

	ruri := trunk.ruri
	ruri.User = trunk.TechPrefix + to
	inv := sipmsg.NewRequest(sipmsg.INVITE, ruri)
	fromUser := caller
	if trunk.CallerID == CallerIDPAI && trunk.Username != "" {
		fromUser = trunk.Username
	}
	from := &sipmsg.FromHeader{DisplayName: r.CallerName, Address: sipmsg.Uri{Scheme: "sip", User: fromUser, Host: e.cfg.PublicAddress}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	inv.AppendHeader(from)
	toURI := trunk.ruri
	toURI.User = to
	inv.AppendHeader(&sipmsg.ToHeader{Address: toURI, Params: sipmsg.NewParams()})
	if trunk.route != "" {
		inv.AppendHeader(sipmsg.NewHeader("Route", trunk.route))
	}
	if trunk.CallerID != CallerIDFrom {
		// Carriers read the caller number from PAI first (sip.md §5).
		inv.AppendHeader(sipmsg.NewHeader("P-Asserted-Identity", "<sip:"+caller+"@"+e.cfg.PublicAddress+">"))
	}
	inv.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	inv.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody(body)
	inv.SetDestination(trunk.Address)
	inv.SetTransport(tr)
	e.pinUDP(inv, tr)

	ring := r.RingTimeout
	if ring <= 0 {
		ring = 60 * time.Second
	}
	dlg, err := d.WriteInvite(ctx, inv)
	if err != nil {
		c.finish(err, false)
		return nil, &DialError{Reason: ReasonFailed, Err: err}
	}
	c.uac, c.dlg = dlg, dlg
	rctx, cancel := context.WithTimeout(ctx, ring)
	defer cancel()
	err = dlg.WaitAnswer(rctx, sipgo.AnswerOptions{Username: trunk.Username, Password: trunk.Password})
	if err != nil {
		derr := &DialError{Reason: ReasonFailed, Err: err}
		var re *sipgo.ErrDialogResponse
		var rv sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &re):
			derr.Status, derr.Phrase, derr.Reason = re.Res.StatusCode, re.Res.Reason, Reason(re.Res.StatusCode)
		case errors.As(err, &rv):
			derr.Status, derr.Phrase, derr.Reason = rv.Res.StatusCode, rv.Res.Reason, Reason(rv.Res.StatusCode)
		case ctx.Err() != nil:
			derr.Reason = ReasonCanceled
		case rctx.Err() != nil:
			derr.Reason = ReasonNoAnswer
		}
		if derr.Status == 487 && ctx.Err() != nil {
			derr.Reason = ReasonCanceled
		}
		dlg.Close()
		c.finish(derr, false)
		return nil, derr
	}
	c.id = dlg.ID
	c.log = c.log.With("call", inv.CallID().Value())
	// In the table before the ACK leaves: a receiving peer re-INVITEs to T.38 the moment it has
	// the ACK (fax-protocols §3.6), and that request must find the call.
	e.remember(c)
	ackCtx, ackCancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = dlg.Ack(ackCtx)
	ackCancel()
	if err != nil {
		c.finish(err, false)
		return nil, &DialError{Reason: ReasonFailed, Err: err}
	}

	ans, perr := ParseSDP(dlg.InviteResponse.Body())
	var aud audioChoice
	ok = false
	if perr == nil {
		aud, ok = pickAudio(ans, prefs)
	}
	if !ok {
		// A 200 without usable audio: nothing can carry the fax.
		c.bye()
		c.finish(ErrNoAcceptableMedia, false)
		return nil, &DialError{Reason: ReasonFailed, Status: 200, Phrase: "no acceptable media in answer", Err: ErrNoAcceptableMedia}
	}
	c.mu.Lock()
	c.startAudioLocked(aud.codec, aud.pt, aud.remote)
	c.mu.Unlock()
	c.refreshSessionTimer(dlg.InviteResponse)
	go func() {
		<-dlg.Context().Done()
		c.endFromDialog(ErrRemoteHangup)
	}()
	c.markAnswered()
	if after := trunk.T38.OutboundReinviteAfter; after > 0 && c.t38Allowed() {
		// The far end normally re-INVITEs (it is the receiver); if not, we do (fax-protocols §3.6).
		go func() {
			if c.sleep(after) && c.Media() == MediaAudio {
				c.RequestT38()
			}
		}()
	}
	return c, nil
}

// refreshSessionTimer refreshes the session with re-INVITEs carrying the current SDP when the 2xx
// made us the refresher (RFC 4028 §7.1: refresher=uac on our INVITE), at half the interval.
func (c *Call) refreshSessionTimer(res *sipmsg.Response) {
	h := res.GetHeader("Session-Expires")
	if h == nil {
		return
	}
	v := strings.ToLower(h.Value())
	if !strings.Contains(v, "refresher=uac") {
		return
	}
	var secs int
	fmt.Sscanf(v, "%d", &secs)
	if secs < 90 {
		return
	}
	go func() {
		for c.sleep(time.Duration(secs) * time.Second / 2) {
			c.mu.Lock()
			busy := c.localPending || c.remotePending || c.ended
			body := c.sdp.offer(c.currentMediaLocked())
			if !busy {
				c.setLocalPendingLocked(true)
			}
			c.mu.Unlock()
			if busy {
				continue
			}
			res, req, err := c.sendReinvite(body, 8*time.Second)
			c.mu.Lock()
			c.setLocalPendingLocked(false)
			c.mu.Unlock()
			if err == nil && res.IsSuccess() {
				c.ackReinvite(req, res)
			}
		}
	}()
}
