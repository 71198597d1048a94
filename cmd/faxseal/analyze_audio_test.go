package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/modem/audio"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

const asteriskPrefix = "testdata/asterisk-testsuite_t38_enabled_two_reinvite_on_a_leg_"

func analyzeFile(t *testing.T, path string, o analyzeOptions) string {
	t.Helper()
	c, err := readCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	if o.outDir == "" {
		o.outDir = t.TempDir()
	}
	var out bytes.Buffer
	if err := analyze(c, o, &out); err != nil {
		t.Fatalf("analyze: %v\n%s", err, out.String())
	}
	return out.String()
}

// traceLine matches one line of the T.30 trace: time, direction, what.
var traceLine = regexp.MustCompile(`(?m)^ +([0-9]+\.[0-9]{3})s ([A-Z][0-9]*) (.*)$`)

type traced struct {
	at   float64
	dir  string
	what string
}

func traceOf(out string) []traced {
	var tr []traced
	for _, m := range traceLine.FindAllStringSubmatch(out, -1) {
		at, _ := strconv.ParseFloat(m[1], 64)
		tr = append(tr, traced{at, m[2], m[3]})
	}
	return tr
}

// expectTrace checks that the trace holds the wanted lines (direction and a prefix of what), in
// this order, each within its time window, and that its times never go backwards.
func expectTrace(t *testing.T, out string, want []traced) {
	t.Helper()
	tr := traceOf(out)
	for i := 1; i < len(tr); i++ {
		if tr[i].at < tr[i-1].at {
			t.Errorf("trace goes back in time at %+v", tr[i])
		}
	}
	i := 0
	for _, w := range want {
		for i < len(tr) && !(tr[i].dir == w.dir && strings.HasPrefix(tr[i].what, w.what)) {
			i++
		}
		if i == len(tr) {
			t.Fatalf("trace lacks %s %q (in order):\n%s", w.dir, w.what, out)
		}
		// w.at is the expected time, from the capture's README (rough Goertzel scan) and the
		// frame lengths: allow a second either way.
		if d := tr[i].at - w.at; d < -1 || d > 1 {
			t.Errorf("%s %q at %.3f s, want about %.1f s", w.dir, w.what, tr[i].at, w.at)
		}
		i++
	}
}

