package t30

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const simLimit = 30 * time.Minute // virtual

func TestDocuments(t *testing.T) {
	for _, pages := range []int{1, 3, 10} {
		for _, ecm := range []bool{true, false} {
			t.Run(fmt.Sprintf("pages=%d/ecm=%v", pages, ecm), func(t *testing.T) {
				t.Parallel()
				rows := 300
				if pages == 10 {
					rows = 120
				}
				p := newPair(t, pairOpts{seed: 1, pages: pages, rows: rows,
					txCfg: func(c *Config) { c.DisableECM = !ecm }})
				p.run(t, simLimit)
				p.expect(t, OK, OK)
				p.checkPages(t)
				tr, rr := p.tx.Result(), p.rx.Result()
				if tr.Pages != pages || rr.Pages != pages {
					t.Errorf("pages: sender %d, receiver %d, want %d", tr.Pages, rr.Pages, pages)
				}
				if tr.ECM != ecm || rr.ECM != ecm {
					t.Errorf("ECM: sender %v receiver %v, want %v", tr.ECM, rr.ECM, ecm)
				}
				if tr.Modulation != V17 || tr.BitRate != 14400 || rr.BitRate != 14400 {
					t.Errorf("rate %v %d / %d, want V.17 14400", tr.Modulation, tr.BitRate, rr.BitRate)
				}
				wantComp := MR
				if ecm {
					wantComp = MMR
				}
				if tr.Format.Compression != wantComp || rr.Format.Compression != wantComp || tr.Format.Resolution != Fine {
					t.Errorf("format sender %v receiver %v, want %v fine", tr.Format, rr.Format, wantComp)
				}
				if tr.RemoteIdent != "+1 555 0100" || rr.RemoteIdent != "+49 30 1234567" {
					t.Errorf("idents: sender saw %q, receiver saw %q", tr.RemoteIdent, rr.RemoteIdent)
				}
				if tr.Retrains != 0 {
					t.Errorf("retrains = %d on a clean line", tr.Retrains)
				}
				if len(p.txPages) != pages || len(p.rxPages) != pages {
					t.Errorf("progress events: sender %d, receiver %d", len(p.txPages), len(p.rxPages))
				}
				for i, r := range p.rxPages {
					if !r.Accepted || r.Response != FCFMCF || r.Bytes != len(p.sink.kept[i]) || r.Quality.BadRows != 0 {
						t.Errorf("receiver page %d: %+v", i, r)
					}
				}
				// Each page is encoded once on a clean line.
				for i := 0; i < pages; i++ {
					if p.doc.encodes[i] != 1 {
						t.Errorf("page %d encoded %d times", i, p.doc.encodes[i])
					}
				}
				// Post-page commands: MPS for all but the last page, then EOP.
				if !ecm {
					if n := countFrames(p.tx.Trace(), Sent, FCFMPS); n != pages-1 {
						t.Errorf("MPS sent %d times, want %d", n, pages-1)
					}
					if n := countFrames(p.tx.Trace(), Sent, FCFEOP); n != 1 {
						t.Errorf("EOP sent %d times", n)
					}
				} else if n := countFrames(p.tx.Trace(), Sent, FCFPPS); n != pages {
					t.Errorf("PPS sent %d times, want %d", n, pages)
				}
			})
		}
	}
}

