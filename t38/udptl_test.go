package t38

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestUDPTLGolden(t *testing.T) {
	// Reference brief §1.5 examples.
	cases := []struct {
		name string
		hex  string
		want Packet
	}{
		{"no-ec", "00 00 01 06 00 00", Packet{Seq: 0, Primary: []byte{0x06}, Recovery: RecoveryRedundancy}},
		{"redundancy-3", "00 06 03 C0 01 10 00 03 0B C0 01 80 00 05 FF C8 01 00 77 1F 01 06 01 00",
			Packet{Seq: 6, Primary: []byte{0xC0, 0x01, 0x10}, Recovery: RecoveryRedundancy, Secondary: [][]byte{
				{0xC0, 0x01, 0x80, 0x00, 0x05, 0xFF, 0xC8, 0x01, 0x00, 0x77, 0x1F}, {0x06}, {0x00}}}},
		{"fec", "00 09 01 00 80 01 02 01 03 C6 01 10",
			Packet{Seq: 9, Primary: []byte{0x00}, Recovery: RecoveryFEC, FECSpan: 2, FEC: [][]byte{{0xC6, 0x01, 0x10}}}},
	}
	for _, tc := range cases {
		b := unhex(t, tc.hex)
		var p Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !packetEqual(&p, &tc.want) {
			t.Errorf("%s: Unmarshal = %+v, want %+v", tc.name, p, tc.want)
		}
		enc, err := tc.want.Marshal()
		if err != nil || !bytes.Equal(enc, b) {
			t.Errorf("%s: Marshal = %X, %v; want %X", tc.name, enc, err, b)
		}
		if tc.want.MarshalSize() != len(b) {
			t.Errorf("%s: MarshalSize %d, want %d", tc.name, tc.want.MarshalSize(), len(b))
		}
	}
	// The secondaries of the redundancy example decode as the IFPs the brief names.
	var p Packet
	_ = p.Unmarshal(unhex(t, cases[1].hex))
	var ifp IFP
	for i, want := range []string{"data v21 [hdlc-data 6]", "indicator v21-preamble", "indicator no-signal"} {
		if err := ifp.Unmarshal(p.Secondary[i], Syntax2002); err != nil || ifp.String() != want {
			t.Errorf("secondary %d = %v, %v; want %s", i, &ifp, err, want)
		}
	}
}

func packetEqual(a, b *Packet) bool {
	if a.Seq != b.Seq || !bytes.Equal(a.Primary, b.Primary) || a.Recovery != b.Recovery || a.FECSpan != b.FECSpan ||
		len(a.Secondary) != len(b.Secondary) || len(a.FEC) != len(b.FEC) {
		return false
	}
	for i := range a.Secondary {
		if !bytes.Equal(a.Secondary[i], b.Secondary[i]) {
			return false
		}
	}
	for i := range a.FEC {
		if !bytes.Equal(a.FEC[i], b.FEC[i]) {
			return false
		}
	}
	return true
}

func TestUDPTLRejects(t *testing.T) {
	for _, h := range []string{"", "00", "00 00", "00 00 01", "00 00 01 06", "00 00 01 06 00", "00 00 01 06 00 00 00",
		"00 00 00 00 00", "00 00 01 06 00 01 05 00", "00 00 01 06 80 01", "00 00 01 06 80 03 00 00 01 00",
		"00 00 01 06 80 01 7F 00", "00 00 01 06 00 C0 00"} {
		var p Packet
		if err := p.Unmarshal(unhex(t, h)); !errors.Is(err, ErrInvalidUDPTL) {
			t.Errorf("%q: err = %v, want ErrInvalidUDPTL", h, err)
		}
	}
}

// ifps makes n distinct valid IFPs of varying length.
func ifps(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 1+i%7)
		b, _ := (&IFP{Data: DataV17_14400, Fields: []Field{{FieldT4NonECMData, data}}}).Marshal(Syntax1998)
		out = append(out, b)
	}
	return out
}

// deliveredIFPs runs datagrams through a Receiver and returns the IFPs per sequence number.
func deliveredIFPs(t *testing.T, r *Receiver, dgs [][]byte) (map[uint16][]byte, int) {
	t.Helper()
	got := map[uint16][]byte{}
	lost := 0
	for _, d := range dgs {
		out, err := r.Receive(d)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		for _, dl := range out {
			if dl.IFP == nil {
				lost += dl.Lost
				continue
			}
			if _, dup := got[dl.Seq]; dup {
				t.Errorf("seq %d delivered twice", dl.Seq)
			}
			got[dl.Seq] = append([]byte(nil), dl.IFP...)
		}
	}
	return got, lost
}

func send(t *testing.T, s *Sender, in [][]byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, ifp := range in {
		d, err := s.Packet(ifp)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), d...))
	}
	return out
}

