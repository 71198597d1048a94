//go:build spandsp

package audio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/t30"
)

// lossCall is everything one fax over a lossy line left behind, for checking invariants.
type lossCall struct {
	c          pairCase
	doc        []*g3.Page
	a, b       endpoint      // sender, receiver
	doneA      time.Duration // virtual time each end reached phase E (0: never)
	doneB      time.Duration
	end        time.Duration // when the loop stopped
	got        []*g3.Page    // pages the receiver kept (its sink, or spandsp's TIFF)
	spBadRows  []int         // spandsp receiver: BadFaxLines of each stored page (-1: tag missing)
	silentTail bool          // every end of ours transmitted only silence after phase E
	spSilent   int           // pages spandsp kept damaged without flagging them (see violations)
}

// lossCallLimit is where a call counts as dead: far beyond T.30's own bounds (T1 35 s in phase B,
// then at most 3 × T4 3 s per command and T2 6 s per wait; a 2-page fax at 1 % loss ends in
// 27-200 s: measured over 360 runs).
const lossCallLimit = 6 * time.Minute

// lossHangupBound bounds how long the second end may run on after the first reached phase E:
// after a DCN the other side ends at once; if one side just stopped (no DCN heard), the other's
// T.30 timers end it: T2 6 s + 3 × T4 3 s repeats, or spandsp's T5/T1-based give-ups (35 s).
const lossHangupBound = 45 * time.Second

// runLossCall runs one fax like runPair but keeps the ends for inspection (close frees spandsp's),
// and keeps ticking for 2 s after both reached phase E to see that ours really hung up.
func runLossCall(t testing.TB, c pairCase) *lossCall {
	dir := t.TempDir()
	r := &lossCall{c: c}
	for i := range c.pages {
		r.doc = append(r.doc, glyphPage(c.seed*10+uint64(i), 800, g3.ResFine))
	}
	r.a = newEnd(t, c.sender, true, c, r.doc, dir)
	r.b = newEnd(t, c.receiver, false, c, r.doc, dir)
	for _, e := range []endpoint{r.a, r.b} {
		if o, ok := e.(*ourEnd); ok {
			o.sess.Start(0)
			if os.Getenv("FAXSEAL_LOSS_EVENTS") != "" && e == r.b {
				o.evlog = func(now time.Duration, ev t30.Event) {
					if ev.Kind != t30.EventData {
						t.Logf("event %v %v %v ok=%v % X", now, ev.Kind, ev.Modulation, ev.FCSOK, ev.Frame)
					}
				}
			}
		}
	}
	jit := func(drift float64, seed uint64) *line.Model {
		return line.New(line.Config{Law: c.law, NoiseDBm0: -60, DriftPPM: drift, LossRate: c.loss, Seed: seed,
			JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: 60 * time.Millisecond})
	}
	ab, ba := jit(c.drift, c.seed), jit(-c.drift, c.seed+1000)
	buf := make([]int16, Block)
	r.silentTail = true
	var now time.Duration
	move := func(from, to endpoint, m *line.Model, fromDone time.Duration) {
		from.tx(buf)
		if _, ours := from.(*ourEnd); ours && fromDone != 0 && now > fromDone {
			for _, v := range buf {
				if v != 0 {
					r.silentTail = false
					break
				}
			}
		}
		m.Write(buf)
		for {
			lost, ok := m.Read(buf)
			if !ok {
				return
			}
			if lost {
				to.fillin(Block)
			} else {
				to.rx(buf)
			}
		}
	}
	var bothAt time.Duration
	for now < lossCallLimit && (bothAt == 0 || now < bothAt+2*time.Second) {
		now += 20 * time.Millisecond
		move(r.a, r.b, ab, r.doneA)
		move(r.b, r.a, ba, r.doneB)
		r.a.step(now)
		r.b.step(now)
		if r.doneA == 0 && r.a.done() {
			r.doneA = now
		}
		if r.doneB == 0 && r.b.done() {
			r.doneB = now
		}
		if bothAt == 0 && r.doneA != 0 && r.doneB != 0 {
			bothAt = now
		}
	}
	r.end = now
	r.got = r.b.pages()
	if sp, ok := r.b.(*spEnd); ok {
		var err error
		if r.spBadRows, err = tiffBadRows(sp.rxFile); err != nil && len(r.got) > 0 {
			t.Errorf("spandsp's received TIFF: %v", err)
		}
	}
	return r
}

