//go:build spandsp

package gateway

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/sip"
	"github.com/pion/rtp"
)

// audioPeer runs spandsp's audio fax terminal (fax_state_t, its own modems) in real time behind
// a G.711 RTP socket on 127.0.0.1: the far fax machine of the tests where T.38 is refused. It
// sends one 20 ms packet per 20 ms of wall clock (catching up after a late wake-up, so its sample
// clock stays honest under load), learns our address and payload type from our first packet,
// and feeds received frames to spandsp as they arrive, with fill-in for sequence gaps.
type audioPeer struct {
	conn *net.UDPConn
	term *spandsp.FaxTerminal
	code int
	text string
	done chan struct{} // closed when run returns: the terminal is freed only after that
}

func newAudioPeer(t *testing.T, cfg spandsp.FaxConfig) *audioPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	term, err := spandsp.NewFaxTerminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &audioPeer{conn: conn, term: term, done: make(chan struct{})}
	t.Cleanup(func() {
		conn.Close() // ends run's reader, and so run
		<-p.done
		term.Close()
	})
	return p
}

func (p *audioPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

type rtpIn struct {
	from *net.UDPAddr
	pkt  rtp.Packet
}

// run drives the terminal until it is done (plus a second for the last frames) or ctx ends.
func (p *audioPeer) run(ctx context.Context) {
	defer close(p.done)
	in := make(chan rtpIn, 256)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, a, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				close(in)
				return
			}
			var r rtpIn
			if r.pkt.Unmarshal(buf[:n]) != nil || len(r.pkt.Payload) == 0 {
				continue
			}
			r.pkt.Payload = append([]byte(nil), r.pkt.Payload...)
			r.from = a
			in <- r
		}
	}()
	var (
		remote  *net.UDPAddr
		pt      uint8
		law     = g711.MuLaw
		lastSeq uint16
		started bool
		pcm     [sip.FrameSamples]int16
		frame   [sip.FrameSamples]byte
		out     = rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 0x5a5a0001}}
		sent    int
		doneAt  time.Time
	)
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-in:
			if !ok {
				return
			}
			if remote == nil {
				remote, pt = r.from, r.pkt.PayloadType
				if pt == 8 {
					law = g711.ALaw
				}
			}
			if started {
				gap := int(r.pkt.SequenceNumber - lastSeq - 1)
				if gap >= 0x8000 {
					continue // late or duplicate
				}
				if gap > 0 {
					p.term.RxFillin(min(gap, 25) * sip.FrameSamples)
				}
			}
			started, lastSeq = true, r.pkt.SequenceNumber
			n := min(len(r.pkt.Payload), sip.FrameSamples)
			law.Decode(pcm[:n], r.pkt.Payload[:n])
			p.term.Rx(pcm[:n])
		case <-tick.C:
			for due := int(time.Since(start) / sip.FrameInterval); sent < due; sent++ {
				p.term.Tx(pcm[:])
				if remote == nil {
					continue // nobody to send to yet: spandsp's clock runs all the same
				}
				law.Encode(frame[:], pcm[:])
				out.PayloadType, out.Payload = pt, frame[:]
				out.SequenceNumber++
				out.Timestamp += sip.FrameSamples
				if b, err := out.Marshal(); err == nil {
					p.conn.WriteToUDP(b, remote)
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

// TestSpandspAudioInbound488: SIPp calls in on G.711 with its m=audio at a spandsp audio fax
// sender and answers our T.38 re-INVITE with 488, so 3 pages travel over G.711 through our
// modems; the gateway delivers them pixel-identical, hangs up, and leaks nothing (issue 8).
func TestSpandspAudioInbound488(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	_, b, got := pair(t, nil, nil)
	dir := t.TempDir()
	pages := testPages(t, 3, 300)
	in := filepath.Join(dir, "in.tif")
	if err := spandsp.WriteTIFF(in, bitmaps(pages), spandsp.TIFFG4); err != nil {
		t.Fatal(err)
	}
	peer := newAudioPeer(t, spandsp.FaxConfig{Calling: true, ECM: true, TxFile: in, Ident: "spandsp tx"})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	go peer.run(ctx)
	scen := sippScenario(t, dir, "uac_audio_488_wait_bye.xml", "m=audio [media_port] ", "m=audio "+strconv.Itoa(peer.port())+" ")
	r := callInAndExpectPages(t, ctx, b, got, dir, scen, "140s", pages)
	t.Logf("spandsp: %d %s; ours: %s", peer.code, peer.text, r.T30)
}

// TestSpandspAudioOutbound488: the gateway sends 3 pages to a SIPp callee that answers G.711
// (its m=audio at a spandsp audio fax receiver) and refuses our T.38 re-INVITE with 488; spandsp
// must get identical pages over G.711 (issue 8).
func TestSpandspAudioOutbound488(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.tif")
	peer := newAudioPeer(t, spandsp.FaxConfig{ECM: true, RxFile: out, Ident: "spandsp rx"})
	sippPort := freePort(t)
	a, _, _ := pair(t, func(tr *sip.Trunk) {
		tr.Address = "127.0.0.1:" + strconv.Itoa(sippPort)
		tr.T38.OutboundReinviteAfter = 3 * time.Second // we ask for T.38 ourselves: SIPp refuses
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	go peer.run(ctx)
	scen := sippScenario(t, dir, "uas_fax_488.xml", "m=audio [media_port] ", "m=audio "+strconv.Itoa(peer.port())+" ")
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-i", "127.0.0.1", "-p", strconv.Itoa(sippPort), "-mi", "127.0.0.1",
		"-mp", strconv.Itoa(freePort(t)), "-m", "1", "-nostdin", "-timeout", "140s", "-timeout_error", "-trace_err")
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
	if !res.Delivered || res.Pages != 3 || res.Media != sip.MediaAudio {
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