func TestRedundancyRecovery(t *testing.T) {
	in := ifps(40)
	s, _ := NewSender(SenderConfig{Depth: 3})
	dgs := send(t, s, in)
	// Drop every run of up to 3 consecutive packets: each is recovered from the next packet.
	var kept [][]byte
	for i, d := range dgs {
		if i%5 == 1 || i%5 == 2 || i%5 == 3 {
			continue
		}
		kept = append(kept, d)
	}
	var r Receiver
	got, lost := deliveredIFPs(t, &r, kept)
	if lost != 0 {
		t.Errorf("lost %d", lost)
	}
	for i, ifp := range in[:39] {
		if !bytes.Equal(got[uint16(i)], ifp) {
			t.Errorf("seq %d: got %X want %X", i, got[uint16(i)], ifp)
		}
	}
	if r.Stats.Recovered != 24 {
		t.Errorf("recovered %d, want 24", r.Stats.Recovered)
	}
	// A gap of 4 loses one packet, reported as lost.
	var r2 Receiver
	_, lost = deliveredIFPs(t, &r2, [][]byte{dgs[0], dgs[5]})
	if lost != 1 || r2.Stats.Lost != 1 {
		t.Errorf("gap 4 with depth 3: lost %d", lost)
	}
}

func TestFECRecovery(t *testing.T) {
	for _, c := range []struct{ span, entries int }{{1, 1}, {2, 1}, {3, 1}, {1, 2}, {2, 2}, {3, 2}, {2, 3}, {3, 3}} {
		t.Run(fmt.Sprintf("span%d-entries%d", c.span, c.entries), func(t *testing.T) {
			in := ifps(60)
			s, err := NewSender(SenderConfig{Recovery: RecoveryFEC, Depth: c.entries, FECSpan: c.span})
			if err != nil {
				t.Fatal(err)
			}
			dgs := send(t, s, in)
			// Lose one packet in every 10 (after wind-up): always repairable since the other group
			// members are present.
			var kept [][]byte
			for i, d := range dgs {
				if i > 20 && i%10 == 3 {
					continue
				}
				kept = append(kept, d)
			}
			var r Receiver
			got, lost := deliveredIFPs(t, &r, kept)
			if lost != 0 {
				t.Errorf("lost %d", lost)
			}
			for i, want := range in[:59] {
				var a, b IFP
				if err := a.Unmarshal(got[uint16(i)], Syntax1998); err != nil {
					t.Fatalf("seq %d: %v (%X)", i, err, got[uint16(i)])
				}
				_ = b.Unmarshal(want, Syntax1998)
				if !ifpEqual(&a, &b) {
					t.Errorf("seq %d: got %v want %v", i, &a, &b)
				}
			}
		})
	}
}

