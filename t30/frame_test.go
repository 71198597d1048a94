package t30

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fromT38 converts a frame written in T.38/T.30 notation (MSB first, as the
// TSB-85 scripts and Wireshark show it) to this package's LSB-first octets.
func fromT38(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range b {
		b[i] = reverse(c)
	}
	return b
}

func reverse(c byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		if c&(1<<uint(i)) != 0 {
			r |= 0x80 >> uint(i)
		}
	}
	return r
}

// TestGoldenFrames decodes the TSB-85 byte strings quoted in the brief
// (§6.1, T.38 bit order).
func TestGoldenFrames(t *testing.T) {
	cases := []struct {
		t38   string
		fcf   FCF
		x     bool
		final bool
	}{
		{"FF C8 41 00 50 00", FCFDCS, false, true},
		{"FF C8 21", FCFCFR, false, true},
		{"FF C8 22", FCFFTT, false, true},
		{"FF C8 31", FCFMCF, false, true},
		{"FF C8 72", FCFMPS, false, true},
		{"FF C8 74", FCFEOP, false, true},
		{"FF C8 71", FCFEOM, false, true},
		{"FF C8 5F", FCFDCN, false, true},
		{"FF C8 DF", FCFDCN, true, true},
		{"FF C0 02 9C 1C", FCFCSI, false, false},
		{"FF C8 01 00 76 1D 00", FCFDIS, false, true},
		{"FF C8 81 00 76 1D 00", FCFDTC, false, true},
		{"FF C8 7D 74 00 00 FF", FCFPPS, false, true},
		{"FF C8 37", FCFRNR, false, true},
		{"FF C8 76", FCFRR, false, true},
		{"FF C8 3D", FCFPPR, false, true},
		{"FF C8 48 00 10", FCFCTC, false, true},
		{"FF C8 23", FCFCTR, false, true},
		{"FF C8 32", FCFRTN, false, true},
		{"FF C8 33", FCFRTP, false, true},
		{"FF C8 7A", FCFPRIMPS, false, true},
		{"FF C8 F2", FCFMPS, true, true},
		{"FF C8 58", FCFCRP, false, true},
		{"FF C8 35", FCFPIP, false, true},
		{"FF C8 34", FCFPIN, false, true},
		{"FF C8 73", FCFEOR, false, true},
		{"FF C8 38", FCFERR, false, true},
		{"FF C0 60 00", FCFFCD, false, false},
		{"FF C0 61", FCFRCP, false, false},
	}
	for _, c := range cases {
		raw := fromT38(t, c.t38)
		f, err := ParseFrame(raw)
		if err != nil {
			t.Errorf("%s: %v", c.t38, err)
			continue
		}
		if f.FCF != c.fcf || f.X != c.x || f.Final != c.final {
			t.Errorf("%s: got %v X=%v final=%v, want %v X=%v final=%v", c.t38, f.FCF, f.X, f.Final, c.fcf, c.x, c.final)
		}
		if got := AppendFrame(nil, f.FCF, f.X, f.Final, f.FIF...); !bytes.Equal(got, raw) {
			t.Errorf("%s: re-encoded as % x, want % x", c.t38, got, raw)
		}
	}
	// The brief's LSB-first examples.
	if f, _ := ParseFrame([]byte{0xFF, 0x13, 0x8C}); f.FCF != FCFMCF {
		t.Errorf("FF 13 8C = %v, want MCF", f.FCF)
	}
	if f, _ := ParseFrame([]byte{0xFF, 0x13, 0x44}); f.FCF != FCFFTT || f.X {
		t.Errorf("FF 13 44 = %v X=%v, want FTT without X", f.FCF, f.X)
	}
}

func TestGoldenDCS(t *testing.T) {
	f, _ := ParseFrame(fromT38(t, "FF C8 41 00 50 00"))
	d, err := ParseDCS(f.FIF)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Receive || d.Modulation != V27ter || d.BitRate != 4800 || d.Resolution != Standard ||
		d.Compression != MH || d.Width != WidthA4 || d.ECM || d.MinScanTime != 20 {
		t.Errorf("DCS decoded as %+v", d)
	}
	// CTC carries the first two DCS octets: V.27ter 4800.
	f, _ = ParseFrame(fromT38(t, "FF C8 48 00 10"))
	d, err = ParseDCS(padFIF(f.FIF))
	if err != nil || d.Modulation != V27ter || d.BitRate != 4800 {
		t.Errorf("CTC rate %v %d (%v)", d.Modulation, d.BitRate, err)
	}
}

