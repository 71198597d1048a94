package audio

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/t30"
)

// rtpStream is one direction of RTP in a capture: payloads in sequence order.
type rtpStream struct {
	key     string
	pt      int
	seqs    []uint16
	payload map[uint16][]byte
}

// readRTP parses a classic pcap (Ethernet or Linux cooked) and returns the UDP flows that look like
// RTP, keyed "src:port>dst:port". It is deliberately small: enough for the fixtures in testdata.
func readRTP(t testing.TB, path string) map[string]*rtpStream {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatal("short pcap")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 {
		bo = binary.BigEndian
	}
	link := bo.Uint32(b[20:])
	out := map[string]*rtpStream{}
	for p := 24; p+16 <= len(b); {
		n := int(bo.Uint32(b[p+8:]))
		rec := b[p+16 : min(len(b), p+16+n)]
		p += 16 + n
		var ip []byte
		switch link {
		case 1: // Ethernet
			if len(rec) < 14 {
				continue
			}
			et, off := binary.BigEndian.Uint16(rec[12:]), 14
			if et == 0x8100 && len(rec) >= 18 {
				et, off = binary.BigEndian.Uint16(rec[16:]), 18
			}
			if et != 0x0800 {
				continue
			}
			ip = rec[off:]
		case 113: // Linux cooked
			if len(rec) < 16 || binary.BigEndian.Uint16(rec[14:]) != 0x0800 {
				continue
			}
			ip = rec[16:]
		default:
			t.Fatalf("link type %d", link)
		}
		if len(ip) < 20 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&0x0F) * 4
		if len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		rtp := udp[8:]
		if len(rtp) < 12 || rtp[0]>>6 != 2 {
			continue
		}
		key := fmt.Sprintf("%d.%d.%d.%d:%d>%d.%d.%d.%d:%d", ip[12], ip[13], ip[14], ip[15], binary.BigEndian.Uint16(udp),
			ip[16], ip[17], ip[18], ip[19], binary.BigEndian.Uint16(udp[2:]))
		hdr := 12 + 4*int(rtp[0]&0x0F)
		if rtp[0]&0x10 != 0 && len(rtp) >= hdr+4 {
			hdr += 4 + 4*int(binary.BigEndian.Uint16(rtp[hdr+2:]))
		}
		if len(rtp) < hdr {
			continue
		}
		s := out[key]
		if s == nil {
			s = &rtpStream{key: key, pt: int(rtp[1] & 0x7F), payload: map[uint16][]byte{}}
			out[key] = s
		}
		seq := binary.BigEndian.Uint16(rtp[2:])
		if _, dup := s.payload[seq]; !dup {
			s.seqs = append(s.seqs, seq)
			s.payload[seq] = rtp[hdr:]
		}
	}
	for _, s := range out {
		base := s.seqs[0]
		sort.Slice(s.seqs, func(i, j int) bool { return int16(s.seqs[i]-base) < int16(s.seqs[j]-base) })
	}
	return out
}

// monitorStream plays one RTP stream into a Monitor (gaps bridged with fill-in) and returns what it
// reported.
func monitorStream(s *rtpStream) (tones []t30.Tone, frames []t30.Frame, trained []string, gaps int, data []byte) {
	law := g711.MuLaw
	if s.pt == 8 {
		law = g711.ALaw
	}
	m := NewMonitor(law)
	prev := s.seqs[0] - 1
	for _, seq := range s.seqs {
		for missing := seq - prev - 1; missing > 0 && missing < 50; missing-- {
			m.RxFillin(Block)
			gaps++
		}
		prev = seq
		m.RxG711(s.payload[seq])
		for _, ev := range m.Events() {
			switch ev.Kind {
			case t30.EventTone:
				tones = append(tones, ev.Tone)
			case t30.EventHDLC:
				if ev.FCSOK && ev.Modulation == t30.V21 {
					if f, err := t30.ParseFrame(append([]byte(nil), ev.Frame...)); err == nil {
						frames = append(frames, f)
					}
				}
			case t30.EventData:
				data = append(data, ev.Data...)
			case t30.EventTrained:
				trained = append(trained, fmt.Sprintf("%v %d", ev.Modulation, ev.BitRate))
			case t30.EventTrainingFailed:
				trained = append(trained, fmt.Sprintf("%v %d failed", ev.Modulation, ev.BitRate))
			}
		}
	}
	return
}

