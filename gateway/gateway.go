// Package gateway runs fax calls end to end: a SIP call (package sip) with its media transport
// (the T.38 terminal of package t38, or the G.711 modems of modem/audio), a T.30 session (t30) and
// the page images (g3) on either side of it. One call is one goroutine that owns all of these.
//
// Inbound: the trunk calls a provisioned number; the call's pages become a PDF and a TIFF handed
// to the Deliver function (which stores them, e.g. store.InsertReceivedFax). Outbound: Send dials
// through a trunk and transmits pages, reporting progress and a Result.
//
// # Who asks for T.38
//
// As the receiver (inbound) the gateway re-INVITEs at answer or on the caller's CNG, per the
// trunk's t38.reinvite policy (sip.md §2.5). As the sender (outbound) it waits for the far end's
// re-INVITE; with t38.outbound_reinvite_after set it asks itself 2 s after it recognised the far
// fax. That recognition is the first of CED or V.21 (flags or an HDLC frame) from the far end,
// and in practice V.21: modem/audio runs its tone detector only while it is not itself sending a
// tone (audio.Transport.Rx skips it during our CNG job, whose cadence covers the far CED's
// 2.6-4 s), so the DIS preamble that follows CED is what triggers the re-INVITE (fax-protocols
// §3.6). A refusal
// (488/415/606 or no answer) keeps the T.30 session running on G.711 without a restart; a
// switch restarts T.30 from phase B on the new media.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/t30"
)

// Received is an inbound fax ready to be stored.
type Received struct {
	Route      any    // what Options.Router returned for the called number
	From       string // caller, E.164 when the trunk gave a number
	To         string // the called DID, E.164
	Pages      int
	ReceivedAt time.Time
	PDF        []byte          // the pages as PDF (CCITTFaxDecode, MMR)
	TIFF       []byte          // the same pages as TIFF Class F
	T30        json.RawMessage // diagnostics (Diagnostics)
	Partial    bool            // the call ended before the document did; the good pages are kept
}

// Deliver stores a received fax. It is called from the call's goroutine after the call ended.
type Deliver func(ctx context.Context, r Received) error

// Options configure a Gateway.
type Options struct {
	SIP     *sip.Config
	Router  sip.Router // maps called numbers to routes (404/480 via sip.ErrUnknownNumber/ErrSuspended)
	Deliver Deliver
	Logger  *slog.Logger
	// AnswerDelay lets inbound calls ring before we answer (sip.Options.AnswerDelay).
	AnswerDelay time.Duration
}

// Gateway is the fax gateway: the SIP endpoint plus the per-call fax engines.
type Gateway struct {
	ep      *sip.Endpoint
	opts    Options
	log     *slog.Logger
	inbound chan InboundResult // test hook: results of inbound calls, if non-nil
}

// InboundResult is what happened on an inbound call (for logs, metrics and tests).
type InboundResult struct {
	To, From  string
	Media     sip.MediaKind
	T30       t30.Result
	Delivered bool
	Err       error
}

// New builds the gateway and its SIP endpoint; nothing is bound until Start or Run.
func New(opts Options) (*Gateway, error) {
	if opts.SIP == nil {
		return nil, errors.New("gateway: no SIP config")
	}
	if opts.Router == nil || opts.Deliver == nil {
		return nil, errors.New("gateway: Router and Deliver are required")
	}
	g := &Gateway{opts: opts, log: opts.Logger}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.log = g.log.With("component", "gateway")
	ep, err := sip.NewEndpoint(opts.SIP, sip.Options{Router: opts.Router, Handler: g.inboundCall, Logger: opts.Logger, AnswerDelay: opts.AnswerDelay})
	if err != nil {
		return nil, err
	}
	g.ep = ep
	return g, nil
}

// Endpoint is the SIP endpoint (listener addresses, port pool, calls).
func (g *Gateway) Endpoint() *sip.Endpoint { return g.ep }

// Start binds the listeners and returns; ctx bounds their life.
func (g *Gateway) Start(ctx context.Context) error { return g.ep.Start(ctx) }

// Run serves until ctx is done, then hangs up every call.
func (g *Gateway) Run(ctx context.Context) error { return g.ep.Run(ctx) }

