package t30

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// These tests play the remote station by hand, frame by frame, in the style
// of the TSB-85 scripts (brief §6.3): the session under test talks to a
// recorder and the script checks what it sends and when.

type script struct {
	t       *testing.T
	s       *Session
	rec     *recorder
	now     time.Duration
	seen    int // rec.tx already inspected
	cngOpen bool
	sink    *testSink
	doc     *testDoc
}

func newScript(t *testing.T, role Role, calling bool, mod func(*Config)) *script {
	t.Helper()
	sc := &script{t: t, rec: &recorder{}, sink: &testSink{}, doc: newDoc(2, 40)}
	cfg := Config{FrontEnd: sc.rec, Role: role, Calling: calling, Ident: "DUT"}
	if role == Send {
		cfg.Source = sc.doc
	} else {
		cfg.Sink = sc.sink
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc.s = s
	s.Start(0)
	return sc
}

// sent returns the final-frame FCFs (and "data"/"TCF"/"ECM" markers) of the
// transmissions queued since the last call, reporting them all done.
func (sc *script) sent() string {
	sc.t.Helper()
	var out []string
	if sc.cngOpen && sc.seen < len(sc.rec.tx) {
		sc.cngOpen = false // CNG lasts until the next transmission
		sc.s.Handle(sc.now, Event{Kind: EventTxDone})
	}
	for sc.seen < len(sc.rec.tx) {
		tx := sc.rec.tx[sc.seen]
		sc.seen++
		switch {
		case tx.Kind == TxHDLC && tx.Modulation == V21:
			for _, f := range tx.Frames {
				fr, err := ParseFrame(f)
				if err != nil {
					sc.t.Fatalf("sent malformed frame % x", f)
				}
				if fr.Final {
					out = append(out, fr.FCF.String())
				}
			}
		case tx.Kind == TxHDLC:
			out = append(out, fmt.Sprintf("ECM(%d)", len(tx.Frames)-rcpCount))
		case tx.Kind == TxData && tx.TCF:
			out = append(out, fmt.Sprintf("TCF(%d)", tx.BitRate))
		case tx.Kind == TxData:
			out = append(out, "page")
		}
		if tx.Kind == TxCNG && tx.Duration == 0 && sc.seen == len(sc.rec.tx) {
			sc.cngOpen = true
			continue
		}
		sc.s.Handle(sc.now, Event{Kind: EventTxDone})
	}
	return strings.Join(out, " ")
}

func (sc *script) lastTx(kind TxKind) Tx {
	for i := len(sc.rec.tx) - 1; i >= 0; i-- {
		if sc.rec.tx[i].Kind == kind {
			return sc.rec.tx[i]
		}
	}
	sc.t.Fatalf("no %v transmission", kind)
	return Tx{}
}

func (sc *script) expect(want string) {
	sc.t.Helper()
	if got := sc.sent(); got != want {
		sc.t.Fatalf("at %v sent %q, want %q (state %v)", sc.now, got, want, sc.s.state)
	}
}

// after moves time on by d and fires timers.
func (sc *script) after(d time.Duration) {
	sc.now += d
	sc.s.Advance(sc.now)
}

// frame delivers a V.21 frame given in T.38 notation.
func (sc *script) frame(t38 string) {
	sc.t.Helper()
	sc.now += 100 * time.Millisecond
	sc.s.Handle(sc.now, Event{Kind: EventHDLC, Modulation: V21, BitRate: 300, Frame: fromT38(sc.t, t38), FCSOK: true})
}

func (sc *script) raw(b []byte, ok bool) {
	sc.now += 100 * time.Millisecond
	sc.s.Handle(sc.now, Event{Kind: EventHDLC, Modulation: V21, BitRate: 300, Frame: b, FCSOK: ok})
}

func (sc *script) ev(e Event) {
	sc.now += 10 * time.Millisecond
	sc.s.Handle(sc.now, e)
}

// tcf plays a fast carrier with data at mod/rate.
func (sc *script) fast(mod Modulation, rate int, data []byte) {
	sc.ev(Event{Kind: EventCarrierUp, Modulation: mod, BitRate: rate})
	sc.ev(Event{Kind: EventTrained, Modulation: mod, BitRate: rate})
	if data != nil {
		sc.ev(Event{Kind: EventData, Modulation: mod, BitRate: rate, Data: data})
	}
	sc.ev(Event{Kind: EventCarrierDown, Modulation: mod, BitRate: rate})
}

func (sc *script) code(want Code) {
	sc.t.Helper()
	if !sc.s.Done() || sc.s.Result().Code != want {
		sc.t.Fatalf("done=%v code %v (%s), want %v", sc.s.Done(), sc.s.Result().Code, sc.s.Result().Detail, want)
	}
}

const (
	disV29    = "FF C8 01 00 72 20"    // TSB-85 MTGX11: V.29 + V.27ter
	disV17    = "FF C8 01 00 76 1D 00" // V.17, fine
	dcs4800   = "FF C8 41 00 50 00"    // V.27ter 4800, standard, MH
	dcnFromTX = "FF C8 DF"
)

// FB-1 (TSB-85 MTGX11): every TCF is answered with FTT; the DUT steps
// 9600 → 7200 → 4800 → 2400, always with a fresh DCS and long training, then
// sends DCN.
func TestScriptFTTFallback(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.expect("")
	sc.frame(disV29)
	for _, rate := range []int{9600, 7200, 4800, 2400} {
		sc.expect(fmt.Sprintf("DCS TCF(%d)", rate))
		if tx := sc.lastTx(TxData); tx.ShortTrain || len(tx.Data) != tcfOctets(rate) {
			t.Fatalf("TCF at %d: short=%v, %d octets", rate, tx.ShortTrain, len(tx.Data))
		}
		sc.frame("FF C8 22")
	}
	sc.expect("DCN")
	sc.code(TrainingFailed)
}

// RET-1 (TSB-85 MTGX07, extended by the no-response fallback): DCS+TCF
// three times without an answer at each modem in turn — V.17 14400, then
// V.29 9600, then V.27ter 4800, every TCF long-trained — and only then
// DCN. The script's transmissions take no time, so the tries are spaced
// by dcsAnswerWait (a receiver's T2 after the DCS), not by T4.
func TestScriptNoResponseToDCS(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.frame(disV17)
	for i, sp := range []speed{{V17, 14400}, {V29, 9600}, {V27ter, 4800}} {
		for try := 0; try < 3; try++ {
			if i > 0 || try > 0 {
				sc.after(dcsAnswerWait - time.Millisecond)
				sc.expect("")
				sc.after(time.Millisecond)
			}
			sc.expect(fmt.Sprintf("DCS TCF(%d)", sp.rate))
			if tx := sc.lastTx(TxData); tx.Modulation != sp.mod || tx.ShortTrain {
				t.Fatalf("try %d at %v %d: TCF on %v short=%v", try+1, sp.mod, sp.rate, tx.Modulation, tx.ShortTrain)
			}
		}
	}
	sc.after(dcsAnswerWait)
	sc.expect("DCN")
	sc.code(NoResponseDCS)
	if r := sc.s.Result(); !strings.Contains(r.Detail, "V.27ter 4800") || r.Retrains != 2 {
		t.Errorf("result %+v, want the last modem named and 2 retrains", r)
	}
}

// A response heard with a bad FCS after every DCS+TCF means the receiver
// trains (it answered) and V.21 reception is what fails: no fallback to a
// slower modem, and the unreadable answers do not count toward the three
// unanswered tries (giveUp), so DCS+TCF goes out six times, then DCN.
func TestScriptGarbledResponseToDCS(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.frame(disV17)
	for try := 0; try < maxTriesHeard; try++ {
		if try > 0 {
			sc.after(dcsAnswerWait)
		}
		sc.expect("DCS TCF(14400)")
		sc.raw([]byte{0xFF, 0x13, 0x84 ^ 0x5A}, false)
	}
	sc.after(dcsAnswerWait + flaggedExtension)
	sc.expect("DCN")
	sc.code(NoResponseDCS)
}

// A post-page command whose answers arrive unreadable is repeated until
// the answer is read (here at the fifth try), not dropped after three; a
// silent try still counts, and three silent ones end the call (MTGX08).
func TestScriptGarbledResponseToMPS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers string // per try: g = garbled answer, s = silence, m = MCF
		want    Code
	}{
		{"garbled then MCF", "ggsgm", OK},
		{"three silent", "gsgss", NoResponsePostPage},
		{"backstop", "gggggg", NoResponsePostPage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScript(t, Send, true, func(c *Config) { c.DisableECM = true })
			sc.doc.pages = 1
			sc.frame(disV17)
			sc.expect("DCS TCF(14400)")
			sc.frame("FF C8 21") // CFR
			sc.expect("page EOP")
			for i, a := range tc.answers {
				if i > 0 {
					sc.after(DefaultT4 + flaggedExtension)
					sc.expect("EOP")
				}
				switch a {
				case 'g':
					sc.raw([]byte{0xFF, 0x13, 0x8C ^ 0x5A}, false)
				case 'm':
					sc.frame("FF C8 31") // MCF
				}
			}
			if tc.want == OK {
				sc.expect("DCN")
			} else {
				sc.after(DefaultT4 + flaggedExtension)
				sc.expect("DCN")
			}
			sc.code(tc.want)
		})
	}
}

