package t38

import (
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/t30"
)

// captureSeeds are the UDPTL captures in testdata (see testdata/pcaps/README.md): a hostile stream and
// FaxSeal's own sessions with spandsp in both IFP syntaxes.
var captureSeeds = []string{"asterisk-testsuite_ast-2016-003_crash.pcap", "faxseal-to-spandsp_t38v0_ecm_mmr_loss5.pcap",
	"spandsp-to-faxseal_t38v2_mh_noecm.pcap"}

func FuzzIFP(f *testing.F) {
	for _, tc := range goldenIFP {
		for _, s := range []string{tc.v0, tc.v2} {
			if s != "" {
				f.Add(unhex(f, s), true)
				f.Add(unhex(f, s), false)
			}
		}
	}
	for _, name := range captureSeeds {
		for i, d := range udpPayloads(f, "../testdata/pcaps/"+name) {
			var p Packet
			if i%5 == 0 && p.Unmarshal(d) == nil {
				f.Add(append([]byte(nil), p.Primary...), !strings.Contains(name, "v2"))
			}
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
	for _, name := range captureSeeds {
		for i, d := range udpPayloads(f, "../testdata/pcaps/"+name) {
			if i%7 == 0 { // a sample keeps the seed corpus small
				f.Add(d)
			}
		}
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

// FuzzTerminalReceive feeds a stream of length-prefixed IFPs to the terminal's receive side in each
// mode. Properties: never a panic; carriers pair up (no carrier down without an up or a training
// first); frames are never empty.
func FuzzTerminalReceive(f *testing.F) {
	var seed []byte
	for _, tc := range goldenIFP {
		b := unhex(f, tc.v0)
		seed = append(seed, byte(len(b)))
		seed = append(seed, b...)
	}
	f.Add(seed, uint8(0))
	f.Add(seed, uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, modeSel uint8) {
		term, _ := NewTerminal(TerminalConfig{Syntax: Syntax1998})
		modes := []t30.RxMode{{Kind: t30.RxV21, Modulation: t30.V21, BitRate: 300},
			{Kind: t30.RxHDLC, Modulation: t30.V17, BitRate: 14400}, {Kind: t30.RxData, Modulation: t30.V21 + 3, BitRate: 14400},
			{Kind: t30.RxData, Modulation: t30.V29, BitRate: 9600}}
		term.Receive(modes[int(modeSel)%len(modes)])
		up := false
		now := time.Duration(0)
		for len(stream) > 0 {
			n := int(stream[0])
			stream = stream[1:]
			if n > len(stream) {
				n = len(stream)
			}
			_ = term.Input(now, stream[:n])
			stream = stream[n:]
			now += 20 * time.Millisecond
			if n == 0 {
				term.Lost(1)
				now += 16 * time.Second
				term.Advance(now)
			}
			for _, ev := range term.TakeEvents() {
				switch ev.Kind {
				case t30.EventCarrierUp, t30.EventTrained:
					up = true
				case t30.EventCarrierDown:
					if !up {
						t.Fatal("carrier down without a carrier")
					}
					up = false
				case t30.EventHDLC:
					if len(ev.Frame) == 0 {
						t.Fatal("empty HDLC frame")
					}
				}
			}
		}
	})
}
