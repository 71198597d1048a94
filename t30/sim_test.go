package t30

import (
	"bytes"
	"container/heap"
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// This file is a frame-level channel that implements the FrontEnd contract
// for two sessions in virtual time: every transmission gets a realistic
// airtime (V.21 preamble and 300 bit/s frames, fast-modem training times
// from brief §1.6, data at line rate), is delivered to the other side after
// a propagation delay, and only reaches a receiver listening in the matching
// mode. Impairments: V.21 frames corrupted, lost or duplicated, ECM frames
// corrupted, fast data corrupted above a rate the "line" can carry, and
// hooks for scripted faults. No sleeps: the loop jumps from event to event.

type simEvent struct {
	at      time.Duration
	seq     int
	to      int
	ev      Event
	burst   *burst // fast-modem events consult the training verdict
	dropped bool   // faultTx removed this transmission
}

type eventQueue []*simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// burst is one fast-modem transmission in flight.
type burst struct {
	tx       Tx
	decided  bool
	accepted bool
	hdlcOnly bool // accepted by a fast HDLC receiver: no data events
}

type simEnd struct {
	sim      *sim
	idx      int
	sess     *Session
	rx       RxMode
	busyTill time.Duration
	cng      bool // an open-ended CNG is playing
	sent     []Tx
}

func (e *simEnd) Receive(m RxMode) { e.rx = m }

func (e *simEnd) Transmit(tx Tx) {
	s := e.sim
	e.sent = append(e.sent, tx)
	if e.cng {
		// The open-ended CNG ends now (the contract: until the next Transmit).
		e.cng = false
		e.busyTill = s.now
		s.schedule(s.now, e.idx, Event{Kind: EventTxDone}, nil)
	}
	start := e.busyTill
	if start < s.now {
		start = s.now
	}
	s.muting = s.faultTx != nil && s.faultTx(e.idx, &tx)
	defer func() { s.muting = false }()
	peer := 1 - e.idx
	at := start + s.delay
	var dur time.Duration
	switch tx.Kind {
	case TxSilence:
		dur = tx.Duration
	case TxCNG:
		s.schedule(at, peer, Event{Kind: EventTone, Tone: ToneCNG}, nil)
		if tx.Duration == 0 {
			e.cng = true
			e.busyTill = start
			return
		}
		dur = tx.Duration
	case TxCED:
		dur = tx.Duration
		s.schedule(at, peer, Event{Kind: EventTone, Tone: ToneCED}, nil)
	case TxHDLC:
		dur = s.sendHDLC(e.idx, tx, at)
	case TxData:
		dur = s.sendData(e.idx, tx, at)
	}
	e.busyTill = start + dur
	s.muting = false
	s.schedule(e.busyTill, e.idx, Event{Kind: EventTxDone}, nil)
}

type sim struct {
	t     testing.TB
	now   time.Duration
	seq   int
	q     eventQueue
	ends  [2]*simEnd
	rng   *rand.Rand
	delay time.Duration

	// Impairments.
	badV21, lostV21, dupV21 float64 // per V.21 frame
	badECM                  float64 // per FCD frame
	ecmMaxGoodRate          int     // FCD frames above this rate are corrupted
	// badFrame, if set, marks chosen FCD frames bad (scripted ECM faults).
	badFrame    func(tx Tx, f []byte) bool
	maxGoodRate int // fast data above this rate is corrupted
	// faultTx may change or drop (return true) a transmission of side from.
	faultTx func(from int, tx *Tx) bool
	// dead, once true, drops everything on the line.
	dead   bool
	muting bool
	// onStep runs after every step (scripted actions such as Cancel).
	onStep func(s *sim)

	stats struct{ v21Frames, ecmFrames, ecmBad int }
}

func newSim(t testing.TB, seed int64) *sim {
	return &sim{t: t, rng: rand.New(rand.NewSource(seed)), delay: 40 * time.Millisecond}
}

func (s *sim) schedule(at time.Duration, to int, ev Event, b *burst) {
	s.seq++
	heap.Push(&s.q, &simEvent{at: at, seq: s.seq, to: to, ev: ev, burst: b, dropped: s.muting})
}

func trainingTime(mod Modulation, rate int, short bool) time.Duration {
	switch mod {
	case V27ter:
		if rate == 2400 {
			return 943 * time.Millisecond
		}
		return 708 * time.Millisecond
	case V29:
		return 234 * time.Millisecond
	case V17:
		if short {
			return 142 * time.Millisecond
		}
		return 1393 * time.Millisecond
	}
	return 0
}

func bitsTime(bits, rate int) time.Duration {
	return time.Duration(int64(bits) * int64(time.Second) / int64(rate))
}

// sendHDLC schedules the frames of a burst; it returns the airtime.
func (s *sim) sendHDLC(from int, tx Tx, at time.Duration) time.Duration {
	peer := 1 - from
	if tx.Modulation == V21 {
		t := at
		s.schedule(t, peer, Event{Kind: EventCarrierUp, Modulation: V21, BitRate: 300}, nil)
		t += time.Second // preamble (T.30 §5.3.1)
		for _, f := range tx.Frames {
			t += bitsTime((len(f)+3)*8, 300)
			s.stats.v21Frames++
			r := s.rng.Float64()
			switch {
			case r < s.lostV21:
				continue
			case r < s.lostV21+s.badV21:
				s.schedule(t, peer, Event{Kind: EventHDLC, Modulation: V21, BitRate: 300, Frame: garble(f), FCSOK: false}, nil)
				continue
			}
			s.schedule(t, peer, Event{Kind: EventHDLC, Modulation: V21, BitRate: 300, Frame: f, FCSOK: true}, nil)
			if s.rng.Float64() < s.dupV21 {
				s.schedule(t+15*time.Millisecond, peer, Event{Kind: EventHDLC, Modulation: V21, BitRate: 300, Frame: f, FCSOK: true}, nil)
			}
		}
		t += 8 * bitsTime(8, 300)
		s.schedule(t, peer, Event{Kind: EventCarrierDown, Modulation: V21, BitRate: 300}, nil)
		return t - at
	}
	b := &burst{tx: tx}
	t := at
	s.schedule(t, peer, Event{Kind: EventCarrierUp, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	t += trainingTime(tx.Modulation, tx.BitRate, tx.ShortTrain)
	s.schedule(t, peer, Event{Kind: EventTrained, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	t += 200 * time.Millisecond // flags (T.4 Annex A)
	for _, f := range tx.Frames {
		t += bitsTime((len(f)+3)*8, tx.BitRate)
		ok := true
		if len(f) > 2 && f[2] == byte(FCFFCD) {
			s.stats.ecmFrames++
			if s.rng.Float64() < s.badECM || (s.ecmMaxGoodRate > 0 && tx.BitRate > s.ecmMaxGoodRate) ||
				(s.badFrame != nil && s.badFrame(tx, f)) {
				ok = false
				s.stats.ecmBad++
			}
		}
		ev := Event{Kind: EventHDLC, Modulation: tx.Modulation, BitRate: tx.BitRate, Frame: f, FCSOK: ok}
		if !ok {
			ev.Frame = garble(f)
		}
		s.schedule(t, peer, ev, b)
	}
	t += 10 * time.Millisecond
	s.schedule(t, peer, Event{Kind: EventCarrierDown, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	return t - at
}

func (s *sim) lineRate() int {
	if s.maxGoodRate == 0 {
		return 1 << 30
	}
	return s.maxGoodRate
}

// sendData schedules training, the data in 100 ms chunks and carrier off.
func (s *sim) sendData(from int, tx Tx, at time.Duration) time.Duration {
	peer := 1 - from
	b := &burst{tx: tx}
	data := tx.Data
	if tx.BitRate > s.lineRate() {
		// The line cannot carry this rate: every 50th octet is hit, which
		// breaks TCF's one-second zero run and a page's rows alike.
		data = append([]byte(nil), data...)
		for i := 25; i < len(data); i += 50 {
			data[i] ^= 0x18
		}
	}
	t := at
	s.schedule(t, peer, Event{Kind: EventCarrierUp, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	t += trainingTime(tx.Modulation, tx.BitRate, tx.ShortTrain)
	s.schedule(t, peer, Event{Kind: EventTrained, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	chunk := tx.BitRate / 80 // 100 ms of octets
	for off := 0; off < len(data); off += chunk {
		end := off + chunk
		if end > len(data) {
			end = len(data)
		}
		t += bitsTime((end-off)*8, tx.BitRate)
		s.schedule(t, peer, Event{Kind: EventData, Modulation: tx.Modulation, BitRate: tx.BitRate, Data: data[off:end]}, b)
	}
	t += 20 * time.Millisecond
	s.schedule(t, peer, Event{Kind: EventCarrierDown, Modulation: tx.Modulation, BitRate: tx.BitRate}, b)
	return t - at
}

func garble(f []byte) []byte {
	g := append([]byte(nil), f...)
	if len(g) > 0 {
		g[len(g)/2] ^= 0x5A
	}
	return g
}

// deliver hands ev to side to, applying the receiver's mode.
func (s *sim) deliver(e *simEvent) {
	end := s.ends[e.to]
	ev := e.ev
	if ev.Kind != EventTxDone && (s.dead || e.dropped) {
		return
	}
	if e.burst != nil {
		b := e.burst
		if !b.decided {
			if ev.Kind == EventCarrierUp {
				end.sess.Handle(s.now, ev)
				return
			}
			// Decide at the end of training whether this receiver locks on.
			b.decided = true
			rx := end.rx
			wantKind := RxData
			if b.tx.Kind == TxHDLC {
				wantKind = RxHDLC
			}
			b.accepted = rx.Kind == wantKind && rx.Modulation == b.tx.Modulation && rx.BitRate == b.tx.BitRate &&
				!(b.tx.ShortTrain && !rx.ShortTrain)
			if !b.accepted && wantKind == RxData && rx.Kind == RxHDLC && rx.Modulation == b.tx.Modulation &&
				rx.BitRate == b.tx.BitRate && !b.tx.ShortTrain {
				// A receiver waiting for an ECM burst trains on a TCF at
				// its rate as a modem does (the training is the same) and
				// then hears no frames in it: report the training and the
				// carrier, not the bytes.
				b.hdlcOnly = true
				b.accepted = true
			}
			if !b.accepted {
				if rx.Kind == RxData || rx.Kind == RxHDLC {
					end.sess.Handle(s.now, Event{Kind: EventTrainingFailed, Modulation: b.tx.Modulation, BitRate: b.tx.BitRate})
				}
				return
			}
		}
		if !b.accepted || (b.hdlcOnly && ev.Kind == EventData) {
			return
		}
	} else if ev.Modulation == V21 && end.rx.Kind == RxOff {
		return
	}
	end.sess.Handle(s.now, ev)
}

// run drives both sessions until both are done, failing the test if the
// simulation stalls or passes limit.
func (s *sim) run(limit time.Duration) {
	s.t.Helper()
	for steps := 0; ; steps++ {
		a, b := s.ends[0].sess, s.ends[1].sess
		if a.Done() && b.Done() {
			return
		}
		next, ok := time.Duration(0), false
		if len(s.q) > 0 {
			next, ok = s.q[0].at, true
		}
		for _, e := range s.ends {
			if d, has := e.sess.Deadline(); has && (!ok || d < next) {
				next, ok = d, true
			}
		}
		if !ok {
			s.t.Fatalf("simulation stalled at %v: A %v, B %v", s.now, a.state, b.state)
		}
		if next > limit {
			s.t.Fatalf("simulation passed %v: A %v (%v), B %v (%v)", limit, a.state, a.res.Code, b.state, b.res.Code)
		}
		if next > s.now {
			s.now = next
		}
		for len(s.q) > 0 && s.q[0].at <= s.now {
			e := heap.Pop(&s.q).(*simEvent)
			s.deliver(e)
		}
		for _, e := range s.ends {
			e.sess.Advance(s.now)
		}
		if s.onStep != nil {
			s.onStep(s)
		}
		if steps > 5_000_000 {
			s.t.Fatal("simulation runaway")
		}
	}
}

// --- the test document ------------------------------------------------------------

// testDoc is a stand-in for a T.4 coder (g3 is a separate package t30 must
// not import): each "row" is a fixed-size record carrying its page, row
// number, format tag, deterministic payload and a checksum, padded with
// zero fill to the minimum row length, and the page ends with an end
// record. The sink decodes records exactly like a T.4 decoder counts rows:
// a record whose checksum fails is a bad row. This is enough for the
// copy-quality decision, the MinRowBits contract and exact page
// comparisons; the real g3 coder is bound by the gateway.
type testDoc struct {
	pages int
	rows  int
	width int
	res   Resolution
	// encodes counts Encode calls, per page.
	encodes map[int]int
}

func newDoc(pages, rows int) *testDoc {
	return &testDoc{pages: pages, rows: rows, width: WidthA4, res: Fine, encodes: map[int]int{}}
}

func (d *testDoc) Pages() int                  { return d.pages }
func (d *testDoc) Prepared() (int, Resolution) { return d.width, d.res }
func (d *testDoc) Encode(n int, f Format) ([]byte, error) {
	if n < 0 || n >= d.pages {
		return nil, fmt.Errorf("no page %d", n)
	}
	d.encodes[n]++
	return encodeTestPage(n, d.rows, f), nil
}

func recordLen(f Format) int {
	l := f.Width / 32
	if m := (f.MinRowBits + 7) / 8; m > l {
		l = m
	}
	return l
}

func formatTag(f Format) byte { return byte(f.Compression)<<4 | byte(f.Resolution) }

func encodeTestPage(page, rows int, f Format) []byte {
	l := recordLen(f)
	out := make([]byte, 0, (rows+1)*l)
	for r := 0; r <= rows; r++ {
		rec := make([]byte, f.Width/32)
		rec[0] = byte(page)
		if r == rows {
			rec[1], rec[2] = 0xFF, 0xFF // end of page, like RTC
		} else {
			rec[1], rec[2] = byte(r), byte(r>>8)
		}
		rec[3] = formatTag(f)
		x := uint32(page*7919 + r*104729 + 1)
		for i := 4; i < len(rec)-1; i++ {
			x = x*1664525 + 1013904223
			rec[i] = byte(x >> 24)
		}
		var sum byte
		for _, c := range rec[:len(rec)-1] {
			sum = sum*31 + c
		}
		rec[len(rec)-1] = sum
		out = append(out, rec...)
		for i := len(rec); i < l; i++ {
			out = append(out, 0) // fill (T.4 §4.1.3)
		}
	}
	return out
}

type testSink struct {
	format  Format
	cur     []byte
	kept    [][]byte
	formats []Format
	ended   []Quality
	commits []bool
	open    bool
	// damage, if set, corrupts the decoded page (to force RTN once).
	errs []string
}

func (k *testSink) StartPage(f Format) error {
	if k.open {
		k.errs = append(k.errs, "StartPage while a page is open")
	}
	k.format, k.cur, k.open = f, k.cur[:0], true
	return nil
}

func (k *testSink) Write(p []byte) error {
	if !k.open {
		k.errs = append(k.errs, "Write without StartPage")
	}
	k.cur = append(k.cur, p...)
	return nil
}

func (k *testSink) EndPage() (Quality, error) {
	if !k.open {
		k.errs = append(k.errs, "EndPage without StartPage")
	}
	k.open = false
	q := decodeTestPage(k.cur, k.format)
	k.ended = append(k.ended, q)
	return q, nil
}

func (k *testSink) Commit(keep bool) error {
	k.commits = append(k.commits, keep)
	if keep {
		k.kept = append(k.kept, append([]byte(nil), k.cur...))
		k.formats = append(k.formats, k.format)
	}
	return nil
}

func decodeTestPage(b []byte, f Format) Quality {
	l := recordLen(f)
	w := f.Width / 32
	var q Quality
	run := 0
	for off := 0; off+l <= len(b); off += l {
		rec := b[off : off+w]
		var sum byte
		for _, c := range rec[:len(rec)-1] {
			sum = sum*31 + c
		}
		good := sum == rec[len(rec)-1] && rec[3] == formatTag(f)
		for _, c := range b[off+w : off+l] {
			if c != 0 {
				good = false
			}
		}
		if good && rec[1] == 0xFF && rec[2] == 0xFF {
			break // end of page
		}
		q.Rows++
		if !good {
			q.BadRows++
			run++
			if run > q.LongestBadRun {
				q.LongestBadRun = run
			}
		} else {
			run = 0
		}
	}
	return q
}

// --- wiring -------------------------------------------------------------------------

type pair struct {
	sim     *sim
	tx, rx  *Session
	doc     *testDoc
	sink    *testSink
	txPages []PageResult
	rxPages []PageResult
	txEnd   *simEnd
	rxEnd   *simEnd
}

type pairOpts struct {
	seed          int64
	pages, rows   int
	senderCalls   bool // default: sender calls, receiver answers
	receiverCalls bool // the receiver places the call and polls
	txCfg, rxCfg  func(*Config)
}

func newPair(t testing.TB, o pairOpts) *pair {
	t.Helper()
	if o.pages == 0 {
		o.pages = 1
	}
	if o.rows == 0 {
		o.rows = 200
	}
	p := &pair{sim: newSim(t, o.seed), doc: newDoc(o.pages, o.rows), sink: &testSink{}}
	p.txEnd = &simEnd{sim: p.sim, idx: 0}
	p.rxEnd = &simEnd{sim: p.sim, idx: 1}
	p.sim.ends = [2]*simEnd{p.txEnd, p.rxEnd}
	txc := Config{FrontEnd: p.txEnd, Role: Send, Calling: !o.receiverCalls, Ident: "+49 30 1234567",
		Source: p.doc, OnPage: func(r PageResult) { p.txPages = append(p.txPages, r) }}
	rxc := Config{FrontEnd: p.rxEnd, Role: Receive, Calling: o.receiverCalls, Ident: "+1 555 0100",
		Sink: p.sink, OnPage: func(r PageResult) { p.rxPages = append(p.rxPages, r) }}
	if o.txCfg != nil {
		o.txCfg(&txc)
	}
	if o.rxCfg != nil {
		o.rxCfg(&rxc)
	}
	var err error
	if p.tx, err = NewSession(txc); err != nil {
		t.Fatal(err)
	}
	if p.rx, err = NewSession(rxc); err != nil {
		t.Fatal(err)
	}
	p.txEnd.sess, p.rxEnd.sess = p.tx, p.rx
	return p
}

func (p *pair) run(t *testing.T, limit time.Duration) {
	t.Helper()
	p.tx.Start(0)
	p.rx.Start(0)
	p.sim.run(limit)
	if len(p.sink.errs) > 0 {
		t.Errorf("sink contract violations: %v", p.sink.errs)
	}
	p.checkConfirmed(t)
}

// checkConfirmed asserts, whatever the outcome of the call, that every page
// the receiver confirmed (Commit(true): MCF or RTP) is the page sent. In
// ECM the page must be byte-identical: T.4 Annex A delivers only blocks
// whose every frame passed its FCS, so a confirmed ECM page that differs
// (a truncated block, a frame from another block) is data loss. A non-ECM
// page may carry line errors the copy-quality check let through (T.30
// §5.3.6.2.3), but it must have all its rows. checkPages, called by tests
// that expect success, only runs when the sender reports OK, and no
// channel fault so far made the receiver confirm a short block, so this
// check runs after every pair simulation instead.
func (p *pair) checkConfirmed(t *testing.T) {
	t.Helper()
	for i, got := range p.sink.kept {
		f := p.sink.formats[i]
		if len(got) == 0 {
			t.Errorf("confirmed page %d is empty", i)
			continue
		}
		page := int(got[0]) // every record starts with its page number
		if page >= p.doc.pages {
			t.Errorf("confirmed page %d claims to be page %d of %d", i, page, p.doc.pages)
			continue
		}
		want := encodeTestPage(page, p.doc.rows, f)
		if f.ECM {
			if !bytes.Equal(got, want) {
				t.Errorf("confirmed ECM page %d (document page %d) differs from the page sent: %d octets, want %d",
					i, page, len(got), len(want))
			}
			continue
		}
		// A damaged end-of-page record reads as one more (bad) row, as a
		// damaged RTC does in T.4.
		if q := decodeTestPage(got, f); q.Rows < p.doc.rows {
			t.Errorf("confirmed non-ECM page %d (document page %d) has %d rows, want %d", i, page, q.Rows, p.doc.rows)
		}
	}
}

func (p *pair) dumpTrace(t *testing.T) {
	t.Helper()
	for _, e := range p.tx.Trace() {
		t.Logf("S %v", e)
	}
	for _, e := range p.rx.Trace() {
		t.Logf("R %v", e)
	}
}

// checkPages asserts the receiver kept exactly the document's pages, bit
// for bit, in the negotiated format.
func (p *pair) checkPages(t *testing.T) {
	t.Helper()
	if len(p.sink.kept) != p.doc.pages {
		t.Fatalf("receiver kept %d pages, want %d", len(p.sink.kept), p.doc.pages)
	}
	for i, got := range p.sink.kept {
		want := encodeTestPage(i, p.doc.rows, p.sink.formats[i])
		if !bytes.Equal(got, want) {
			t.Errorf("page %d differs: got %d octets, want %d", i, len(got), len(want))
		}
	}
}

func (p *pair) expect(t *testing.T, txCode, rxCode Code) {
	t.Helper()
	tr, rr := p.tx.Result(), p.rx.Result()
	if tr.Code != txCode || rr.Code != rxCode {
		p.dumpTrace(t)
		t.Fatalf("results: sender %v (%s), receiver %v (%s); want %v, %v", tr.Code, tr.Detail, rr.Code, rr.Detail, txCode, rxCode)
	}
}

func countFrames(tr []TraceEntry, dir Direction, fcf FCF) int {
	n := 0
	for _, e := range tr {
		if e.Direction == dir && e.FCF == fcf && !e.BadFCS && e.Note == "" {
			n++
		}
	}
	return n
}

// BenchmarkSession runs a 3-page fine ECM fax (V.17 14400) through the
// simulated channel, both engines included; bytes are page bytes carried.
func BenchmarkSession(b *testing.B) {
	b.ReportAllocs()
	var bytes int64
	for i := 0; i < b.N; i++ {
		p := newPair(b, pairOpts{seed: 1, pages: 3, rows: 1100})
		p.tx.Start(0)
		p.rx.Start(0)
		p.sim.run(simLimit)
		if p.tx.Result().Code != OK {
			b.Fatalf("result %v", p.tx.Result().Code)
		}
		bytes = 0
		for _, k := range p.sink.kept {
			bytes += int64(len(k))
		}
	}
	b.SetBytes(bytes)
}
