package t38

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/t30"
)

func newTerm(t *testing.T, cfg TerminalConfig) *Terminal {
	t.Helper()
	if cfg.Syntax == 0 {
		cfg.Syntax = Syntax1998
	}
	term, err := NewTerminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return term
}

type sent struct {
	at    time.Duration
	ifp   IFP
	raw   []byte
	count int
}

// drain runs a terminal's transmitter until idle, returning every packet and the times of TxDone.
func drain(t *testing.T, term *Terminal, syn Syntax) (pkts []sent, done []time.Duration) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		at, ok := term.Deadline()
		if !ok {
			break
		}
		term.Advance(at)
		for _, o := range term.TakePackets() {
			var p IFP
			if err := p.Unmarshal(o.IFP, syn); err != nil {
				t.Fatalf("terminal sent undecodable IFP %X: %v", o.IFP, err)
			}
			// Copy: field data aliases terminal buffers.
			raw := append([]byte(nil), o.IFP...)
			_ = p.Unmarshal(raw, syn)
			pkts = append(pkts, sent{o.At, p, raw, o.Count})
		}
		for _, ev := range term.TakeEvents() {
			if ev.Kind == t30.EventTxDone {
				done = append(done, at)
			}
		}
	}
	return pkts, done
}

func TestTerminalHDLCBurst(t *testing.T) {
	term := newTerm(t, TerminalConfig{})
	// TSI (non-final) then DCS (final), LSB-first as t30 hands them over.
	tsi := []byte{0xFF, 0x03, 0x42, 0x20, 0x20}
	dcs := []byte{0xFF, 0x13, 0x83, 0x00, 0x46}
	term.Transmit(t30.Tx{Kind: t30.TxHDLC, Modulation: t30.V21, BitRate: 300, Frames: [][]byte{tsi, dcs}})
	pkts, done := drain(t, term, Syntax1998)
	var trace []string
	for _, p := range pkts {
		trace = append(trace, fmt.Sprintf("%v x%d", &p.ifp, p.count))
	}
	want := []string{"indicator no-signal x3", "indicator v21-preamble x3"}
	for i := 0; i < 5; i++ {
		want = append(want, "data v21 [hdlc-data 1] x1")
	}
	want = append(want, "data v21 [hdlc-fcs-OK 0] x1")
	for i := 0; i < 5; i++ {
		want = append(want, "data v21 [hdlc-data 1] x1")
	}
	want = append(want, "data v21 [hdlc-fcs-OK-sig-end 0] x3", "indicator no-signal x3")
	if strings.Join(trace, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace:\n%s\nwant:\n%s", strings.Join(trace, "\n"), strings.Join(want, "\n"))
	}
	// Bit order at the boundary: control 0x03 -> 0xC0, DCS 0x83 -> 0xC1 (reference brief §1.3).
	var wire []byte
	for _, p := range pkts[2:14] {
		if p.ifp.Fields[0].Type == FieldHDLCData {
			wire = append(wire, p.ifp.Fields[0].Data...)
		}
	}
	if want := []byte{0xFF, 0xC0, 0x42, 0x04, 0x04, 0xFF, 0xC8, 0xC1, 0x00, 0x62}; !bytes.Equal(wire, want) {
		t.Errorf("wire octets %X, want %X", wire, want)
	}
	// Pacing: preamble at 75 ms, one octet per 26.7 ms; the FCS marker when the last octet is out,
	// then FCS/flag/stuffing time; the Tx is done when the last bit is out, and no-signal follows
	// 100 ms later.
	if pkts[1].at != 75*time.Millisecond || pkts[2].at != 175*time.Millisecond {
		t.Errorf("preamble at %v, first data at %v", pkts[1].at, pkts[2].at)
	}
	if step := pkts[3].at - pkts[2].at; step != bitTime(8, 300) {
		t.Errorf("octet pacing %v", step)
	}
	end := pkts[13].at + bitTime(16+8+stuffedBits(dcs), 300)
	if pkts[13].at != pkts[12].at+bitTime(8, 300) || len(done) != 1 || done[0] != end || pkts[14].at != end+hdlcTail {
		t.Errorf("sig-end at %v, tx done %v, no-signal at %v; want done %v, no-signal %v", pkts[13].at, done, pkts[14].at, end, end+hdlcTail)
	}
}