// MTGN09 / MTGX12: DIS repeated after our DCS means the peer missed it:
// resend DCS+TCF, at most three times in all.
func TestScriptDISAfterDCS(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	sc.frame(disV17)
	sc.expect("DCN")
	sc.code(NoResponseDCS)
}

// MTGX13-16: CRP three times in answer to a post-page command → DCN;
// unknown frames and our own echo are ignored.
func TestScriptCRPAndGarbage(t *testing.T) {
	sc := newScript(t, Send, true, func(c *Config) { c.DisableECM = true })
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	sc.frame("FF C8 21") // CFR
	sc.expect("page MPS")
	sc.frame("FF C8 58") // CRP
	sc.expect("MPS")
	// Garbage, an unknown FCF, a bad FCS and an echo of our MPS: no reaction.
	sc.raw([]byte{0xFF, 0x13}, true)
	sc.raw([]byte{0xFF, 0x13, 0x7E}, true)
	sc.raw([]byte{0xFF, 0x13, 0x8C}, false)
	sc.raw(AppendFrame(nil, FCFMPS, true, true), true)
	sc.expect("")
	sc.frame("FF C8 58")
	sc.expect("MPS")
	sc.frame("FF C8 58")
	sc.expect("DCN")
	sc.code(NoResponsePostPage)
	if tr := sc.s.Trace(); !strings.Contains(fmt.Sprint(tr), "echo of our own frame ignored") {
		t.Error("echo not noted in the trace")
	}
}

