package t38

import (
	"bytes"
	"container/heap"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// This file is the T.38-channel harness shared by the simulations (our sender <-> our receiver) and
// the spandsp interop tests: page documents backed by the g3 codec, a seeded UDP channel model with
// loss, duplication, reordering and delay, and a virtual-time loop with no sleeps.

// textPage draws a deterministic page that codes like text: lines of glyph-sized blocks.
func textPage(seed int64, height, yres int) *g3.Page {
	r := rand.New(rand.NewSource(seed))
	p, _ := g3.NewPage(t30.WidthA4, height, 204, yres)
	line := yres / 8
	for top := line; top+line < height; top += 2 * line {
		for x := 100 + r.Intn(40); x < t30.WidthA4-120; x += 12 + r.Intn(20) {
			gw, gh := 6+r.Intn(10), line/2+r.Intn(line/2)
			for y := top + line - gh; y < top+line; y++ {
				for i := x; i < x+gw; i++ {
					p.Set(i, y, true)
				}
			}
		}
	}
	return p
}

func yresOf(r t30.Resolution) int {
	switch r {
	case t30.Standard:
		return 98
	case t30.Superfine:
		return 391
	}
	return 196
}

func g3Compression(c t30.Compression) g3.Compression {
	switch c {
	case t30.MH:
		return g3.MH
	case t30.MR:
		return g3.MR
	}
	return g3.MMR
}

// pageSource is a t30.Source over g3 pages.
type pageSource struct {
	pages []*g3.Page
	res   t30.Resolution
}

func (s *pageSource) Pages() int { return len(s.pages) }
func (s *pageSource) Prepared() (int, t30.Resolution) {
	return t30.WidthA4, s.res
}
func (s *pageSource) Encode(n int, f t30.Format) ([]byte, error) {
	p := s.pages[n]
	if y := yresOf(f.Resolution); y != p.YRes {
		var err error
		if p, err = p.ResampleY(y); err != nil {
			return nil, err
		}
	}
	if f.Width != p.Width {
		var err error
		if p, err = p.FitWidth(f.Width); err != nil {
			return nil, err
		}
	}
	return g3.Encode(p, g3.Options{Compression: g3Compression(f.Compression), K: g3.KForResolution(p.YRes),
		Width: p.Width, Order: g3.LSBFirst, MinRowBits: f.MinRowBits})
}

// pageSink is a t30.Sink decoding with g3; kept holds the confirmed pages.
type pageSink struct {
	f    t30.Format
	buf  []byte
	cur  *g3.Page
	kept []*g3.Page
}

func (k *pageSink) StartPage(f t30.Format) error { k.f, k.buf = f, k.buf[:0]; return nil }
func (k *pageSink) Write(p []byte) error         { k.buf = append(k.buf, p...); return nil }
func (k *pageSink) EndPage() (t30.Quality, error) {
	p, st, err := g3.Decode(k.buf, g3.Options{Compression: g3Compression(k.f.Compression), K: 1, Width: k.f.Width, Order: g3.LSBFirst})
	if err != nil && st.Rows == 0 {
		return t30.Quality{}, err
	}
	p.XRes, p.YRes = 204, yresOf(k.f.Resolution)
	k.cur = p
	return t30.Quality{Rows: st.Rows, BadRows: st.BadRows, LongestBadRun: st.LongestBadRun}, nil
}
func (k *pageSink) Commit(keep bool) error {
	if keep && k.cur != nil {
		k.kept = append(k.kept, k.cur)
	}
	k.cur = nil
	return nil
}

// samePage compares two pages pixel for pixel (trailing white rows after the image are tolerated:
// some encoders pad the last strip).
func samePage(a, b *g3.Page) error {
	if a.Width != b.Width {
		return fmt.Errorf("width %d vs %d", a.Width, b.Width)
	}
	h := min(a.Height, b.Height)
	for y := 0; y < h; y++ {
		ra, rb := a.Row(y), b.Row(y)
		for i := range ra {
			if ra[i] != rb[i] {
				return fmt.Errorf("row %d of %d differs", y, h)
			}
		}
	}
	for _, p := range []*g3.Page{a, b} {
		for y := h; y < p.Height; y++ {
			for _, v := range p.Row(y) {
				if v != 0 {
					return fmt.Errorf("heights %d vs %d with ink beyond", a.Height, b.Height)
				}
			}
		}
	}
	return nil
}

// impairment is the UDP channel model, applied independently to every copy of a datagram.
type impairment struct {
	loss, dup, reorder float64       // probabilities
	delay, jitter      time.Duration // base one-way delay, +uniform jitter
	reorderBy          time.Duration // extra delay of a reordered datagram
}

type flight struct {
	at   time.Duration
	seq  int
	to   int
	data []byte
}

type flights []*flight

func (q flights) Len() int { return len(q) }
func (q flights) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q flights) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *flights) Push(x any)   { *q = append(*q, x.(*flight)) }
func (q *flights) Pop() any {
	old := *q
	f := old[len(old)-1]
	*q = old[:len(old)-1]
	return f
}

