package v21

import (
	"bytes"
	"testing"

	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/t30"
)

// TestFrameSurvivesLostPacket sends real T.30 frames (34 preamble flags, as our transmitter does)
// and loses each 20 ms packet in turn, at several packet phases against the bit clock, through
// Rx.Fillin and hdlc.Deframer.PutGap. A loss in the preamble or inside the frame, opening flag
// included, must not lose the frame; the closing flag's packets are left to modem/audio's v21Tail.
func TestFrameSurvivesLostPacket(t *testing.T) {
	ppr := make([]byte, 32)
	for i := range ppr {
		ppr[i] = byte(0x11 * (i % 16))
	}
	frames := map[string][]byte{
		"DCS": t30.AppendFrame(nil, t30.FCFDCS, true, true, 0x00, 0x46, 0xE0, 0x80, 0x80, 0x91),
		"MCF": t30.AppendFrame(nil, t30.FCFMCF, false, true),
		"PPS": t30.AppendFrame(nil, t30.FCFPPS, true, true, 0x00, 0x00, 0x00, 0xFF),
		"PPR": t30.AppendFrame(nil, t30.FCFPPR, false, true, ppr...),
	}
	check := func(f []byte) bool {
		fr, err := t30.ParseFrame(f)
		return err == nil && fr.FCF.Known()
	}
	for _, name := range []string{"DCS", "MCF", "PPS", "PPR"} {
		want := frames[name]
		var fr hdlc.Framer
		fr.Flags(34)
		fr.Frame(want)
		var cnt hdlc.Framer
		cnt.Flags(34)
		cnt.Frame(want)
		nb := 0
		for _, ok := cnt.Bit(); ok; _, ok = cnt.Bit() {
			nb++
		}
		tx := NewTx(&fr)
		var s []int16
		buf := make([]int16, 160)
		for !tx.Done() {
			tx.Read(buf)
			s = append(s, buf...)
		}
		s = append(s, make([]int16, 480)...)
		// The frame's bits start after 34 flags: 272 bits of 26.67 samples.
		first := 272 * 80 / 3
		// Leave out the packets that touch the closing flag (its first bit is nb-8; a packet holds
		// 6 bits, plus one bit of phase).
		lastPkt := (nb-8-7)/6 - 1
		lost, total := 0, 0
		var where []int
		for _, shift := range []int{0, 7, 13, 20} { // packet phase against the bit clock
			ss := append(make([]int16, shift), s...)
			for k := first/160 - 3; k <= lastPkt; k++ {
				rx := NewRx()
				d := hdlc.NewDeframer(0)
				d.Check = check
				good := 0
				var bits []byte
				for i := 0; i+160 <= len(ss); i += 160 {
					if i/160 == k {
						d.PutGap(rx.Fillin(160))
						continue
					}
					bits = rx.Put(ss[i:i+160], bits[:0])
					for _, b := range bits {
						if d.PutBit(int(b)) == hdlc.FrameOK {
							if !bytes.Equal(d.Frame(), want) {
								t.Fatalf("%s, packet %d lost: false frame % X", name, k, d.Frame())
							}
							good++
						}
					}
				}
				total++
				if good != 1 {
					lost++
					where = append(where, k*1000+shift)
				}
			}
		}
		t.Logf("%s: frame lost at %d of %d packet positions x phases (packet*1000+phase: %v)", name, lost, total, where)
		if lost > 0 {
			t.Errorf("%s: frame lost at %d of %d positions", name, lost, total)
		}
	}
}
