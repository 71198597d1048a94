package t30_test

import (
	"fmt"
	"time"

	"github.com/faxseal/faxseal/t30"
)

// wire is the smallest possible pair of front ends: every transmission
// takes 100 ms and reaches the other side whole. Real transports (t38,
// modem) pace at line rate, train, and lose things; the driving loop is the
// same.
type wire struct {
	clock   *time.Duration // shared virtual time
	peer    *wire
	session *t30.Session
	inbox   []timed // events waiting for this side
}

type timed struct {
	at time.Duration
	ev t30.Event
}

func (w *wire) Receive(t30.RxMode) {}

func (w *wire) Transmit(tx t30.Tx) {
	at := *w.clock + 100*time.Millisecond
	if n := len(w.inbox); n > 0 && w.inbox[n-1].at > at {
		at = w.inbox[n-1].at + 100*time.Millisecond
	}
	send := func(ev t30.Event) { w.peer.inbox = append(w.peer.inbox, timed{at, ev}) }
	switch tx.Kind {
	case t30.TxHDLC:
		if tx.Modulation != t30.V21 {
			send(t30.Event{Kind: t30.EventTrained, Modulation: tx.Modulation, BitRate: tx.BitRate})
		}
		for _, f := range tx.Frames {
			send(t30.Event{Kind: t30.EventHDLC, Modulation: tx.Modulation, BitRate: tx.BitRate, Frame: f, FCSOK: true})
		}
		send(t30.Event{Kind: t30.EventCarrierDown, Modulation: tx.Modulation, BitRate: tx.BitRate})
	case t30.TxData:
		send(t30.Event{Kind: t30.EventTrained, Modulation: tx.Modulation, BitRate: tx.BitRate})
		send(t30.Event{Kind: t30.EventData, Modulation: tx.Modulation, BitRate: tx.BitRate, Data: tx.Data})
		send(t30.Event{Kind: t30.EventCarrierDown, Modulation: tx.Modulation, BitRate: tx.BitRate})
	}
	w.inbox = append(w.inbox, timed{at, t30.Event{Kind: t30.EventTxDone}})
}

// pages is a Source of opaque coded pages and a Sink that keeps them; the
// gateway binds g3's encoder and decoder here.
type pages struct {
	out  [][]byte
	in   [][]byte
	cur  []byte
	rows int
}

func (p *pages) Pages() int                                 { return len(p.out) }
func (p *pages) Prepared() (int, t30.Resolution)            { return t30.WidthA4, t30.Fine }
func (p *pages) Encode(n int, _ t30.Format) ([]byte, error) { return p.out[n], nil }
func (p *pages) StartPage(t30.Format) error                 { p.cur = nil; return nil }
func (p *pages) Write(b []byte) error                       { p.cur = append(p.cur, b...); return nil }
func (p *pages) EndPage() (t30.Quality, error)              { return t30.Quality{Rows: p.rows}, nil }
func (p *pages) Commit(keep bool) error {
	if keep {
		p.in = append(p.in, p.cur)
	}
	return nil
}

// Example drives a sender and a receiver from one loop: deliver due
// events, fire due timers, jump to the next moment something happens.
func Example() {
	var clock time.Duration
	a, b := &wire{clock: &clock}, &wire{clock: &clock}
	a.peer, b.peer = b, a
	doc := &pages{out: [][]byte{[]byte("page one"), []byte("page two")}, rows: 100}
	got := &pages{rows: 100}
	a.session, _ = t30.NewSession(t30.Config{FrontEnd: a, Role: t30.Send, Calling: true, Ident: "+1 555 0100", Source: doc})
	b.session, _ = t30.NewSession(t30.Config{FrontEnd: b, Role: t30.Receive, Ident: "+1 555 0199", Sink: got})
	a.session.Start(clock)
	b.session.Start(clock)

	for !a.session.Done() || !b.session.Done() {
		next := time.Duration(-1)
		for _, w := range []*wire{a, b} {
			if len(w.inbox) > 0 && (next < 0 || w.inbox[0].at < next) {
				next = w.inbox[0].at
			}
			if d, ok := w.session.Deadline(); ok && (next < 0 || d < next) {
				next = d
			}
		}
		if next < 0 {
			break // nothing left to happen
		}
		clock = max(clock, next)
		for _, w := range []*wire{a, b} {
			for len(w.inbox) > 0 && w.inbox[0].at <= clock {
				ev := w.inbox[0].ev
				w.inbox = w.inbox[1:]
				w.session.Handle(clock, ev)
			}
			w.session.Advance(clock)
		}
	}
	r := a.session.Result()
	fmt.Printf("sender: %v, %d pages, %v %d, ECM %v, %v\n", r.Code, r.Pages, r.Modulation, r.BitRate, r.ECM, r.Format.Compression)
	fmt.Printf("receiver: %v, kept %q, remote %q\n", b.session.Result().Code, got.in, b.session.Result().RemoteIdent)
	// Output:
	// sender: ok, 2 pages, V.17 14400, ECM true, MMR
	// receiver: ok, kept ["page one" "page two"], remote "+1 555 0100"
}