// The Asterisk test suite's G.711 captures (testdata/README.md): no SIP, found by content.
func TestAnalyzeAsteriskG711(t *testing.T) {
	t.Parallel()
	t.Run("CARRIER", func(t *testing.T) {
		out := analyzeFile(t, asteriskPrefix+"CARRIER_G711U.pcap", analyzeOptions{version: -1})
		for _, e := range []string{"800 RTP packets in 1 G.711 streams found by content",
			"A: 208.89.128.69:47322 -> 81.201.84.200:13030, PCMU (PT 0), SSRC 0x17CB308C, 800 packets, 14 lost, 0 duplicates",
			"A: 14 lost packets bridged with 14 fill-in blocks",
			"Negotiated: V.29 9600 bit/s, standard, MR, width 1728, ECM false (sender A)", "none received"} {
			if !strings.Contains(out, e) {
				t.Errorf("output lacks %q:\n%s", e, out)
			}
		}
		// CNG (0.5 s on, 3 s off: reported at the end of each burst), then the sender's answer to
		// a DIS this leg does not carry: TSI, DCS, V.29 training and 1.5 s of TCF (T.30 §5.3.6.2.1).
		expectTrace(t, out, []traced{{1.5, "A", "tone CNG"}, {5.0, "A", "tone CNG"}, {9.7, "A", `TSI ""`},
			{10.0, "A", "DCS V.29 9600 standard MR 1728"}, {10.4, "A", "V.29 9600 trained"}, {11.9, "A", "TCF "}})
		m := regexp.MustCompile(`TCF ([0-9]+) octets at 9600 bit/s \(([0-9.]+) s, ([0-9]+) zero\)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no TCF line:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		zeros, _ := strconv.Atoi(m[3])
		// 1.5 s at 9600 bit/s is 1800 octets; the lost packets and the modem's start cost a few.
		if n < 1700 || n > 1900 || zeros < n*95/100 {
			t.Errorf("TCF %d octets, %d zero", n, zeros)
		}
		if got := len(traceOf(out)); got != 6 {
			t.Errorf("%d trace lines, want 6 (the capture ends during a V.21 preamble):\n%s", got, out)
		}
	})
	t.Run("CUSTOMER", func(t *testing.T) {
		out := analyzeFile(t, asteriskPrefix+"CUSTOMER_G711U.pcap", analyzeOptions{version: -1})
		if !strings.Contains(out, "800 RTP packets in 2 G.711 streams") {
			t.Errorf("streams:\n%s", out)
		}
		// The calling fax's CNG on A; the called fax's CED (1.43-4.01 s) and its V.21 burst
		// (NSF, CSI, DIS: T.30 §5.3.6.1) on B.
		expectTrace(t, out, []traced{{1.5, "A", "tone CNG"}, {1.9, "B", "tone CED"}, {5.0, "A", "tone CNG"},
			{6.4, "B", "NSF country 0x00, 37 octets"}, {7.1, "B", `CSI "++08122555448800751+"`},
			{7.5, "B", "DIS rx V.29+V.27ter standard+fine+superfine MH+MR width<=1728"}})
		if !strings.Contains(out, "Offered (DIS from B): rx V.29+V.27ter") || strings.Contains(out, "Negotiated") {
			t.Errorf("parameters:\n%s", out)
		}
		// --port selects one leg.
		out = analyzeFile(t, asteriskPrefix+"CUSTOMER_G711U.pcap", analyzeOptions{port: 11464, version: -1})
		if !strings.Contains(out, "399 RTP packets in 1 G.711 streams on port 11464") || strings.Contains(out, "tone CNG") ||
			!strings.Contains(out, "A DIS") {
			t.Errorf("--port 11464:\n%s", out)
		}
	})
}

// hostPort is an address in a generated capture.
type hostPort struct {
	ip   net.IP
	port int
}

var (
	callerRTP = hostPort{net.IPv4(192, 0, 2, 10), 30000}
	calledRTP = hostPort{net.IPv4(198, 51, 100, 20), 31000}
	callerSIP = hostPort{net.IPv4(192, 0, 2, 10), 5060}
	calledSIP = hostPort{net.IPv4(198, 51, 100, 20), 5060}
)

// recorder writes datagrams as an Ethernet/IPv4/UDP capture with gopacket's pcapgo, as tcpdump on
// the called host would record them.
type recorder struct {
	t     testing.TB
	buf   bytes.Buffer
	w     *pcapgo.Writer
	start time.Time
}

func newRecorder(t testing.TB) *recorder {
	r := &recorder{t: t, start: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	r.w = pcapgo.NewWriter(&r.buf)
	if err := r.w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *recorder) add(at time.Duration, src, dst hostPort, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.ip.To4(), DstIP: dst.ip.To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		r.t.Fatal(err)
	}
	b := sb.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: r.start.Add(at), CaptureLength: len(b), Length: len(b)}
	if err := r.w.WritePacket(ci, b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *recorder) sip(at time.Duration, src, dst hostPort, start, cseq, body string) {
	msg := fmt.Sprintf("%s\r\nVia: SIP/2.0/UDP %v:5060;branch=z9hG4bK-1\r\nCall-ID: g711-capture\r\nCSeq: %s\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", start, src.ip, cseq, len(body), body)
	r.add(at, src, dst, []byte(msg))
}

// audioSDP is an audio offer or answer for one payload type (RFC 4566; rtpmap for a dynamic type).
func audioSDP(h hostPort, pt int, law g711.Law) string {
	name := map[g711.Law]string{g711.MuLaw: "PCMU", g711.ALaw: "PCMA"}[law]
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %v\r\ns=-\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\na=ptime:20\r\n",
		h.ip, h.ip, h.port, pt, pt, name)
}

// rtpSender numbers the packets of one direction (RFC 3550 §5.1).
type rtpSender struct {
	pt   byte
	ssrc uint32
	seq  uint16
	ts   uint32
}

func (s *rtpSender) next(payload []byte) []byte {
	b := make([]byte, 12+len(payload))
	b[0], b[1] = 0x80, s.pt
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	copy(b[12:], payload)
	s.seq++
	s.ts += uint32(len(payload))
	return b
}

// testPage draws lines of black blocks, like text, so the coded page has realistic runs.
func testPage(t testing.TB, seed uint64, height int) *g3.Page {
	r := rand.New(rand.NewPCG(seed, 7))
	p, err := g3.NewPage(t30.WidthA4, height, g3.ResX, g3.ResFine)
	if err != nil {
		t.Fatal(err)
	}
	for top := 20; top+40 < height; top += 48 {
		for x := 80 + r.IntN(40); x < t30.WidthA4-120; x += 12 + r.IntN(20) {
			w, h := 4+r.IntN(10), 12+r.IntN(18)
			for y := top + 30 - h; y < top+30; y++ {
				for i := x; i < x+w; i++ {
					p.Set(i, y, true)
				}
			}
		}
	}
	return p
}

// pageSource is a t30.Source over g3 pages prepared at fine resolution.
type pageSource struct{ pages []*g3.Page }

func (s *pageSource) Pages() int                      { return len(s.pages) }
func (s *pageSource) Prepared() (int, t30.Resolution) { return t30.WidthA4, t30.Fine }
func (s *pageSource) Encode(n int, f t30.Format) ([]byte, error) {
	p := s.pages[n]
	if f.Resolution != t30.Fine || f.Width != p.Width {
		return nil, fmt.Errorf("test source: format %v not prepared", f)
	}
	return g3.Encode(p, g3.Options{Compression: g3Comp(f.Compression), K: g3.KForResolution(p.YRes),
		Width: p.Width, Order: g3.LSBFirst, MinRowBits: f.MinRowBits})
}

// pageSink keeps the number of pages the receiving session confirmed.
type pageSink struct{ kept int }

func (k *pageSink) StartPage(t30.Format) error    { return nil }
func (k *pageSink) Write([]byte) error            { return nil }
func (k *pageSink) EndPage() (t30.Quality, error) { return t30.Quality{Rows: 100}, nil }
func (k *pageSink) Commit(keep bool) error {
	if keep {
		k.kept++
	}
	return nil
}

type g711Call struct {
	law        g711.Law
	pt         int // RTP payload type in SDP and packets
	ecm        bool
	disableV17 bool
	comp       []t30.Compression
	loss       float64 // of the caller's packets, before the capture point
	seed       uint64
	until      time.Duration // stop after this much call time (0: when the fax is over)
}

// faxEnd is one side of a recorded call, 20 ms per step.
type faxEnd interface {
	tx(dst []byte)     // the next packet's G.711 payload
	rx(payload []byte) // a received packet; nil when it was lost
	advance(now time.Duration)
	done() bool
}

// ourEnd is our t30 session on our audio transport.
type ourEnd struct {
	tr *audio.Transport
	s  *t30.Session
}

func newOurEnd(t testing.TB, law g711.Law, cfg t30.Config) *ourEnd {
	e := &ourEnd{tr: audio.New(law)}
	cfg.FrontEnd = e.tr
	s, err := t30.NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	s.Start(0)
	return e
}

func (e *ourEnd) tx(dst []byte) { e.tr.TxG711(dst) }
func (e *ourEnd) rx(p []byte) {
	if p == nil {
		e.tr.RxFillin(audio.Block)
	} else {
		e.tr.RxG711(p)
	}
}
func (e *ourEnd) advance(now time.Duration) {
	for _, ev := range e.tr.Events() {
		e.s.Handle(now, ev)
	}
	e.s.Advance(now)
}
func (e *ourEnd) done() bool { return e.s.Done() }

// recordCall runs a call between caller and called in virtual time, 20 ms per packet, and records it
// as the called host would capture it: SIP INVITE/200 with audio SDP, then RTP both ways. The
// caller's packets cross a lossy link before the capture point (the called side then bridges them
// with fill-in, as analyze must); a few arrive out of order. It returns the capture time at the end.
func recordCall(t testing.TB, r *recorder, c g711Call, caller, called faxEnd, at0 time.Duration) time.Duration {
	t.Helper()
	r.sip(at0, callerSIP, calledSIP, "INVITE sip:+15550199@198.51.100.20 SIP/2.0", "1 INVITE", audioSDP(callerRTP, c.pt, c.law))
	r.sip(at0+30*time.Millisecond, calledSIP, callerSIP, "SIP/2.0 200 OK", "1 INVITE", audioSDP(calledRTP, c.pt, c.law))
	rng := rand.New(rand.NewPCG(c.seed, 1))
	tx := [2]*rtpSender{{pt: byte(c.pt), ssrc: 0x1000 + uint32(c.seed), ts: 4000}, {pt: byte(c.pt), ssrc: 0x2000 + uint32(c.seed), seq: 60000}}
	var held []byte // a caller packet delayed behind the next one
	var now, done time.Duration
	at := at0 + 100*time.Millisecond
	for {
		now += 20 * time.Millisecond
		if done == 0 && caller.done() && called.done() {
			done = now
		}
		// Keep recording after both sides end: the last DCN is still on the line.
		if now > 5*time.Minute || (c.until > 0 && now > c.until) || (done > 0 && now > done+3*time.Second) {
			break
		}
		ga, gb := make([]byte, audio.Block), make([]byte, audio.Block)
		caller.tx(ga)
		called.tx(gb)
		// Called -> caller: recorded as sent.
		r.add(at+now+5*time.Millisecond, calledRTP, callerRTP, tx[1].next(gb))
		caller.rx(gb)
		// Caller -> called: lost on the way, or recorded as received.
		pkt := tx[0].next(ga)
		if rng.Float64() < c.loss {
			called.rx(nil)
		} else {
			called.rx(ga)
			arrive := at + now + 3*time.Millisecond
			switch {
			case held != nil:
				r.add(arrive, callerRTP, calledRTP, pkt)
				r.add(arrive+time.Millisecond, callerRTP, calledRTP, held)
				held = nil
			case rng.IntN(200) == 0:
				held = pkt
			default:
				r.add(arrive, callerRTP, calledRTP, pkt)
			}
		}
		caller.advance(now)
		called.advance(now)
	}
	if held != nil {
		r.add(at+now, callerRTP, calledRTP, held)
	}
	return at + now
}

// recordG711Fax records a whole fax between two of our stacks, the caller sending pages.
func recordG711Fax(t testing.TB, r *recorder, c g711Call, pages []*g3.Page, at0 time.Duration) time.Duration {
	t.Helper()
	sink := &pageSink{}
	a := newOurEnd(t, c.law, t30.Config{Role: t30.Send, Calling: true, Ident: "+1 555 0100",
		Source: &pageSource{pages}, DisableECM: !c.ecm, DisableV17: c.disableV17, Compressions: c.comp})
	b := newOurEnd(t, c.law, t30.Config{Role: t30.Receive, Ident: "+1 555 0199", Sink: sink,
		DisableECM: !c.ecm, DisableV17: c.disableV17, Compressions: c.comp})
	end := recordCall(t, r, c, a, b, at0)
	if c.until == 0 && (sink.kept != len(pages) || a.s.Result().Code != t30.OK || b.s.Result().Code != t30.OK) {
		t.Fatalf("the recorded fax itself failed: %d of %d pages kept; sender %v, receiver %v", sink.kept, len(pages), a.s.Result(), b.s.Result())
	}
	return end
}

// checkPages compares the pages analyze wrote in dir with the pages sent, pixel for pixel.
func checkPages(t *testing.T, dir string, pages []*g3.Page, out string) {
	t.Helper()
	got := readPages(t, filepath.Join(dir, "received.tif"))
	if len(got) != len(pages) {
		t.Fatalf("%d pages written, want %d:\n%s", len(got), len(pages), out)
	}
	for i := range pages {
		if !got[i].Equal(pages[i]) {
			t.Errorf("page %d differs from the page sent (%dx%d vs %dx%d)", i+1, got[i].Width, got[i].Height, pages[i].Width, pages[i].Height)
		}
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "received.pdf"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/CCITTFaxDecode")) != len(pages) {
		t.Errorf("received.pdf: %v, %d bytes", err, len(pdf))
	}
}

// writeCapture writes the recorded capture to a temporary file.
func writeCapture(t *testing.T, r *recorder, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".pcap")
	if err := os.WriteFile(path, r.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A whole fax over G.711 between two of our stacks, recorded and analyzed: the pages analyze writes
// must be the pages sent, pixel for pixel.
func TestAnalyzeG711WholeFax(t *testing.T) {
	t.Parallel()
	pages := []*g3.Page{testPage(t, 1, 500), testPage(t, 2, 420)}
	for _, c := range []struct {
		name   string
		call   g711Call
		expect []string
	}{
		// ECM at V.17 with 2 % of the caller's packets lost before the capture: fill-in in the
		// monitor, lost FCD frames repaired by PPR (T.4 Annex A), so the pages are still whole.
		{"ulaw_ecm_v17_loss", g711Call{law: g711.MuLaw, pt: 0, ecm: true, loss: 0.02, seed: 3},
			[]string{"PCMU (PT 0)", "DCS V.17 14400 fine MMR 1728", "V.17 14400 trained", "PPS-MPS", "PPS-EOP",
				"page 2 confirmed", "Negotiated: V.17 14400 bit/s, fine, MMR, width 1728, ECM true (sender A)"}},
		// Non-ECM MR at V.29 on A-law, with a dynamic payload type mapped by a=rtpmap.
		{"alaw_noecm_v29_mr", g711Call{law: g711.ALaw, pt: 96, disableV17: true, comp: []t30.Compression{t30.MH, t30.MR}, seed: 4},
			[]string{"PCMA (PT 96)", "DCS V.29 9600 fine MR 1728", "V.29 9600 trained", "TCF ", "CFR", "MPS", "EOP",
				"page 2 confirmed", "DCN", "Negotiated: V.29 9600 bit/s, fine, MR, width 1728, ECM false (sender A)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			recordG711Fax(t, r, c.call, pages, 0)
			path := writeCapture(t, r, c.name)
			dir := t.TempDir()
			out := analyzeFile(t, path, analyzeOptions{outDir: dir, version: -1})
			for _, e := range c.expect {
				if !strings.Contains(out, e) {
					t.Errorf("output lacks %q:\n%s", e, out)
				}
			}
			// The caller (A) sends CNG, the called side (B) answers with CED and DIS (T.30 §5.3.6.1).
			expectTrace(t, out, []traced{{0.5, "A", "tone CNG"}, {0.7, "B", "tone CED"}, {5.3, "B", "DIS"}, {7.3, "A", "DCS"}})
			if c.call.loss > 0 && !strings.Contains(out, "lost packets bridged with") {
				t.Errorf("no fill-in reported:\n%s", out)
			}
			if !regexp.MustCompile(`[1-9][0-9]* out of order`).MatchString(out) {
				t.Errorf("the reordered packets are not reported:\n%s", out)
			}
			checkPages(t, dir, pages, out)
		})
	}
}

// A call that starts on G.711 and switches to T.38 with a re-INVITE (brief §3.7): the audio part (CNG,
// CED, DIS, the first DCS) and then the T.38 part, a whole fax, in one trace in capture order. The
// T.38 part is the recorded call of testdata/pcaps (FaxSeal to spandsp, the same two hosts), its
// INVITE renumbered as the re-INVITE.
func TestAnalyzeG711ThenT38(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	pages := []*g3.Page{testPage(t, 1, 300)}
	end := recordG711Fax(t, r, g711Call{law: g711.MuLaw, pt: 0, ecm: true, seed: 5, until: 9 * time.Second}, pages, 0)
	t38c, err := readCapture("../../testdata/pcaps/faxseal-to-spandsp_t38v0_ecm_mmr_loss5.pcap")
	if err != nil {
		t.Fatal(err)
	}
	shift := end + 500*time.Millisecond
	for _, p := range t38c.udp {
		b := p.payload
		if isSIP(b) {
			b = bytes.Replace(b, []byte("CSeq: 1 INVITE"), []byte("CSeq: 2 INVITE"), 1)
		}
		r.add(shift+p.at, hostPort{p.src.Addr().AsSlice(), int(p.src.Port())}, hostPort{p.dst.Addr().AsSlice(), int(p.dst.Port())}, b)
	}
	path := writeCapture(t, r, "g711-then-t38")
	dir := t.TempDir()
	out := analyzeFile(t, path, analyzeOptions{outDir: dir, version: -1})
	for _, e := range []string{"RTP audio (G.711):", "T.38 UDPTL (IFP 1998 syntax, T38FaxVersion 0):", "INVITE (CSeq 2 INVITE) answered: 200 OK",
		"Negotiated: V.17 14400 bit/s, fine, MMR, width 1728, ECM true (sender C)"} {
		if !strings.Contains(out, e) {
			t.Errorf("output lacks %q:\n%s", e, out)
		}
	}
	s := shift.Seconds()
	// A and B are the audio legs (caller, called), C and D the UDPTL flows (FaxSeal, spandsp).
	expectTrace(t, out, []traced{{0.5, "A", "tone CNG"}, {0.7, "B", "tone CED"}, {5.3, "B", "DIS"}, {7.3, "A", "DCS V.17 14400"},
		{9.1, "A", "TCF "}, {s + 5.4, "D", "DIS"}, {s + 6.5, "C", "DCS V.17 14400 fine MMR 1728 ECM"}, {s + 9.5, "C", "TCF 2700 octets"},
		{s + 10.8, "D", "CFR"}, {s + 20.6, "D", "page 2 confirmed"}, {s + 20.9, "C", "DCN"}})
	tr := traceOf(out)
	var audioEnd, t38Start float64
	for _, l := range tr {
		if l.dir == "A" || l.dir == "B" {
			audioEnd = l.at
		} else if t38Start == 0 {
			t38Start = l.at
		}
	}
	if t38Start < s || audioEnd > s {
		t.Errorf("the parts overlap: audio until %.3f s, T.38 from %.3f s (switch at %.3f s):\n%s", audioEnd, t38Start, s, out)
	}
	got := readPages(t, filepath.Join(dir, "received.tif"))
	want := readPages(t, "../../testdata/t38/faxseal-to-spandsp_t38v0_ecm_mmr_loss5.sent.tif")
	if len(got) != len(want) {
		t.Fatalf("%d pages written, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("page %d differs from the page sent", i+1)
		}
	}
}

// datagrams packs UDP payloads for the fuzzers: a 2-byte big-endian length before each.
func datagrams(ps [][]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b
}

func undatagrams(b []byte) [][]byte {
	var ps [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		ps = append(ps, b[:n])
		b = b[n:]
	}
	return ps
}

// FuzzRTPStreams feeds arbitrary datagrams of one flow to the RTP stream builder and the audio
// analysis. Properties: streams in strictly increasing sequence order, losses counted as the holes
// between first and last, gaps within their bounds and the timeline monotonic, every datagram
// accounted for at most once, and analysis of whatever came out succeeds. Seeded with the
// Asterisk captures' RTP.
func FuzzRTPStreams(f *testing.F) {
	for _, name := range []string{"CUSTOMER_G711U.pcap", "CARRIER_G711U.pcap"} {
		c, err := readCapture(asteriskPrefix + name)
		if err != nil {
			f.Fatal(err)
		}
		for start := 0; start+60 <= len(c.udp); start += 250 {
			var ps [][]byte
			for _, u := range c.udp[start : start+60] {
				ps = append(ps, u.payload)
			}
			f.Add(datagrams(ps))
		}
	}
	f.Add(datagrams([][]byte{{0x80, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF}, {0x80, 0, 0, 0, 0x7F, 0, 0, 0, 0, 0, 0, 1, 0xFF}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		k := flowKey{}
		var us []udpPacket
		for i, p := range undatagrams(b) {
			us = append(us, udpPacket{at: time.Duration(i) * 20 * time.Millisecond, payload: p})
		}
		streams := rtpStreams(map[flowKey][]udpPacket{k: us}, []flowKey{k}, staticLaws())
		total := 0
		for _, s := range streams {
			total += len(s.pkts) + s.duplicates + s.other
			if len(s.gap) != len(s.pkts) || len(s.off) != len(s.pkts) || len(s.fill) != len(s.pkts) {
				t.Fatal("per-packet slices out of step")
			}
			for i, p := range s.pkts {
				if len(p.payload) == 0 {
					t.Fatal("empty payload kept")
				}
				if s.gap[i] < 0 || s.gap[i] > maxGap || (s.fill[i] && s.gap[i] > maxFillin) {
					t.Fatalf("gap %d (fill %v)", s.gap[i], s.fill[i])
				}
				if i > 0 {
					if p.seq <= s.pkts[i-1].seq {
						t.Fatalf("sequence %d after %d", p.seq, s.pkts[i-1].seq)
					}
					if s.off[i] != s.off[i-1]+int64(len(s.pkts[i-1].payload))+int64(s.gap[i]) {
						t.Fatal("timeline does not add up")
					}
				}
			}
			if span := s.pkts[len(s.pkts)-1].seq - s.pkts[0].seq + 1; int64(s.lost) != span-int64(len(s.pkts)) {
				t.Fatalf("%d lost in a span of %d with %d packets", s.lost, span, len(s.pkts))
			}
		}
		if total > len(us) {
			t.Fatalf("%d packets accounted from %d datagrams", total, len(us))
		}
		if _, err := analyzeMedia(media{streams: streams}, 0, 0, analyzeOptions{outDir: t.TempDir()}, io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzRTPMap checks that only G.711 entries at 8 kHz with a valid payload type enter the map.
func FuzzRTPMap(f *testing.F) {
	for _, s := range []string{"96 PCMA/8000", "0 PCMU/8000", "101 telephone-event/8000", "97 pcmu/16000", "128 PCMA/8000", "8 PCMA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l := payloadLaws{}
		l.addRTPMap(v)
		if len(l) > 1 {
			t.Fatalf("%q added %d entries", v, len(l))
		}
		for pt, law := range l {
			if pt > 127 || (law != g711.MuLaw && law != g711.ALaw) {
				t.Fatalf("%q: PT %d law %v", v, pt, law)
			}
			if !strings.Contains(strings.ToUpper(v), map[g711.Law]string{g711.MuLaw: "PCMU", g711.ALaw: "PCMA"}[law]) {
				t.Fatalf("%q mapped to %v", v, law)
			}
		}
	})
}

// BenchmarkAnalyzeG711 measures analyze on the Asterisk calling-side capture (16 s of one
// direction: CNG, V.21, V.29 training and TCF), per byte of capture.
func BenchmarkAnalyzeG711(b *testing.B) {
	data, err := os.ReadFile(asteriskPrefix + "CARRIER_G711U.pcap")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := parseCapture("carrier", data)
		if err != nil {
			b.Fatal(err)
		}
		if err := analyze(c, analyzeOptions{version: -1}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// An SDP that names other ports than the media uses (NAT, a media relay): the G.711 flows are still
// found, by content.
func TestAnalyzeSDPElsewhere(t *testing.T) {
	t.Parallel()
	c, err := readCapture(asteriskPrefix + "CUSTOMER_G711U.pcap")
	if err != nil {
		t.Fatal(err)
	}
	sdp := audioSDP(hostPort{net.IPv4(10, 0, 0, 1), 4000}, 0, g711.MuLaw)
	invite := fmt.Sprintf("INVITE sip:fax@10.0.0.2 SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp)
	c.udp = append([]udpPacket{{src: c.udp[0].src, dst: c.udp[0].dst, payload: []byte(invite)}}, c.udp...)
	var out bytes.Buffer
	if err := analyze(c, analyzeOptions{outDir: t.TempDir(), version: -1}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "800 RTP packets in 2 G.711 streams found by content (none on the SDP audio ports)") ||
		!strings.Contains(out.String(), "B DIS rx V.29+V.27ter") {
		t.Errorf("output:\n%s", out.String())
	}
}
