package t38

import (
	"math/rand"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/t30"
)

type simCase struct {
	name        string
	pages, rows int
	res         t30.Resolution
	ecm         bool
	comp        t30.Compression // 0 = engine's choice
	maxRate     int
	noV17       bool
	syntax      Syntax
	depth       int
	maxDgram    int
	imp         impairment
	seed        int64
	wantRate    int
	localTCF    bool
}

func makeDoc(c simCase) *pageSource {
	doc := &pageSource{res: c.res}
	for i := 0; i < c.pages; i++ {
		doc.pages = append(doc.pages, textPage(c.seed*100+int64(i), c.rows, yresOf(c.res)))
	}
	return doc
}

func configureFor(c simCase) func(*t30.Config) {
	return func(cfg *t30.Config) {
		cfg.DisableECM = !c.ecm
		cfg.MaxBitRate = c.maxRate
		cfg.DisableV17 = c.noV17
		if c.comp != 0 {
			cfg.Compressions = []t30.Compression{c.comp}
		}
	}
}

// runOurs runs our sender (calling) against our receiver (answering) over the T.38 channel model.
func runOurs(t *testing.T, c simCase) {
	doc := makeDoc(c)
	syn := c.syntax
	if syn == 0 {
		syn = Syntax1998
	}
	tx := newOurNode(t, ourOpts{role: t30.Send, calling: true, syntax: syn, depth: c.depth, maxDgram: c.maxDgram, doc: doc,
		localTCF: c.localTCF, configure: configureFor(c)})
	rx := newOurNode(t, ourOpts{role: t30.Receive, syntax: syn, depth: c.depth, maxDgram: c.maxDgram, localTCF: c.localTCF,
		configure: configureFor(c)})
	ch := &channel{rng: rand.New(rand.NewSource(c.seed)), imp: [2]impairment{c.imp, c.imp}}
	end := ch.run(t, [2]node{tx, rx}, 20*time.Minute)
	tr, rr := tx.sess.Result(), rx.sess.Result()
	if tr.Code != t30.OK || rr.Code != t30.OK {
		t.Fatalf("sender %v %s, receiver %v %s at %v\nsender trace:\n%s", tr.Code, tr.Detail, rr.Code, rr.Detail, end, trace(tx.sess))
	}
	checkPages(t, doc, rx.sink.kept, tr.Format)
	if c.wantRate != 0 && tr.BitRate != c.wantRate {
		t.Errorf("rate %d, want %d", tr.BitRate, c.wantRate)
	}
	if c.comp != 0 && tr.Format.Compression != c.comp {
		t.Errorf("compression %v, want %v", tr.Format.Compression, c.comp)
	}
	if c.maxDgram > 0 && (ch.maxSize[0] > c.maxDgram || ch.maxSize[1] > c.maxDgram) {
		t.Errorf("datagrams up to %d/%d octets, peer limit %d", ch.maxSize[0], ch.maxSize[1], c.maxDgram)
	}
	t.Logf("%v %d pages %v in %.1fs virtual, %d+%d datagrams, %d+%d lost; rx stats %+v",
		tr.Format, tr.Pages, tr.BitRate, end.Seconds(), ch.sent[0], ch.sent[1], ch.dropped[0], ch.dropped[1], rx.ep.Receiver.Stats)
}

// checkPages compares what was received with the document as sent at the negotiated resolution.
func checkPages(t *testing.T, doc *pageSource, got []*g3.Page, f t30.Format) {
	t.Helper()
	if len(got) != len(doc.pages) {
		t.Fatalf("%d pages received, want %d", len(got), len(doc.pages))
	}
	for i, p := range doc.pages {
		want := p
		if y := yresOf(f.Resolution); y != p.YRes {
			want, _ = p.ResampleY(y)
		}
		if err := samePage(want, got[i]); err != nil {
			t.Errorf("page %d: %v", i, err)
		}
	}
}

func TestSimOurs(t *testing.T) {
	lossy := impairment{loss: 0.10, delay: 40 * time.Millisecond, jitter: 20 * time.Millisecond}
	cases := []simCase{
		{name: "1p-ecm", pages: 1, ecm: true, wantRate: 14400},
		{name: "3p-ecm", pages: 3, ecm: true},
		{name: "10p-ecm", pages: 10, rows: 200, ecm: true},
		{name: "1p-noecm", pages: 1},
		{name: "3p-noecm", pages: 3},
		{name: "10p-noecm", pages: 10, rows: 200},
		{name: "MH-9600", pages: 1, comp: t30.MH, noV17: true, wantRate: 9600},
		{name: "MR-7200", pages: 1, comp: t30.MR, maxRate: 7200, noV17: true, wantRate: 7200},
		{name: "MMR-ecm-4800", pages: 1, ecm: true, comp: t30.MMR, maxRate: 4800, wantRate: 4800},
		{name: "MH-2400", pages: 1, rows: 300, comp: t30.MH, maxRate: 2400, wantRate: 2400},
		{name: "v17-12000-v2", pages: 1, ecm: true, maxRate: 12000, syntax: Syntax2002, wantRate: 12000},
		{name: "loss5-red3-ecm", pages: 3, ecm: true, depth: 3, imp: impairment{loss: 0.05, delay: 30 * time.Millisecond}},
		{name: "loss10-red3-ecm-mmr-fine", pages: 3, ecm: true, comp: t30.MMR, depth: 3, imp: lossy, wantRate: 14400},
		{name: "loss5-red3-noecm", pages: 3, depth: 3, imp: impairment{loss: 0.05, delay: 30 * time.Millisecond}},
		{name: "dup-reorder-delay", pages: 3, ecm: true, depth: 3,
			imp: impairment{dup: 0.05, reorder: 0.05, reorderBy: 40 * time.Millisecond, delay: 150 * time.Millisecond, jitter: 30 * time.Millisecond}},
		{name: "maxdatagram-72", pages: 1, ecm: true, depth: 3, maxDgram: 72},
		// T38-8: localTCF on both ends: no TCF bytes cross, the receiver takes training + no-signal as CFR.
		{name: "localTCF", pages: 2, localTCF: true, comp: t30.MH, wantRate: 14400},
	}
	for i, c := range cases {
		if c.rows == 0 {
			c.rows = 600
		}
		if c.res == 0 {
			c.res = t30.Fine
		}
		c.seed = int64(i + 1)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runOurs(t, c)
		})
	}
}
