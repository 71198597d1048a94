//go:build spandsp

package audio

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/t30"
)

type interop struct {
	law            g711.Law
	ecm            bool
	noV17          bool
	loss           float64
	pages          int
	seed           uint64
	weSend         bool
	spandspV17Only bool
}

func (c interop) String() string {
	dir := "spandsp->us"
	if c.weSend {
		dir = "us->spandsp"
	}
	return fmt.Sprintf("%s %v ECM=%v noV17=%v loss=%.0f%% seed=%d", dir, c.law, c.ecm, c.noV17, c.loss*100, c.seed)
}

type interopResult struct {
	ours    t30.Result
	code    int
	text    string
	elapsed time.Duration
	err     error // page comparison
}

func toBitmaps(pages []*g3.Page) []spandsp.Bitmap {
	var out []spandsp.Bitmap
	for _, p := range pages {
		out = append(out, spandsp.Bitmap{Width: p.Width, Height: p.Height, XRes: p.XRes, YRes: p.YRes, Rows: p.Pix})
	}
	return out
}

// runInterop runs one whole fax between our t30 + audio transport and spandsp's fax_state over two
// G.711 line models with independent packet loss, 20-40 ms network jitter into a 60 ms fixed playout
// buffer (late packets would be lost; with this buffer none are), ±30 ppm clocks, 20 ms ticks,
// virtual time.
func runInterop(t *testing.T, c interop) interopResult {
	t.Helper()
	var docPages []*g3.Page
	for i := range c.pages {
		docPages = append(docPages, glyphPage(c.seed*10+uint64(i), 700, g3.ResFine))
	}
	dir := t.TempDir()
	cfg := spandsp.FaxConfig{ECM: c.ecm, Ident: "spandsp"}
	if c.noV17 {
		cfg.Modems = spandsp.ModemV29 | spandsp.ModemV27ter
	}
	src := &g3Source{pages: docPages}
	sink := &g3Sink{}
	tr := New(c.law)
	tcfg := t30.Config{FrontEnd: tr, Ident: "+1 555 0100", DisableECM: !c.ecm, DisableV17: c.noV17}
	rxFile := filepath.Join(dir, "rx.tif")
	if c.weSend {
		tcfg.Role, tcfg.Calling, tcfg.Source = t30.Send, true, src
		cfg.RxFile = rxFile
	} else {
		in := filepath.Join(dir, "tx.tif")
		if err := spandsp.WriteTIFF(in, toBitmaps(docPages), spandsp.TIFFG4); err != nil {
			t.Fatal(err)
		}
		cfg.Calling, cfg.TxFile = true, in
		tcfg.Role, tcfg.Sink = t30.Receive, sink
	}
	peer, err := spandsp.NewFaxTerminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sess, err := t30.NewSession(tcfg)
	if err != nil {
		t.Fatal(err)
	}
	toPeer := line.New(line.Config{Law: c.law, NoiseDBm0: -60, DriftPPM: 30, LossRate: c.loss, Seed: c.seed, JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: 60 * time.Millisecond})
	toUs := line.New(line.Config{Law: c.law, NoiseDBm0: -60, DriftPPM: -30, LossRate: c.loss, Seed: c.seed + 100, JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: 60 * time.Millisecond})
	buf := make([]int16, Block)
	var now time.Duration
	sess.Start(now)
	peerDone := false
	for !(sess.Done() && peerDone) && now < 6*time.Minute {
		now += 20 * time.Millisecond
		tr.Tx(buf)
		toPeer.Write(buf)
		for {
			lost, ok := toPeer.Read(buf)
			if !ok {
				break
			}
			if lost {
				peer.RxFillin(Block)
			} else {
				peer.Rx(buf)
			}
		}
		peer.Tx(buf)
		toUs.Write(buf)
		for {
			lost, ok := toUs.Read(buf)
			if !ok {
				break
			}
			if lost {
				tr.RxFillin(Block)
			} else {
				tr.Rx(buf)
			}
		}
		for _, ev := range tr.Events() {
			sess.Handle(now, ev)
		}
		sess.Advance(now)
		peerDone, _, _ = peer.Done()
	}
	r := interopResult{ours: sess.Result(), elapsed: now}
	_, r.code, r.text = peer.Done()
	var got []*g3.Page
	if c.weSend {
		if bms, err := spandsp.ReadTIFF(rxFile); err == nil {
			for _, b := range bms {
				p, _ := g3.NewPage(b.Width, b.Height, b.XRes, b.YRes)
				copy(p.Pix, b.Rows)
				got = append(got, p)
			}
		}
	} else {
		got = sink.kept
	}
	if len(got) != len(docPages) {
		r.err = fmt.Errorf("%d of %d pages", len(got), len(docPages))
	} else {
		for i := range got {
			if err := samePage(docPages[i], got[i]); err != nil {
				r.err = fmt.Errorf("page %d: %v", i, err)
				break
			}
		}
	}
	return r
}

func (r interopResult) ok() bool { return r.ours.Code == t30.OK && r.code == 0 && r.err == nil }

func TestInteropWholeFax(t *testing.T) {
	var cases []interop
	seed := uint64(1)
	for _, weSend := range []bool{true, false} {
		for _, law := range []g711.Law{g711.MuLaw, g711.ALaw} {
			for _, ecm := range []bool{true, false} {
				cases = append(cases, interop{law: law, ecm: ecm, weSend: weSend, pages: 2, seed: seed})
				seed++
			}
		}
	}
	for _, c := range cases {
		r := runInterop(t, c)
		t.Logf("%v: ours %v (%s) %v %d, spandsp %d %s, pages: %v, %.0fs virtual", c, r.ours.Code, r.ours.Detail, r.ours.Modulation, r.ours.BitRate, r.code, r.text, r.err, r.elapsed.Seconds())
		if !r.ok() {
			t.Errorf("%v failed", c)
		}
	}
}