// TestRates runs a page at every rate of the fallback table, selected by
// the sender's configuration, with and without ECM.
func TestRates(t *testing.T) {
	cases := []struct {
		max   int
		nov17 bool
		mod   Modulation
		rate  int
	}{
		{14400, false, V17, 14400},
		{12000, false, V17, 12000},
		{9600, false, V17, 9600},
		{9600, true, V29, 9600},
		{7200, false, V17, 7200},
		{7200, true, V29, 7200},
		{4800, false, V27ter, 4800},
		{2400, false, V27ter, 2400},
	}
	for _, c := range cases {
		for _, ecm := range []bool{true, false} {
			c, ecm := c, ecm
			t.Run(fmt.Sprintf("%v-%d/ecm=%v", c.mod, c.rate, ecm), func(t *testing.T) {
				t.Parallel()
				p := newPair(t, pairOpts{seed: 2, rows: 100, txCfg: func(cf *Config) {
					cf.MaxBitRate, cf.DisableV17, cf.DisableECM = c.max, c.nov17, !ecm
				}})
				p.run(t, simLimit)
				p.expect(t, OK, OK)
				p.checkPages(t)
				for _, r := range []Result{p.tx.Result(), p.rx.Result()} {
					if r.Modulation != c.mod || r.BitRate != c.rate {
						t.Errorf("trained at %v %d, want %v %d", r.Modulation, r.BitRate, c.mod, c.rate)
					}
				}
			})
		}
	}
}

// TestFTTStepDown: the line carries at most 7200 bit/s, so TCF fails above
// it and the sender walks the fallback table (brief §2.4, TSB-85 FB-1).
func TestFTTStepDown(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		t.Run(fmt.Sprintf("ecm=%v", ecm), func(t *testing.T) {
			p := newPair(t, pairOpts{seed: 3, pages: 2, rows: 100, txCfg: func(c *Config) { c.DisableECM = !ecm }})
			p.sim.maxGoodRate = 7200
			p.run(t, simLimit)
			p.expect(t, OK, OK)
			p.checkPages(t)
			tr := p.tx.Result()
			if tr.Modulation != V17 || tr.BitRate != 7200 {
				t.Errorf("settled at %v %d, want V.17 7200", tr.Modulation, tr.BitRate)
			}
			if tr.Retrains != 4 {
				t.Errorf("retrains = %d, want 4 (14400, 12000, 9600 V.17, 9600 V.29 failed)", tr.Retrains)
			}
			var rates []string
			for _, e := range p.tx.Trace() {
				if e.Direction == Sent && e.FCF == FCFDCS {
					d, _ := ParseDCS(e.Raw[3:])
					rates = append(rates, fmt.Sprintf("%v/%d", d.Modulation, d.BitRate))
				}
			}
			want := "[V.17/14400 V.17/12000 V.17/9600 V.29/9600 V.17/7200]"
			if fmt.Sprint(rates) != want {
				t.Errorf("DCS sequence %v, want %s", rates, want)
			}
			if n := countFrames(p.rx.Trace(), Sent, FCFFTT); n != 4 {
				t.Errorf("receiver sent %d FTT, want 4", n)
			}
		})
	}
}

// TestTrainingFailsAtAllRates: nothing trains; after FTT at 2400 the sender
// gives up (TSB-85 MTGX11).
func TestTrainingFailsAtAllRates(t *testing.T) {
	p := newPair(t, pairOpts{seed: 4})
	p.sim.maxGoodRate = 1200
	p.run(t, simLimit)
	p.expect(t, TrainingFailed, TrainingFailed)
	if n := countFrames(p.tx.Trace(), Sent, FCFDCS); n != len(fallback) {
		t.Errorf("DCS sent %d times, want one per fallback entry (%d)", n, len(fallback))
	}
	if got := p.tx.Result().Error(); got == nil || got.Error() != "t30: training failed at all rates: FTT at V.27ter 2400" {
		t.Errorf("error = %v", got)
	}
}

// corruptRows damages every nth row record of a non-ECM page transmission.
func corruptRows(tx *Tx, recLen, every int) {
	d := append([]byte(nil), tx.Data...)
	for off := 0; off+recLen <= len(d); off += recLen * every {
		d[off+5] ^= 0xFF
	}
	tx.Data = d
}