func (r *lossCall) close() {
	for _, e := range []endpoint{r.a, r.b} {
		if sp, ok := e.(*spEnd); ok {
			sp.f.Close()
		}
	}
}

func (r *lossCall) ok() bool { return r.a.ok() && r.b.ok() }

// confirmed is how many pages the sender counts as delivered (MCF, or RTP without ECM).
func (r *lossCall) confirmed() int {
	switch a := r.a.(type) {
	case *ourEnd:
		return a.sess.Result().Pages
	case *spEnd:
		return a.f.Stats().PagesTx
	}
	return 0
}

// lossFailCodes are the outcomes a lossy line may legitimately cause: each names what went wrong
// (T.30 §5.4 timers and retry limits). Missing from the list on purpose: ProtocolError (a
// sequence we could not follow), the local-side errors, and OK, which is not a failure.
var lossFailCodes = map[t30.Code]bool{
	t30.NoAnswer: true, t30.TrainingFailed: true, t30.NoResponseDCS: true, t30.NoResponsePostPage: true,
	t30.CopyQuality: true, t30.ECMBlockAbandoned: true, t30.TimeoutCommand: true,
	t30.RemoteDisconnected: true, t30.HungUpMidPage: true, t30.HungUp: true,
}

// violations checks the properties that hold whatever the loss pattern, success or not:
//
//	(a) every page the receiver kept is the page sent, in order, none twice, none cut short; with
//	    ECM pixel-identical; the sender never counts more pages as delivered than the receiver kept;
//	(b) both ends reach phase E well within lossCallLimit and within lossHangupBound of each other;
//	    a failed end of ours reports a specific code with a reason, its last frame exchanged is a
//	    DCN (sent or received), and it transmits nothing after phase E;
//	(d) without ECM a kept page that differs from the original was flagged by the receiver's copy
//	    quality check: bad rows counted (our Quality, spandsp's bad_rows) or answered RTP/RTN.
func (r *lossCall) violations() []string {
	var v []string
	add := func(f string, args ...any) { v = append(v, fmt.Sprintf(f, args...)) }
	// (b) no dead calls, no stalls on our side. spandsp 0.0.6 as receiver sometimes never reaches
	// phase E after our DCN (5 of 120 ours -> spandsp runs): its stall, counted by the
	// caller, not asserted; a gateway hangs up (BYE) once our side is done.
	for _, x := range []struct {
		e  endpoint
		at time.Duration
	}{{r.a, r.doneA}, {r.b, r.doneB}} {
		if _, ours := x.e.(*ourEnd); ours && x.at == 0 {
			add("dead call: our end not done at %v", r.end)
		}
	}
	if r.doneA != 0 && r.doneB != 0 {
		if d := r.doneA - r.doneB; d.Abs() > lossHangupBound {
			add("ends hung up %v apart (sender %v, receiver %v)", d.Abs(), r.doneA, r.doneB)
		}
	}
	if !r.silentTail {
		add("our end still transmitting after phase E")
	}
	for _, e := range []endpoint{r.a, r.b} {
		o, ok := e.(*ourEnd)
		if !ok || !o.sess.Done() {
			continue
		}
		res := o.sess.Result()
		if res.Code != t30.OK && (!lossFailCodes[res.Code] || res.Detail == "") {
			add("our failure %v (%q) is not a specific line failure", res.Code, res.Detail)
		}
		// A successful receiver may miss the final DCN and end on T2 (T.30 §5.3.2.5): only a
		// failure must end with a DCN exchange.
		if last := lastControl(o.sess.Trace()); res.Code != t30.OK && (last == nil || last.FCF != t30.FCFDCN) {
			add("our end (%v) did not end with a DCN exchange: last frame %v", res.Code, last)
		}
	}
	// (a) and (d): pages.
	if len(r.got) > len(r.doc) {
		add("receiver kept %d pages of a %d-page document", len(r.got), len(r.doc))
	}
	if n := r.confirmed(); n > len(r.got) {
		add("sender counts %d pages delivered, receiver kept %d", n, len(r.got))
	}
	if o, ok := r.b.(*ourEnd); ok && o.sess.Done() && o.sess.Result().Pages != len(r.got) {
		add("our receiver reports %d pages, kept %d", o.sess.Result().Pages, len(r.got))
	}
	if r.ok() && len(r.got) != len(r.doc) {
		add("both ends OK with %d of %d pages", len(r.got), len(r.doc))
	}
	for i := range min(len(r.got), len(r.doc)) {
		err := samePage(r.doc[i], r.got[i])
		if err == nil {
			continue
		}
		if r.c.noECM && r.flagged(i) {
			continue
		}
		if _, sp := r.b.(*spEnd); sp && r.c.noECM {
			// spandsp 0.0.6's own T.4 decoder: it sometimes loses whole rows to a lost packet
			// without counting a bad row (the page shifts up, TIFF "Fax Data: clean"; 3 pages in 60
			// ours -> spandsp runs without ECM). Not our side's to assert; counted and logged.
			r.spSilent++
			continue
		}
		add("page %d kept but not the page sent (ECM %v): %v", i, !r.c.noECM, err)
	}
	return v
}

