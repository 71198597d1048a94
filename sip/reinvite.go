package sip

import (
	"context"
	"errors"
	"github.com/faxseal/faxseal/t38"
	"math/rand/v2"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// glareBackoff is RFC 3261 §14.1: after a 491 the owner of the Call-ID (the side that sent the
// initial INVITE) waits 2.1-4 s, the other side 0-2 s, both in units of 10 ms.
func glareBackoff(owner bool) time.Duration {
	if owner {
		return time.Duration(210+rand.IntN(191)) * 10 * time.Millisecond
	}
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// reinviteT38 offers T.38 in a re-INVITE and applies the outcome; 488/415/606/timeout keep
// G.711 (fax-protocols §3.6: never tear the call down, do not retry in this call).
func (c *Call) reinviteT38() {
	ours := c.trunk.t38
	for attempt := 0; attempt < 3; attempt++ {
		c.mu.Lock()
		if c.ended || c.media == MediaT38 {
			c.mu.Unlock()
			return
		}
		if c.remotePending {
			// Their re-INVITE is being answered; if it is T.38 we are done after it.
			c.mu.Unlock()
			if !c.sleep(glareBackoff(c.direction == Outbound)) {
				return
			}
			continue
		}
		c.setLocalPendingLocked(true)
		port, err := c.newImageStreamLocked()
		if err != nil {
			c.setLocalPendingLocked(false)
			c.mu.Unlock()
			c.emit(Event{Kind: EventT38Refused, Err: err})
			return
		}
		// A single m=image replacing the audio line: the offer shape Asterisk, Cisco and the
		// Wireshark sample use (fax-protocols §1.9).
		body := c.sdp.offer(imageMedia(port, ours))
		c.mu.Unlock()

		res, req, err := c.sendReinvite(body, c.trunk.T38.ReinviteTimeout)
		c.mu.Lock()
		c.setLocalPendingLocked(false)
		c.mu.Unlock()
		if err != nil {
			if req.CSeq() != nil {
				// A 2xx may still come after we gave up: onStrayResponse then ACKs and applies it,
				// since the peer has already switched (RFC 3261 §13.2.2.4: every 2xx is ACKed).
				c.mu.Lock()
				c.abandoned = req
				c.mu.Unlock()
			}
			// Keep the offered UDPTL port: a late 2xx sends the peer's packets there.
			c.log.Info("T.38 re-INVITE unanswered; staying on G.711", "err", err)
			c.emit(Event{Kind: EventT38Refused, Err: err})
			return
		}
		switch {
		case res.IsSuccess():
			c.acceptT38Answer(req, res)
			return
		case res.StatusCode == sipmsg.StatusRequestPending:
			c.log.Debug("T.38 re-INVITE glare (491); backing off")
			if !c.sleep(glareBackoff(c.direction == Outbound)) {
				return
			}
		default:
			c.refuseT38(res.StatusCode, nil)
			return
		}
	}
	c.refuseT38(sipmsg.StatusRequestPending, errors.New("sip: re-INVITE glare persisted"))
}

func (c *Call) refuseT38(status int, err error) {
	c.mu.Lock()
	c.releaseImageLocked()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return
	}
	c.log.Info("T.38 refused; staying on G.711", "status", status, "err", err)
	c.emit(Event{Kind: EventT38Refused, Status: status, Err: err})
}

func (c *Call) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	}
}

// sendReinvite sends an in-dialog INVITE with body and waits for its final response.
func (c *Call) sendReinvite(body []byte, timeout time.Duration) (*sipmsg.Response, *sipmsg.Request, error) {
	req := sipmsg.NewRequest(sipmsg.INVITE, c.remoteTarget())
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	tr := c.transport()
	req.SetTransport(tr)
	c.ep.pinUDP(req, tr)
	ctx, cancel := context.WithTimeout(c.dlg.Context(), timeout)
	defer cancel()
	res, err := c.dlg.Do(ctx, req)
	return res, req, err
}

func (c *Call) transport() string {
	if c.uas != nil {
		return c.uas.InviteRequest.Transport()
	}
	return c.uac.InviteRequest.Transport()
}