// TestRTNOnce: the first copy of page 1 arrives with 20 % bad rows; the
// receiver answers RTN, the sender retrains one step lower and sends the
// page again, which is confirmed (brief §2.7, TSB-85 MTGN23-28).
func TestRTNOnce(t *testing.T) {
	p := newPair(t, pairOpts{seed: 5, pages: 2, rows: 200, txCfg: func(c *Config) { c.DisableECM = true }})
	hit := false
	p.sim.faultTx = func(from int, tx *Tx) bool {
		if from == 0 && tx.Kind == TxData && !tx.TCF && !hit {
			hit = true
			corruptRows(tx, WidthA4/32, 5)
		}
		return false
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if fmt.Sprint(p.sink.commits) != "[false true true]" {
		t.Errorf("sink commits %v, want [false true true]", p.sink.commits)
	}
	// Rows 0, 5, ... 195 and the end-of-page record (so it reads as row 200).
	if q := p.rxPages[0].Quality; p.rxPages[0].Response != FCFRTN || q.BadRows != 41 || q.Rows != 201 {
		t.Errorf("first page result %+v, want RTN with 41 of 201 rows bad", p.rxPages[0])
	}
	tr := p.tx.Result()
	if tr.Retrains != 1 || tr.BitRate != 12000 {
		t.Errorf("sender retrains %d at %d, want 1 retrain down to 12000", tr.Retrains, tr.BitRate)
	}
	if p.doc.encodes[0] != 2 {
		t.Errorf("page 1 encoded %d times, want 2", p.doc.encodes[0])
	}
}

// TestRTP: 10 % bad rows is kept but answered RTP: the sender retrains at
// the same rate before the next page.
func TestRTP(t *testing.T) {
	p := newPair(t, pairOpts{seed: 6, pages: 2, rows: 200, txCfg: func(c *Config) { c.DisableECM = true }})
	hit := false
	p.sim.faultTx = func(from int, tx *Tx) bool {
		if from == 0 && tx.Kind == TxData && !tx.TCF && !hit {
			hit = true
			corruptRows(tx, WidthA4/32, 10)
		}
		return false
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	if fmt.Sprint(p.sink.commits) != "[true true]" || p.rxPages[0].Response != FCFRTP {
		t.Errorf("commits %v, first response %v; want kept twice, RTP", p.sink.commits, p.rxPages[0].Response)
	}
	if tr := p.tx.Result(); tr.Pages != 2 || tr.Retrains != 1 || tr.BitRate != 14400 {
		t.Errorf("sender %+v, want 2 pages, 1 retrain, still 14400", tr)
	}
	if n := countFrames(p.tx.Trace(), Sent, FCFDCS); n != 2 {
		t.Errorf("DCS sent %d times, want 2", n)
	}
}

// TestRTNEveryTime: a page that never arrives readable ends in CopyQuality.
func TestRTNEveryTime(t *testing.T) {
	p := newPair(t, pairOpts{seed: 7, rows: 100, txCfg: func(c *Config) { c.DisableECM = true }})
	p.sim.faultTx = func(from int, tx *Tx) bool {
		if from == 0 && tx.Kind == TxData && !tx.TCF {
			corruptRows(tx, WidthA4/32, 2)
		}
		return false
	}
	p.run(t, simLimit)
	p.expect(t, CopyQuality, CopyQuality)
	if n := countFrames(p.rx.Trace(), Sent, FCFRTN); n != 4 {
		t.Errorf("RTN sent %d times, want 4 (first copy and 3 retries)", n)
	}
}

// TestECMRepair: 10 % of ECM frames arrive with a bad FCS; PPR brings them
// back and the pages are bit-identical.
func TestECMRepair(t *testing.T) {
	p := newPair(t, pairOpts{seed: 8, pages: 3, rows: 1300})
	p.sim.badECM = 0.10
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if n := countFrames(p.rx.Trace(), Sent, FCFPPR); n < 3 {
		t.Errorf("only %d PPR sent with 10%% frame loss", n)
	}
	// 1300 rows of 54 octets span two 256-frame blocks per page.
	if n := countFrames(p.tx.Trace(), Sent, FCFPPS); n < 6 {
		t.Errorf("PPS sent %d times, want at least 2 blocks × 3 pages", n)
	}
	if p.sim.stats.ecmBad == 0 {
		t.Fatal("the channel damaged no frame")
	}
}

// TestECMCTC: nothing above 9600 gets through in ECM; after four PPRs the
// sender sends CTC at the next lower rate (T.30 §A.4.4) until it works.
func TestECMCTC(t *testing.T) {
	p := newPair(t, pairOpts{seed: 9, rows: 200})
	p.sim.ecmMaxGoodRate = 9600
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if n := countFrames(p.tx.Trace(), Sent, FCFCTC); n != 2 {
		t.Errorf("CTC sent %d times, want 2 (to 12000, to 9600)", n)
	}
	if n := countFrames(p.rx.Trace(), Sent, FCFCTR); n != 2 {
		t.Errorf("CTR sent %d times", n)
	}
	if tr := p.tx.Result(); tr.BitRate != 9600 || tr.Modulation != V17 || tr.Retrains != 2 {
		t.Errorf("sender ended at %v %d with %d retrains", tr.Modulation, tr.BitRate, tr.Retrains)
	}
	if rr := p.rx.Result(); rr.BitRate != 9600 {
		t.Errorf("receiver ended at %d", rr.BitRate)
	}
}

// TestECMEOR: frame 3 of page 1 never arrives intact at the lowest rate;
// after four PPRs the sender gives the block up with EOR and goes on.
func TestECMEOR(t *testing.T) {
	p := newPair(t, pairOpts{seed: 10, pages: 2, rows: 100, txCfg: func(c *Config) { c.MaxBitRate = 2400 }})
	p.sim.badFrame = func(tx Tx, f []byte) bool {
		return f[3] == 3 && p.tx.page == 0
	}
	p.run(t, simLimit)
	p.expect(t, ECMBlockAbandoned, ECMBlockAbandoned)
	if n := countFrames(p.tx.Trace(), Sent, FCFEOR); n != 1 {
		t.Errorf("EOR sent %d times", n)
	}
	if n := countFrames(p.rx.Trace(), Sent, FCFERR); n != 1 {
		t.Errorf("ERR sent %d times", n)
	}
	if tr := p.tx.Result(); tr.Pages != 1 {
		t.Errorf("sender counts %d pages, want 1 (page 2)", tr.Pages)
	}
	if len(p.sink.kept) != 1 || fmt.Sprint(p.sink.commits) != "[false true]" {
		t.Errorf("sink commits %v", p.sink.commits)
	}
}

// TestCancelMidCall: the sending application cancels during page 2: DCN
// goes out and the receiver reports the remote disconnect.
func TestCancelMidCall(t *testing.T) {
	p := newPair(t, pairOpts{seed: 11, pages: 3, rows: 300, txCfg: func(c *Config) { c.DisableECM = true }})
	done := false
	p.sim.onStep = func(s *sim) {
		if !done && p.tx.page == 1 && p.tx.state == stTxPage {
			done = true
			p.tx.Cancel(s.now)
		}
	}
	p.run(t, simLimit)
	p.expect(t, Cancelled, RemoteDisconnected)
	if p.rx.Result().Pages != 1 || fmt.Sprint(p.sink.commits) != "[true false]" {
		t.Errorf("receiver kept %d pages, commits %v; want 1, [true false]", p.rx.Result().Pages, p.sink.commits)
	}
	if n := countFrames(p.tx.Trace(), Sent, FCFMPS); n != 1 {
		t.Errorf("MPS sent %d times, want 1 (page 2 ends in DCN)", n)
	}
}

// TestHangupMidPage: the line drops while the receiver takes page 2.
func TestHangupMidPage(t *testing.T) {
	p := newPair(t, pairOpts{seed: 12, pages: 3, rows: 300})
	done := false
	p.sim.onStep = func(s *sim) {
		if !done && p.rx.rxPageCount == 1 && p.rx.state == stRxECM {
			done = true
			s.dead = true
			p.rx.Hangup(s.now)
		}
	}
	p.run(t, simLimit)
	p.expect(t, NoResponsePostPage, HungUpMidPage)
	if got := p.rx.Result().Error().Error(); got[:len("t30: disconnected mid-page")] != "t30: disconnected mid-page" {
		t.Errorf("message %q", got)
	}
	if n := countFrames(p.tx.Trace(), Sent, FCFPPS); n != 1+3 {
		t.Errorf("PPS sent %d times, want 1 for page 1 and 3 tries for page 2", n)
	}
}

// TestT1NoAnswer: nobody answers; the caller gives up after T1 and the
// answering side, hearing nothing, repeats DIS until T1.
func TestT1NoAnswer(t *testing.T) {
	p := newPair(t, pairOpts{seed: 13})
	p.sim.dead = true
	p.run(t, simLimit)
	p.expect(t, NoAnswer, NoAnswer)
	if p.sim.now < DefaultT1 || p.sim.now > DefaultT1+5*time.Second {
		t.Errorf("ended at %v, want about T1 = %v", p.sim.now, DefaultT1)
	}
	if n := countFrames(p.rx.Trace(), Sent, FCFDIS); n < 6 {
		t.Errorf("DIS repeated only %d times in T1", n)
	}
}

// TestT2Timeout: the sender goes silent after CFR; the receiver's T2 ends
// the call, the sender fails after three unanswered post-page commands.
func TestT2Timeout(t *testing.T) {
	p := newPair(t, pairOpts{seed: 14, txCfg: func(c *Config) { c.DisableECM = true }})
	p.sim.onStep = func(s *sim) {
		if p.tx.state == stTxPage {
			s.dead = true
		}
	}
	p.run(t, simLimit)
	p.expect(t, NoResponsePostPage, TimeoutCommand)
	if n := countFrames(p.tx.Trace(), Sent, FCFEOP); n != 3 {
		t.Errorf("EOP sent %d times, want 3", n)
	}
}

// TestLostResponses: scripted loss of the first CFR and the first MCF: the
// sender repeats DCS+TCF and MPS after T4, the receiver answers again, and
// no page is duplicated (TSB-85 MRGN14-16).
func TestLostResponses(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		t.Run(fmt.Sprintf("ecm=%v", ecm), func(t *testing.T) {
			p := newPair(t, pairOpts{seed: 15, pages: 2, rows: 100, txCfg: func(c *Config) { c.DisableECM = !ecm }})
			lost := map[FCF]bool{}
			p.sim.faultTx = func(from int, tx *Tx) bool {
				if from != 1 || tx.Kind != TxHDLC || tx.Modulation != V21 {
					return false
				}
				f, _ := ParseFrame(tx.Frames[len(tx.Frames)-1])
				if (f.FCF == FCFCFR || f.FCF == FCFMCF) && !lost[f.FCF] {
					lost[f.FCF] = true
					return true
				}
				return false
			}
			p.run(t, simLimit)
			p.expect(t, OK, OK)
			p.checkPages(t)
			if n := countFrames(p.tx.Trace(), Sent, FCFDCS); n != 2 {
				t.Errorf("DCS sent %d times, want 2", n)
			}
			if n := countFrames(p.rx.Trace(), Sent, FCFMCF); n != 3 {
				t.Errorf("MCF sent %d times, want 3 (one repeated)", n)
			}
		})
	}
}

// TestLossyControlChannel: random V.21 loss, corruption and duplication
// plus ECM frame errors, across seeds; every run must finish cleanly and
// the protocol's repeats must carry most of them to success.
func TestLossyControlChannel(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		ok := 0
		const runs = 12
		for seed := int64(100); seed < 100+runs; seed++ {
			p := newPair(t, pairOpts{seed: seed, pages: 3, rows: 150, txCfg: func(c *Config) { c.DisableECM = !ecm }})
			p.sim.lostV21, p.sim.badV21, p.sim.dupV21, p.sim.badECM = 0.05, 0.05, 0.05, 0.05
			p.run(t, simLimit)
			tr, rr := p.tx.Result(), p.rx.Result()
			if tr.Code == OK {
				ok++
				if rr.Code != OK || rr.Pages != 3 {
					t.Errorf("ecm=%v seed %d: sender OK but receiver %v with %d pages", ecm, seed, rr.Code, rr.Pages)
				}
				t.Logf("ecm=%v seed %d: checking pages", ecm, seed)
				p.checkPages(t)
			} else {
				t.Logf("ecm=%v seed %d: sender %v (%s), receiver %v (%s)", ecm, seed, tr.Code, tr.Detail, rr.Code, rr.Detail)
			}
			if rr.Pages > 3 || tr.Pages > rr.Pages {
				t.Errorf("ecm=%v seed %d: sender %v %d pages, receiver %v %d pages", ecm, seed, tr.Code, tr.Pages, rr.Code, rr.Pages)
			}
		}
		if ok < runs-2 {
			t.Errorf("ecm=%v: only %d of %d runs succeeded", ecm, ok, runs)
		}
		t.Logf("ecm=%v: %d of %d succeeded", ecm, ok, runs)
	}
}

