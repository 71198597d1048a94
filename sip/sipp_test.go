package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/faxseal/faxseal/t38"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Numbers the test router knows.
const (
	didActive    = "+15551230001"
	didSuspended = "+15551230002"
	didUnknown   = "+15559999999"
)

var mediaBase atomic.Int32

// testMediaRange gives each endpoint its own port range so parallel tests never share ports.
func testMediaRange() (int, int) {
	n := int(mediaBase.Add(1))
	lo := 31000 + (n%40)*200
	return lo, lo + 199
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func testRouter(ctx context.Context, t *Trunk, number string) (any, error) {
	switch number {
	case didActive:
		return "route-" + number, nil
	case didSuspended:
		return nil, ErrSuspended
	}
	return nil, ErrUnknownNumber
}

// callLog records what the inbound handler saw.
type callLog struct {
	mu     sync.Mutex
	calls  []*Call
	events map[*Call][]Event
	ch     chan *Call
}

func newCallLog() *callLog { return &callLog{events: map[*Call][]Event{}, ch: make(chan *Call, 16)} }

func (l *callLog) add(c *Call, e Event) {
	l.mu.Lock()
	l.events[c] = append(l.events[c], e)
	l.mu.Unlock()
}

func (l *callLog) kinds(c *Call) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, e := range l.events[c] {
		k := e.Kind.String()
		if e.Remote {
			k += "(remote)"
		}
		if e.Status != 0 {
			k += "(" + strconv.Itoa(e.Status) + ")"
		}
		s = append(s, k)
	}
	return s
}

// handler consumes events until hangup; hangupAfter > 0 makes the gateway side hang up.
func (l *callLog) handler(hangupAfter time.Duration) Handler {
	return func(c *Call, route any) {
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
		l.ch <- c
		var timer <-chan time.Time
		if hangupAfter > 0 {
			timer = time.After(hangupAfter)
		}
		for {
			select {
			case e := <-c.Events():
				l.add(c, e)
				if e.Kind == EventHangup {
					return
				}
			case <-c.Audio():
			case <-c.UDPTL():
			case <-timer:
				c.Hangup(context.Background())
			}
		}
	}
}

type testEnv struct {
	ep   *Endpoint
	log  *callLog
	sipp int // SIPp's local port (also the trunk address for outbound tests)
	mp   int // SIPp's media port
	dir  string
}

func newTestEnv(t *testing.T, mod func(*Config, *Options), hangupAfter time.Duration) *testEnv {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp (Debian sip-tester) not installed; scripts/install-deps.sh installs it")
	}
	env := &testEnv{log: newCallLog(), sipp: freeUDPPort(t), mp: freeUDPPort(t), dir: t.TempDir()}
	lo, hi := testMediaRange()
	cfg := &Config{
		Listen:        []Listener{{Transport: "udp", Address: "127.0.0.1:0"}},
		PublicAddress: "127.0.0.1",
		Media:         MediaConfig{PortMin: lo, PortMax: hi, BindAddress: "127.0.0.1"},
		Trunks: []Trunk{{
			Name: "sipp", Address: "127.0.0.1:" + strconv.Itoa(env.sipp), InboundCIDRs: []string{"127.0.0.1/32"},
			Username: "faxseal", Password: "secret",
			T38: T38Policy{ReinviteTimeout: 3 * time.Second},
		}},
	}
	opts := Options{Router: testRouter, Handler: env.log.handler(hangupAfter)}
	if mod != nil {
		mod(cfg, &opts)
	}
	ep, err := NewEndpoint(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ep.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		ep.Close()
	})
	env.ep = ep
	return env
}