// PIP counts as MCF and PIN as RTN (brief §2.7): no operator interrupt.
func TestScriptPIPPIN(t *testing.T) {
	sc := newScript(t, Send, true, func(c *Config) { c.DisableECM = true })
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	sc.frame("FF C8 21")
	sc.expect("page MPS")
	sc.frame("FF C8 35") // PIP
	sc.expect("page EOP")
	sc.frame("FF C8 34") // PIN: retrain lower, resend
	sc.expect("DCS TCF(12000)")
	sc.frame("FF C8 21")
	sc.expect("page EOP")
	sc.frame("FF C8 31")
	sc.expect("DCN")
	sc.code(OK)
	if r := sc.s.Result(); r.Pages != 2 || r.Retrains != 1 {
		t.Errorf("result %+v", r)
	}
}

// OTEN03: RNR keeps the sender polling with RR until T5, then DCN.
func TestScriptRNRUntilT5(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.frame("FF C8 01 00 76 1D 22") // DIS with ECM
	sc.expect("DCS TCF(14400)")
	sc.frame("FF C8 21")
	sc.expect("ECM(9) PPS")
	polls := 0
	for !sc.s.Done() && polls < 100 {
		sc.frame("FF C8 37") // RNR
		if got := sc.sent(); got == "RR" {
			polls++
		} else if got == "DCN" {
			break
		} else {
			t.Fatalf("sent %q after RNR", got)
		}
		sc.after(2 * time.Second)
	}
	sc.code(RemoteBusy)
	if polls < 25 || polls > 35 {
		t.Errorf("%d RR polls in T5", polls)
	}
}