// TestPolling: the receiver places the call and polls the answering sender
// with DTC (T.30 §5.3.6.1.2).
func TestPolling(t *testing.T) {
	p := newPair(t, pairOpts{seed: 16, pages: 2, rows: 100, receiverCalls: true})
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	if n := countFrames(p.rx.Trace(), Sent, FCFDTC); n != 1 {
		t.Errorf("DTC sent %d times", n)
	}
	// The caller (here the receiver) sets the X bit.
	for _, e := range p.rx.Trace() {
		if e.Direction == Sent && e.FCF == FCFMCF && e.Raw[2]&1 == 0 {
			t.Errorf("calling station sent MCF without the X bit")
		}
	}
}

// TestMinScanTime: a receiver asking for 20 ms rows gets fill to
// rate × 20 ms in non-ECM, none in ECM (T.4 §4.1.3, T.30 Annex A).
func TestMinScanTime(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		p := newPair(t, pairOpts{seed: 17, rows: 50, txCfg: func(c *Config) { c.DisableECM = !ecm; c.MaxBitRate = 9600 },
			rxCfg: func(c *Config) { c.MinScanTime = 20 }})
		p.run(t, simLimit)
		p.expect(t, OK, OK)
		p.checkPages(t)
		want := 9600 * 20 / 1000
		if ecm {
			want = 0
		}
		if got := p.sink.formats[0].MinRowBits; got != want {
			t.Errorf("ecm=%v: MinRowBits %d, want %d", ecm, got, want)
		}
	}
}