// scenario copies testdata/sipp/name into the test directory, applying replacements.
func (env *testEnv) scenario(t *testing.T, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(string(b))
	p := filepath.Join(env.dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sipp runs SIPp with the usual loopback flags and returns its combined output and error.
func (env *testEnv) sippCmd(ctx context.Context, scenario string, args ...string) *exec.Cmd {
	base := []string{"-sf", scenario, "-i", "127.0.0.1", "-p", strconv.Itoa(env.sipp),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(env.mp), "-nostdin", "-trace_err", "-timeout", "30s", "-timeout_error"}
	cmd := exec.CommandContext(ctx, "sipp", append(base, args...)...)
	cmd.Dir = env.dir
	return cmd
}

func (env *testEnv) runUAC(t *testing.T, scenario string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	all := append([]string{env.ep.Addr("udp"), "-m", "1"}, args...)
	cmd := env.sippCmd(ctx, scenario, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sipp %s: %v\n%s%s", filepath.Base(scenario), err, tailString(out.String(), 4000), env.errorLog())
	}
}

func (env *testEnv) errorLog() string {
	m, _ := filepath.Glob(filepath.Join(env.dir, "*_errors.log"))
	var b strings.Builder
	for _, f := range m {
		d, _ := os.ReadFile(f)
		b.WriteString("\n--- " + filepath.Base(f) + "\n" + tailString(string(d), 3000))
	}
	return b.String()
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// startUAS starts SIPp as the callee for our outbound calls; wait returns its result.
func (env *testEnv) startUAS(t *testing.T, scenario string, args ...string) (wait func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	cmd := env.sippCmd(ctx, scenario, append([]string{"-m", "1"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	waitUDPBound(t, env.sipp)
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() {
			err = cmd.Wait()
			cancel()
			if err != nil {
				err = fmt.Errorf("%w\n%s%s", err, tailString(out.String(), 4000), env.errorLog())
			}
		})
		return err
	}
	t.Cleanup(func() { wait() })
	return wait
}

// waitUDPBound waits until something has bound the UDP port (SIPp startup takes ~50 ms). It
// looks in /proc/net/udp rather than trying to bind the port itself: a probe that binds can hold
// the port at the very moment SIPp binds it, and SIPp then exits ("nothing bound" under load).
func waitUDPBound(t *testing.T, port int) {
	t.Helper()
	want := fmt.Sprintf(":%04X ", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tab, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			time.Sleep(300 * time.Millisecond) // no procfs: give SIPp its startup time
			return
		}
		for _, line := range strings.Split(string(tab), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing bound UDP port %d", port)
}

// waitIdle waits for every call to end and checks that all media ports went back to the pool.
func (env *testEnv) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if env.ep.ActiveCalls() == 0 && env.ep.Ports().InUse() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("not idle: %d calls, %d media ports in use", env.ep.ActiveCalls(), env.ep.Ports().InUse())
}

func (env *testEnv) onlyCall(t *testing.T) *Call {
	t.Helper()
	select {
	case c := <-env.log.ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("handler never got a call")
	}
	return nil
}

func waitDone(t *testing.T, c *Call) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("call did not end")
	}
	// the handler logs the hangup event just after Done
	time.Sleep(20 * time.Millisecond)
}

func wantKinds(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestSIPpInboundT38Direct(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	env.runUAC(t, env.scenario(t, "uac_t38_direct.xml"), "-s", strings.TrimPrefix(didActive, "+"), "-d", "300")
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup(remote)")
	if c.To() != didActive || c.Direction() != Inbound {
		t.Fatalf("to %q dir %v", c.To(), c.Direction())
	}
	env.waitIdle(t)
}

func TestSIPpInboundReinviteToT38(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	env.runUAC(t, env.scenario(t, "uac_audio_reinvite.xml"), "-s", didActive, "-d", "300")
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started", "hangup(remote)")
	env.waitIdle(t)
}

func TestSIPpInbound488StaysOnAudio(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	env.runUAC(t, env.scenario(t, "uac_audio_reinvite_488.xml"), "-s", didActive, "-d", "500")
	c := env.onlyCall(t)
	waitDone(t, c)
	// The call survived the refusal on G.711 until the caller's BYE.
	wantKinds(t, env.log.kinds(c), "answered", "t38-refused(488)", "hangup(remote)")
	env.waitIdle(t)
}

func TestSIPpInboundGatewayHangsUp(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 300*time.Millisecond)
	env.runUAC(t, env.scenario(t, "uac_t38_wait_bye.xml"), "-s", didActive)
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup")
	env.waitIdle(t)
}

func TestSIPpInboundRejections(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, number, code string
		mod                func(*Config, *Options)
	}{
		{"unknown DID", didUnknown, "404", nil},
		{"suspended partner", didSuspended, "480", nil},
		{"not a number", "fax", "404", nil},
		{"source outside trunk CIDRs", didActive, "403", func(c *Config, _ *Options) { c.Trunks[0].InboundCIDRs = []string{"192.0.2.0/24"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, tc.mod, 0)
			env.runUAC(t, env.scenario(t, "uac_reject.xml", `response="404"`, `response="`+tc.code+`"`), "-s", tc.number)
			if n := len(env.log.calls); n != 0 {
				t.Fatalf("handler got %d calls", n)
			}
			env.waitIdle(t)
		})
	}
}

func TestSIPpInboundCancelBeforeAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(_ *Config, o *Options) { o.AnswerDelay = 5 * time.Second }, 0)
	env.runUAC(t, env.scenario(t, "uac_cancel.xml"), "-s", didActive)
	env.waitIdle(t)
	if n := len(env.log.calls); n != 0 {
		t.Fatalf("handler got %d calls", n)
	}
}

