package sip

import (
	"context"
	"errors"
	"github.com/faxseal/faxseal/t38"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// wellFormed checks the headers every handler relies on (RFC 3261 §8.1.1: To, From, CSeq,
// Call-ID, Via are mandatory); sipgo's parser does not insist on all of them.
func wellFormed(req *sipmsg.Request) bool {
	return req.To() != nil && req.From() != nil && req.CSeq() != nil && req.CallID() != nil && req.Via() != nil
}

func (e *Endpoint) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !wellFormed(req) {
		respond(tx, req, 400, "Bad Request")
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		e.onReinvite(req, tx)
		return
	}
	e.onInitialInvite(req, tx)
}

func (e *Endpoint) newCall(dir Direction, t *Trunk) *Call {
	c := &Call{
		ep: e, direction: dir, trunk: t,
		audioIn: make(chan AudioFrame, 32),
		udptlIn: make(chan []byte, 256),
		events:  make(chan Event, 64),
		done:    make(chan struct{}),
		ackWait: map[uint32]chan struct{}{},
		sdp:     newSDPBuilder(rand64(), e.public),
	}
	if t.T38.Reinvite == ReinviteCNG && dir == Inbound && t.T38Enabled() {
		if e.opts.CNGDetector != nil {
			c.cng = e.opts.CNGDetector()
		} else {
			c.cng = NewCNGDetector()
		}
	}
	return c
}

// onInitialInvite routes and answers a new inbound call (issue 5: Request-URI user -> E.164 ->
// provisioned number; answer G.711, or T.38 directly when only image is offered).
func (e *Endpoint) onInitialInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	// 100 at once (RFC 3261 §8.2.6.1) stops the caller's INVITE retransmissions while we route.
	respond(tx, req, 100, "Trying")
	if e.seenInvite(req) {
		// A retransmission that outlived its transaction (sipgo ends the INVITE transaction when
		// the BYE arrives): answering it would create a second, orphaned dialog.
		return
	}
	src, err := netip.ParseAddrPort(req.Source())
	var trunk *Trunk
	if err == nil {
		trunk = e.trunkFor(src.Addr())
	}
	if trunk == nil {
		respond(tx, req, 403, "Forbidden")
		return
	}
	if max := e.maxCalls(); e.ActiveCalls() >= max {
		respond(tx, req, 503, "Service Unavailable", retryAfter(10))
		return
	}
	if e.opts.Router == nil || e.opts.Handler == nil {
		respond(tx, req, 503, "Service Unavailable", retryAfter(60))
		return
	}
	user := req.Recipient.User
	if user == "" && req.To() != nil {
		user = req.To().Address.User
	}
	number, err := trunk.Normalize(user)
	if err != nil {
		respond(tx, req, 404, "Not Found")
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	route, err := e.opts.Router(rctx, trunk, number)
	cancel()
	switch {
	case errors.Is(err, ErrUnknownNumber):
		respond(tx, req, 404, "Not Found")
		return
	case errors.Is(err, ErrSuspended):
		respond(tx, req, 480, "Temporarily Unavailable")
		return
	case errors.Is(err, ErrBusy):
		respond(tx, req, 486, "Busy Here")
		return
	case err != nil:
		e.log.Error("router failed", "number", number, "err", err)
		respond(tx, req, 500, "Server Internal Error", retryAfter(10))
		return
	}
	// An INVITE without a body is a delayed offer (RFC 3261 §13.2.1): our offer goes in the 2xx
	// and the answer comes in the ACK. Some trunks (Cisco CUBE "delayed offer", older PBXes)
	// send it.
	delayed := len(req.Body()) == 0
	var (
		offer    *Session
		aud      audioChoice
		img      imageChoice
		hasAudio bool
	)
	if !delayed {
		offer, err = ParseSDP(req.Body())
		if err != nil {
			respond(tx, req, 400, "Bad Request")
			return
		}
		aud, hasAudio = pickAudio(offer, trunk.codecs)
		var hasImage bool
		img, hasImage = pickImage(offer)
		hasImage = hasImage && trunk.T38Enabled()
		if !hasAudio && !hasImage {
			respond(tx, req, 488, "Not Acceptable Here", sipmsg.NewHeader("Warning", `304 faxseal "Media type not available"`))
			return
		}
	}

	dua, tr := e.dialogUA(req.Transport())
	dlg, err := dua.ReadInvite(req, tx)
	if err != nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	c := e.newCall(Inbound, trunk)
	c.id, c.uas, c.dlg, c.to = dlg.ID, dlg, dlg, number
	c.from = req.From().Address.User
	if n, err := trunk.Normalize(c.from); err == nil {
		c.from = n
	}
	c.log = e.log.With("call", req.CallID().Value(), "dir", "in", "to", number)
	_ = tr

	// Media first, so the answer carries our port; every later failure path ends in finish().
	var (
		body        []byte
		answeredT38 bool // the 200 answers an image-only offer with T.38
	)
	c.mu.Lock()
	switch {
	case delayed:
		// Audio only, like our outbound offers: T.38 follows by re-INVITE (sip.md §2.4). The
		// stream starts once the ACK's answer names the peer's address and codec.
		prefs := trunk.codecs
		err = c.newAudioStreamLocked(prefs[0], prefs[0].PayloadType(), netipZero)
		if err == nil {
			body = c.sdp.offer(audioOfferMedia(c.audioPort, prefs))
			c.ackSDP = make(chan []byte, 1)
		}
	case hasAudio:
		// An offer with audio and image is answered with audio and m=image 0 (sip.md §2.4): T.38
		// in the initial offer is widely refused, and we switch by re-INVITE.
		err = c.newAudioStreamLocked(aud.codec, aud.pt, aud.remote)
		if err == nil {
			c.startAudioLocked(aud.codec, aud.pt, aud.remote)
			body = c.sdp.answerShape(offer, aud.index, audioMedia(c.audioPort, aud.codec, aud.pt))
		}
	default:
		var port int
		port, err = c.newImageStreamLocked()
		answeredT38 = err == nil
		if err == nil {
			ans := t38.Answer(img.params, trunk.t38)
			c.startT38Locked(img.remote, agreeT38(ans, img.params, ans))
			body = c.sdp.answerShape(offer, img.index, imageMedia(port, ans))
		}
	}
	c.mu.Unlock()
	if err != nil {
		dlg.Respond(503, "Service Unavailable", nil, retryAfter(10))
		c.finish(err, false)
		return
	}
	e.remember(c)

	if d := e.opts.AnswerDelay; d > 0 {
		dlg.Respond(180, "Ringing", nil)
		select {
		case <-time.After(d):
		case <-dlg.Context().Done():
			// CANCEL (the transaction layer sent 200 and 487) or the transaction died.
			c.finish(context.Cause(dlg.Context()), true)
			return
		}
	}
	res := sipmsg.NewSDPResponseFromRequest(dlg.InviteRequest, body)
	addSessionTimer(res, req)
	res.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	if err := dlg.WriteResponse(res); err != nil {
		// CANCEL raced our answer, or no ACK within 64·T1 (RFC 3261 §13.3.1.4: end with BYE).
		if dlg.LoadState() == sipmsg.DialogStateEstablished {
			c.bye()
		}
		c.finish(err, false)
		return
	}
	if delayed && !c.takeACKAnswer() {
		c.bye()
		c.finish(ErrNoAcceptableMedia, false)
		return
	}
	media := c.markAnswered()
	if answeredT38 {
		// Our 200 answered an image-only offer. (A peer re-INVITE that switched to T.38 before
		// markAnswered has its own event, held and delivered by markAnswered.)
		s, _ := c.T38()
		c.emit(Event{Kind: EventT38Started, Remote: true, T38: s})
	} else if media == MediaAudio && trunk.T38Enabled() && trunk.T38.Reinvite == ReinviteAnswer {
		// We are the receiving side: ask for T.38 right after the ACK (fax-protocols §3.6).
		c.RequestT38()
	}
	go func() {
		e.opts.Handler(c, route)
		c.Hangup(context.Background())
	}()
	select {
	case <-dlg.Context().Done():
		c.endFromDialog(ErrRemoteHangup)
	case <-c.done:
	}
}