// TestNoV17Receiver: a receiver that disables V.17 gets V.29 9600.
func TestCapabilityIntersection(t *testing.T) {
	p := newPair(t, pairOpts{seed: 18, rows: 50, rxCfg: func(c *Config) {
		c.DisableV17 = true
		c.Resolutions = []Resolution{Standard}
		c.Compressions = []Compression{MH, MR}
		c.DisableECM = true
	}})
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	p.checkPages(t)
	r := p.tx.Result()
	if r.Modulation != V29 || r.BitRate != 9600 || r.ECM || r.Format.Resolution != Standard || r.Format.Compression != MR {
		t.Errorf("negotiated %v %d ecm=%v %v", r.Modulation, r.BitRate, r.ECM, r.Format)
	}
}

func TestConfigErrors(t *testing.T) {
	fe := &simEnd{}
	for _, c := range []Config{
		{},
		{FrontEnd: fe},
		{FrontEnd: fe, Role: Send},
		{FrontEnd: fe, Role: Receive},
		{FrontEnd: fe, Role: Send, Source: newDoc(0, 1)},
		{FrontEnd: fe, Role: Receive, Sink: &testSink{}, MinScanTime: 7},
	} {
		if _, err := NewSession(c); err == nil {
			t.Errorf("NewSession(%+v) accepted", c)
		}
	}
}