func TestTerminalTCFAndPage(t *testing.T) {
	term := newTerm(t, TerminalConfig{Syntax: Syntax2002})
	tcf := make([]byte, 2700) // 1.5 s at 14400 (T.30 §5.3.2.2)
	term.Transmit(t30.Tx{Kind: t30.TxData, Modulation: t30.V17, BitRate: 14400, Data: tcf, TCF: true})
	pkts, done := drain(t, term, Syntax2002)
	if pkts[1].ifp.Indicator != IndicatorV17_14400LongTraining || pkts[1].count != 3 {
		t.Fatalf("training indicator %v", &pkts[1].ifp)
	}
	n := 0
	for _, p := range pkts {
		if p.ifp.Data != 0 && p.ifp.Fields[0].Type == FieldT4NonECMData {
			n += len(p.ifp.Fields[0].Data)
			if len(p.ifp.Fields[0].Data) > 54 {
				t.Errorf("chunk of %d octets, want <= 54 (30 ms at 14400)", len(p.ifp.Fields[0].Data))
			}
		}
	}
	if n != 2700 {
		t.Errorf("TCF octets sent %d (no fill after TCF)", n)
	}
	last := pkts[len(pkts)-2]
	if last.ifp.Fields[0].Type != FieldT4NonECMSigEnd || last.count != 3 {
		t.Errorf("end %v x%d", &last.ifp, last.count)
	}
	if want := 75*time.Millisecond + 1393*time.Millisecond + 1500*time.Millisecond; done[0] != want || last.at != want {
		t.Errorf("TCF done at %v, sig-end at %v, want %v", done[0], last.at, want)
	}

	// localTCF (T.38 §8.1): training, then no-signal once the TCF time has passed; no TCF bytes.
	term = newTerm(t, TerminalConfig{Syntax: Syntax2002, RateManagement: LocalTCF})
	term.Transmit(t30.Tx{Kind: t30.TxData, Modulation: t30.V29, BitRate: 9600, Data: make([]byte, 1800), TCF: true})
	pkts, done = drain(t, term, Syntax2002)
	var trace []string
	for _, p := range pkts {
		trace = append(trace, fmt.Sprintf("%v %v", p.at, &p.ifp))
	}
	if want := "0s indicator no-signal|75ms indicator v29-9600-training|1.809s indicator no-signal"; strings.Join(trace, "|") != want || done[0] != 1809*time.Millisecond {
		t.Errorf("localTCF: %q done %v", trace, done)
	}

	// A page with short training gets 3 packets (>= 40 ms) of zero fill after its data (brief §5 #24).
	term = newTerm(t, TerminalConfig{})
	page := bytes.Repeat([]byte{0x12, 0x34}, 500)
	term.Transmit(t30.Tx{Kind: t30.TxData, Modulation: t30.V17, BitRate: 9600, ShortTrain: true, Data: page})
	pkts, _ = drain(t, term, Syntax1998)
	if pkts[1].ifp.Indicator != IndicatorV17_9600ShortTraining {
		t.Errorf("training %v", &pkts[1].ifp)
	}
	var wire []byte
	for _, p := range pkts {
		if p.ifp.Data != 0 && p.ifp.Fields[0].Type == FieldT4NonECMData {
			wire = append(wire, p.ifp.Fields[0].Data...)
		}
	}
	if len(wire) != 1000+3*36 || wire[0] != 0x48 || wire[1] != 0x2C || wire[1000] != 0 {
		t.Errorf("page on the wire: %d octets, starts %X", len(wire), wire[:2])
	}
}

func TestTerminalMaxDatagram(t *testing.T) {
	term := newTerm(t, TerminalConfig{MaxDatagram: 72})
	frame := append([]byte{0xFF, 0x03, 0x06, 0x00}, make([]byte, 256)...)
	term.Transmit(t30.Tx{Kind: t30.TxHDLC, Modulation: t30.V17, BitRate: 14400, Frames: [][]byte{frame, frame}})
	pkts, _ := drain(t, term, Syntax1998)
	s, _ := NewSender(SenderConfig{Depth: 3, MaxDatagram: 72})
	for _, p := range pkts {
		d, err := s.Packet(p.raw)
		if err != nil || len(d) > 72 {
			t.Fatalf("IFP of %d octets makes a %d-octet datagram: %v", len(p.raw), len(d), err)
		}
	}
}

// feed runs wire IFPs into a terminal and returns the events as strings.
func feed(t *testing.T, term *Terminal, at time.Duration, ifps ...IFP) []string {
	t.Helper()
	for _, p := range ifps {
		b, err := p.Marshal(Syntax1998)
		if err != nil {
			t.Fatal(err)
		}
		if err := term.Input(at, b); err != nil {
			t.Fatal(err)
		}
	}
	return evStrings(term.TakeEvents())
}

