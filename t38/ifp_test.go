package t38

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenIFP is the reference brief §1.2 table (produced by libspandsp 0.0.6 t38_core_send_*).
var goldenIFP = []struct {
	name   string
	ifp    IFP
	v0, v2 string // "" = not encodable in that syntax
}{
	{"no-signal", IFP{Indicator: IndicatorNoSignal}, "00", "00"},
	{"cng", IFP{Indicator: IndicatorCNG}, "02", "02"},
	{"ced", IFP{Indicator: IndicatorCED}, "04", "04"},
	{"v21-preamble", IFP{Indicator: IndicatorV21Preamble}, "06", "06"},
	{"v27-2400", IFP{Indicator: IndicatorV27ter2400Training}, "08", "08"},
	{"v27-4800", IFP{Indicator: IndicatorV27ter4800Training}, "0A", "0A"},
	{"v29-7200", IFP{Indicator: IndicatorV29_7200Training}, "0C", "0C"},
	{"v29-9600", IFP{Indicator: IndicatorV29_9600Training}, "0E", "0E"},
	{"v17-7200-short", IFP{Indicator: IndicatorV17_7200ShortTraining}, "10", "10"},
	{"v17-7200-long", IFP{Indicator: IndicatorV17_7200LongTraining}, "12", "12"},
	{"v17-9600-short", IFP{Indicator: IndicatorV17_9600ShortTraining}, "14", "14"},
	{"v17-9600-long", IFP{Indicator: IndicatorV17_9600LongTraining}, "16", "16"},
	{"v17-12000-short", IFP{Indicator: IndicatorV17_12000ShortTraining}, "18", "18"},
	{"v17-12000-long", IFP{Indicator: IndicatorV17_12000LongTraining}, "1A", "1A"},
	{"v17-14400-short", IFP{Indicator: IndicatorV17_14400ShortTraining}, "1C", "1C"},
	{"v17-14400-long", IFP{Indicator: IndicatorV17_14400LongTraining}, "1E", "1E"},
	{"v8-ansam", IFP{Indicator: IndicatorV8ANSam}, "", "20 00"},
	{"hdlc-data", IFP{Data: DataV21, Fields: []Field{{FieldHDLCData, []byte{0xFF, 0xC8, 0x01, 0x00, 0x77, 0x1F}}}},
		"C0 01 80 00 05 FF C8 01 00 77 1F", "C0 01 80 00 05 FF C8 01 00 77 1F"},
	{"fcs-OK", IFP{Data: DataV21, Fields: []Field{{Type: FieldHDLCFCSOK}}}, "C0 01 20", "C0 01 10"},
	{"fcs-OK-sig-end", IFP{Data: DataV21, Fields: []Field{{Type: FieldHDLCFCSOKSigEnd}}}, "C0 01 40", "C0 01 20"},
	{"hdlc-sig-end", IFP{Data: DataV21, Fields: []Field{{Type: FieldHDLCSigEnd}}}, "C0 01 10", "C0 01 08"},
	{"t4-data", IFP{Data: DataV17_14400, Fields: []Field{{FieldT4NonECMData, []byte{0, 0, 0, 0}}}},
		"D0 01 E0 00 03 00 00 00 00", "D0 01 B0 00 03 00 00 00 00"},
	{"t4-sig-end", IFP{Data: DataV17_14400, Fields: []Field{{Type: FieldT4NonECMSigEnd}}}, "D0 01 70", "D0 01 38"},
	{"two-fields", IFP{Data: DataV21, Fields: []Field{{FieldHDLCData, []byte{0xFF, 0xC8, 0x31}}, {Type: FieldHDLCFCSOKSigEnd}}},
		"C0 02 80 00 02 FF C8 31 40", "C0 02 80 00 02 FF C8 31 20"},
}