func TestMonitorCaptures(t *testing.T) {
	for _, c := range []struct {
		file, stream string
		tone         t30.Tone
		wantFCF      []t30.FCF
		wantFast     string
	}{
		{"CUSTOMER_G711U", "204.101.5.68:15440>81.201.84.200:11464", t30.ToneCED, []t30.FCF{t30.FCFNSF, t30.FCFCSI, t30.FCFDIS}, ""},
		{"CUSTOMER_G711U", "208.89.128.69:47322>81.201.84.200:13030", t30.ToneCNG, nil, ""},
		{"CARRIER_G711U", "208.89.128.69:47322>81.201.84.200:13030", t30.ToneCNG, []t30.FCF{t30.FCFTSI, t30.FCFDCS}, "V.29 9600"},
	} {
		streams := readRTP(t, "testdata/asterisk-testsuite_t38_enabled_two_reinvite_on_a_leg_"+c.file+".pcap")
		s := streams[c.stream]
		if s == nil {
			t.Fatalf("%s: no stream %s (have %v)", c.file, c.stream, keys(streams))
		}
		tones, frames, trained, gaps, data := monitorStream(s)
		zeros := 0
		for _, b := range data {
			if b == 0 {
				zeros++
			}
		}
		var desc []string
		for _, f := range frames {
			desc = append(desc, t30.Describe(f))
		}
		t.Logf("%s %s: %d packets, %d gaps bridged; tones %v; frames %q; fast %v, %d data bytes (%d zero)",
			c.file, c.stream, len(s.seqs), gaps, tones, desc, trained, len(data), zeros)
		if c.wantFast != "" && (len(trained) == 0 || trained[0] != c.wantFast || zeros < 1000) {
			// TCF is 1.5 s of zeros: 1800 bytes at 9600 (T.30 §5.3.2.2); lost packets cost some.
			t.Errorf("%s %s: fast %v with %d zero bytes, want %s TCF", c.file, c.stream, trained, zeros, c.wantFast)
		}
		if len(tones) == 0 || tones[0] != c.tone {
			t.Errorf("%s %s: tones %v, want %v first", c.file, c.stream, tones, c.tone)
		}
		for _, want := range c.wantFCF {
			found := false
			for _, f := range frames {
				found = found || f.FCF == want
			}
			if !found {
				t.Errorf("%s %s: no %v frame in %q", c.file, c.stream, want, desc)
			}
		}
	}
}

func keys(m map[string]*rtpStream) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

// FuzzMonitor feeds arbitrary G.711 audio (and lost-packet marks) into the passive receiver chain:
// V.21 + HDLC deframing + DCS parsing + fast modem receivers. Properties: no panic, no runaway
// output (a good frame is never longer than the HDLC limit, data never more than the bits the
// audio could carry), and Events stay well formed. Seeded with real fax audio from testdata.
func FuzzMonitor(f *testing.F) {
	streams := readRTP(f, "testdata/asterisk-testsuite_t38_enabled_two_reinvite_on_a_leg_CUSTOMER_G711U.pcap")
	for _, key := range []string{"204.101.5.68:15440>81.201.84.200:11464", "208.89.128.69:47322>81.201.84.200:13030"} {
		s := streams[key]
		if s == nil {
			continue
		}
		for start := 0; start+40 <= len(s.seqs); start += 100 {
			var seed []byte
			for _, q := range s.seqs[start : start+40] {
				seed = append(seed, s.payload[q]...)
			}
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m := NewMonitor(g711.MuLaw)
		total := 0
		for len(in) > 0 {
			n := min(len(in), Block)
			chunk := in[:n]
			in = in[n:]
			if n < Block && n%2 == 1 {
				m.RxFillin(Block) // an odd tail marks a lost packet
				continue
			}
			m.RxG711(chunk)
			total += n
			for _, ev := range m.Events() {
				switch ev.Kind {
				case t30.EventHDLC:
					if len(ev.Frame) > 260 {
						t.Fatalf("frame of %d octets", len(ev.Frame))
					}
				case t30.EventData:
					// At most 14400 bit/s: 1.8 bytes per sample fed so far, with slack for pipelines.
					if len(ev.Data) > total*2+64 {
						t.Fatalf("%d data bytes from %d samples", len(ev.Data), total)
					}
				}
			}
		}
	})
}