func evStrings(evs []t30.Event) []string {
	var out []string
	for _, ev := range evs {
		s := ev.Kind.String()
		switch ev.Kind {
		case t30.EventHDLC:
			s += fmt.Sprintf(" %X ok=%v", ev.Frame, ev.FCSOK)
		case t30.EventData:
			s += fmt.Sprintf(" %X", ev.Data)
		case t30.EventTrained, t30.EventCarrierDown, t30.EventCarrierUp, t30.EventTrainingFailed:
			s += fmt.Sprintf(" %v %d", ev.Modulation, ev.BitRate)
		case t30.EventTone:
			s += " " + ev.Tone.String()
		}
		out = append(out, s)
	}
	return out
}

func ind(i Indicator) IFP { return IFP{Indicator: i} }
func v21(fields ...Field) IFP {
	return IFP{Data: DataV21, Fields: fields}
}
func fd(ft FieldType, b ...byte) Field { return Field{Type: ft, Data: b} }

func TestTerminalReceiveTolerances(t *testing.T) {
	v21mode := t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300}
	cases := []struct {
		name string
		mode t30.RxMode
		in   []IFP
		want []string
	}{
		{"normal", v21mode, []IFP{ind(IndicatorV21Preamble), ind(IndicatorV21Preamble), v21(fd(FieldHDLCData, 0xFF, 0xC8)),
			v21(fd(FieldHDLCData, 0x31), fd(FieldHDLCFCSOKSigEnd)), v21(fd(FieldHDLCFCSOKSigEnd)), ind(IndicatorNoSignal)},
			[]string{"carrier up V.21 300", "HDLC frame FF138C ok=true", "carrier down V.21 300"}},
		{"no preamble, data in fcs-OK, stray sig-end", v21mode, []IFP{v21(fd(FieldHDLCData, 0xFF, 0xC8)),
			v21(fd(FieldHDLCFCSOK, 0x31)), v21(fd(FieldHDLCFCSOK)), v21(fd(FieldHDLCSigEnd)), v21(fd(FieldHDLCSigEnd))},
			[]string{"carrier up V.21 300", "HDLC frame FF138C ok=true", "carrier down V.21 300"}},
		{"start lost", v21mode, []IFP{ind(IndicatorV21Preamble), v21(fd(FieldHDLCData, 0xC8, 0x31), fd(FieldHDLCFCSOK)),
			v21(fd(FieldHDLCFCSBadSigEnd))},
			[]string{"carrier up V.21 300", "HDLC frame 138C ok=false", "carrier down V.21 300"}},
		{"new indicator ends the carrier", v21mode, []IFP{ind(IndicatorV21Preamble), v21(fd(FieldHDLCData, 0xFF, 0xC8)),
			ind(IndicatorNoSignal)},
			[]string{"carrier up V.21 300", "HDLC frame FF13 ok=false", "carrier down V.21 300"}},
		{"mediatrix sig-end", t30.RxMode{Kind: t30.RxData, Modulation: t30.V29, BitRate: 9600}, []IFP{
			ind(IndicatorV29_9600Training), {Data: DataV29_9600, Fields: []Field{fd(FieldT4NonECMData, 0x80, 0x01)}},
			{Data: DataV29_9600, Fields: []Field{fd(FieldHDLCSigEnd)}}},
			[]string{"trained V.29 9600", "data 0180", "carrier down V.29 9600"}},
		{"training at another rate", t30.RxMode{Kind: t30.RxData, Modulation: t30.V17, BitRate: 14400}, []IFP{
			ind(IndicatorV29_9600Training), {Data: DataV29_9600, Fields: []Field{fd(FieldT4NonECMData, 0x80)}}},
			[]string{"training failed V.29 9600"}},
		{"data without training indicator", t30.RxMode{Kind: t30.RxData, Modulation: t30.V17, BitRate: 14400, ShortTrain: true}, []IFP{
			{Data: DataV17_14400, Fields: []Field{fd(FieldT4NonECMData, 0x00), fd(FieldT4NonECMSigEnd)}}},
			[]string{"trained V.17 14400", "data 00", "carrier down V.17 14400"}},
		{"localTCF", t30.RxMode{Kind: t30.RxData, Modulation: t30.V27ter, BitRate: 4800}, []IFP{
			ind(IndicatorV27ter4800Training), ind(IndicatorNoSignal)},
			[]string{"trained V.27ter 4800", "carrier down V.27ter 4800"}},
		{"end packet repeated with fresh seq", v21mode, []IFP{ind(IndicatorV21Preamble), v21(fd(FieldHDLCData, 0xFF, 0xC8)),
			v21(fd(FieldHDLCData, 0x31), fd(FieldHDLCFCSOKSigEnd)), v21(fd(FieldHDLCData, 0x31), fd(FieldHDLCFCSOKSigEnd))},
			[]string{"carrier up V.21 300", "HDLC frame FF138C ok=true", "carrier down V.21 300"}},
		{"tones", v21mode, []IFP{ind(IndicatorCED), ind(IndicatorCED), ind(IndicatorCNG)}, []string{"tone CED", "tone CNG"}},
		{"receiver off", t30.RxMode{Kind: t30.RxOff}, []IFP{ind(IndicatorV21Preamble), v21(fd(FieldHDLCData, 0xFF), fd(FieldHDLCFCSOK))}, nil},
	}
	for _, c := range cases {
		term := newTerm(t, TerminalConfig{})
		term.Receive(c.mode)
		got := feed(t, term, time.Second, c.in...)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestTerminalStaleTraining(t *testing.T) {
	// TCF, then the engine asks for the page at the same rate: the TCF's training indicator must not
	// count as the page's training, nor a stray end marker end the page before it starts.
	term := newTerm(t, TerminalConfig{})
	mode := t30.RxMode{Kind: t30.RxData, Modulation: t30.V17, BitRate: 14400}
	term.Receive(mode)
	tcf := IFP{Data: DataV17_14400, Fields: []Field{fd(FieldT4NonECMData, 0, 0), fd(FieldT4NonECMSigEnd)}}
	got := feed(t, term, 0, ind(IndicatorV17_14400LongTraining), tcf)
	mode.ShortTrain = true
	term.Receive(mode)
	got = append(got, evStrings(term.TakeEvents())...)
	got = append(got, feed(t, term, time.Second, IFP{Data: DataV17_14400, Fields: []Field{fd(FieldT4NonECMSigEnd)}})...)
	if strings.Join(got, "|") != "trained V.17 14400|data 0000|carrier down V.17 14400" {
		t.Errorf("events %q", got)
	}
}

func TestTerminalLostAndBackstop(t *testing.T) {
	term := newTerm(t, TerminalConfig{})
	term.Receive(t30.RxMode{Kind: t30.RxHDLC, Modulation: t30.V17, BitRate: 14400})
	ecm := func(f ...Field) IFP { return IFP{Data: DataV17_14400, Fields: f} }
	got := feed(t, term, 0, ind(IndicatorV17_14400LongTraining), ecm(fd(FieldHDLCData, 0xFF, 0xC0, 0x60)))
	term.Lost(1)
	got = append(got, feed(t, term, time.Second, ecm(fd(FieldHDLCData, 0x01), fd(FieldHDLCFCSOK)), ecm(fd(FieldHDLCData, 0xFF)))...)
	// The lost packet sat inside the frame: delivered as FCS-bad.
	if strings.Join(got, "|") != "trained V.17 14400|HDLC frame FF030680 ok=false" {
		t.Errorf("lost: %q", got)
	}
	at, ok := term.Deadline()
	if !ok || at != time.Second+midReceiveLimit {
		t.Fatalf("backstop deadline %v %v", at, ok)
	}
	term.Advance(at)
	if got := evStrings(term.TakeEvents()); strings.Join(got, "|") != "HDLC frame FF ok=false|carrier down V.17 14400" {
		t.Errorf("backstop: %q", got)
	}
}

// TestTerminalLoopback sends through one terminal and receives with another: the t30 octets come out
// as they went in, whatever the bit reversal in between.
func TestTerminalLoopback(t *testing.T) {
	for _, syn := range []Syntax{Syntax1998, Syntax2002} {
		tx := newTerm(t, TerminalConfig{Syntax: syn})
		rx := newTerm(t, TerminalConfig{Syntax: syn})
		frames := [][]byte{{0xFF, 0x03, 0x40, 1, 2, 3}, {0xFF, 0x13, 0x80, 0x00, 0x6E, 0xB8, 0x00}}
		page := bytes.Repeat([]byte{0x01, 0x80, 0x5A}, 700)
		tx.Transmit(t30.Tx{Kind: t30.TxHDLC, Modulation: t30.V21, BitRate: 300, Frames: frames})
		tx.Transmit(t30.Tx{Kind: t30.TxSilence, Duration: 75 * time.Millisecond})
		tx.Transmit(t30.Tx{Kind: t30.TxData, Modulation: t30.V29, BitRate: 7200, Data: page})
		rx.Receive(t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300})
		pkts, _ := drain(t, tx, syn)
		var got [][]byte
		var data []byte
		for _, p := range pkts {
			if err := rx.Input(p.at, p.raw); err != nil {
				t.Fatal(err)
			}
			for _, ev := range rx.TakeEvents() {
				switch ev.Kind {
				case t30.EventHDLC:
					got = append(got, append([]byte(nil), ev.Frame...))
				case t30.EventCarrierDown:
					if ev.Modulation == t30.V21 {
						rx.Receive(t30.RxMode{Kind: t30.RxData, Modulation: t30.V29, BitRate: 7200})
					}
				case t30.EventData:
					data = append(data, ev.Data...)
				}
			}
		}
		if fmt.Sprintf("%X", got) != fmt.Sprintf("%X", frames) {
			t.Errorf("%v: frames %X, want %X", syn, got, frames)
		}
		if !bytes.HasPrefix(data, page) || len(data) < len(page)+36 {
			t.Errorf("%v: page %d octets, want %d + fill", syn, len(data), len(page))
		}
	}
}