func TestIFPGolden(t *testing.T) {
	for _, tc := range goldenIFP {
		for _, sv := range []struct {
			s   Syntax
			hex string
		}{{Syntax1998, tc.v0}, {Syntax2002, tc.v2}} {
			got, err := tc.ifp.Marshal(sv.s)
			if sv.hex == "" {
				if err == nil {
					t.Errorf("%s/%v: encoded %X, want error", tc.name, sv.s, got)
				}
				continue
			}
			want := unhex(t, sv.hex)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%v: Marshal = %X, %v; want %X", tc.name, sv.s, got, err, want)
			}
			if n := tc.ifp.MarshalSize(sv.s); n != len(want) {
				t.Errorf("%s/%v: MarshalSize = %d, want %d", tc.name, sv.s, n, len(want))
			}
			var p IFP
			if err := p.Unmarshal(want, sv.s); err != nil {
				t.Errorf("%s/%v: Unmarshal: %v", tc.name, sv.s, err)
				continue
			}
			if !ifpEqual(&p, &tc.ifp) {
				t.Errorf("%s/%v: Unmarshal = %v, want %v", tc.name, sv.s, &p, &tc.ifp)
			}
		}
	}
}

func ifpEqual(a, b *IFP) bool {
	if a.Indicator != b.Indicator || a.Data != b.Data || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Type != b.Fields[i].Type || !bytes.Equal(a.Fields[i].Data, b.Fields[i].Data) {
			return false
		}
	}
	return true
}

func TestIFPDecodeTolerances(t *testing.T) {
	var p IFP
	// v8-ansam is decodable whatever the syntax (reference brief §6.1: decode tolerantly).
	if err := p.Unmarshal([]byte{0x20, 0x00}, Syntax1998); err != nil || p.Indicator != IndicatorV8ANSam {
		t.Errorf("v8-ansam in 1998 syntax: %v %v", &p, err)
	}
	// Indicator with the data-field bit set is rejected (spandsp t38_core.c).
	if err := p.Unmarshal([]byte{0x86, 0x01, 0x20}, Syntax1998); !errors.Is(err, ErrInvalidIFP) {
		t.Errorf("indicator with data: err = %v", err)
	}
	// Data type with D=0 is accepted as a no-op packet.
	if err := p.Unmarshal([]byte{0x40}, Syntax1998); err != nil || p.Data != DataV21 || len(p.Fields) != 0 {
		t.Errorf("data without fields: %v %v", &p, err)
	}
	// A data type beyond v17-14400 without the extension bit is invalid in both syntaxes.
	for _, s := range []Syntax{Syntax1998, Syntax2002} {
		if err := p.Unmarshal([]byte{0xD2, 0x01, 0x20}, s); !errors.Is(err, ErrInvalidIFP) {
			t.Errorf("%v: data type 9 without extension: err = %v", s, err)
		}
	}
	// Trailing zero octets (FEC repair zero-extends) are accepted, other trailing octets are not.
	if err := p.Unmarshal([]byte{0xC0, 0x01, 0x20, 0x00, 0x00}, Syntax1998); err != nil || p.Fields[0].Type != FieldHDLCFCSOK {
		t.Errorf("zero-extended: %v %v", &p, err)
	}
	if err := p.Unmarshal([]byte{0xC0, 0x01, 0x20, 0x01}, Syntax1998); !errors.Is(err, ErrInvalidIFP) {
		t.Errorf("trailing garbage: err = %v", err)
	}
	// Truncated field data.
	if err := p.Unmarshal([]byte{0xC0, 0x01, 0x80, 0x00, 0x05, 0xFF}, Syntax1998); !errors.Is(err, ErrInvalidIFP) {
		t.Errorf("truncated: err = %v", err)
	}
	// Strict PER packs data-less fields: [fcs-OK, hdlc-data FF] = 0010 1000 then the data (v0).
	want := IFP{Data: DataV21, Fields: []Field{{Type: FieldHDLCFCSOK}, {FieldHDLCData, []byte{0xFF}}}}
	strict := []byte{0xC0, 0x02, 0x28, 0x00, 0x00, 0xFF}
	if enc, _ := want.Marshal(Syntax1998); !bytes.Equal(enc, strict) {
		t.Errorf("strict packing: %X, want %X", enc, strict)
	}
	if err := p.Unmarshal(strict, Syntax1998); err != nil || !ifpEqual(&p, &want) {
		t.Errorf("strict packed: %v %v", &p, err)
	}
	// The octet-padded layout spandsp writes for the same content decodes too.
	for _, c := range []struct {
		s Syntax
		b []byte
	}{{Syntax1998, []byte{0xC0, 0x02, 0x20, 0x80, 0x00, 0x00, 0xFF}}, {Syntax2002, []byte{0xC0, 0x02, 0x10, 0x80, 0x00, 0x00, 0xFF}}} {
		if err := p.Unmarshal(c.b, c.s); err != nil || !ifpEqual(&p, &want) {
			t.Errorf("%v padded: %v %v", c.s, &p, err)
		}
	}
}

