//go:build spandsp

package fax_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxseal/faxseal/gateway"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/t38"
	"github.com/faxseal/faxseal/webhook"
)

// The end-to-end tests: POST /api/partner/fax -> River -> render -> gateway (SIP trunk on
// 127.0.0.1) -> a SIPp callee that answers and re-INVITEs to T.38, its m=image pointing at a
// spandsp T.38 receiver -> fax.delivered; and the busy and no-answer paths against SIPp.

func needSIPp(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippScenario copies a scenario of testdata/sipp into dir with replacements.
func sippScenario(t *testing.T, dir, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSIPp runs SIPp as the trunk's far end with scenario scen for calls calls.
func startSIPp(t *testing.T, ctx context.Context, dir, scen string, port, calls int) (wait func() error, out *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(freePort(t)), "-m", strconv.Itoa(calls), "-nostdin", "-timeout", "80s", "-timeout_error", "-trace_err")
	cmd.Dir = dir
	out = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(300 * time.Millisecond) // SIPp binding its port
	return cmd.Wait, out
}

var mediaBase atomic.Int32

// startGateway starts a gateway whose trunk "carrier" (the trunk of the test DID) points at SIPp.
func startGateway(t *testing.T, sippPort int) *gateway.Gateway {
	t.Helper()
	lo := 47000 + int(mediaBase.Add(1))%10*200
	cfg := &sip.Config{Listen: []sip.Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
		Media:  sip.MediaConfig{PortMin: lo, PortMax: lo + 199, BindAddress: "127.0.0.1"},
		Trunks: []sip.Trunk{{Name: "carrier", Address: "127.0.0.1:" + strconv.Itoa(sippPort), InboundCIDRs: []string{"127.0.0.1/32"}}}}
	g, err := gateway.New(gateway.Options{SIP: cfg,
		Router:  func(context.Context, *sip.Trunk, string) (any, error) { return nil, sip.ErrUnknownNumber },
		Deliver: func(context.Context, gateway.Received) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); g.Close() })
	return g
}

// spandspReceiver runs a spandsp T.38 terminal in real time on a UDP socket, answering: it learns
// our address from the first datagram.
type spandspReceiver struct {
	conn *net.UDPConn
	term *spandsp.T38Terminal
}

func newSpandspReceiver(t *testing.T, out string) *spandspReceiver {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	term, err := spandsp.NewT38Terminal(spandsp.T38Config{ECM: true, RxFile: out, Ident: "spandsp rx", MaxDatagram: 180})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); term.Close() })
	return &spandspReceiver{conn: conn, term: term}
}

func (p *spandspReceiver) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *spandspReceiver) run(ctx context.Context) {
	type dgram struct {
		b    []byte
		from *net.UDPAddr
	}
	in := make(chan dgram, 256)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, a, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				close(in)
				return
			}
			in <- dgram{append([]byte(nil), buf[:n]...), a}
		}
	}()
	snd, _ := t38.NewSender(t38.SenderConfig{Depth: 2, MaxDatagram: 180})
	var rcv t38.Receiver
	var remote *net.UDPAddr
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d, ok := <-in:
			if !ok {
				return
			}
			remote = d.from
			dl, err := rcv.Receive(d.b)
			if err != nil {
				continue
			}
			for _, x := range dl {
				if x.IFP != nil {
					p.term.Input(x.IFP, x.Seq)
				}
			}
		case <-tick.C:
			p.term.Advance(160) // 20 ms at 8000 samples/s
			pkts, _ := p.term.TakePackets()
			for _, pk := range pkts {
				d, err := snd.Packet(pk.IFP)
				if err != nil || remote == nil {
					continue
				}
				for range max(pk.Count, 1) {
					p.conn.WriteToUDP(d, remote)
				}
			}
		}
	}
}