func TestTerminalCNGUntilNext(t *testing.T) {
	term := newTerm(t, TerminalConfig{})
	term.Transmit(t30.Tx{Kind: t30.TxCNG})
	term.Advance(10 * time.Second)
	var cng int
	for _, o := range term.TakePackets() {
		if o.IFP[0] == 0x02 {
			cng++
		}
	}
	if cng != 4 { // at 0.2 s, then 3.2, 6.2, 9.2
		t.Errorf("%d cng packets in 10 s", cng)
	}
	if len(term.TakeEvents()) != 0 {
		t.Error("CNG without duration finished by itself")
	}
	term.Transmit(t30.Tx{Kind: t30.TxSilence, Duration: time.Second})
	if evs := term.TakeEvents(); len(evs) != 1 || evs[0].Kind != t30.EventTxDone {
		t.Errorf("queueing after CNG: %v", evStrings(evs))
	}
}

func TestTerminalAllocs(t *testing.T) {
	tx := newTerm(t, TerminalConfig{})
	rx := newTerm(t, TerminalConfig{})
	rx.Receive(t30.RxMode{Kind: t30.RxData, Modulation: t30.V17, BitRate: 14400})
	page := make([]byte, 54*200)
	run := func() {
		tx.Transmit(t30.Tx{Kind: t30.TxData, Modulation: t30.V17, BitRate: 14400, Data: page})
		for {
			at, ok := tx.Deadline()
			if !ok {
				break
			}
			tx.Advance(at)
			for _, o := range tx.TakePackets() {
				_ = rx.Input(o.At, o.IFP)
			}
			tx.TakeEvents()
			rx.TakeEvents()
		}
	}
	run()
	run()
	if n := testing.AllocsPerRun(5, run); n > 2 {
		t.Errorf("%v allocations per page, want ~0", n)
	}
}