func TestGoldenDIS(t *testing.T) {
	f, _ := ParseFrame(fromT38(t, "FF C8 01 00 76 1D 00"))
	c, err := ParseDIS(f.FIF)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanReceive || c.ReadyToTransmit || !c.V17 || !c.V29 || !c.V27ter || !c.Fine || c.MR || c.ECM ||
		c.MaxWidth != WidthA4 || c.Length != 2 || c.ScanCode != 3 {
		t.Errorf("DIS decoded as %+v", c)
	}
	if c.MinScanTime(Standard) != 20 || c.MinScanTime(Fine) != 10 {
		t.Errorf("scan times %d/%d, want 20/10", c.MinScanTime(Standard), c.MinScanTime(Fine))
	}
	// The same DIS in LSB-first form, as in the brief's FCS example.
	if !bytes.Equal(f.FIF, []byte{0x00, 0x6E, 0xB8, 0x00}) {
		t.Errorf("FIF % x", f.FIF)
	}
	// TSB-85 MTGX11: V.29 + V.27ter only.
	f, _ = ParseFrame(fromT38(t, "FF C8 01 00 72 20"))
	c, err = ParseDIS(f.FIF)
	if err != nil || c.V17 || !c.V29 || !c.V27ter || c.Length != 1 {
		t.Errorf("MTGX11 DIS %+v (%v)", c, err)
	}
	if _, err := ParseDIS([]byte{0, 2}); err != ErrShortDIS {
		t.Errorf("2-octet DIS: %v", err)
	}
}

func TestDISRoundTrip(t *testing.T) {
	for _, c := range []Capabilities{
		{CanReceive: true, V27ter: true, V29: true, V17: true, Fine: true, Superfine: true, MR: true, MMR: true, ECM: true, MaxWidth: WidthA3, Length: 2, ScanCode: 7, Metric: true},
		{CanReceive: true, V27ter: true, MaxWidth: WidthA4, ScanCode: 0},
		{ReadyToTransmit: true, V29: true, V27ter: true, Fine: true, MaxWidth: WidthB4, Length: 1, ScanCode: 5, ECM: true, ECM64Preferred: true},
		{CanReceive: true, MaxWidth: WidthA4, Superfine: true, ScanHalvesSuperfine: true, ScanCode: 6},
	} {
		fif := c.Encode()
		got, err := ParseDIS(fif)
		if err != nil {
			t.Fatal(err)
		}
		got.Raw = nil
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip\n got %+v\nwant %+v\n fif % x", got, c, fif)
		}
		// Extension bits: set on all but the last octet from octet 3 on.
		for i := 2; i < len(fif); i++ {
			if (fif[i]&0x80 != 0) != (i < len(fif)-1) {
				t.Errorf("extension bit of octet %d wrong in % x", i+1, fif)
			}
		}
	}
}

func TestDCSRoundTrip(t *testing.T) {
	for _, sp := range fallback {
		for _, res := range []Resolution{Standard, Fine, Superfine} {
			for _, comp := range []Compression{MH, MR, MMR} {
				for _, w := range []int{WidthA4, WidthB4, WidthA3} {
					s := Settings{Receive: true, Modulation: sp.mod, BitRate: sp.rate, Resolution: res, Compression: comp,
						Width: w, Length: 2, MinScanTime: 10, ECM: comp == MMR, Frame64: comp == MMR && w == WidthB4}
					got, err := ParseDCS(s.Encode())
					if err != nil {
						t.Fatal(err)
					}
					got.Raw = nil
					if !reflect.DeepEqual(got, s) {
						t.Errorf("round trip\n got %+v\nwant %+v", got, s)
					}
				}
			}
		}
	}
	// DCS with an 8-octet FIF is accepted (TSB-85 MRGN06).
	long := append(Settings{Receive: true, Modulation: V17, BitRate: 14400, Resolution: Fine, Compression: MR, Width: WidthA4}.Encode(), 0, 0, 0, 0, 0)
	for i := 2; i < len(long)-1; i++ {
		long[i] |= 0x80
	}
	if d, err := ParseDCS(long); err != nil || d.BitRate != 14400 || d.Resolution != Fine {
		t.Errorf("8-octet DCS: %+v %v", d, err)
	}
	// Undefined rate code 0100 in b11-b14 ... is 4800; 0110 (b12, b13) is not defined.
	var b Bits
	b.Set(24, false)
	b.Set(12, true)
	b.Set(13, true)
	if _, err := ParseDCS(b); err != ErrDCSRate {
		t.Errorf("undefined rate code: %v", err)
	}
}

func TestDCSScanCode(t *testing.T) {
	for ms, want := range map[int]int{0: 0, 2: 5, 5: 5, 7: 10, 10: 10, 15: 20, 20: 20, 40: 40, 100: 40} {
		d, err := ParseDCS(Settings{Modulation: V29, BitRate: 9600, MinScanTime: ms}.Encode())
		if err != nil || d.MinScanTime != want {
			t.Errorf("MinScanTime %d sent as %d (%v), want %d", ms, d.MinScanTime, err, want)
		}
	}
}

func TestIdent(t *testing.T) {
	fif := EncodeIdent("+49 30 1234567")
	if len(fif) != 20 || fif[19] != '+' || fif[0] != ' ' {
		t.Errorf("EncodeIdent % x", fif)
	}
	if got := DecodeIdent(fif); got != "+49 30 1234567" {
		t.Errorf("DecodeIdent = %q", got)
	}
	// The TSB-85 CSI "...89" starts (in transmission order) with '9', '8'.
	f, _ := ParseFrame(fromT38(t, "FF C0 02 9C 1C"))
	if got := DecodeIdent(f.FIF); got != "89" {
		t.Errorf("TSB-85 CSI = %q", got)
	}
	if got := DecodeIdent(EncodeIdent("this identity is far too long\x01")); got != "this identity is far" {
		t.Errorf("long ident = %q", got)
	}
}