func TestEndToEndT38ToSpandsp(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "received.tif")
	peer := newSpandspReceiver(t, out)
	sippPort := freePort(t)
	g := startGateway(t, sippPort)
	at := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	b := setup(t, options{credits: 100, dialer: send.GatewayDialer{Gateway: g}, now: func() time.Time { return at }})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go peer.run(ctx)
	scen := sippScenario(t, dir, "uas_fax_t38.xml", "m=image [media_port+2] udptl t38", "m=image "+strconv.Itoa(peer.port())+" udptl t38")
	wait, sippOut := startSIPp(t, ctx, dir, scen, sippPort, 1)

	pdf := makePDF(2)
	r := b.upload(t, fields(nanpTo), pdf, nil)
	if r.status != 202 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	id := r.body["jobId"].(string)
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 2, 2, "")
	h := b.hook(t)
	if h.body["event"] != webhook.EventFaxDelivered {
		f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
		t.Fatalf("got %s; fax %+v", h.raw, f)
	}
	checkOutbound(t, h, webhook.EventFaxDelivered, id, 2, 2, "")
	if err := wait(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, sippOut.String()[max(0, sippOut.Len()-2000):])
	}
	cancel()
	// spandsp's pages are the rendering, header line included, bit for bit.
	doc, err := render.Render(context.Background(), pdf, render.Options{Header: &render.Header{Time: at, From: callerDID, To: nanpTo}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := spandsp.ReadTIFF(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("spandsp kept %d pages", len(got))
	}
	for i := range got {
		want, err := doc.Page(i)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Width != want.Width || !bytes.Equal(got[i].Rows, want.Pix) {
			t.Fatalf("page %d differs at spandsp (%dx%d, want %dx%d)", i+1, got[i].Width, got[i].Height, want.Width, want.Height)
		}
	}
	f, err := b.svc.Fax(context.Background(), b.partnerID, id)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Attempts[0]
	if f.Status != "delivered" || f.CreditsUsed != 2 || len(f.Attempts) != 1 || a.Transport != "t38" || a.T30 == nil || a.T30.Code != "ok" || a.PagesConfirmed != 2 {
		t.Fatalf("fax %+v attempt %+v t30 %+v", f, a, a.T30)
	}
	t.Logf("T.30: %+v", *a.T30)
}

// Busy (486 from SIPp) is redialled, then fails with a full refund.
func TestEndToEndBusy(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	sippPort := freePort(t)
	g := startGateway(t, sippPort)
	b := setup(t, options{credits: 5, dialer: send.GatewayDialer{Gateway: g},
		policy: send.Policy{MaxAttempts: 2, Delays: []time.Duration{100 * time.Millisecond}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait, sippOut := startSIPp(t, ctx, dir, sippScenario(t, dir, "uas_reject.xml"), sippPort, 2)
	r := b.upload(t, fields(nanpTo), makePDF(3), nil)
	id := r.body["jobId"].(string)
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 3, 0, "busy")
	if err := wait(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, sippOut.String()[max(0, sippOut.Len()-2000):])
	}
	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	if len(f.Attempts) != 2 || *f.Attempts[0].SIPStatus != 486 || *f.Attempts[1].SIPStatus != 486 || b.credits(t) != 5 {
		t.Fatalf("fax %+v balance %d", f, b.credits(t))
	}
}

// No answer (SIPp rings; the gateway CANCELs after the ring timeout): failed, no-answer, refunded.
func TestEndToEndNoAnswer(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	sippPort := freePort(t)
	g := startGateway(t, sippPort)
	b := setup(t, options{credits: 5, dialer: send.GatewayDialer{Gateway: g, RingTimeout: time.Second},
		policy: send.Policy{MaxAttempts: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait, sippOut := startSIPp(t, ctx, dir, sippScenario(t, dir, "uas_ring.xml"), sippPort, 1)
	r := b.upload(t, fields(nanpTo), makePDF(1), nil)
	id := r.body["jobId"].(string)
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 1, 0, "no-answer")
	if err := wait(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, sippOut.String()[max(0, sippOut.Len()-2000):])
	}
	if b.credits(t) != 5 {
		t.Fatalf("balance %d", b.credits(t))
	}
}
