package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Router errors: what the lookup returns for numbers we must not answer.
var (
	ErrUnknownNumber = errors.New("sip: number not provisioned")        // 404 Not Found
	ErrSuspended     = errors.New("sip: number's partner is suspended") // 480 Temporarily Unavailable
	ErrBusy          = errors.New("sip: number busy")                   // 486 Busy Here
)

// Router maps a called number (E.164) to whatever the handler needs to receive the fax (the
// provisioned number, its partner and user). It is called once per inbound INVITE.
type Router func(ctx context.Context, trunk *Trunk, number string) (route any, err error)

// Handler runs one answered inbound call; it is called on its own goroutine, which becomes the
// call's goroutine. When it returns without hanging up, the call is hung up.
type Handler func(c *Call, route any)

// Options are the endpoint's collaborators.
type Options struct {
	Router  Router  // required for inbound calls
	Handler Handler // required for inbound calls
	Logger  *slog.Logger
	// CNGDetector makes a calling-tone detector per call, for trunks whose t38.reinvite is "cng".
	CNGDetector func() ToneDetector
	// AnswerDelay is how long inbound calls ring (180) before we answer. 0 answers at once.
	AnswerDelay time.Duration
}

// Endpoint is the SIP user agent: listeners, trunks, the call table.
type Endpoint struct {
	cfg   *Config
	opts  Options
	log   *slog.Logger
	ports *PortPool

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	public netip.Addr

	mu      sync.Mutex
	calls   map[string]*Call
	dua     map[string]*sipgo.DialogUA // by transport: UDP, TCP, TLS
	laddr   map[string]sipmsg.Addr     // our listener per transport
	started bool
	closers []func()

	seenMu    sync.Mutex
	seen      map[string]time.Time // recent initial INVITEs (duplicate detection)
	seenSwept time.Time

	wg sync.WaitGroup
}