// RNR, then the receiver is ready: the block is confirmed after RR.
func TestScriptRNRThenMCF(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.frame("FF C8 01 00 76 1D 22")
	sc.expect("DCS TCF(14400)")
	sc.frame("FF C8 21")
	sc.expect("ECM(9) PPS")
	sc.frame("FF C8 37")
	sc.expect("RR")
	sc.frame("FF C8 31")
	sc.expect("ECM(9) PPS")
	sc.frame("FF C8 31")
	sc.expect("DCN")
	sc.code(OK)
}

// ECM sender: PPR resends only the flagged frames; the fourth PPR at the
// lowest rate gives up the block with EOR (OREN/OTEN).
func TestScriptPPRAndEOR(t *testing.T) {
	sc := newScript(t, Send, true, func(c *Config) { c.MaxBitRate = 2400 })
	sc.frame("FF C8 01 00 76 1D 22")
	sc.expect("DCS TCF(2400)")
	sc.frame("FF C8 21")
	sc.expect("ECM(9) PPS")
	ppr := "FF C8 3D 40" + strings.Repeat(" 00", 31) // frame 1 (bit 1 of octet 0, T.38 order)
	for i := 0; i < 3; i++ {
		sc.frame(ppr)
		sc.expect("ECM(1) PPS")
		tx := sc.lastTx(TxHDLC)
		_ = tx
		if tx := sc.rec.tx[len(sc.rec.tx)-3]; tx.Kind != TxHDLC || tx.Frames[0][3] != 1 {
			t.Fatalf("resent frame %v", tx.Frames[0][:4])
		}
	}
	sc.frame(ppr)
	sc.expect("EOR")
	sc.frame("FF C8 38") // ERR
	sc.expect("ECM(9) PPS")
	sc.frame("FF C8 31")
	sc.expect("DCN")
	sc.code(ECMBlockAbandoned)
	if r := sc.s.Result(); r.Pages != 1 {
		t.Errorf("pages %d, want 1", r.Pages)
	}
}

