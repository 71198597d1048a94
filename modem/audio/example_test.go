package audio_test

import (
	"fmt"
	"time"

	"github.com/faxseal/faxseal/modem/audio"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

// page is a one-page Source and a Sink of opaque coded bytes (the gateway binds the g3 codec).
type page struct {
	out, in, cur []byte
}

func (p *page) Pages() int                             { return 1 }
func (p *page) Prepared() (int, t30.Resolution)        { return t30.WidthA4, t30.Fine }
func (p *page) Encode(int, t30.Format) ([]byte, error) { return p.out, nil }
func (p *page) StartPage(t30.Format) error             { p.cur = nil; return nil }
func (p *page) Write(b []byte) error                   { p.cur = append(p.cur, b...); return nil }
func (p *page) EndPage() (t30.Quality, error)          { return t30.Quality{Rows: 100}, nil }
func (p *page) Commit(keep bool) error                 { p.in = p.cur; return nil }

// Example wires two T.30 sessions through two audio transports, back to back, one 20 ms tick at a
// time: what a gateway does with RTP (TxG711/RxG711, RxFillin for a missing packet), here with the
// G.711 bytes passed straight across.
func Example() {
	doc := &page{out: []byte("a coded page, any bytes")}
	got := &page{}
	a, b := audio.New(g711.MuLaw), audio.New(g711.MuLaw)
	sa, _ := t30.NewSession(t30.Config{FrontEnd: a, Role: t30.Send, Calling: true, Ident: "+1 555 0100", Source: doc})
	sb, _ := t30.NewSession(t30.Config{FrontEnd: b, Role: t30.Receive, Ident: "+1 555 0199", Sink: got})
	var now time.Duration
	sa.Start(now)
	sb.Start(now)
	ab, ba := make([]byte, audio.Block), make([]byte, audio.Block)
	for !sa.Done() || !sb.Done() {
		now += 20 * time.Millisecond
		a.TxG711(ab) // the RTP payload a sends
		b.TxG711(ba)
		b.RxG711(ab) // ... and what the other side's jitter buffer plays out
		a.RxG711(ba)
		for _, ev := range a.Events() {
			sa.Handle(now, ev)
		}
		for _, ev := range b.Events() {
			sb.Handle(now, ev)
		}
		sa.Advance(now)
		sb.Advance(now)
	}
	r := sa.Result()
	fmt.Printf("%v: %d page at %v %d, ECM %v\n", r.Code, r.Pages, r.Modulation, r.BitRate, r.ECM)
	fmt.Printf("received %q\n", got.in)
	// Output:
	// ok: 1 page at V.17 14400, ECM true
	// received "a coded page, any bytes"
}