// TestPhases follows a one-page ECM fax through phases A to E.
func TestPhases(t *testing.T) {
	p := newPair(t, pairOpts{seed: 21, rows: 50})
	var seen []string
	last := Phase(0)
	p.sim.onStep = func(s *sim) {
		if ph := p.tx.Phase(); ph != last {
			seen = append(seen, ph.String())
			last = ph
		}
	}
	p.run(t, simLimit)
	p.expect(t, OK, OK)
	if got := fmt.Sprint(seen); got != "[A B C D E]" {
		t.Errorf("sender phases %s, want [A B C D E]", got)
	}
	if Phase(9).String() != "Phase(9)" {
		t.Error("invalid phase named")
	}
}

func TestResultCodes(t *testing.T) {
	for c := OK; c <= ProtocolError; c++ {
		if c.String() == "" || c.Message() == "" || c.String()[0] == 'C' {
			t.Errorf("code %d lacks a name or message", c)
		}
	}
	if Code(0).String() != "Code(0)" {
		t.Errorf("zero code named %q", Code(0).String())
	}
	if (Result{Code: OK}).Error() != nil {
		t.Error("OK result has an error")
	}
}

// rawDoc is a Source of fixed byte strings, for exact ECM block sizes.
type rawDoc struct{ pages [][]byte }