// node is one side of a simulated call.
type node interface {
	deadline() (time.Duration, bool)
	advance(now time.Duration)
	deliver(now time.Duration, data []byte)
	take() []Datagram
	done() bool
}

// channel runs two nodes against each other in virtual time.
type channel struct {
	rng     *rand.Rand
	imp     [2]impairment // imp[i] applies to datagrams sent by node i
	q       flights
	seq     int
	maxSize [2]int // largest datagram each node sent
	sent    [2]int
	dropped [2]int
	// capture, if set, sees every datagram copy as it leaves its sender; delivered sees every
	// datagram as it arrives.
	capture   func(at time.Duration, from int, data []byte)
	delivered func(at time.Duration, to int, data []byte)
	// mangle, if set for a side, rewrites each datagram that side sends (line faults).
	mangle [2]func(data []byte) []byte
}

// corruptNthCarrier returns a mangler that spoils every k-th t4-non-ecm-data packet of the n-th fast
// carrier a side sends (0 = the first TCF, 1 = the first page), primary and redundant copies alike.
func corruptNthCarrier(t *testing.T, syn Syntax, n, k int) func([]byte) []byte {
	carrier, pkt := 0, 0
	return func(d []byte) []byte {
		if carrier > n {
			return d
		}
		var p Packet
		if err := p.Unmarshal(d); err != nil {
			t.Fatal(err)
		}
		var primary IFP
		if primary.Unmarshal(p.Primary, syn) != nil || primary.Data <= DataV21 || len(primary.Fields) == 0 {
			return d
		}
		if primary.Fields[len(primary.Fields)-1].Type == FieldT4NonECMSigEnd {
			carrier++
			return d
		}
		pkt++
		if carrier != n || pkt%k != 0 {
			return d
		}
		for i, f := range primary.Fields {
			if f.Type == FieldT4NonECMData {
				primary.Fields[i].Data = bytes.Repeat([]byte{0x55}, len(f.Data))
			}
		}
		b, err := primary.Marshal(syn)
		if err != nil {
			t.Fatal(err)
		}
		p.Primary = b
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// corruptFirstTCF returns a mangler that spoils the bytes of the first TCF sent, in the primary and
// in every secondary copy, as a bad line would: the receiver must answer FTT and the sender step down.
func corruptFirstTCF(t *testing.T, syn Syntax) func([]byte) []byte {
	done := false
	return func(d []byte) []byte {
		if done {
			return d
		}
		var p Packet
		if err := p.Unmarshal(d); err != nil {
			t.Fatal(err)
		}
		fix := func(b []byte) []byte {
			var ifp IFP
			if ifp.Unmarshal(b, syn) != nil || ifp.Data == 0 || ifp.Data == DataV21 {
				return b
			}
			for i, f := range ifp.Fields {
				if f.Type == FieldT4NonECMData {
					bad := bytes.Repeat([]byte{0x55}, len(f.Data))
					ifp.Fields[i].Data = bad
				}
			}
			out, err := ifp.Marshal(syn)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		var primary IFP
		if primary.Unmarshal(p.Primary, syn) == nil && primary.Data > DataV21 && len(primary.Fields) > 0 &&
			primary.Fields[len(primary.Fields)-1].Type == FieldT4NonECMSigEnd {
			done = true // the end of the first TCF; later ones pass
		}
		p.Primary = fix(p.Primary)
		for i := range p.Secondary {
			p.Secondary[i] = fix(p.Secondary[i])
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func (c *channel) send(from int, d Datagram) {
	if c.mangle[from] != nil {
		d.Data = c.mangle[from](d.Data)
	}
	c.maxSize[from] = max(c.maxSize[from], len(d.Data))
	for i := 0; i < d.Count; i++ {
		at := d.At + time.Duration(i)*15*time.Millisecond // copies spread out: loss is bursty
		c.sent[from]++
		if c.capture != nil {
			c.capture(at, from, d.Data)
		}
		imp := c.imp[from]
		if c.rng.Float64() < imp.loss {
			c.dropped[from]++
			continue
		}
		n := 1
		if c.rng.Float64() < imp.dup {
			n = 2
		}
		for range n {
			arr := at + imp.delay
			if imp.jitter > 0 {
				arr += time.Duration(c.rng.Int63n(int64(imp.jitter)))
			}
			if c.rng.Float64() < imp.reorder {
				arr += imp.reorderBy
			}
			c.seq++
			heap.Push(&c.q, &flight{at: arr, seq: c.seq, to: 1 - from, data: append([]byte(nil), d.Data...)})
		}
	}
}

// run drives both nodes until both are done or limit (virtual) passes.
func (c *channel) run(t *testing.T, nodes [2]node, limit time.Duration) time.Duration {
	t.Helper()
	now := time.Duration(0)
	for steps := 0; ; steps++ {
		for i, n := range nodes {
			for _, d := range n.take() {
				c.send(i, d)
			}
		}
		if nodes[0].done() && nodes[1].done() {
			return now
		}
		next, ok := time.Duration(0), false
		for _, n := range nodes {
			if at, has := n.deadline(); has && (!ok || at < next) {
				next, ok = at, true
			}
		}
		if len(c.q) > 0 && (!ok || c.q[0].at < next) {
			next, ok = c.q[0].at, true
		}
		if !ok {
			t.Fatalf("simulation stalled at %v", now)
		}
		if next > limit {
			return now
		}
		now = max(now, next)
		for len(c.q) > 0 && c.q[0].at <= now {
			f := heap.Pop(&c.q).(*flight)
			if c.delivered != nil {
				c.delivered(now, f.to, f.data)
			}
			nodes[f.to].deliver(now, f.data)
		}
		for _, n := range nodes {
			if at, has := n.deadline(); has && at <= now {
				n.advance(now)
			}
		}
		if steps > 5_000_000 {
			t.Fatalf("simulation did not converge by %v", now)
		}
	}
}

// ourNode is FaxSeal's side: a t30 session over the T.38 terminal and UDPTL.
type ourNode struct {
	sess *t30.Session
	ep   *Endpoint
	sink *pageSink
}

type ourOpts struct {
	role       t30.Role
	calling    bool
	syntax     Syntax
	depth      int
	maxDgram   int
	initialSeq uint16
	imageDepth int
	localTCF   bool
	doc        *pageSource
	configure  func(*t30.Config)
}

func newOurNode(t *testing.T, o ourOpts) *ourNode {
	t.Helper()
	rm := TransferredTCF
	if o.localTCF {
		rm = LocalTCF
	}
	term, err := NewTerminal(TerminalConfig{Syntax: o.syntax, MaxDatagram: o.maxDgram, RateManagement: rm, KeepAlive: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := t30.Config{FrontEnd: term, Role: o.role, Calling: o.calling, Ident: "+1 555 0100", RelaxedTimers: true, LocalTCF: o.localTCF}
	n := &ourNode{}
	if o.role == t30.Send {
		cfg.Source = o.doc
	} else {
		n.sink = &pageSink{}
		cfg.Sink = n.sink
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	sess, err := t30.NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	snd, err := NewSender(SenderConfig{Depth: o.depth, ImageDepth: o.imageDepth, MaxDatagram: max(o.maxDgram, 0), InitialSeq: o.initialSeq})
	if err != nil {
		t.Fatal(err)
	}
	n.sess, n.ep = sess, NewEndpoint(sess, term, snd)
	sess.Start(0)
	n.ep.Advance(0)
	return n
}

func (n *ourNode) deadline() (time.Duration, bool) { return n.ep.Deadline() }
func (n *ourNode) advance(now time.Duration)       { n.ep.Advance(now) }
func (n *ourNode) deliver(now time.Duration, d []byte) {
	_ = n.ep.Datagram(now, d)
}
func (n *ourNode) take() []Datagram { return n.ep.TakeDatagrams() }
func (n *ourNode) done() bool       { return n.sess.Done() }

func trace(s *t30.Session) string {
	out := ""
	for _, e := range s.Trace() {
		out += e.String() + "\n"
	}
	return out
}
