package audio

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/t30"
)

// doc is a Source of opaque coded pages and a Sink that keeps what it receives (t30 treats page
// bytes as opaque; the gateway binds the g3 codec here).
type doc struct {
	out  [][]byte
	in   [][]byte
	cur  []byte
	rows int
}

func (d *doc) Pages() int                                 { return len(d.out) }
func (d *doc) Prepared() (int, t30.Resolution)            { return t30.WidthA4, t30.Fine }
func (d *doc) Encode(n int, _ t30.Format) ([]byte, error) { return d.out[n], nil }
func (d *doc) StartPage(t30.Format) error                 { d.cur = nil; return nil }
func (d *doc) Write(b []byte) error                       { d.cur = append(d.cur, b...); return nil }
func (d *doc) EndPage() (t30.Quality, error)              { return t30.Quality{Rows: d.rows}, nil }
func (d *doc) Commit(keep bool) error {
	if keep {
		d.in = append(d.in, d.cur)
	}
	return nil
}

func pages(n, size int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 3))
	var p [][]byte
	for i := range n {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		b[0] = byte(i)
		p = append(p, b)
	}
	return p
}

type faxCase struct {
	law        g711.Law
	ecm        bool
	disableV17 bool
	maxRate    int
	noise      float64
	loss       float64
	seed       uint64
	channel    int // line model channel (0 flat)
}

type faxResult struct {
	send, recv t30.Result
	sent, got  [][]byte
	elapsed    time.Duration
}

// runFax sends a document from a calling sender to an answering receiver, each on its own audio
// transport, through two line models (one per direction) in virtual time, 20 ms per tick.
func runFax(t testing.TB, c faxCase, npages, size int) faxResult {
	t.Helper()
	src := &doc{out: pages(npages, size, c.seed)}
	dst := &doc{rows: 1000}
	ta, tb := New(c.law), New(c.law)
	sa, err := t30.NewSession(t30.Config{FrontEnd: ta, Role: t30.Send, Calling: true, Ident: "+1 555 0100",
		Source: src, DisableECM: !c.ecm, DisableV17: c.disableV17, MaxBitRate: c.maxRate})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := t30.NewSession(t30.Config{FrontEnd: tb, Role: t30.Receive, Ident: "+1 555 0199", Sink: dst,
		DisableECM: !c.ecm, DisableV17: c.disableV17, MaxBitRate: c.maxRate})
	if err != nil {
		t.Fatal(err)
	}
	ab := newLink(line.Config{Law: c.law, NoiseDBm0: c.noise, DriftPPM: 50, LossRate: c.loss, Seed: c.seed, Channel: c.channel})
	ba := newLink(line.Config{Law: c.law, NoiseDBm0: c.noise, DriftPPM: -50, LossRate: c.loss, Seed: c.seed + 1, Channel: c.channel})
	var now time.Duration
	sa.Start(now)
	sb.Start(now)
	const tick = 20 * time.Millisecond
	for !sa.Done() || !sb.Done() {
		now += tick
		if now > 10*time.Minute {
			t.Fatalf("fax did not finish: sender %v, receiver %v", sa.Result(), sb.Result())
		}
		ab.tick(ta, tb)
		ba.tick(tb, ta)
		for _, ev := range ta.Events() {
			sa.Handle(now, ev)
		}
		for _, ev := range tb.Events() {
			sb.Handle(now, ev)
		}
		sa.Advance(now)
		sb.Advance(now)
	}
	return faxResult{send: sa.Result(), recv: sb.Result(), sent: src.out, got: dst.in, elapsed: now}
}

func samePages(r faxResult, ecm bool) error {
	if len(r.got) != len(r.sent) {
		return fmt.Errorf("%d of %d pages", len(r.got), len(r.sent))
	}
	for i := range r.sent {
		g := r.got[i]
		if !ecm && len(g) > len(r.sent[i]) {
			// Non-ECM: the receiver also keeps the bits up to carrier loss (the modem's shutdown
			// ones); the page itself must be intact.
			g = g[:len(r.sent[i])]
		}
		if !bytes.Equal(g, r.sent[i]) {
			return fmt.Errorf("page %d differs (%d bytes, want %d)", i, len(r.got[i]), len(r.sent[i]))
		}
	}
	return nil
}