// flagged reports whether the receiver's copy-quality check marked kept page i as damaged
// (T.30 §5.3.6.2.3: RTP/RTN, or bad rows in the decode report).
func (r *lossCall) flagged(i int) bool {
	if o, ok := r.b.(*ourEnd); ok {
		k := 0
		for _, p := range o.reports {
			if !p.Accepted {
				continue
			}
			if k == i {
				return p.Quality.BadRows > 0 || p.Response != t30.FCFMCF
			}
			k++
		}
		return false
	}
	if i < len(r.spBadRows) && r.spBadRows[i] > 0 {
		return true
	}
	if o, ok := r.a.(*ourEnd); ok {
		for _, p := range o.reports {
			if p.Page == i && (p.Response == t30.FCFRTP || p.Response == t30.FCFRTN) {
				return true
			}
		}
	}
	return false
}

// lastControl returns the last good control frame in a trace (sent, or received with a good FCS).
func lastControl(tr []t30.TraceEntry) *t30.TraceEntry {
	for i := len(tr) - 1; i >= 0; i-- {
		if e := &tr[i]; len(e.Raw) > 0 && !e.BadFCS {
			return e
		}
	}
	return nil
}

// lossFloor is the success floor for n runs of a row: take the one-sided 95 % Clopper-Pearson lower
// bound pLow of the measured rate (so the measurement's own noise is allowed for), then the
// largest k with P(Bin(n, pLow) < k) <= 0.001. A fixed seed set behaves like a fresh sample after
// any change that shifts timing (one rescued frame moves every later loss), so at the measured
// rate this fails by chance well under 1 run in 1000, while a real regression fails it: with
// n = 40, ours -> spandsp (88/120, pLow 0.66) needs 17, and a fall to 30 % fails 94 % of the time;
// spandsp -> ours (96/120, pLow 0.73) needs 20 (a fall to 35 %: fails 96 %); ours -> ours
// (120/120, pLow 0.975) needs 35 (a fall to 80 %: fails 84 %).
func lossFloor(d lossDirection, n int) int {
	return binomialFloor(n, clopperPearsonLow(d.measuredOK, d.measuredN, 0.05), 0.001)
}

// clopperPearsonLow is the exact one-sided lower confidence bound for a binomial rate after k
// successes in n trials: the p at which P(X >= k) = alpha (bisection).
func clopperPearsonLow(k, n int, alpha float64) float64 {
	if k == 0 {
		return 0
	}
	lo, hi := 0.0, 1.0
	for range 60 {
		p := (lo + hi) / 2
		// P(X >= k) = 1 - P(X < k); binomialFloor's sum, directly.
		below := 0.0
		for j := range k {
			below += math.Exp(lgamma(n+1)-lgamma(j+1)-lgamma(n-j+1)) * math.Pow(p, float64(j)) * math.Pow(1-p, float64(n-j))
		}
		if 1-below < alpha {
			lo = p
		} else {
			hi = p
		}
	}
	return lo
}