// Close hangs up every call and stops the endpoint (after Start).
func (g *Gateway) Close() error { return g.ep.Close() }

// Diagnostics is the T.30 summary stored with a fax (store.ReceivedFax.T30).
type Diagnostics struct {
	Result      string `json:"result"`
	Message     string `json:"message"`
	Detail      string `json:"detail,omitempty"`
	Pages       int    `json:"pages"`
	Media       string `json:"media"`
	Modulation  string `json:"modulation,omitempty"`
	BitRate     int    `json:"bitRate,omitempty"`
	ECM         bool   `json:"ecm"`
	Format      string `json:"format,omitempty"`
	RemoteIdent string `json:"remoteIdent,omitempty"`
	Retrains    int    `json:"retrains"`
}

func diagnostics(r t30.Result, media sip.MediaKind) json.RawMessage {
	d := Diagnostics{Result: r.Code.String(), Message: r.Code.Message(), Detail: r.Detail, Pages: r.Pages, Media: media.String(),
		ECM: r.ECM, RemoteIdent: r.RemoteIdent, Retrains: r.Retrains}
	if r.BitRate > 0 {
		d.Modulation, d.BitRate = r.Modulation.String(), r.BitRate
	}
	if r.Format.Compression != 0 {
		d.Format = r.Format.String()
	}
	b, _ := json.Marshal(d)
	return b
}

// inboundCall is the sip.Handler: it runs on the call's own goroutine.
func (g *Gateway) inboundCall(c *sip.Call, route any) {
	log := g.log.With("to", c.To(), "from", c.From())
	sink := &pageSink{}
	fc := &faxCall{call: c, log: log, cfg: t30.Config{Role: t30.Receive, Calling: false, Ident: identOf(c.To()), Sink: sink,
		DisableECM: !c.Trunk().ECMEnabled()}}
	res := fc.run(context.Background())
	out := InboundResult{To: c.To(), From: c.From(), Media: fc.media, T30: res}
	if len(sink.pages) > 0 {
		r := Received{Route: route, From: c.From(), To: c.To(), Pages: len(sink.pages), ReceivedAt: time.Now().UTC(),
			T30: diagnostics(res, fc.media), Partial: res.Code != t30.OK}
		r.PDF, r.TIFF, out.Err = documents(sink.pages)
		if out.Err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out.Err = g.opts.Deliver(ctx, r)
			cancel()
			out.Delivered = out.Err == nil
		}
	}
	log.Info("inbound fax ended", "result", res.Code.String(), "pages", len(sink.pages), "media", fc.media.String(), "delivered", out.Delivered, "err", out.Err)
	if g.inbound != nil {
		g.inbound <- out
	}
}

// documents codes received pages once as MMR (the smallest lossless coding) and writes them as
// PDF and TIFF: the received line data may be MH with bad rows, the decoded pages are clean.
func documents(pages []*g3.Page) (pdf, tiff []byte, err error) {
	coded, err := g3.EncodePages(pages, g3.Options{Compression: g3.MMR, Order: g3.MSBFirst})
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: coding received pages: %w", err)
	}
	var pb, tb bytes.Buffer
	if err := g3.WritePDF(&pb, coded); err != nil {
		return nil, nil, fmt.Errorf("gateway: PDF: %w", err)
	}
	if err := g3.WriteTIFF(&tb, coded); err != nil {
		return nil, nil, fmt.Errorf("gateway: TIFF: %w", err)
	}
	return pb.Bytes(), tb.Bytes(), nil
}

// identOf is the T.30 TSI/CSI for a number: the international form, at most 20 characters
// (T.30 §5.3.6.2.4).
func identOf(number string) string {
	if len(number) > 20 {
		return number[:20]
	}
	return number
}

// SendRequest is an outbound fax.
type SendRequest struct {
	Trunk      string // "" = the first trunk
	To         string // E.164
	CallerID   string // E.164: the user's fax number (From/PAI, and our TSI)
	CallerName string
	Pages      []*g3.Page // bilevel pages, 1728 px wide at R8 for A4 (render/ prepares them)
	// RingTimeout bounds the wait for an answer (default 60 s).
	RingTimeout time.Duration
	// Progress, if set, is called from the call's goroutine as the call advances.
	Progress func(Progress)
	// AudioOnly sends the fax over G.711 only (a redial after T.38 trouble): no T.38 re-INVITE
	// of ours, and the peer's is refused with 488 (sip.DialRequest.AudioOnly).
	AudioOnly bool
}