// outbound runs one Dial against a SIPp callee and returns the call or the error.
func (env *testEnv) dial(t *testing.T, ctx context.Context) (*Call, error) {
	t.Helper()
	return env.ep.Dial(ctx, DialRequest{To: "+15557654321", CallerID: didActive, RingTimeout: 10 * time.Second})
}

// drain collects a call's events until hangup.
func drain(c *Call, log *callLog) {
	for e := range c.Events() {
		log.add(c, e)
		if e.Kind == EventHangup {
			return
		}
	}
}

func TestSIPpOutboundAudioEcho(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	wait := env.startUAS(t, env.scenario(t, "uas_fax.xml"), "-rtp_echo")
	c, err := env.dial(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Media() != MediaAudio || c.Codec() != CodecPCMU {
		t.Fatalf("media %v codec %v", c.Media(), c.Codec())
	}
	// SIPp echoes RTP: a marker frame we send must come back through the playout buffer.
	var marker [FrameSamples]byte
	for i := range marker {
		marker[i] = byte(0x10 + i%32)
	}
	got := false
	deadline := time.After(5 * time.Second)
	for !got {
		select {
		case f := <-c.Audio():
			got = bytes.Equal(f.Payload[:], marker[:])
		case <-time.After(FrameInterval):
			c.WriteAudio(marker[:])
		case <-deadline:
			t.Fatal("echoed RTP frame never arrived")
		}
	}
	go drain(c, env.log)
	if err := c.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "hangup")
	env.waitIdle(t)
}

func TestSIPpOutboundPeerReinvitesT38(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	wait := env.startUAS(t, env.scenario(t, "uas_fax_t38.xml"), "-rtp_echo")
	c, err := env.dial(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var started Event
	for e := range c.Events() {
		env.log.add(c, e)
		if e.Kind == EventT38Started {
			started = e
			break
		}
		if e.Kind == EventHangup {
			t.Fatal("hung up before T.38")
		}
	}
	s := started.T38
	// The offer said 9600 and MaxDatagram 180: our answer caps the rate, and we must respect
	// their datagram limit.
	if s.MaxBitRate != 9600 || s.RemoteDatagram != 180 || s.LocalDatagram != 400 || s.EC != t38.UDPECRedundancy || s.Version != 0 {
		t.Fatalf("T.38 session %+v", s)
	}
	// RTP stops once the call is on T.38 (fax-protocols §3.6).
	sent := c.audio.sent.Load()
	time.Sleep(150 * time.Millisecond)
	if now := c.audio.sent.Load(); now != sent {
		t.Fatalf("RTP still sent on T.38: %d -> %d packets", sent, now)
	}
	// UDPTL echo through SIPp's -rtp_echo on media_port+2.
	dgram := []byte{0x00, 0x01, 0x06, 0x01, 0x00}
	got := false
	deadline := time.After(5 * time.Second)
	for !got {
		select {
		case d := <-c.UDPTL():
			got = bytes.Equal(d, dgram)
		case <-time.After(50 * time.Millisecond):
			if err := c.WriteUDPTL(dgram); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("echoed UDPTL datagram never arrived")
		}
	}
	go drain(c, env.log)
	if err := c.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup")
	env.waitIdle(t)
}

func TestSIPpOutboundDigestAuth(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	wait := env.startUAS(t, env.scenario(t, "uas_auth.xml"))
	c, err := env.dial(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	go drain(c, env.log)
	c.Hangup(context.Background())
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, c)
	env.waitIdle(t)
}

func TestSIPpOutboundFailureReasons(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code   string
		reason FailureReason
	}{
		{"486 Busy Here", ReasonBusy},
		{"600 Busy Everywhere", ReasonBusy},
		{"480 Temporarily Unavailable", ReasonNoAnswer},
		{"404 Not Found", ReasonFailed},
		{"604 Does Not Exist Anywhere", ReasonFailed},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			env := newTestEnv(t, nil, 0)
			wait := env.startUAS(t, env.scenario(t, "uas_reject.xml", "486 Busy Here", tc.code))
			_, err := env.dial(t, context.Background())
			var de *DialError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DialError", err)
			}
			want, _ := strconv.Atoi(tc.code[:3])
			if de.Reason != tc.reason || de.Status != want {
				t.Fatalf("got %v %d, want %v %d", de.Reason, de.Status, tc.reason, want)
			}
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			env.waitIdle(t)
		})
	}
}

