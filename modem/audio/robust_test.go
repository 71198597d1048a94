//go:build spandsp

package audio

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/t30"
)

// endpoint is one side of an audio fax call: ours (t30 + Transport) or spandsp's fax_state.
type endpoint interface {
	tx(buf []int16)
	rx(buf []int16)
	fillin(n int)
	step(now time.Duration)
	done() bool
	ok() bool
	pages() []*g3.Page // received pages (receiver only)
	why() string
}

type ourEnd struct {
	tr      *Transport
	sess    *t30.Session
	sink    *g3Sink
	reports []t30.PageResult // OnPage, in order
	evlog   func(time.Duration, t30.Event)
}

func (e *ourEnd) tx(b []int16)      { e.tr.Tx(b) }
func (e *ourEnd) rx(b []int16)      { e.tr.Rx(b) }
func (e *ourEnd) fillin(n int)      { e.tr.RxFillin(n) }
func (e *ourEnd) done() bool        { return e.sess.Done() }
func (e *ourEnd) ok() bool          { return e.sess.Result().Code == t30.OK }
func (e *ourEnd) pages() []*g3.Page { return e.sink.kept }
func (e *ourEnd) step(now time.Duration) {
	for _, ev := range e.tr.Events() {
		if e.evlog != nil {
			e.evlog(now, ev)
		}
		e.sess.Handle(now, ev)
	}
	e.sess.Advance(now)
}

type spEnd struct {
	f      *spandsp.FaxTerminal
	rxFile string
}

func (e *spEnd) tx(b []int16)       { e.f.Tx(b) }
func (e *spEnd) rx(b []int16)       { e.f.Rx(b) }
func (e *spEnd) fillin(n int)       { e.f.RxFillin(n) }
func (e *spEnd) step(time.Duration) {}
func (e *spEnd) done() bool         { d, _, _ := e.f.Done(); return d }
func (e *spEnd) ok() bool           { _, c, _ := e.f.Done(); return c == 0 }
func (e *spEnd) pages() []*g3.Page {
	bms, err := spandsp.ReadTIFF(e.rxFile)
	if err != nil {
		return nil
	}
	var out []*g3.Page
	for _, b := range bms {
		p, _ := g3.NewPage(b.Width, b.Height, b.XRes, b.YRes)
		copy(p.Pix, b.Rows)
		out = append(out, p)
	}
	return out
}

type pairCase struct {
	sender, receiver string // "ours" or "spandsp"
	law              g711.Law
	noV17            bool
	loss             float64
	pages            int
	seed             uint64
	log              bool    // spandsp flow log to stderr, for debugging
	drift            float64 // sample-clock offset of the sender->receiver line in ppm (the other way: -drift)
	noECM            bool    // both ends without error correction (T.30 Annex A off)
}

func newEnd(t testing.TB, kind string, send bool, c pairCase, doc []*g3.Page, dir string) endpoint {
	if kind == "ours" {
		tr := New(c.law)
		e := &ourEnd{tr: tr, sink: &g3Sink{}}
		cfg := t30.Config{FrontEnd: tr, Ident: "+1 555 0100", DisableV17: c.noV17, DisableECM: c.noECM,
			OnPage: func(p t30.PageResult) { e.reports = append(e.reports, p) }}
		if send {
			cfg.Role, cfg.Calling, cfg.Source = t30.Send, true, &g3Source{pages: doc}
		} else {
			cfg.Role, cfg.Sink = t30.Receive, e.sink
		}
		s, err := t30.NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.sess = s
		return e
	}
	cfg := spandsp.FaxConfig{ECM: !c.noECM, Ident: "spandsp", Log: c.log}
	if c.noV17 {
		cfg.Modems = spandsp.ModemV29 | spandsp.ModemV27ter
	}
	e := &spEnd{}
	if send {
		in := filepath.Join(dir, "tx.tif")
		if err := spandsp.WriteTIFF(in, toBitmaps(doc), spandsp.TIFFG4); err != nil {
			t.Fatal(err)
		}
		cfg.Calling, cfg.TxFile = true, in
	} else {
		e.rxFile = filepath.Join(dir, "rx.tif")
		cfg.RxFile = e.rxFile
	}
	f, err := spandsp.NewFaxTerminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.f = f
	return e
}