// NewEndpoint validates cfg and builds the user agent; nothing is bound until Start.
func NewEndpoint(cfg *Config, opts Options) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Endpoint{cfg: cfg, opts: opts, calls: map[string]*Call{}, dua: map[string]*sipgo.DialogUA{}, laddr: map[string]sipmsg.Addr{}}
	e.log = opts.Logger
	if e.log == nil {
		e.log = slog.Default()
	}
	e.log = e.log.With("component", "sip")
	e.public = netip.MustParseAddr(cfg.PublicAddress)
	var bind netip.Addr
	if cfg.Media.BindAddress != "" {
		bind = netip.MustParseAddr(cfg.Media.BindAddress)
	}
	var err error
	if e.ports, err = NewPortPool(bind, cfg.Media.PortMin, cfg.Media.PortMax); err != nil {
		return nil, err
	}
	if cfg.UDPMTU > 0 {
		// sipgo refuses UDP messages over UDPMTUSize-200 (sip.md §1.3); a process-wide setting.
		sipmsg.UDPMTUSize = cfg.UDPMTU
	}
	e.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(cfg.PublicAddress),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerUnhandledResponseHandler(e.onStrayResponse)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	e.srv, err = sipgo.NewServer(e.ua, sipgo.WithServerLogger(e.log))
	if err != nil {
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	e.srv.OnInvite(e.onInvite)
	e.srv.OnAck(e.onAck)
	e.srv.OnBye(e.onBye)
	e.srv.OnOptions(e.onOptions)
	e.srv.OnUpdate(e.onUpdate)
	e.srv.OnCancel(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		// A CANCEL that matched a pending INVITE was answered by the transaction layer (200, then
		// 487 to the INVITE); one reaching us matched nothing (RFC 3261 §9.2).
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	return e, nil
}

// Ports is the media port pool (tests check that every call gives its ports back).
func (e *Endpoint) Ports() *PortPool { return e.ports }

// Trunk returns the named trunk, or the first one for "".
func (e *Endpoint) Trunk(name string) (*Trunk, bool) {
	for i := range e.cfg.Trunks {
		if name == "" || e.cfg.Trunks[i].Name == name {
			return &e.cfg.Trunks[i], true
		}
	}
	return nil, false
}

// Addr is the bound address of the listener for transport ("udp", "tcp", "tls") after Start.
func (e *Endpoint) Addr(transport string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.laddr[strings.ToUpper(transport)]
	if !ok {
		return ""
	}
	return net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
}

// ActiveCalls is the number of calls in the call table.
func (e *Endpoint) ActiveCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// Start binds every listener, starts serving and registering, and returns. ctx bounds the
// lifetime of the listeners and registrations.
func (e *Endpoint) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("sip: endpoint already started")
	}
	e.started = true
	e.mu.Unlock()
	var closers []func()
	fail := func(err error) error {
		for _, c := range closers {
			c()
		}
		return err
	}
	for _, l := range e.cfg.Listen {
		host, _, _ := net.SplitHostPort(l.Address)
		ip := net.ParseIP(host)
		switch l.Transport {
		case "udp":
			network := "udp"
			if ip == nil || ip.To4() != nil {
				network = "udp4" // sipgo's pool key must match WithClientConnectionAddr (sip.md §1.3)
			}
			conn, err := net.ListenPacket(network, l.Address)
			if err != nil {
				return fail(fmt.Errorf("sip: listen udp %s: %w", l.Address, err))
			}
			if u, ok := conn.(*net.UDPConn); ok {
				// One socket carries every call's signalling; a burst (or a descheduled process)
				// must not overflow the default ~200 KB buffer and drop ACKs/BYEs.
				u.SetReadBuffer(4 << 20)
				u.SetWriteBuffer(4 << 20)
			}
			closers = append(closers, func() { conn.Close() })
			if err := e.addTransport("UDP", conn.LocalAddr().String()); err != nil {
				return fail(err)
			}
			e.serve(func() error { return e.srv.ServeUDP(conn) })
		case "tcp", "tls":
			ln, err := net.Listen("tcp", l.Address)
			if err != nil {
				return fail(fmt.Errorf("sip: listen %s %s: %w", l.Transport, l.Address, err))
			}
			if l.Transport == "tls" {
				cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
				if err != nil {
					ln.Close()
					return fail(fmt.Errorf("sip: tls certificate: %w", err))
				}
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			}
			closers = append(closers, func() { ln.Close() })
			tr := strings.ToUpper(l.Transport)
			if err := e.addTransport(tr, ln.Addr().String()); err != nil {
				return fail(err)
			}
			if tr == "TLS" {
				e.serve(func() error { return e.srv.ServeTLS(ln) })
			} else {
				e.serve(func() error { return e.srv.ServeTCP(ln) })
			}
		}
	}
	e.mu.Lock()
	e.closers = closers
	want := map[string]int{}
	for tr, a := range e.laddr {
		want[strings.ToLower(tr)] = a.Port
	}
	e.mu.Unlock()
	// sipgo registers a listener in its connection pool from the serving goroutine; a request
	// pinned to the listener before that would try to bind the port itself. Wait for it.
	deadline := time.Now().Add(2 * time.Second)
	for tr, port := range want {
		for !slices.Contains(e.ua.TransportLayer().ListenPorts(tr), port) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(2 * time.Millisecond) // the pool insert follows the port registration
	go func() {
		<-ctx.Done()
		e.closeListeners()
	}()
	for i := range e.cfg.Trunks {
		if t := &e.cfg.Trunks[i]; t.Register {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.registerLoop(ctx, t)
			}()
		}
	}
	return nil
}

func (e *Endpoint) serve(f func() error) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			e.log.Debug("listener stopped", "err", err)
		}
	}()
}