// takeACKAnswer applies the answer the ACK of a delayed-offer call carried (RFC 3264 §5: the
// answer to our 2xx offer). An ACK without an acceptable audio answer leaves nothing to carry
// the fax, and the session is ended with BYE (RFC 3261 §13.3.1.4 lets the UAS do so).
func (c *Call) takeACKAnswer() bool {
	var body []byte
	select {
	case body = <-c.ackSDP:
	default:
	}
	ans, err := ParseSDP(body)
	if err != nil {
		c.log.Info("delayed offer: the ACK carried no usable answer; ending the call", "err", err)
		return false
	}
	aud, ok := pickAudio(ans, c.trunk.codecs)
	if !ok {
		c.log.Info("delayed offer: no acceptable audio in the ACK's answer; ending the call")
		return false
	}
	c.mu.Lock()
	c.startAudioLocked(aud.codec, aud.pt, aud.remote)
	c.mu.Unlock()
	return true
}

func (e *Endpoint) maxCalls() int {
	if e.cfg.MaxCalls > 0 {
		return e.cfg.MaxCalls
	}
	return e.ports.Capacity()
}

// bye sends BYE from the call's dialog with a bounded wait; used on cleanup paths.
func (c *Call) bye() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	c.mu.Lock()
	c.localBye = true
	c.mu.Unlock()
	c.sendBye(ctx)
}

var _ dialog = (*sipgo.DialogServerSession)(nil)
var _ dialog = (*sipgo.DialogClientSession)(nil)

// inviteMemory is how long an initial INVITE is remembered for duplicate detection: the life of
// an INVITE server transaction (64·T1, RFC 3261 §17.2.1 Timer L of RFC 6026).
const inviteMemory = 64 * 500 * time.Millisecond

// seenInvite reports whether this initial INVITE (Call-ID, From tag, CSeq) was already handled.
func (e *Endpoint) seenInvite(req *sipmsg.Request) bool {
	var key string
	if req.CallID() != nil && req.From() != nil && req.CSeq() != nil {
		tag, _ := req.From().Params.Get("tag")
		key = req.CallID().Value() + "\x00" + tag + "\x00" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10)
	}
	now := time.Now()
	e.seenMu.Lock()
	defer e.seenMu.Unlock()
	if e.seen == nil {
		e.seen = map[string]time.Time{}
	}
	if len(e.seen) > 0 && now.Sub(e.seenSwept) > time.Second {
		for k, t := range e.seen {
			if now.Sub(t) > inviteMemory {
				delete(e.seen, k)
			}
		}
		e.seenSwept = now
	}
	if t, ok := e.seen[key]; ok && now.Sub(t) <= inviteMemory {
		return true
	}
	e.seen[key] = now
	return false
}