// Stage is a step of an outbound fax.
type Stage int

const (
	StageInvalid  Stage = iota
	StageDialing        // INVITE sent
	StageAnswered       // the far end answered; T.30 starts
	StageMedia          // the media changed (Progress.Media: audio or t38)
	StagePage           // a page was sent (Progress.Page, Progress.Accepted)
	StageDone           // the call is over (Result follows)
)

func (s Stage) String() string {
	switch s {
	case StageDialing:
		return "dialing"
	case StageAnswered:
		return "answered"
	case StageMedia:
		return "media"
	case StagePage:
		return "page"
	case StageDone:
		return "done"
	}
	return "invalid"
}

// Progress is one progress report of an outbound fax.
type Progress struct {
	Stage    Stage
	Media    sip.MediaKind
	Page     int // 1-based, StagePage
	Accepted bool
}

// Result is the outcome of an outbound fax.
type Result struct {
	Delivered bool
	// Reason is set when not delivered: busy, no-answer, failed or canceled.
	Reason string
	// SIPStatus is the final SIP response when the call did not connect.
	SIPStatus int
	Pages     int        // pages the receiver confirmed
	T30       t30.Result // zero when the call did not connect
	Media     sip.MediaKind
	Detail    string // human-readable cause
}

// Send places the call and transmits the pages; it returns when the call is over. Canceling ctx
// cancels the fax (CANCEL before answer; DCN and BYE during the fax).
func (g *Gateway) Send(ctx context.Context, req SendRequest) Result {
	if len(req.Pages) == 0 {
		return Result{Reason: sip.ReasonFailed.String(), Detail: "no pages"}
	}
	progress := func(p Progress) {
		if req.Progress != nil {
			req.Progress(p)
		}
	}
	progress(Progress{Stage: StageDialing})
	c, err := g.ep.Dial(ctx, sip.DialRequest{Trunk: req.Trunk, To: req.To, CallerID: req.CallerID, CallerName: req.CallerName, RingTimeout: req.RingTimeout, AudioOnly: req.AudioOnly})
	if err != nil {
		res := Result{Reason: sip.ReasonFailed.String(), Detail: err.Error()}
		var de *sip.DialError
		if errors.As(err, &de) {
			res.Reason, res.SIPStatus = de.Reason.String(), de.Status
		}
		progress(Progress{Stage: StageDone})
		return res
	}
	progress(Progress{Stage: StageAnswered, Media: c.Media()})
	fc := &faxCall{call: c, log: g.log.With("to", req.To, "dir", "out"),
		cfg: t30.Config{Role: t30.Send, Calling: true, Ident: identOf(req.CallerID), Source: &pageSource{pages: req.Pages},
			DisableECM: !c.Trunk().ECMEnabled(),
			OnPage: func(p t30.PageResult) {
				progress(Progress{Stage: StagePage, Page: p.Page + 1, Accepted: p.Accepted})
			}},
		onMedia: func(m sip.MediaKind) { progress(Progress{Stage: StageMedia, Media: m}) },
	}
	if tr := c.Trunk(); tr.T38Enabled() && tr.T38.OutboundReinviteAfter > 0 && !req.AudioOnly {
		fc.reinviteOnCED = 2 * time.Second
	}
	tr := fc.run(ctx)
	res := Result{T30: tr, Pages: tr.Pages, Media: fc.media, Delivered: tr.Code == t30.OK}
	if !res.Delivered {
		res.Reason = sip.ReasonFailed.String()
		if tr.Code == t30.Cancelled || ctx.Err() != nil {
			res.Reason = sip.ReasonCanceled.String()
		}
		res.Detail = tr.Code.Message()
		if tr.Detail != "" {
			res.Detail += ": " + tr.Detail
		}
	}
	progress(Progress{Stage: StageDone, Media: fc.media})
	return res
}