// MRGN04: copy quality thresholds.
func TestCopyQuality(t *testing.T) {
	for _, c := range []struct {
		q    Quality
		want FCF
	}{
		{Quality{Rows: 1000, BadRows: 49, LongestBadRun: 1}, FCFMCF},
		{Quality{Rows: 1000, BadRows: 51, LongestBadRun: 1}, FCFRTP},
		{Quality{Rows: 1000, BadRows: 149, LongestBadRun: 2}, FCFRTP},
		{Quality{Rows: 1000, BadRows: 151, LongestBadRun: 2}, FCFRTN},
		{Quality{Rows: 1000, BadRows: 40, LongestBadRun: 40}, FCFRTP},
		{Quality{Rows: 1000, BadRows: 100, LongestBadRun: 100}, FCFRTN},
		{Quality{}, FCFRTN},
	} {
		if got := copyQuality(c.q); got != c.want {
			t.Errorf("copyQuality(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}

// Receiver side, answering: DIS repeats until DCS; TCF judged; a page; a
// bad-FCS EOP gets no answer (MRGN17), a repeated EOP gets MCF again
// (MRGN16), DCN ends it.
func TestScriptReceiver(t *testing.T) {
	sc := newScript(t, Receive, false, func(c *Config) { c.DisableECM = true })
	sc.expect("DIS")
	if tx := sc.rec.tx[1]; tx.Kind != TxCED || tx.Duration < 2600*time.Millisecond || tx.Duration > 4*time.Second {
		t.Fatalf("CED %+v", tx)
	}
	sc.after(DefaultT4)
	sc.expect("DIS")
	sc.frame(dcs4800)
	// Leading ones, then 1.5 s of zeros at 4800: CFR.
	tcf := make([]byte, 900)
	tcf[0], tcf[1] = 0xFF, 0xFF
	sc.fast(V27ter, 4800, tcf)
	sc.expect("CFR")
	sc.fast(V27ter, 4800, encodeTestPage(0, 40, Format{Compression: MH, Resolution: Standard, Width: WidthA4}))
	sc.expect("")
	sc.raw(AppendFrame(nil, FCFEOP, true, true), false)
	sc.expect("")
	sc.frame("FF C8 7C") // PRI-EOP counts as EOP
	sc.expect("MCF")
	sc.frame("FF C8 74")
	sc.expect("MCF")
	sc.frame(dcnFromTX)
	sc.code(OK)
	if len(sc.sink.kept) != 1 || sc.sink.ended[0].Rows != 40 || sc.sink.ended[0].BadRows != 0 {
		t.Errorf("sink kept %d pages, quality %+v", len(sc.sink.kept), sc.sink.ended)
	}
	// The answering station does not set the X bit.
	for _, e := range sc.s.Trace() {
		if e.Direction == Sent && e.Raw[2]&1 != 0 && e.FCF != FCFDIS {
			t.Errorf("answering station sent %v with X", e.FCF)
		}
	}
}

// A non-ECM page whose training the receiver never noticed (a lost packet in
// it on an audio line), then EOP: that EOP is not a repeat of the MPS we
// answered, so it must get RTN, not our last MCF again, which would confirm
// a page we do not have (modem/audio TestInteropLossInvariants, spandsp ->
// ours µ-law ECM off: spandsp counted 2 pages delivered, we kept 1).
func TestScriptMissedPageBeforeEOP(t *testing.T) {
	sc := newScript(t, Receive, false, func(c *Config) { c.DisableECM = true })
	sc.expect("DIS")
	sc.frame(dcs4800)
	tcf := make([]byte, 900)
	tcf[0], tcf[1] = 0xFF, 0xFF
	sc.fast(V27ter, 4800, tcf)
	sc.expect("CFR")
	sc.fast(V27ter, 4800, encodeTestPage(0, 40, Format{Compression: MH, Resolution: Standard, Width: WidthA4}))
	sc.frame("FF C8 F2") // MPS
	sc.expect("MCF")
	sc.frame("FF C8 F2") // our MCF was lost: the same command again, the same answer
	sc.expect("MCF")
	sc.after(5 * time.Second) // page 2 goes unheard
	sc.frame("FF C8 F4")      // EOP
	sc.expect("RTN")
	if len(sc.sink.kept) != 1 {
		t.Errorf("sink kept %d pages, want 1", len(sc.sink.kept))
	}
}

// FB-2 (MRGN07/08): a corrupted TCF gets FTT, a good one CFR; a TCF that
// never arrives gets FTT after T2.
func TestScriptReceiverTCF(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	sc.frame(dcs4800)
	bad := make([]byte, 900)
	for i := 0; i < len(bad); i += 100 {
		bad[i] = 0x10
	}
	sc.fast(V27ter, 4800, bad)
	sc.expect("FTT")
	if e := sc.s.Trace()[len(sc.s.Trace())-1]; !(e.FCF == FCFFTT && len(e.Raw) == 3 && e.Raw[2] == 0x44) {
		t.Errorf("FTT frame % x, want FF 13 44", e.Raw)
	}
	sc.frame(dcs4800)
	sc.after(DefaultT2)
	sc.expect("FTT")
	sc.frame(dcs4800)
	sc.fast(V27ter, 4800, make([]byte, 900))
	sc.expect("CFR")
}

// localTCF (brief §1.7): training then carrier off without data is a good TCF.
func TestScriptLocalTCF(t *testing.T) {
	sc := newScript(t, Receive, false, func(c *Config) { c.LocalTCF = true })
	sc.expect("DIS")
	sc.frame(dcs4800)
	sc.fast(V27ter, 4800, nil)
	sc.expect("CFR")
}

// TIM-2 (MRGN09): EOM → MCF, then DIS again 5-7 s later.
func TestScriptEOM(t *testing.T) {
	sc := newScript(t, Receive, false, func(c *Config) { c.DisableECM = true })
	sc.expect("DIS")
	sc.frame(dcs4800)
	sc.fast(V27ter, 4800, make([]byte, 900))
	sc.expect("CFR")
	sc.fast(V27ter, 4800, encodeTestPage(0, 40, Format{Compression: MH, Resolution: Standard, Width: WidthA4}))
	sc.frame("FF C8 71") // EOM
	sc.expect("MCF")
	sc.after(5 * time.Second)
	sc.expect("")
	sc.after(1900 * time.Millisecond)
	sc.expect("DIS")
	if s := sc.rec.tx[len(sc.rec.tx)-2]; s.Kind != TxSilence {
		t.Fatalf("DIS not preceded by silence")
	}
	sc.frame(dcs4800)
	sc.fast(V27ter, 4800, make([]byte, 900))
	sc.expect("CFR")
}

// The receiver accepts 64-octet ECM frames (DCS bit 28) and a PPS that
// counts them, and answers a PPS for a block it already confirmed with MCF.
func TestScriptECM64(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	d := Settings{Receive: true, Modulation: V17, BitRate: 9600, Resolution: Fine, Compression: MMR, Width: WidthA4, ECM: true, Frame64: true}
	sc.raw(AppendFrame(nil, FCFDCS, true, true, d.Encode()...), true)
	sc.fast(V17, 9600, make([]byte, 1800))
	sc.expect("CFR")
	page := make([]byte, 64*3+10)
	for i := range page {
		page[i] = byte(i)
	}
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	for i := 0; i < 4; i++ {
		end := (i + 1) * 64
		if end > len(page) {
			end = len(page)
		}
		fr := AppendFrame(nil, FCFFCD, false, false, byte(i))
		sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, page[i*64:end]...), FCSOK: i != 2})
	}
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	pps := AppendFrame(nil, FCFPPS, true, true, byte(FCFEOP)|1, 0, 0, 3)
	sc.raw(pps, true)
	sc.expect("PPR")
	ppr := sc.s.Trace()[len(sc.s.Trace())-1].Raw
	if ppr[3] != 0x04 {
		t.Fatalf("PPR map starts %02x, want frame 2 flagged (04)", ppr[3])
	}
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	fr := AppendFrame(nil, FCFFCD, false, false, 2)
	sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, page[128:192]...), FCSOK: true})
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	sc.raw(pps, true)
	sc.expect("MCF")
	sc.raw(pps, true) // our MCF was lost
	sc.expect("MCF")
	sc.frame(dcnFromTX)
	sc.code(OK)
	if len(sc.sink.kept) != 1 || string(sc.sink.kept[0]) != string(page) {
		t.Errorf("kept %d pages; page intact: %v", len(sc.sink.kept), len(sc.sink.kept) == 1 && string(sc.sink.kept[0]) == string(page))
	}
}

