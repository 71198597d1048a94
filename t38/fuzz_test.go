package t38

import (
	"testing"
)

func FuzzIFP(f *testing.F) {
	for _, tc := range goldenIFP {
		for _, s := range []string{tc.v0, tc.v2} {
			if s != "" {
				f.Add(unhex(f, s), true)
				f.Add(unhex(f, s), false)
			}
		}
	}
	for _, d := range udpPayloads(f, "../testdata/pcaps/asterisk-testsuite_ast-2016-003_crash.pcap") {
		var p Packet
		if p.Unmarshal(d) == nil {
			f.Add(append([]byte(nil), p.Primary...), true)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, old bool) {
		s := Syntax2002
		if old {
			s = Syntax1998
		}
		var p IFP
		if err := p.Unmarshal(b, s); err != nil {
			return
		}
		// Property: whatever decodes re-encodes (as long as it fits the encoder's rules) and decodes
		// to the same packet, and MarshalSize predicts the encoding.
		enc, err := p.Marshal(s)
		if err != nil {
			if p.check(s) == nil {
				t.Fatalf("decoded %v but cannot re-encode: %v", &p, err)
			}
			return
		}
		if len(enc) != p.MarshalSize(s) {
			t.Fatalf("MarshalSize %d, encoding %d", p.MarshalSize(s), len(enc))
		}
		var q IFP
		if err := q.Unmarshal(enc, s); err != nil || !ifpEqual(&p, &q) {
			t.Fatalf("round trip: %v -> %X -> %v (%v)", &p, enc, &q, err)
		}
	})
}

func FuzzUDPTL(f *testing.F) {
	for _, h := range []string{"00 00 01 06 00 00", "00 06 03 C0 01 10 00 03 0B C0 01 80 00 05 FF C8 01 00 77 1F 01 06 01 00",
		"00 09 01 00 80 01 02 01 03 C6 01 10"} {
		f.Add(unhex(f, h))
	}
	for _, d := range udpPayloads(f, "../testdata/pcaps/asterisk-testsuite_ast-2016-003_crash.pcap") {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.Unmarshal(b); err != nil {
			return
		}
		enc, err := p.Marshal()
		if err != nil {
			t.Fatalf("decoded but cannot re-encode: %v", err)
		}
		if len(enc) != p.MarshalSize() || len(enc) > len(b)+1 {
			t.Fatalf("re-encoding of %d octets from %d", len(enc), len(b))
		}
		var q Packet
		if err := q.Unmarshal(enc); err != nil || !packetEqual(&p, &q) {
			t.Fatalf("round trip failed: %v", err)
		}
		// Receiving it twice, and after a neighbour, never panics and delivers at most what fits.
		var r Receiver
		out, _ := r.Receive(b)
		if len(out) != 1 {
			t.Fatalf("first packet delivered %d items", len(out))
		}
		q.Seq += 5
		enc, _ = q.Marshal()
		out, _ = r.Receive(enc)
		total := 0
		for _, d := range out {
			total += max(d.Lost, 1)
		}
		if total != 5 {
			t.Fatalf("gap of 4 + primary accounted as %d", total)
		}
	})
}