func TestSIPpOutboundCancel(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	wait := env.startUAS(t, env.scenario(t, "uas_ring.xml"))
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	_, err := env.dial(t, ctx)
	var de *DialError
	if !errors.As(err, &de) || de.Reason != ReasonCanceled {
		t.Fatalf("got %v, want canceled", err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	env.waitIdle(t)
}

func TestSIPpInboundPeerT38WithOptionsAndRefresh(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config, _ *Options) { c.Trunks[0].T38.Reinvite = ReinvitePeer }, 0)
	env.runUAC(t, env.scenario(t, "uac_caller_t38_refresh.xml"), "-s", didActive, "-d", "300")
	c := env.onlyCall(t)
	waitDone(t, c)
	// The OPTIONS and the refresh re-INVITE must not disturb the T.38 session.
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup(remote)")
	env.waitIdle(t)
}

func TestSIPpInboundGlare(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	env.runUAC(t, env.scenario(t, "uac_glare.xml"), "-s", didActive, "-d", "2500")
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup(remote)")
	env.waitIdle(t)
}

func TestSIPpInboundTCP(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config, _ *Options) {
		c.Listen = append(c.Listen, Listener{Transport: "tcp", Address: "127.0.0.1:0"})
	}, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := env.sippCmd(ctx, env.scenario(t, "uac_t38_direct.xml"), env.ep.Addr("tcp"), "-m", "1", "-t", "t1", "-s", didActive, "-d", "200")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp over TCP: %v\n%s%s", err, tailString(string(out), 1500), env.errorLog())
	}
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-started(remote)", "hangup(remote)")
	env.waitIdle(t)
}

func TestSIPpRegisterWithDigest(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed")
	}
	env := &testEnv{log: newCallLog(), sipp: freeUDPPort(t), mp: freeUDPPort(t), dir: t.TempDir()}
	// SIPp first: the endpoint registers as soon as it starts.
	wait := env.startUAS(t, env.scenario(t, "uas_registrar.xml"))
	lo, hi := testMediaRange()
	cfg := &Config{
		Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
		Media:  MediaConfig{PortMin: lo, PortMax: hi},
		Trunks: []Trunk{{Name: "reg", Address: "127.0.0.1:" + strconv.Itoa(env.sipp), Username: "faxseal", Password: "secret", Register: true}},
	}
	ep, err := NewEndpoint(cfg, Options{Router: testRouter, Handler: env.log.handler(0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); ep.Close() }()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

func TestSIPpInboundLate2xxToReinvite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config, _ *Options) { c.Trunks[0].T38.ReinviteTimeout = 800 * time.Millisecond }, 0)
	env.runUAC(t, env.scenario(t, "uac_audio_reinvite_late.xml"), "-s", didActive, "-d", "500")
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-refused", "t38-started", "hangup(remote)")
	env.waitIdle(t)
}

// TestSIPpInboundDelayedOffer: an INVITE without SDP gets our audio offer in the 200 and the
// answer from the ACK (RFC 3261 §13.2.1); our RTP goes to the address in that answer, which
// SIPp echoes back, and the T.38 re-INVITE that follows is refused, keeping G.711.
func TestSIPpInboundDelayedOffer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, 0)
	env.runUAC(t, env.scenario(t, "uac_delayed_offer.xml"), "-s", didActive, "-d", "1000", "-rtp_echo")
	c := env.onlyCall(t)
	waitDone(t, c)
	wantKinds(t, env.log.kinds(c), "answered", "t38-refused(488)", "hangup(remote)")
	if c.Codec() != CodecPCMU {
		t.Fatalf("codec %v, want the answer's PCMU", c.Codec())
	}
	c.mu.Lock()
	a := c.audio
	c.mu.Unlock()
	if a == nil || a.sent.Load() == 0 || a.received.Load() == 0 {
		t.Fatal("no RTP exchanged with the address the ACK's answer gave")
	}
	env.waitIdle(t)
}