func TestTerminalKeepAlive(t *testing.T) {
	term := newTerm(t, TerminalConfig{KeepAlive: 2 * time.Second})
	term.Transmit(t30.Tx{Kind: t30.TxSilence, Duration: 75 * time.Millisecond})
	term.Transmit(t30.Tx{Kind: t30.TxCED, Duration: time.Second})
	for now := time.Duration(0); now <= 10*time.Second; now += 100 * time.Millisecond {
		term.Advance(now)
	}
	var trace []string
	for _, o := range term.TakePackets() {
		var p IFP
		_ = p.Unmarshal(o.IFP, Syntax1998)
		trace = append(trace, fmt.Sprintf("%v %v x%d", o.At, &p, o.Count))
	}
	want := "75ms indicator no-signal x3|275ms indicator ced x3|2.275s indicator ced x1|4.275s indicator ced x1|6.275s indicator ced x1|8.275s indicator ced x1"
	if strings.Join(trace, "|") != want {
		t.Errorf("keep-alive trace %q", trace)
	}
	{
		term2 := newTerm(t, TerminalConfig{})
		term2.Advance(time.Minute)
		if _, ok := term2.Deadline(); ok || len(term2.TakePackets()) != 0 {
			t.Error("idle terminal without keep-alive sends")
		}
	}
}

func TestTerminalEndlessFrame(t *testing.T) {
	term := newTerm(t, TerminalConfig{})
	term.Receive(t30.RxMode{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300})
	chunk := bytes.Repeat([]byte{0xFF}, 200)
	for i := 0; i < 1000; i++ {
		feed(t, term, 0, v21(fd(FieldHDLCData, chunk...)))
	}
	got := feed(t, term, 0, v21(fd(FieldHDLCFCSOKSigEnd)))
	if len(got) != 2 || !strings.Contains(got[0], "ok=false") || len(term.rxFrame) > maxHDLCFrame {
		t.Errorf("endless frame: %d events, frame buffer %d", len(got), len(term.rxFrame))
	}
}