// Hangup before any frame: not a fax call.
func TestScriptHangupEarly(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	sc.after(2 * time.Second)
	sc.s.Hangup(sc.now)
	sc.code(NotFax)
}

// The calling sender plays CNG until DIS arrives, then stops it.
func TestScriptCNG(t *testing.T) {
	sc := newScript(t, Send, true, nil)
	if len(sc.rec.tx) != 1 || sc.rec.tx[0].Kind != TxCNG || sc.rec.tx[0].Duration != 0 {
		t.Fatalf("first transmission %+v, want open-ended CNG", sc.rec.tx)
	}
	if len(sc.rec.rx) == 0 || sc.rec.rx[0].Kind != RxV21 {
		t.Fatalf("receiver mode %+v, want V.21", sc.rec.rx)
	}
	// NSF (country code, vendor bytes) and CSI precede DIS: tolerated.
	sc.raw(AppendFrame(nil, FCFNSF, false, false, 0xAD, 0x00, 0x44, 0x55, 0x66), true)
	sc.raw(AppendFrame(nil, FCFCSI, false, false, EncodeIdent("+44 20 7946 0000")...), true)
	sc.expect("")
	sc.frame(disV17)
	sc.expect("DCS TCF(14400)")
	if got := sc.s.Result().RemoteIdent; got != "+44 20 7946 0000" {
		t.Errorf("remote ident %q", got)
	}
	if tx := sc.rec.tx[len(sc.rec.tx)-3]; len(tx.Frames) != 2 || tx.Frames[0][2] != byte(FCFTSI)|1 || tx.Frames[1][1] != 0x13 {
		t.Errorf("DCS burst should be TSI (with X) then final DCS: % x", tx.Frames)
	}
}

