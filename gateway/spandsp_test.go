//go:build spandsp

package gateway

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/t38"
)

// spandspPeer runs a spandsp T.38 terminal in real time on a UDP socket: the far fax machine of
// these tests. It learns our address from the first datagram (both roles hear from us first: the
// calling gateway sends CNG, the answering one CED).
type spandspPeer struct {
	conn *net.UDPConn
	term *spandsp.T38Terminal
	code int
	text string
	done chan struct{} // closed when run returns: the terminal is freed only after that
}

func newSpandspPeer(t *testing.T, cfg spandsp.T38Config) *spandspPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	term, err := spandsp.NewT38Terminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &spandspPeer{conn: conn, term: term, done: make(chan struct{})}
	t.Cleanup(func() {
		conn.Close() // ends run's reader, and so run
		<-p.done
		term.Close()
	})
	return p
}

func (p *spandspPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// run drives the terminal until it is done (plus a second for the last packets) or ctx ends.
func (p *spandspPeer) run(ctx context.Context) {
	defer close(p.done)
	in := make(chan []byte, 256)
	from := make(chan *net.UDPAddr, 1)
	go func() {
		buf := make([]byte, 1500)
		first := true
		for {
			n, a, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				close(in)
				return
			}
			if first {
				from <- a
				first = false
			}
			in <- append([]byte(nil), buf[:n]...)
		}
	}()
	snd, _ := t38.NewSender(t38.SenderConfig{Depth: 2, MaxDatagram: 400})
	var rcv t38.Receiver
	var remote *net.UDPAddr
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var doneAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-from:
			remote = a
		case d, ok := <-in:
			if !ok {
				return
			}
			dl, err := rcv.Receive(d)
			if err != nil {
				continue
			}
			for _, x := range dl {
				if x.IFP != nil {
					p.term.Input(x.IFP, x.Seq)
				}
			}
		case <-tick.C:
			p.term.Advance(160)
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
			if done, code, text := p.term.Done(); done {
				if doneAt.IsZero() {
					doneAt, p.code, p.text = time.Now(), code, text
				} else if time.Since(doneAt) > time.Second {
					return
				}
			}
		}
	}
}

func bitmaps(pages []*g3.Page) []spandsp.Bitmap {
	var out []spandsp.Bitmap
	for _, p := range pages {
		out = append(out, spandsp.Bitmap{Width: p.Width, Height: p.Height, XRes: p.XRes, YRes: p.YRes, Rows: p.Pix})
	}
	return out
}

func sippScenario(t *testing.T, dir, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.NewReplacer(repl...).Replace(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort(t *testing.T) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func needSIPp(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed")
	}
}

// TestSpandspInboundT38ThreePages: SIPp places the call (T.38 offered directly, its m=image
// pointing at a spandsp T.38 terminal), spandsp sends 3 pages, the gateway delivers them
// pixel-identical and hangs up; nothing is leaked.
func TestSpandspInboundT38ThreePages(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	_, b, got := pair(t, nil, nil)
	dir := t.TempDir()
	pages := testPages(t, 3, 300)
	in := filepath.Join(dir, "in.tif")
	if err := spandsp.WriteTIFF(in, bitmaps(pages), spandsp.TIFFG4); err != nil {
		t.Fatal(err)
	}
	peer := newSpandspPeer(t, spandsp.T38Config{Calling: true, ECM: true, TxFile: in, Ident: "spandsp tx"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go peer.run(ctx)
	scen := sippScenario(t, dir, "uac_t38_wait_bye.xml", "m=image [media_port] udptl t38", "m=image "+strconv.Itoa(peer.port())+" udptl t38")
	r := callInAndExpectPages(t, ctx, b, got, dir, scen, "80s", pages)
	t.Logf("spandsp: %d %s; ours: %s", peer.code, peer.text, r.T30)
}

// callInAndExpectPages runs the SIPp caller scenario scen (in dir) against b once, within sippTimeout,
// then expects b to deliver exactly pages, complete, and to end with nothing leaked.
func callInAndExpectPages(t *testing.T, ctx context.Context, b *Gateway, got *received, dir, scen, sippTimeout string, pages []*g3.Page) Received {
	t.Helper()
	cmd := exec.CommandContext(ctx, "sipp", b.Endpoint().Addr("udp"), "-sf", scen, "-s", numB, "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freePort(t)), "-m", "1", "-nostdin",
		"-timeout", sippTimeout, "-timeout_error", "-trace_err")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, out[max(0, len(out)-2000):])
	}
	var r Received
	select {
	case r = <-got.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
	if r.Pages != len(pages) || r.Partial {
		t.Fatalf("received %d pages, partial %v: %s", r.Pages, r.Partial, r.T30)
	}
	samePages(t, r.TIFF, pages)
	waitIdle(t, b)
	return r
}

// TestSpandspOutboundToSIPpUAS: the gateway sends 3 pages to a SIPp callee that answers G.711 and
// re-INVITEs to T.38 (9600 bit/s, T38FaxMaxDatagram 180) with its m=image pointing at a spandsp
// receiver; spandsp must get identical pages.
func TestSpandspOutboundToSIPpUAS(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.tif")
	peer := newSpandspPeer(t, spandsp.T38Config{ECM: true, RxFile: out, Ident: "spandsp rx", MaxDatagram: 180})
	sippPort := freePort(t)
	a, _, _ := pair(t, func(tr *sip.Trunk) { tr.Address = "127.0.0.1:" + strconv.Itoa(sippPort) }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go peer.run(ctx)
	scen := sippScenario(t, dir, "uas_fax_t38.xml", "m=image [media_port+2] udptl t38", "m=image "+strconv.Itoa(peer.port())+" udptl t38")
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(sippPort), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(freePort(t)), "-m", "1", "-nostdin", "-timeout", "80s", "-timeout_error", "-trace_err")
	cmd.Dir = dir
	var sippOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sippOut, &sippOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // SIPp binding its port
	pages := testPages(t, 3, 300)
	res := a.Send(ctx, SendRequest{To: numB, CallerID: numA, Pages: pages})
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, sippOut.String()[max(0, sippOut.Len()-2000):])
	}
	if !res.Delivered || res.Pages != 3 || res.Media != sip.MediaT38 {
		t.Fatalf("result %+v", res)
	}
	cancel()
	got, err := spandsp.ReadTIFF(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("spandsp kept %d pages", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].Rows, pages[i].Pix) {
			t.Fatalf("page %d differs at spandsp", i+1)
		}
	}
	t.Logf("ours: %+v", res.T30)
	waitIdle(t, a)
}