// addTransport records the listener and builds the dialog UA that sends from it.
func (e *Endpoint) addTransport(tr, bound string) error {
	host, portStr, err := net.SplitHostPort(bound)
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(portStr)
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(e.cfg.PublicAddress), sipgo.WithClientPort(port)}
	if tr == "UDP" {
		// Send from the listening socket: trunks authenticate and NATs pin by IP:port (sip.md §1.3).
		opts = append(opts, sipgo.WithClientConnectionAddr(bound))
	}
	cli, err := sipgo.NewClient(e.ua, opts...)
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "faxseal", Host: e.cfg.PublicAddress, Port: port}}
	if tr != "UDP" {
		contact.Address.UriParams = sipmsg.NewParams()
		contact.Address.UriParams.Add("transport", strings.ToLower(tr))
	}
	e.mu.Lock()
	e.dua[tr] = &sipgo.DialogUA{Client: cli, ContactHDR: contact}
	e.laddr[tr] = sipmsg.Addr{IP: net.ParseIP(host), Port: port}
	e.mu.Unlock()
	return nil
}

// dialogUA returns the UA for transport, falling back to UDP.
func (e *Endpoint) dialogUA(transport string) (*sipgo.DialogUA, string) {
	tr := strings.ToUpper(transport)
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := e.dua[tr]; ok {
		return d, tr
	}
	return e.dua["UDP"], "UDP"
}

// pinUDP makes an in-dialog request leave from our UDP listener (sipgo's dialog builders do not
// apply WithClientConnectionAddr to in-dialog requests).
func (e *Endpoint) pinUDP(req *sipmsg.Request, transport string) {
	if !strings.EqualFold(transport, "UDP") {
		return
	}
	e.mu.Lock()
	a, ok := e.laddr["UDP"]
	e.mu.Unlock()
	if ok {
		req.Laddr = sipmsg.Addr{IP: a.IP, Port: a.Port}
	}
}

// Run starts the endpoint and serves until ctx is done, then hangs up every call and closes.
func (e *Endpoint) Run(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	e.Close()
	return nil
}

// Close hangs up every call (BYE, bounded to 2 s) and stops the user agent.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	calls := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		calls = append(calls, c)
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c.Hangup(ctx)
		}()
	}
	wg.Wait()
	e.closeListeners()
	err := e.ua.Close()
	e.wg.Wait()
	return err
}

func (e *Endpoint) closeListeners() {
	e.mu.Lock()
	closers := e.closers
	e.closers = nil
	e.mu.Unlock()
	for _, c := range closers {
		c()
	}
}

// Call-table keys carry the role: when the endpoint calls itself (the --dev loopback trunk) the
// UAC and UAS halves of one dialog have the same sipgo dialog ID.
const (
	uasKey = "s:"
	uacKey = "c:"
)

func (c *Call) key() string {
	if c.direction == Inbound {
		return uasKey + c.id
	}
	return uacKey + c.id
}

func (e *Endpoint) remember(c *Call) {
	e.mu.Lock()
	e.calls[c.key()] = c
	e.mu.Unlock()
}

func (e *Endpoint) forget(c *Call) {
	e.mu.Lock()
	if e.calls[c.key()] == c {
		delete(e.calls, c.key())
	}
	e.mu.Unlock()
}

// lookupRequest finds the call an in-dialog request belongs to, as UAS (inbound calls) or UAC
// (outbound calls): the tags are in opposite headers.
func (e *Endpoint) lookupRequest(req *sipmsg.Request) *Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		if c, ok := e.calls[uasKey+id]; ok {
			return c
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		if c, ok := e.calls[uacKey+id]; ok {
			return c
		}
	}
	return nil
}

// trunkFor returns the trunk whose inbound CIDRs admit src.
func (e *Endpoint) trunkFor(src netip.Addr) *Trunk {
	for i := range e.cfg.Trunks {
		if e.cfg.Trunks[i].admits(src) {
			return &e.cfg.Trunks[i]
		}
	}
	return nil
}

func respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	tx.Respond(res)
}

func retryAfter(maxSeconds int) sipmsg.Header {
	return sipmsg.NewHeader("Retry-After", strconv.Itoa(rand.IntN(maxSeconds)+1))
}

const allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"