// A DCS the receiver cannot accept (MMR without ECM) ends the call.
func TestScriptIncompatibleDCS(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	d := Settings{Receive: true, Modulation: V17, BitRate: 14400, Resolution: Fine, Compression: MMR, Width: WidthA4}
	sc.raw(AppendFrame(nil, FCFDCS, true, true, d.Encode()...), true)
	sc.expect("DCN")
	sc.code(Incompatible)
}

// A fast carrier that fails to train during TCF is answered with FTT at
// once, not after T2.
func TestScriptTrainingFailed(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	sc.frame(dcs4800)
	sc.ev(Event{Kind: EventCarrierUp, Modulation: V27ter, BitRate: 4800})
	sc.ev(Event{Kind: EventTrainingFailed, Modulation: V27ter, BitRate: 4800})
	sc.expect("FTT")
}

// Page data that arrives without a training report still opens the page.
func TestScriptPageWithoutTraining(t *testing.T) {
	sc := newScript(t, Receive, false, func(c *Config) { c.DisableECM = true })
	sc.expect("DIS")
	sc.frame(dcs4800)
	sc.fast(V27ter, 4800, make([]byte, 900))
	sc.expect("CFR")
	sc.ev(Event{Kind: EventData, Modulation: V27ter, BitRate: 4800,
		Data: encodeTestPage(0, 40, Format{Compression: MH, Resolution: Standard, Width: WidthA4})})
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V27ter, BitRate: 4800})
	sc.frame("FF C8 74")
	sc.expect("MCF")
	if len(sc.sink.ended) != 1 || sc.sink.ended[0].Rows != 40 {
		t.Errorf("page quality %+v", sc.sink.ended)
	}
}

// A sender using 64-octet frames although DCS says 256 is followed by the
// length of frame 0; a frame of another length is asked for again.
func TestScriptECMFrameLengths(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	d := Settings{Receive: true, Modulation: V17, BitRate: 9600, Resolution: Fine, Compression: MMR, Width: WidthA4, ECM: true}
	sc.raw(AppendFrame(nil, FCFDCS, true, true, d.Encode()...), true)
	sc.fast(V17, 9600, make([]byte, 1800))
	sc.expect("CFR")
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	for i, l := range []int{64, 64, 50, 64, 20} { // frame 2 has the wrong length
		fr := AppendFrame(nil, FCFFCD, false, false, byte(i))
		sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, make([]byte, l)...), FCSOK: true})
	}
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	sc.raw(AppendFrame(nil, FCFPPS, true, true, byte(FCFEOP)|1, 0, 0, 4), true)
	sc.expect("PPR")
	if ppr := sc.s.Trace()[len(sc.s.Trace())-1].Raw; ppr[3] != 0x04 || ppr[4] != 0 {
		t.Fatalf("PPR map % x, want only frame 2", ppr[3:5])
	}
}