// ackReinvite sends the ACK for a 2xx to our re-INVITE (RFC 3261 §13.2.2.4: the UAC core, not the
// transaction, sends it; same CSeq number) and keeps it for 2xx retransmissions.
func (c *Call) ackReinvite(req *sipmsg.Request, res *sipmsg.Response) {
	target := c.remoteTarget()
	if h := res.Contact(); h != nil {
		target = *h.Address.Clone()
	}
	ack := sipmsg.NewRequest(sipmsg.ACK, target)
	ack.SetTransport(req.Transport())
	c.ep.pinUDP(ack, req.Transport())
	if err := c.dlg.WriteRequest(ack); err != nil {
		c.log.Warn("ACK for re-INVITE failed", "err", err)
		return
	}
	c.mu.Lock()
	c.lastAck, c.lastAckCSeq = ack, req.CSeq().SeqNo
	c.mu.Unlock()
}

// onReinvite answers an in-dialog INVITE from the peer: a T.38 switch, a switch back to audio,
// or a session refresh with unchanged media (RFC 4028), each answered with the right SDP.
func (e *Endpoint) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c := e.lookupRequest(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		respond(tx, req, 500, "Server Internal Error", retryAfter(5))
		return
	}
	c.mu.Lock()
	if c.localPending {
		// Our transaction layer ACKs a final response before Do returns it, so a peer that
		// re-INVITEs right after refusing ours can land in that gap; it is not glare (RFC 3261
		// §14.2 speaks of an INVITE "in progress"). Give ours a moment to finish.
		done := c.localDone
		c.mu.Unlock()
		select {
		case <-done:
		case <-time.After(150 * time.Millisecond):
		}
		c.mu.Lock()
	}
	switch {
	case c.ended:
		c.mu.Unlock()
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	case c.localPending:
		// Glare: ours is pending, theirs gets 491 (RFC 3261 §14.2).
		c.mu.Unlock()
		respond(tx, req, 491, "Request Pending")
		return
	case c.remotePending:
		c.mu.Unlock()
		respond(tx, req, 500, "Server Internal Error", retryAfter(5))
		return
	}
	c.remotePending = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.remotePending = false
		c.mu.Unlock()
	}()

	var (
		body   []byte
		apply  func() Event
		reject = func() {
			respond(tx, req, 488, "Not Acceptable Here", sipmsg.NewHeader("Warning", `304 faxseal "Media type not available"`))
		}
	)
	if len(req.Body()) == 0 {
		// Offerless re-INVITE (RFC 3261 §14.2): offer what we have; the ACK carries the answer,
		// which for a fax call can only confirm the current stream.
		c.mu.Lock()
		body = c.sdp.offer(c.currentMediaLocked())
		c.mu.Unlock()
	} else {
		offer, err := ParseSDP(req.Body())
		if err != nil {
			respond(tx, req, 400, "Bad Request")
			return
		}
		img, hasImage := pickImage(offer)
		aud, hasAudio := pickAudio(offer, c.trunk.codecs)
		c.mu.Lock()
		switch {
		case hasImage && c.t38Allowed():
			port, err := c.newImageStreamLocked()
			if err != nil {
				c.mu.Unlock()
				respond(tx, req, 503, "Service Unavailable", retryAfter(5))
				return
			}
			ans := t38.Answer(img.params, c.trunk.t38)
			body = c.sdp.answerShape(offer, img.index, imageMedia(port, ans))
			wasT38 := c.media == MediaT38
			apply = func() Event {
				c.mu.Lock()
				defer c.mu.Unlock()
				s := agreeT38(ans, img.params, ans)
				c.startT38Locked(img.remote, s)
				if wasT38 {
					return Event{} // refresh: nothing changed for the consumer
				}
				return Event{Kind: EventT38Started, Remote: true, T38: s}
			}
		case hasAudio:
			if c.audio == nil {
				if err := c.newAudioStreamLocked(aud.codec, aud.pt, aud.remote); err != nil {
					c.mu.Unlock()
					respond(tx, req, 503, "Service Unavailable", retryAfter(5))
					return
				}
			}
			body = c.sdp.answerShape(offer, aud.index, audioMedia(c.audioPort, aud.codec, aud.pt))
			wasAudio := c.media == MediaAudio
			apply = func() Event {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.startAudioLocked(aud.codec, aud.pt, aud.remote)
				if wasAudio {
					return Event{}
				}
				return Event{Kind: EventAudioResumed, Remote: true}
			}
		default:
			c.mu.Unlock()
			reject()
			return
		}
		c.mu.Unlock()
	}

	res := sipmsg.NewSDPResponseFromRequest(req, body)
	c.mu.Lock()
	contact := c.ep.contactFor(c.transport())
	c.mu.Unlock()
	res.AppendHeader(&contact)
	addSessionTimer(res, req)
	ackCh := make(chan struct{})
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	c.ackWait[seq] = ackCh
	c.mu.Unlock()
	if err := tx.Respond(res); err != nil {
		c.mu.Lock()
		delete(c.ackWait, seq)
		c.mu.Unlock()
		return
	}
	// Start the new media as soon as our 200 is out: peers send UDPTL right after it.
	if apply != nil {
		if ev := apply(); ev.Kind != EventInvalid {
			c.emit(ev)
		}
	}
	if !c.retransmitUntilAck(tx, res, ackCh) {
		c.mu.Lock()
		delete(c.ackWait, seq)
		c.mu.Unlock()
		c.log.Warn("no ACK for our 2xx to a re-INVITE; ending the call")
		c.bye()
		c.finish(errors.New("sip: no ACK for re-INVITE 2xx"), false)
	}
}

