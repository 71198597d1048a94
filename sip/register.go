package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// registerLoop keeps a binding at the trunk's registrar (RFC 3261 §10): REGISTER with digest on
// 401/407, refresh at 3/4 of the granted Expires, back off on failure, unregister on shutdown.
func (e *Endpoint) registerLoop(ctx context.Context, t *Trunk) {
	log := e.log.With("trunk", t.Name)
	d, tr := e.dialogUA(t.Transport)
	req := sipmsg.NewRequest(sipmsg.REGISTER, t.ruri)
	req.SetDestination(t.Address)
	req.SetTransport(tr)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: t.Username, Host: t.ruri.Host}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: t.Username, Host: t.ruri.Host}, Params: sipmsg.NewParams()})
	contact := d.ContactHDR.Clone()
	contact.Address.User = t.Username
	req.AppendHeader(contact)
	expires := sipmsg.ExpiresHeader(int(t.RegisterExpires / time.Second))
	req.AppendHeader(&expires)
	backoff := 5 * time.Second
	for {
		granted, err := e.register(ctx, d.Client, req, t)
		wait := backoff
		if err != nil {
			log.Warn("REGISTER failed", "err", err)
			backoff = min(2*backoff, 5*time.Minute)
		} else {
			backoff = 5 * time.Second
			wait = granted * 3 / 4
			log.Debug("registered", "expires", granted)
		}
		select {
		case <-ctx.Done():
			// Unregister (Expires: 0) so the provider stops sending calls to a dead node.
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			zero := sipmsg.ExpiresHeader(0)
			req.ReplaceHeader(&zero)
			e.register(uctx, d.Client, req, t)
			cancel()
			return
		case <-time.After(wait):
		}
	}
}

func (e *Endpoint) register(ctx context.Context, cli *sipgo.Client, req *sipmsg.Request, t *Trunk) (time.Duration, error) {
	req.RemoveHeader("Via")
	req.RemoveHeader("Authorization")
	req.RemoveHeader("Proxy-Authorization")
	rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	res, err := cli.Do(rctx, req, sipgo.ClientRequestRegisterBuild)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = cli.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: t.Username, Password: t.Password})
		if err != nil {
			return 0, err
		}
	}
	if res.StatusCode == 423 {
		// Interval Too Brief: retry with the registrar's Min-Expires (RFC 3261 §10.2.8).
		if h := res.GetHeader("Min-Expires"); h != nil {
			if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
				exp := sipmsg.ExpiresHeader(n)
				req.ReplaceHeader(&exp)
			}
		}
		return 0, errRegister(res)
	}
	if !res.IsSuccess() {
		return 0, errRegister(res)
	}
	granted := t.RegisterExpires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	if c := res.Contact(); c != nil && c.Params != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				granted = time.Duration(n) * time.Second
			}
		}
	}
	return max(granted, 30*time.Second), nil
}

type registerError struct {
	status int
	reason string
}

func (e *registerError) Error() string {
	return "sip: REGISTER: " + strconv.Itoa(e.status) + " " + e.reason
}

func errRegister(res *sipmsg.Response) error { return &registerError{res.StatusCode, res.Reason} }