func TestReceiverSequencing(t *testing.T) {
	in := ifps(8)
	mk := func(seq uint16, ifp []byte, sec ...[]byte) []byte {
		b, _ := (&Packet{Seq: seq, Primary: ifp, Recovery: RecoveryRedundancy, Secondary: sec}).Marshal()
		return b
	}
	var r Receiver
	steps := []struct {
		dg   []byte
		want []uint16 // delivered seqs
	}{
		{mk(65534, in[0]), []uint16{65534}},
		{mk(65534, in[0]), nil}, // duplicate
		{mk(65535, in[1], in[0]), []uint16{65535}},
		{mk(0, in[2], in[1]), []uint16{0}}, // wrap
		{mk(2, in[4], in[3], in[2]), []uint16{1, 2}},
		{mk(1, in[3]), nil},                 // late
		{mk(40000, in[5]), []uint16{40000}}, // restart
		{mk(40001, in[6], in[5]), []uint16{40001}},
	}
	for i, st := range steps {
		out, err := r.Receive(st.dg)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint16
		for _, d := range out {
			seqs = append(seqs, d.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(st.want) {
			t.Errorf("step %d: delivered %v, want %v", i, seqs, st.want)
		}
	}
	if r.Stats.Duplicates != 1 || r.Stats.Late != 1 || r.Stats.Restarts != 1 || r.Stats.Recovered != 1 {
		t.Errorf("stats %+v", r.Stats)
	}
	// A peer restarting its numbering at 1 after 100 packets: within the 2000 window, but two packets
	// in a row from far behind are a restart, not lateness.
	var rs Receiver
	for _, d := range [][]byte{mk(99, in[0]), mk(100, in[1], in[0]), mk(1, in[2]), mk(1, in[2]), mk(2, in[3], in[2]), mk(3, in[4], in[3])} {
		_, _ = rs.Receive(d)
	}
	if rs.Stats.Restarts != 1 || rs.expected != 4 {
		t.Errorf("restart at 1: stats %+v, expecting %d", rs.Stats, rs.expected)
	}
	// One stray old packet alone is just late.
	var rl Receiver
	for _, d := range [][]byte{mk(99, in[0]), mk(100, in[1]), mk(50, in[2]), mk(101, in[3])} {
		out, _ := rl.Receive(d)
		for _, dl := range out {
			if dl.Seq == 50 {
				t.Error("stray old packet delivered")
			}
		}
	}
	if rl.Stats.Restarts != 0 || rl.expected != 102 {
		t.Errorf("stray: stats %+v", rl.Stats)
	}
	// A peer that wraps 0xFFFF -> 0x0001: no packet 0 is invented or reported lost.
	var g Receiver
	for _, d := range [][]byte{mk(65535, in[1], in[0]), mk(1, in[2], in[1])} {
		out, _ := g.Receive(d)
		for _, dl := range out {
			if dl.Seq == 0 {
				t.Errorf("wrap glitch: delivered %+v", dl)
			}
		}
	}
}

func TestSenderMaxDatagram(t *testing.T) {
	big := ifps(1)[0]
	for len(big) < 60 {
		big = append(big[:len(big):len(big)], 0)
	}
	for _, max := range []int{72, 128, 180} {
		s, _ := NewSender(SenderConfig{Depth: 3, MaxDatagram: max})
		for i := 0; i < 10; i++ {
			d, err := s.Packet(big[:50])
			if err != nil {
				t.Fatal(err)
			}
			if len(d) > max {
				t.Errorf("max %d: datagram of %d", max, len(d))
			}
			var p Packet
			_ = p.Unmarshal(d)
			if max == 180 && i >= 3 && len(p.Secondary) != 2 {
				t.Errorf("max 180: %d secondaries, want 2 (trimmed from 3)", len(p.Secondary))
			}
		}
		if _, err := s.Packet(make([]byte, max)); !errors.Is(err, ErrDatagramTooLarge) {
			t.Errorf("max %d: oversized primary: %v", max, err)
		}
	}
}

func TestUDPTLAllocs(t *testing.T) {
	in := ifps(4)
	s, _ := NewSender(SenderConfig{Depth: 3})
	var r Receiver
	for i := 0; i < 20; i++ {
		d, _ := s.Packet(in[i%4])
		_, _ = r.Receive(d)
	}
	i := 0
	n := testing.AllocsPerRun(200, func() {
		d, _ := s.Packet(in[i%4])
		i++
		if _, err := r.Receive(d); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}

func BenchmarkUDPTLRoundTrip(b *testing.B) {
	ifp, _ := (&IFP{Data: DataV17_14400, Fields: []Field{{FieldT4NonECMData, make([]byte, 54)}}}).Marshal(Syntax1998)
	s, _ := NewSender(SenderConfig{Depth: 3})
	var r Receiver
	b.ReportAllocs()
	b.SetBytes(int64(len(ifp)))
	for b.Loop() {
		d, _ := s.Packet(ifp)
		if _, err := r.Receive(d); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSenderImageDepth(t *testing.T) {
	s, _ := NewSender(SenderConfig{Depth: 3, ImageDepth: -1})
	v21, _ := (&IFP{Data: DataV21, Fields: []Field{{FieldHDLCData, []byte{0xFF}}}}).Marshal(Syntax1998)
	img, _ := (&IFP{Data: DataV17_14400, Fields: []Field{{FieldHDLCData, []byte{0xFF}}}}).Marshal(Syntax1998)
	ind, _ := (&IFP{Indicator: IndicatorV17_14400LongTraining}).Marshal(Syntax1998)
	for i, c := range []struct {
		ifp  []byte
		want int
	}{{ind, 0}, {v21, 1}, {v21, 2}, {img, 0}, {img, 0}, {v21, 3}, {ind, 3}} {
		d, _ := s.Packet(c.ifp)
		var p Packet
		if err := p.Unmarshal(d); err != nil || len(p.Secondary) != c.want {
			t.Errorf("packet %d: %d secondaries, want %d (%v)", i, len(p.Secondary), c.want, err)
		}
	}
	if _, err := NewSender(SenderConfig{ImageDepth: -2}); err == nil {
		t.Error("ImageDepth -2 accepted")
	}
}

// TestReceiverIntermixed: a peer may switch between redundancy and FEC packet by packet (or two
// senders share the stream); the receiver repairs from whichever each packet carries.
func TestReceiverIntermixed(t *testing.T) {
	in := ifps(60)
	red, _ := NewSender(SenderConfig{Depth: 2})
	fec, _ := NewSender(SenderConfig{Recovery: RecoveryFEC, Depth: 1, FECSpan: 2})
	a, b := send(t, red, in), send(t, fec, in)
	var stream [][]byte
	for i := range in {
		if i%7 == 3 || i%11 == 5 {
			continue // lost
		}
		if i%2 == 0 {
			stream = append(stream, a[i])
		} else {
			stream = append(stream, b[i])
		}
	}
	var r Receiver
	got, lost := deliveredIFPs(t, &r, stream)
	for i := 0; i < 59; i++ {
		var x, y IFP
		if got[uint16(i)] == nil {
			continue
		}
		_ = x.Unmarshal(got[uint16(i)], Syntax1998)
		_ = y.Unmarshal(in[i], Syntax1998)
		if !ifpEqual(&x, &y) {
			t.Errorf("seq %d: wrong IFP %v", i, &x)
		}
	}
	// Packet 59 is lost with nothing after it; every other loss is repaired.
	if len(got) != 59 || lost != 0 {
		t.Errorf("delivered %d, lost %d (stats %+v)", len(got), lost, r.Stats)
	}
}