// A DCS selecting a resolution we never offered (300×300, bit 42) ends the
// call rather than being read as standard.
func TestScriptUnofferedResolution(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	fif := Bits(Settings{Receive: true, Modulation: V29, BitRate: 9600, Resolution: Standard, Compression: MH, Width: WidthA4}.Encode())
	fif.Set(bitR300, true)
	fif.finish()
	sc.raw(AppendFrame(nil, FCFDCS, true, true, fif...), true)
	sc.expect("DCN")
	sc.code(Incompatible)
}

func TestCancelBeforeStart(t *testing.T) {
	rec := &recorder{}
	s, err := NewSession(Config{FrontEnd: rec, Role: Receive, Sink: &testSink{}})
	if err != nil {
		t.Fatal(err)
	}
	s.Cancel(0)
	if !s.Done() || s.Result().Code != Cancelled || len(rec.tx) != 0 {
		t.Errorf("done=%v code=%v tx=%d", s.Done(), s.Result().Code, len(rec.tx))
	}
	s.Start(0) // too late: stays done
	if len(rec.tx) != 0 {
		t.Error("started after cancel")
	}
}

// A DCS repeated in phase C that changes the ECM frame size (256 -> 64)
// drops the frames held from before it: they were cut at the old size and
// would corrupt the block (T.4 Annex A: one frame size per block).
func TestScriptDCSChangesFrameSize(t *testing.T) {
	sc := newScript(t, Receive, false, nil)
	sc.expect("DIS")
	d := Settings{Receive: true, Modulation: V17, BitRate: 9600, Resolution: Fine, Compression: MMR, Width: WidthA4, ECM: true}
	sc.raw(AppendFrame(nil, FCFDCS, true, true, d.Encode()...), true)
	sc.fast(V17, 9600, make([]byte, 1800))
	sc.expect("CFR")
	page := make([]byte, 300)
	for i := range page {
		page[i] = byte(i * 3)
	}
	// One 256-octet frame of a burst, then the sender starts phase B again.
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	fr := AppendFrame(nil, FCFFCD, false, false, 0)
	sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, page[:256]...), FCSOK: true})
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	d.Frame64 = true
	sc.raw(AppendFrame(nil, FCFDCS, true, true, d.Encode()...), true)
	sc.fast(V17, 9600, make([]byte, 1800))
	sc.expect("CFR")
	// The block again in 64-octet frames, frame 0 lost this time.
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	for i := 1; i*64 < len(page); i++ {
		fr := AppendFrame(nil, FCFFCD, false, false, byte(i))
		sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, page[i*64:min((i+1)*64, len(page))]...), FCSOK: true})
	}
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	pps := AppendFrame(nil, FCFPPS, true, true, byte(FCFEOP)|1, 0, 0, 4)
	sc.raw(pps, true)
	sc.expect("PPR") // frame 0 is missing, not taken from the 256-octet copy
	sc.ev(Event{Kind: EventTrained, Modulation: V17, BitRate: 9600})
	fr = AppendFrame(nil, FCFFCD, false, false, 0)
	sc.ev(Event{Kind: EventHDLC, Modulation: V17, BitRate: 9600, Frame: append(fr, page[:64]...), FCSOK: true})
	sc.ev(Event{Kind: EventCarrierDown, Modulation: V17, BitRate: 9600})
	sc.raw(pps, true)
	sc.expect("MCF")
	sc.frame(dcnFromTX)
	sc.code(OK)
	if len(sc.sink.kept) != 1 || string(sc.sink.kept[0]) != string(page) {
		t.Errorf("kept %d pages, page intact: %v", len(sc.sink.kept), len(sc.sink.kept) == 1 && string(sc.sink.kept[0]) == string(page))
	}
}