// runPair runs one fax, ECM on, and reports success (both ends OK, pages identical) and the virtual
// time it took.
func runPair(t testing.TB, c pairCase) (bool, time.Duration, string) {
	dir, err := os.MkdirTemp("", "faxpair")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var doc []*g3.Page
	for i := range c.pages {
		doc = append(doc, glyphPage(c.seed*10+uint64(i), 800, g3.ResFine))
	}
	a := newEnd(t, c.sender, true, c, doc, dir)
	b := newEnd(t, c.receiver, false, c, doc, dir)
	if sp, ok := a.(*spEnd); ok {
		defer sp.f.Close()
	}
	if sp, ok := b.(*spEnd); ok {
		defer sp.f.Close()
	}
	if o, ok := a.(*ourEnd); ok {
		o.sess.Start(0)
	}
	if o, ok := b.(*ourEnd); ok {
		o.sess.Start(0)
	}
	ab := line.New(line.Config{Law: c.law, NoiseDBm0: -60, DriftPPM: c.drift, LossRate: c.loss, Seed: c.seed, JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: 60 * time.Millisecond})
	ba := line.New(line.Config{Law: c.law, NoiseDBm0: -60, DriftPPM: -c.drift, LossRate: c.loss, Seed: c.seed + 1000, JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: 60 * time.Millisecond})
	buf := make([]int16, Block)
	var now time.Duration
	move := func(from, to endpoint, m *line.Model) {
		from.tx(buf)
		m.Write(buf)
		for {
			lost, ok := m.Read(buf)
			if !ok {
				return
			}
			if lost {
				if c.log {
					t.Logf("lost packet at %v", now)
				}
				to.fillin(Block)
			} else {
				to.rx(buf)
			}
		}
	}
	for !(a.done() && b.done()) && now < 8*time.Minute {
		now += 20 * time.Millisecond
		move(a, b, ab)
		move(b, a, ba)
		a.step(now)
		b.step(now)
	}
	if c.log {
		for _, e := range []endpoint{a, b} {
			if o, ok := e.(*ourEnd); ok {
				for _, tr := range o.sess.Trace() {
					t.Logf("trace %v %v %v %s bad=%v % X %s", tr.Time, tr.Direction, tr.Modulation, tr.Decoded, tr.BadFCS, tr.Raw, tr.Note)
				}
			}
		}
	}
	if !a.ok() || !b.ok() {
		return false, now, "send: " + a.why() + " / recv: " + b.why()
	}
	got := b.pages()
	if len(got) != len(doc) {
		return false, now, fmt.Sprintf("%d of %d pages", len(got), len(doc))
	}
	for i := range doc {
		if err := samePage(doc[i], got[i]); err != nil {
			return false, now, fmt.Sprintf("page %d: %v", i, err)
		}
	}
	return true, now, ""
}

// TestRobustnessTable measures the issue-8 robustness goal: 3-page ECM faxes with 1 % packet loss
// each way, V.17 and V.29, every pairing of our stack and spandsp. It prints the success counts for
// docs/benchmarks.md. Set FAXSEAL_ROBUSTNESS=N to run it with N faxes per cell (it takes minutes).
func TestRobustnessTable(t *testing.T) {
	n := 0
	fmt.Sscan(os.Getenv("FAXSEAL_ROBUSTNESS"), &n)
	if n == 0 {
		t.Skip("set FAXSEAL_ROBUSTNESS=N to measure")
	}
	for _, noV17 := range []bool{false, true} {
		for _, p := range [][2]string{{"ours", "ours"}, {"ours", "spandsp"}, {"spandsp", "ours"}, {"spandsp", "spandsp"}} {
			okN := 0
			var why []string
			for i := range n {
				c := pairCase{sender: p[0], receiver: p[1], law: g711.MuLaw, noV17: noV17, loss: 0.01, pages: 3, seed: uint64(100 + i), drift: 30}
				ok, _, w := runPair(t, c)
				if ok {
					okN++
				} else {
					why = append(why, w)
				}
			}
			mod := "V.17"
			if noV17 {
				mod = "V.29"
			}
			t.Logf("%s %s -> %s, 1%% loss each way: %d of %d %v", mod, p[0], p[1], okN, n, why)
		}
	}
}