func (d rawDoc) Pages() int                  { return len(d.pages) }
func (d rawDoc) Prepared() (int, Resolution) { return WidthA4, Fine }
func (d rawDoc) Encode(n int, f Format) ([]byte, error) {
	if n >= len(d.pages) {
		return nil, fmt.Errorf("no page %d", n)
	}
	return d.pages[n], nil
}

// TestECMBlockBoundaries (ECM-1: 64 k / 63 k / 31 k / 15 k partial pages):
// pages of exactly one full 256-frame block, one octet more, and smaller
// blocks arrive intact with the right PPS counts.
func TestECMBlockBoundaries(t *testing.T) {
	sizes := []int{65536, 65537, 64512, 31744, 15360, 1}
	var pages [][]byte
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(j*7 + i)
		}
		pages = append(pages, b)
	}
	p := newPair(t, pairOpts{seed: 19})
	p.tx.cfg.Source = rawDoc{pages}
	p.sim.badECM = 0.02
	p.tx.Start(0)
	p.rx.Start(0)
	p.sim.run(simLimit)
	p.expect(t, OK, OK)
	if len(p.sink.kept) != len(pages) {
		t.Fatalf("kept %d pages", len(p.sink.kept))
	}
	for i := range pages {
		if string(p.sink.kept[i]) != string(pages[i]) {
			t.Errorf("page %d (%d octets) differs", i, sizes[i])
		}
	}
	// Frames-1 in each first PPS of a block: 255 for a full block.
	var counts []int
	last := ""
	for _, e := range p.tx.Trace() {
		if e.Direction == Sent && e.FCF == FCFPPS {
			pps, _ := ParsePPS(e.Raw[3:])
			key := fmt.Sprint(pps.Page, pps.Block)
			if key != last {
				counts = append(counts, pps.Frames)
				last = key
			}
		}
	}
	if want := "[256 256 1 252 124 60 1]"; fmt.Sprint(counts) != want {
		t.Errorf("block frame counts %v, want %s", counts, want)
	}
}

