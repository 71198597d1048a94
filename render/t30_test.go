// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package render

import (
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

// wire joins two t30 sessions in virtual time: every transmission takes 100 ms and arrives whole
// (the shape of t30's own example; real transports come with the gateway).
type wire struct {
	clock   *time.Duration
	peer    *wire
	session *t30.Session
	inbox   []timedEvent
}

type timedEvent struct {
	at time.Duration
	ev t30.Event
}

func (w *wire) Receive(t30.RxMode) {}

func (w *wire) Transmit(tx t30.Tx) {
	at := *w.clock + 100*time.Millisecond
	if n := len(w.inbox); n > 0 && w.inbox[n-1].at > at {
		at = w.inbox[n-1].at + 100*time.Millisecond
	}
	send := func(ev t30.Event) { w.peer.inbox = append(w.peer.inbox, timedEvent{at, ev}) }
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
	w.inbox = append(w.inbox, timedEvent{at, t30.Event{Kind: t30.EventTxDone}})
}

// g3Sink is a receiver's page sink: it decodes each page with g3 in the negotiated format.
type g3Sink struct {
	t    *testing.T
	f    t30.Format
	buf  []byte
	cur  *g3.Page
	kept []*g3.Page
	fmts []t30.Format
}

func (k *g3Sink) StartPage(f t30.Format) error { k.f, k.buf = f, k.buf[:0]; return nil }
func (k *g3Sink) Write(p []byte) error         { k.buf = append(k.buf, p...); return nil }
func (k *g3Sink) EndPage() (t30.Quality, error) {
	comp := map[t30.Compression]g3.Compression{t30.MH: g3.MH, t30.MR: g3.MR, t30.MMR: g3.MMR}[k.f.Compression]
	p, st, err := g3.Decode(k.buf, g3.Options{Compression: comp, K: 4, Width: k.f.Width, Order: g3.LSBFirst})
	if err != nil {
		k.t.Errorf("receiver: decode %v: %v", k.f, err)
		return t30.Quality{}, err
	}
	k.cur = p
	return t30.Quality{Rows: st.Rows, BadRows: st.BadRows, LongestBadRun: st.LongestBadRun}, nil
}
func (k *g3Sink) Commit(keep bool) error {
	if keep {
		k.kept = append(k.kept, k.cur)
		k.fmts = append(k.fmts, k.f)
	}
	return nil
}

// A rendered Document is sent through a t30 sender to a t30 receiver, which decodes the pages:
// they are the document's pages in the format the receiver's DIS allowed.
func TestSendThroughT30(t *testing.T) {
	h := testHeader
	d := render(t, []testPage{textPage("first page of the fax"), {W: letterH, H: letterW, Lines: []string{"landscape second page"}}}, Options{Header: &h})
	for _, tc := range []struct {
		name string
		rx   t30.Config
		want t30.Format
	}{
		{"ECM MMR fine", t30.Config{}, t30.Format{Compression: t30.MMR, Resolution: t30.Fine, Width: t30.WidthA4, ECM: true}},
		{"MH standard 20 ms", t30.Config{DisableECM: true, Compressions: []t30.Compression{t30.MH}, Resolutions: []t30.Resolution{t30.Standard}, MinScanTime: 20},
			t30.Format{Compression: t30.MH, Resolution: t30.Standard, Width: t30.WidthA4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var clock time.Duration
			a, b := &wire{clock: &clock}, &wire{clock: &clock}
			a.peer, b.peer = b, a
			sink := &g3Sink{t: t}
			var err error
			if a.session, err = t30.NewSession(t30.Config{FrontEnd: a, Role: t30.Send, Calling: true, Ident: h.From, Source: d}); err != nil {
				t.Fatal(err)
			}
			rx := tc.rx
			rx.FrontEnd, rx.Role, rx.Ident, rx.Sink = b, t30.Receive, "+12125550001", sink
			if b.session, err = t30.NewSession(rx); err != nil {
				t.Fatal(err)
			}
			a.session.Start(clock)
			b.session.Start(clock)
			for !a.session.Done() || !b.session.Done() {
				next := time.Duration(-1)
				for _, w := range []*wire{a, b} {
					if len(w.inbox) > 0 && (next < 0 || w.inbox[0].at < next) {
						next = w.inbox[0].at
					}
					if dl, ok := w.session.Deadline(); ok && (next < 0 || dl < next) {
						next = dl
					}
				}
				if next < 0 || clock > 10*time.Minute {
					break
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
			if r.Code != t30.OK || r.Pages != 2 || len(sink.kept) != 2 {
				t.Fatalf("sender %v, %d pages; receiver kept %d", r.Code, r.Pages, len(sink.kept))
			}
			for n, got := range sink.kept {
				f := sink.fmts[n]
				if f.Compression != tc.want.Compression || f.Resolution != tc.want.Resolution || f.Width != tc.want.Width || f.ECM != tc.want.ECM {
					t.Errorf("page %d sent as %v, want %v", n+1, f, tc.want)
				}
				fine, _ := d.Page(n)
				want, err := atResolution(fine, f.Resolution)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(want) {
					t.Errorf("page %d received differs from the rendered page (%dx%d vs %dx%d)", n+1, got.Width, got.Height, want.Width, want.Height)
				}
			}
		})
	}
}