// binomialFloor returns the largest k with P(X < k) <= alpha for X ~ Binomial(n, p): a success
// count below it is evidence (at level alpha) that the true rate has fallen under p.
func binomialFloor(n int, p, alpha float64) int {
	cdf := 0.0 // P(X < k)
	for k := 0; k <= n; k++ {
		pk := math.Exp(lgamma(n+1)-lgamma(k+1)-lgamma(n-k+1)) * math.Pow(p, float64(k)) * math.Pow(1-p, float64(n-k))
		if cdf+pk > alpha {
			return k
		}
		cdf += pk
	}
	return n
}

func lgamma(n int) float64 { v, _ := math.Lgamma(float64(n)); return v }

// lossDirection is one row of the 1 %-loss matrix and its measured success rate.
type lossDirection struct {
	sender, receiver string
	// measured: successes with the test's configuration on seeds outside the test's own
	// (FAXSEAL_LOSS_SEEDS=30 FAXSEAL_LOSS_FIRST=100: 30 per cell, the row's 4 cells summed;
	// 2026-12-01 with the fixes of that day; docs/benchmarks.md has the cells).
	measuredOK, measuredN int
}

// TestInteropLossInvariants runs whole 2-page faxes over G.711 with 1 % packet loss each way,
// 20-40 ms jitter into a 60 ms playout buffer and ±30 ppm clocks: our t30 + audio against spandsp's
// fax_state both ways, and ours against ours; µ-law and A-law, ECM on and off; 10 seeds per cell
// from a fixed formula (1000000 + 10000*row + 1000*cell + i, i = 0..9; never picked by outcome). Under this loss spandsp 0.0.6 completes
// only about half the faxes (modem/NOTES.md), so success is not asserted per fax. What is
// asserted: the invariants of lossCall.violations on every fax, and per direction a success floor
// (see lossFloor). About 11 CPU-s. FAXSEAL_LOSS_SEEDS and FAXSEAL_LOSS_FIRST override the seeds,
// to measure; FAXSEAL_LOSS_ROW=0|1|2 runs one row; FAXSEAL_LOSS_TRACE=seed runs that fax only and
// logs our T.30 traces (FAXSEAL_LOSS_EVENTS=1 adds the receiver's front-end events).
func TestInteropLossInvariants(t *testing.T) {
	seeds, first := 10, 0
	fmt.Sscan(os.Getenv("FAXSEAL_LOSS_SEEDS"), &seeds)
	fmt.Sscan(os.Getenv("FAXSEAL_LOSS_FIRST"), &first)
	rows := []lossDirection{
		{"ours", "spandsp", 88, 120},
		{"spandsp", "ours", 96, 120},
		{"ours", "ours", 120, 120},
	}
	for ri, row := range rows {
		if only := os.Getenv("FAXSEAL_LOSS_ROW"); only != "" && only != fmt.Sprint(ri) {
			continue
		}
		okN, n, spSilent, spStall := 0, 0, 0, 0
		for ci, cell := range []struct {
			law   g711.Law
			noECM bool
		}{{g711.MuLaw, false}, {g711.MuLaw, true}, {g711.ALaw, false}, {g711.ALaw, true}} {
			cellOK := 0
			for i := first; i < first+seeds; i++ {
				c := pairCase{sender: row.sender, receiver: row.receiver, law: cell.law, noECM: cell.noECM,
					loss: 0.01, pages: 2, drift: 30, seed: uint64(1_000_000 + 10_000*ri + 1000*ci + i)}
				if tr := os.Getenv("FAXSEAL_LOSS_TRACE"); tr != "" && tr != fmt.Sprint(c.seed) {
					continue
				}
				r := runLossCall(t, c)
				n++
				if r.ok() {
					okN++
					cellOK++
				}
				vs := r.violations()
				spSilent += r.spSilent
				if r.doneA == 0 || r.doneB == 0 {
					spStall++ // only spandsp's end can be left running: ours is asserted done
				}
				for _, v := range vs {
					t.Errorf("%s -> %s %v ECM=%v seed %d: %s", row.sender, row.receiver, cell.law, !cell.noECM, c.seed, v)
				}
				t.Logf("%s -> %s %v ECM=%v seed %d: ok=%v kept %d, confirmed %d, ends at %v/%v: %s / %s %v",
					row.sender, row.receiver, cell.law, !cell.noECM, c.seed, r.ok(), len(r.got), r.confirmed(),
					r.doneA, r.doneB, r.a.why(), r.b.why(), r.spBadRows)
				if fmt.Sprint(c.seed) == os.Getenv("FAXSEAL_LOSS_TRACE") {
					r.logTrace(t)
					if sp, ok := r.b.(*spEnd); ok {
						if b, err := os.ReadFile(sp.rxFile); err == nil {
							keep := filepath.Join(os.TempDir(), fmt.Sprintf("faxseal-loss-%d.tif", c.seed))
							t.Logf("spandsp's received TIFF kept as %s: %v", keep, os.WriteFile(keep, b, 0o644))
						}
					}
				}
				r.close()
			}
			t.Logf("CELL %s -> %s %v ECM=%v: %d of %d", row.sender, row.receiver, cell.law, !cell.noECM, cellOK, seeds)
		}
		floor := lossFloor(row, n)
		t.Logf("ROW %s -> %s: %d of %d (floor %d from %d/%d, pLow %.3f); spandsp end never done %d, damaged pages spandsp did not flag %d",
			row.sender, row.receiver, okN, n, floor, row.measuredOK, row.measuredN,
			clopperPearsonLow(row.measuredOK, row.measuredN, 0.05), spStall, spSilent)
		if okN < floor {
			t.Errorf("%s -> %s: %d of %d faxes completed under 1 %% loss, floor %d (measured %d of %d)",
				row.sender, row.receiver, okN, n, floor, row.measuredOK, row.measuredN)
		}
	}
}