func (e *Endpoint) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	// Trunks and front proxies probe with OPTIONS (sip.md §6.2); in-dialog OPTIONS are keep-alives.
	code, reason := 200, "OK"
	if e.cfg.MaxCalls > 0 && e.ActiveCalls() >= e.cfg.MaxCalls {
		code, reason = 503, "Service Unavailable"
	}
	respond(tx, req, code, reason, sipmsg.NewHeader("Allow", allowMethods), sipmsg.NewHeader("Accept", "application/sdp"))
}

func (e *Endpoint) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	// RFC 4028 §7.4 refresh by UPDATE without a body. An UPDATE carrying an offer would change
	// media mid-fax; we refuse it and keep the session (RFC 3311 §5.2: 488).
	if !wellFormed(req) {
		respond(tx, req, 400, "Bad Request")
		return
	}
	c := e.lookupRequest(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if len(req.Body()) > 0 {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	addSessionTimer(res, req)
	tx.Respond(res)
}

func (e *Endpoint) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !wellFormed(req) {
		respond(tx, req, 400, "Bad Request")
		return
	}
	c := e.lookupRequest(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	var err error
	if c.uas != nil {
		err = c.uas.ReadBye(req, tx)
	} else {
		err = c.uac.ReadBye(req, tx)
	}
	if err != nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.finish(ErrRemoteHangup, true)
}

func (e *Endpoint) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !wellFormed(req) {
		return
	}
	c := e.lookupRequest(req)
	if c == nil {
		return // ACK for a non-2xx is absorbed by the INVITE transaction; stray ones are dropped
	}
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	ch, ok := c.ackWait[seq]
	if ok {
		delete(c.ackWait, seq)
	}
	c.mu.Unlock()
	if ok {
		close(ch)
	} else if c.ackSDP != nil {
		// Before ReadAck: the answer must be there when WriteResponse sees the dialog confirmed.
		select {
		case c.ackSDP <- req.Body():
		default:
		}
	}
	if c.uas != nil {
		c.uas.ReadAck(req, tx) // Established -> Confirmed; returns an error for re-INVITE ACKs
	}
}

// onStrayResponse re-sends the ACK when a 2xx to one of our re-INVITEs is retransmitted after
// its client transaction ended (our ACK was lost; sip.md §1.5 (b), livekit/sip#851).
func (e *Endpoint) onStrayResponse(res *sipmsg.Response) {
	if !res.IsSuccess() || res.CSeq() == nil || res.CSeq().MethodName != sipmsg.INVITE {
		return
	}
	id, err := sipmsg.DialogIDFromResponse(res)
	if err != nil {
		return
	}
	e.mu.Lock()
	c := e.calls[uacKey+id]
	if c == nil && res.From() != nil && res.To() != nil && res.CallID() != nil {
		// Our UAS dialog IDs put our tag first; in a response to our request our tag is in From.
		ft, _ := res.From().Params.Get("tag")
		tt, _ := res.To().Params.Get("tag")
		c = e.calls[uasKey+sipmsg.DialogIDMake(res.CallID().Value(), ft, tt)]
	}
	e.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	ack := c.lastAck
	match := ack != nil && c.lastAckCSeq == res.CSeq().SeqNo
	late := c.abandoned
	if late != nil && late.CSeq().SeqNo == res.CSeq().SeqNo {
		c.abandoned = nil
	} else {
		late = nil
	}
	c.mu.Unlock()
	switch {
	case match:
		c.ep.ua.TransportLayer().WriteMsg(ack.Clone())
	case late != nil:
		c.log.Info("late 2xx to our T.38 re-INVITE; switching after all")
		go c.acceptT38Answer(late, res)
	}
}

// addSessionTimer answers an RFC 4028 Session-Expires request: we accept the interval and let the
// peer refresh (refresher=uac), so a long fax never depends on our own timer.
func addSessionTimer(res *sipmsg.Response, req *sipmsg.Request) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		return
	}
	v := h.Value()
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 90 {
		secs = 1800
	}
	res.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(secs)+";refresher=uac"))
	if sup := req.GetHeader("Supported"); sup != nil && strings.Contains(strings.ToLower(sup.Value()), "timer") {
		res.AppendHeader(sipmsg.NewHeader("Require", "timer"))
	}
}