func TestWholeFax(t *testing.T) {
	for _, c := range []faxCase{
		{law: g711.MuLaw, ecm: true, noise: -60, seed: 1},
		{law: g711.ALaw, ecm: true, disableV17: true, noise: -55, seed: 2},
		{law: g711.MuLaw, ecm: false, disableV17: true, noise: -55, seed: 3},
		{law: g711.ALaw, ecm: false, noise: -55, seed: 4},
		// A dispersive line (channel 3) at 30 dB SNR: every modem's equaliser is in the loop.
		{law: g711.MuLaw, ecm: true, noise: -14 - 30, seed: 5, channel: 3},
		{law: g711.ALaw, ecm: true, disableV17: true, noise: -14 - 30, seed: 6, channel: 3},
	} {
		r := runFax(t, c, 2, 6000)
		t.Logf("%+v: sender %v %v %d ECM %v, receiver %v, %v virtual", c, r.send.Code, r.send.Modulation, r.send.BitRate, r.send.ECM, r.recv.Code, r.elapsed)
		if r.send.Code != t30.OK || r.recv.Code != t30.OK {
			t.Errorf("%+v: sender %v, receiver %v", c, r.send, r.recv)
			continue
		}
		if err := samePages(r, c.ecm); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestWholeFaxWithEcho adds to each receiver the echo of its own transmission, 10 dB down and 20 ms
// late (brief §6.3 G711-5): the half-duplex gating must keep our own V.21 and fast bursts from being
// decoded, and the fax must complete as without echo.
func TestWholeFaxWithEcho(t *testing.T) {
	src := &doc{out: pages(2, 6000, 9)}
	dst := &doc{rows: 1000}
	ta, tb := New(g711.ALaw), New(g711.ALaw)
	sa, _ := t30.NewSession(t30.Config{FrontEnd: ta, Role: t30.Send, Calling: true, Ident: "A", Source: src})
	sb, _ := t30.NewSession(t30.Config{FrontEnd: tb, Role: t30.Receive, Ident: "B", Sink: dst})
	const echoDelay = 160 // 20 ms
	type side struct {
		tr   *Transport
		sent [][]int16 // our last transmitted blocks, for the echo
	}
	a, b := &side{tr: ta}, &side{tr: tb}
	var now time.Duration
	sa.Start(now)
	sb.Start(now)
	for !sa.Done() || !sb.Done() {
		now += 20 * time.Millisecond
		if now > 3*time.Minute {
			t.Fatalf("no end: %v / %v", sa.Result(), sb.Result())
		}
		blk := [2][]int16{make([]int16, Block), make([]int16, Block)}
		a.tr.Tx(blk[0])
		b.tr.Tx(blk[1])
		for i, s := range []*side{a, b} {
			s.sent = append(s.sent, blk[i])
			in := make([]int16, Block)
			copy(in, blk[1-i])
			if n := len(s.sent); n > echoDelay/Block {
				e := s.sent[n-1-echoDelay/Block]
				for k := range in {
					in[k] += int16(float64(e[k]) * 0.316) // -10 dB
				}
			}
			s.tr.Rx(in)
		}
		for _, ev := range ta.Events() {
			sa.Handle(now, ev)
		}
		for _, ev := range tb.Events() {
			sb.Handle(now, ev)
		}
		sa.Advance(now)
		sb.Advance(now)
	}
	r := faxResult{send: sa.Result(), recv: sb.Result(), sent: src.out, got: dst.in}
	if r.send.Code != t30.OK || r.recv.Code != t30.OK {
		t.Fatalf("with echo: sender %v (%s), receiver %v (%s)", r.send.Code, r.send.Detail, r.recv.Code, r.recv.Detail)
	}
	if err := samePages(r, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("with echo: %v %d ECM, %v virtual", r.send.Modulation, r.send.BitRate, now)
}