// TIM-1 (MTGX01/02): DIS after 29.999 s is answered; a caller still waiting
// at T1 gives up.
func TestScriptT1Boundary(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.after(29999 * time.Millisecond)
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")

	sc = newScript(t, Send, true, nil)
	sc.after(DefaultT1 - time.Millisecond)
	if sc.s.Done() {
		t.Fatal("gave up before T1")
	}
	sc.after(time.Millisecond)
	sc.code(NoAnswer)
	sc.frame(disV17) // at 40 s: too late
	sc.expect("")
}

// TestLongDelay: 800 ms one way (a bad VoIP path) costs time, not pages.
func TestLongDelay(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		p := newPair(t, pairOpts{seed: 20, pages: 3, rows: 100, txCfg: func(c *Config) { c.DisableECM = !ecm }})
		p.sim.delay = 800 * time.Millisecond
		p.run(t, simLimit)
		p.expect(t, OK, OK)
		p.checkPages(t)
		if n := countFrames(p.tx.Trace(), Sent, FCFDCS); n != 1 {
			t.Errorf("ecm=%v: DCS sent %d times: the delay caused repeats", ecm, n)
		}
	}
}

// TestCompressionMatrix: MH, MR and MMR, each with ECM and (MMR aside)
// without, chosen by what the receiver accepts.
func TestCompressionMatrix(t *testing.T) {
	for _, c := range []struct {
		comps []Compression
		ecm   bool
		want  Compression
	}{
		{[]Compression{MH}, false, MH},
		{[]Compression{MH}, true, MH},
		{[]Compression{MH, MR}, false, MR},
		{[]Compression{MH, MR}, true, MR},
		{nil, true, MMR},
		{nil, false, MR}, // MMR needs ECM
	} {
		p := newPair(t, pairOpts{seed: 22, pages: 2, rows: 80, rxCfg: func(cf *Config) {
			cf.Compressions, cf.DisableECM = c.comps, !c.ecm
		}})
		p.run(t, simLimit)
		p.expect(t, OK, OK)
		p.checkPages(t)
		for _, r := range []Result{p.tx.Result(), p.rx.Result()} {
			if r.Format.Compression != c.want || r.ECM != c.ecm {
				t.Errorf("receiver accepting %v ecm=%v: got %v ecm=%v, want %v", c.comps, c.ecm, r.Format.Compression, r.ECM, c.want)
			}
		}
	}
}

// multiDoc is a test document of several documents.
type multiDoc struct {
	*testDoc
	breaks map[int]bool
}

func (d multiDoc) EndsDocument(page int) bool { return d.breaks[page] }

// TestEOMDocuments: two documents in one call (pages 1 | 2 3): EOM, a
// second phase B (DIS from the receiver, new DCS), then the rest.
func TestEOMDocuments(t *testing.T) {
	for _, ecm := range []bool{true, false} {
		t.Run(fmt.Sprintf("ecm=%v", ecm), func(t *testing.T) {
			p := newPair(t, pairOpts{seed: 23, pages: 3, rows: 80, txCfg: func(c *Config) { c.DisableECM = !ecm }})
			p.tx.cfg.Source = multiDoc{p.doc, map[int]bool{0: true}}
			p.tx.documents = p.tx.cfg.Source.(Documents)
			p.run(t, simLimit)
			p.expect(t, OK, OK)
			p.checkPages(t)
			tr := p.tx.Trace()
			if ecm {
				if !strings.Contains(fmt.Sprint(tr), "PPS-EOM") {
					t.Error("no PPS-EOM sent")
				}
			} else if n := countFrames(tr, Sent, FCFEOM); n != 1 {
				t.Errorf("EOM sent %d times", n)
			}
			if n := countFrames(tr, Received, FCFDIS); n != 2 {
				t.Errorf("DIS received %d times, want 2", n)
			}
			if n := countFrames(tr, Sent, FCFDCS); n != 2 {
				t.Errorf("DCS sent %d times, want 2", n)
			}
		})
	}
}