// retransmitUntilAck is the TU's 2xx retransmission of RFC 3261 §13.3.1.4 (RFC 6026 moved it out
// of the transaction): T1, doubling to T2, for up to 64·T1. sipgo does this only for the initial
// INVITE (sip.md §1.5 (c)).
func (c *Call) retransmitUntilAck(tx sipmsg.ServerTransaction, res *sipmsg.Response, ack <-chan struct{}) bool {
	if sipmsg.IsReliable(res.Transport()) {
		// Over TCP/TLS the 2xx is not retransmitted, but we still wait for the ACK.
		select {
		case <-ack:
			return true
		case <-time.After(64 * sipmsg.T1):
			return false
		case <-c.done:
			return true
		}
	}
	interval := sipmsg.T1
	deadline := time.NewTimer(64 * sipmsg.T1)
	defer deadline.Stop()
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ack:
			return true
		case <-c.done:
			return true
		case <-deadline.C:
			return false
		case <-t.C:
			tx.Respond(res)
			interval = min(2*interval, sipmsg.T2)
			t.Reset(interval)
		}
	}
}

// contactFor is our Contact for in-dialog responses on transport.
func (e *Endpoint) contactFor(transport string) sipmsg.ContactHeader {
	d, _ := e.dialogUA(transport)
	return *d.ContactHDR.Clone()
}

// setLocalPendingLocked marks our re-INVITE in flight; localDone is closed when it completes.
func (c *Call) setLocalPendingLocked(on bool) {
	if on == c.localPending {
		return
	}
	c.localPending = on
	if on {
		c.localDone = make(chan struct{})
	} else {
		close(c.localDone)
	}
}

// acceptT38Answer ACKs a 2xx to our T.38 re-INVITE and switches the media to what it answered.
func (c *Call) acceptT38Answer(req *sipmsg.Request, res *sipmsg.Response) {
	c.ackReinvite(req, res)
	ans, err := ParseSDP(res.Body())
	if err != nil {
		c.refuseT38(res.StatusCode, err)
		return
	}
	img, ok := pickImage(ans)
	if !ok {
		// 200 with the image declined (port 0) or an audio answer: same as a refusal.
		c.refuseT38(res.StatusCode, ErrNoAcceptableMedia)
		return
	}
	c.mu.Lock()
	if c.image == nil {
		// The port went back to the pool when we gave up; take one again (its number differs from
		// the one we offered, so the peer's packets reach it only once it learns ours: the UDPTL
		// reader latches, and our first packets go to the peer's address from the answer).
		if _, err := c.newImageStreamLocked(); err != nil {
			c.mu.Unlock()
			c.refuseT38(res.StatusCode, err)
			return
		}
	}
	s := agreeT38(c.trunk.t38, img.params, img.params)
	c.startT38Locked(img.remote, s)
	c.mu.Unlock()
	c.emit(Event{Kind: EventT38Started, T38: s})
}