// tiffBadRows returns, per page (IFD) of a classic TIFF file, the BadFaxLines tag (TIFF Class F,
// tag 326: rows the fax receiver found damaged and regenerated), or -1 where a page lacks it.
// spandsp's receiver writes it into every page it stores.
func tiffBadRows(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: short TIFF", path)
	}
	var u16 func([]byte) uint32
	var u32 func([]byte) uint32
	switch string(b[:2]) {
	case "II":
		u16 = func(p []byte) uint32 { return uint32(p[0]) | uint32(p[1])<<8 }
		u32 = func(p []byte) uint32 { return u16(p) | u16(p[2:])<<16 }
	case "MM":
		u16 = func(p []byte) uint32 { return uint32(p[1]) | uint32(p[0])<<8 }
		u32 = func(p []byte) uint32 { return u16(p[2:]) | u16(p)<<16 }
	default:
		return nil, fmt.Errorf("%s: not a TIFF", path)
	}
	var out []int
	for off := u32(b[4:]); off != 0 && len(out) < 1000; {
		if int(off)+2 > len(b) {
			return nil, fmt.Errorf("%s: IFD at %d beyond the file", path, off)
		}
		n := int(u16(b[off:]))
		end := int(off) + 2 + 12*n
		if end+4 > len(b) {
			return nil, fmt.Errorf("%s: IFD at %d truncated", path, off)
		}
		bad := -1
		for i := range n {
			e := b[int(off)+2+12*i:]
			if u16(e) != 326 {
				continue
			}
			switch u16(e[2:]) { // SHORT or LONG, one value, held in the entry itself
			case 3:
				bad = int(u16(e[8:]))
			case 4:
				bad = int(u32(e[8:]))
			}
		}
		out = append(out, bad)
		off = u32(b[end:])
	}
	return out, nil
}

// logTrace logs our ends' T.30 traces and page reports (FAXSEAL_LOSS_TRACE=seed), for debugging.
func (r *lossCall) logTrace(t *testing.T) {
	for _, e := range []endpoint{r.a, r.b} {
		if o, ok := e.(*ourEnd); ok {
			for _, tr := range o.sess.Trace() {
				t.Logf("trace %v", tr)
			}
			for _, p := range o.reports {
				t.Logf("page %+v", p)
			}
		}
	}
}