func TestPairLossSmoke(t *testing.T) {
	// 2-page ECM faxes at V.29 with 1 % packet loss each way, three seeds: ours on both ends must
	// complete (V.21 frames are rebuilt across lost packets, ECM repairs the rest), all three. Seed 9
	// loses the CFR and then a repeated DCS, so the next DCS reaches a receiver already in phase C:
	// t30 answers it again since its fix (t30 TestRepeatedDCSInPhaseC). Against
	// spandsp, whose side cannot rebuild frames, success under loss is a matter of luck per seed
	// (measured in TestRobustnessTable, not asserted here); the clean matrix is TestInteropWholeFax.
	for _, p := range []struct {
		from, to string
		need     int
	}{{"ours", "ours", 3}} {
		okN := 0
		for seed := uint64(7); seed < 10; seed++ {
			c := pairCase{sender: p.from, receiver: p.to, law: g711.ALaw, noV17: true, loss: 0.01, pages: 2, seed: seed, drift: 30}
			ok, d, why := runPair(t, c)
			t.Logf("%s -> %s V.29 1%% loss seed %d: ok %v in %v %s", p.from, p.to, seed, ok, d, why)
			if ok {
				okN++
			}
		}
		if okN < p.need {
			t.Errorf("%s -> %s: %d of 3 completed, want at least %d", p.from, p.to, okN, p.need)
		}
	}
}

func (e *ourEnd) why() string {
	r := e.sess.Result()
	return fmt.Sprintf("%v (%s)", r.Code, r.Detail)
}

func (e *spEnd) why() string {
	d, _, txt := e.f.Done()
	if !d {
		return "not done"
	}
	return txt
}

// runDirect runs one fax with the two ends wired directly (no line model, so only the fax stacks
// cost CPU) and returns the virtual call time.
func runDirect(t testing.TB, c pairCase) time.Duration {
	dir, err := os.MkdirTemp("", "faxcpu")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var doc []*g3.Page
	for i := range c.pages {
		doc = append(doc, glyphPage(c.seed*10+uint64(i), 1100, g3.ResFine))
	}
	a := newEnd(t, c.sender, true, c, doc, dir)
	b := newEnd(t, c.receiver, false, c, doc, dir)
	for _, e := range []endpoint{a, b} {
		switch x := e.(type) {
		case *spEnd:
			defer x.f.Close()
		case *ourEnd:
			x.sess.Start(0)
		}
	}
	ab, ba := make([]int16, Block), make([]int16, Block)
	var now time.Duration
	for !(a.done() && b.done()) && now < 8*time.Minute {
		now += 20 * time.Millisecond
		a.tx(ab)
		b.tx(ba)
		b.rx(ab)
		a.rx(ba)
		a.step(now)
		b.step(now)
	}
	if !a.ok() || !b.ok() {
		t.Fatalf("%s fax failed: %s / %s", c.sender, a.why(), b.why())
	}
	return now
}

// BenchmarkFaxCPU compares CPU per channel-minute of our modem + t30 stack with spandsp's fax_state,
// side by side in one run: a 3-page fine V.17 14400 ECM fax, both ends in this process, back to
// back (issue 8's speed goal: ratio <= 1.0).
func BenchmarkFaxCPU(b *testing.B) {
	for _, kind := range []string{"ours", "spandsp"} {
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			var call time.Duration
			cpu0 := processCPU()
			for b.Loop() {
				call += runDirect(b, pairCase{sender: kind, receiver: kind, law: g711.MuLaw, pages: 3, seed: 1})
			}
			cpu := processCPU() - cpu0
			// Two channels (one per end) for the whole call. CPU time (getrusage), not wall time:
			// the build machine is shared and wall time mostly measures the neighbours.
			chanMin := 2 * call.Minutes()
			b.ReportMetric(cpu.Seconds()/chanMin, "cpu-s/chan-min")
			b.ReportMetric(call.Seconds()/float64(b.N), "call-s")
		})
	}
}

// processCPU returns the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