func TestParseFrameErrors(t *testing.T) {
	for _, c := range []struct {
		b   []byte
		err error
	}{
		{nil, ErrShortFrame},
		{[]byte{0xFF, 0x13}, ErrShortFrame},
		{[]byte{0xFE, 0x13, 0x8C}, ErrAddress},
		{[]byte{0xFF, 0x12, 0x8C}, ErrControl},
	} {
		if _, err := ParseFrame(c.b); err != c.err {
			t.Errorf("ParseFrame(% x) = %v, want %v", c.b, err, c.err)
		}
	}
	if _, err := ParsePPS([]byte{0x2E, 0, 0}); err != ErrShortPPS {
		t.Errorf("short PPS: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	for t38, want := range map[string]string{
		"FF C8 01 00 76 1D 00": "DIS rx V.17+V.29+V.27ter standard+fine MH width<=1728 scan 20ms",
		"FF C8 41 00 50 00":    "DCS V.27ter 4800 standard MH 1728 scan 20ms",
		"FF C8 7D 74 01 02 FF": "PPS-EOP page 128 block 64 frames 256",
		"FF C8 48 00 10":       "CTC V.27ter 4800",
		"FF C8 31":             "MCF",
	} {
		f, _ := ParseFrame(fromT38(t, t38))
		if got := Describe(f); got != want {
			t.Errorf("Describe(%s) = %q, want %q", t38, got, want)
		}
	}
}

func TestTCFLength(t *testing.T) {
	// 1.5 s of zeros at each rate (brief §6.1).
	for rate, want := range map[int]int{14400: 2700, 12000: 2250, 9600: 1800, 7200: 1350, 4800: 900, 2400: 450} {
		if got := tcfOctets(rate); got != want {
			t.Errorf("TCF at %d: %d octets, want %d", rate, got, want)
		}
	}
}

func BenchmarkParseFrame(b *testing.B) {
	raw := fromT38(b, "FF C8 01 00 76 1D 00")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		f, err := ParseFrame(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseDIS(f.FIF); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{V21.String(), "V.21"}, {V27ter.String(), "V.27ter"}, {V29.String(), "V.29"}, {V17.String(), "V.17"},
		{Modulation(0).String(), "Modulation(0)"},
		{RxOff.String(), "off"}, {RxV21.String(), "V.21 HDLC"}, {RxKind(0).String(), "RxKind(0)"},
		{RxMode{Kind: RxData, Modulation: V17, BitRate: 14400, ShortTrain: true}.String(), "fast data V.17 14400 short"},
		{RxMode{Kind: RxV21}.String(), "V.21 HDLC"},
		{TxCNG.String(), "CNG"}, {TxHDLC.String(), "HDLC"}, {TxKind(0).String(), "TxKind(0)"},
		{ToneCED.String(), "CED"}, {Tone(0).String(), "Tone(0)"},
		{EventTxDone.String(), "tx done"}, {EventKind(0).String(), "EventKind(0)"},
		{MMR.String(), "MMR"}, {Compression(0).String(), "Compression(0)"},
		{Superfine.String(), "superfine"}, {Resolution(0).String(), "Resolution(0)"},
		{Format{Compression: MH, Resolution: Fine, Width: WidthA4, MinRowBits: 96}.String(), "MH fine 1728 min 96 bits/row"},
		{Send.String(), "send"}, {Role(0).String(), "Role(0)"},
		{Sent.String(), "tx"}, {Direction(0).String(), "Direction(0)"},
		{FCFPRIEOP.String(), "PRI-EOP"}, {FCF(0x7E).String(), "FCF(0x7e)"},
	} {
		if c.got != c.want {
			t.Errorf("String() = %q, want %q", c.got, c.want)
		}
	}
	if !FCFDCS.Known() || FCF(0x7E).Known() || FCFNull.Known() {
		t.Error("Known misclassifies")
	}
	if !V17.ValidRate(12000) || V29.ValidRate(4800) || V21.ValidRate(2400) || Modulation(0).ValidRate(300) {
		t.Error("ValidRate misclassifies")
	}
}

func TestTraceEntryString(t *testing.T) {
	raw := fromT38(t, "FF C8 01 00 76 1D 00")
	f, _ := ParseFrame(raw)
	e := TraceEntry{Time: 1500 * time.Millisecond, Direction: Received, Modulation: V21, FCF: f.FCF, Decoded: Describe(f), Raw: raw}
	want := "    1.500s rx V.21     DIS rx V.17+V.29+V.27ter standard+fine MH width<=1728 scan 20ms [ff 13 80 00 6e b8 00 | T.38 ff c8 01 00 76 1d 00]"
	if got := e.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