func TestIFPLengths(t *testing.T) {
	// 2-octet count prefix for >= 128 fields, and 1- and 300-octet fields (reference brief §6.1).
	p := IFP{Data: DataV17_9600}
	for i := 0; i < 130; i++ {
		p.Fields = append(p.Fields, Field{FieldT4NonECMData, []byte{byte(i)}})
	}
	p.Fields = append(p.Fields, Field{FieldT4NonECMData, bytes.Repeat([]byte{0xAA}, 300)})
	for _, s := range []Syntax{Syntax1998, Syntax2002} {
		b, err := p.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if b[1] != 0x80 || b[2] != 131 {
			t.Errorf("%v: count prefix %X", s, b[1:3])
		}
		if len(b) != p.MarshalSize(s) {
			t.Errorf("%v: size %d vs MarshalSize %d", s, len(b), p.MarshalSize(s))
		}
		var q IFP
		if err := q.Unmarshal(b, s); err != nil || !ifpEqual(&p, &q) {
			t.Errorf("%v: round trip failed: %v", s, err)
		}
	}
	if _, err := (&IFP{Data: DataV21, Fields: []Field{{Type: FieldCMMessage, Data: []byte{1}}}}).Marshal(Syntax1998); err == nil {
		t.Error("cm-message encoded in the 1998 syntax")
	}
	ext := IFP{Data: DataV21, Fields: []Field{{Type: FieldCMMessage, Data: []byte{1}}, {Type: FieldV34Rate}}}
	b, err := ext.Marshal(Syntax2002)
	if err != nil {
		t.Fatal(err)
	}
	var q IFP
	if err := q.Unmarshal(b, Syntax2002); err != nil || !ifpEqual(&ext, &q) || len(b) != ext.MarshalSize(Syntax2002) {
		t.Errorf("extension field types: %X -> %v %v", b, &q, err)
	}
}

func TestIFPUnmarshalAllocs(t *testing.T) {
	b := unhex(t, "C0 02 80 00 02 FF C8 31 40")
	var p IFP
	_ = p.Unmarshal(b, Syntax1998)
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		_ = p.Unmarshal(b, Syntax1998)
		buf, _ = p.Append(buf[:0], Syntax1998)
	})
	if n != 0 {
		t.Errorf("%v allocations per Unmarshal+Append, want 0", n)
	}
}

func BenchmarkIFPUnmarshal(b *testing.B) {
	data := make([]byte, 54)
	enc, _ := (&IFP{Data: DataV17_14400, Fields: []Field{{FieldT4NonECMData, data}}}).Marshal(Syntax1998)
	var p IFP
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if err := p.Unmarshal(enc, Syntax1998); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIFPAppend(b *testing.B) {
	p := IFP{Data: DataV17_14400, Fields: []Field{{FieldT4NonECMData, make([]byte, 54)}}}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(p.MarshalSize(Syntax1998)))
	for b.Loop() {
		buf, _ = p.Append(buf[:0], Syntax1998)
	}
}
