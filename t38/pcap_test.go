package t38

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// udpPayloads returns the UDP payloads of a classic libpcap file (Ethernet, Linux cooked or raw IPv4
// link types). A test-only reader: the t38 package is tier 0 and imports no capture library; the
// analyze command reads captures with gopacket's pcapgo.
func udpPayloads(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parsePcapUDP(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func parsePcapUDP(b []byte) ([][]byte, error) {
	if len(b) < 24 {
		return nil, errors.New("short pcap")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	var link uint32
	var frames [][]byte
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	case 0x0a0d0d0a:
		return pcapngUDP(b)
	default:
		return nil, errors.New("not a pcap file")
	}
	link = bo.Uint32(b[20:])
	for p := 24; p+16 <= len(b); {
		n := int(bo.Uint32(b[p+8:]))
		p += 16
		if p+n > len(b) {
			break
		}
		frames = append(frames, b[p:p+n])
		p += n
	}
	return udpOf(frames, link)
}

// pcapngUDP reads the enhanced packet blocks of a pcapng file (one interface, little-endian).
func pcapngUDP(b []byte) ([][]byte, error) {
	le := binary.LittleEndian
	var link uint32
	var frames [][]byte
	for p := 0; p+12 <= len(b); {
		typ, n := le.Uint32(b[p:]), int(le.Uint32(b[p+4:]))
		if n < 12 || p+n > len(b) {
			return nil, errors.New("bad pcapng block")
		}
		body := b[p+8 : p+n-4]
		switch typ {
		case 0x0a0d0d0a:
			if le.Uint32(body) != 0x1a2b3c4d {
				return nil, errors.New("big-endian pcapng not supported")
			}
		case 1: // interface description
			link = uint32(le.Uint16(body))
		case 6: // enhanced packet
			cl := int(le.Uint32(body[12:]))
			if 20+cl <= len(body) {
				frames = append(frames, body[20:20+cl])
			}
		}
		p += n
	}
	return udpOf(frames, link)
}

func udpOf(frames [][]byte, link uint32) ([][]byte, error) {
	var out [][]byte
	for _, frame := range frames {
		var ip []byte
		switch link {
		case 1: // Ethernet
			if len(frame) < 14 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
				continue
			}
			ip = frame[14:]
		case 113: // Linux cooked v1
			if len(frame) < 16 || binary.BigEndian.Uint16(frame[14:]) != 0x0800 {
				continue
			}
			ip = frame[16:]
		case 101, 228: // raw IPv4
			ip = frame
		default:
			return nil, errors.New("unsupported link type")
		}
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&15) * 4
		if len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		ul := int(binary.BigEndian.Uint16(udp[4:]))
		if ul < 8 || ul > len(udp) {
			continue
		}
		out = append(out, udp[8:ul])
	}
	return out, nil
}

func TestMalformedCaptureNeverPanics(t *testing.T) {
	// Asterisk testsuite AST-2016-003 stream: plausible and malformed UDPTL (testdata/pcaps/README.md).
	dgs := udpPayloads(t, "../testdata/pcaps/asterisk-testsuite_ast-2016-003_crash.pcap")
	if len(dgs) != 128 {
		t.Fatalf("%d datagrams, want 128", len(dgs))
	}
	var r Receiver
	var ifp IFP
	ok := 0
	for _, d := range dgs {
		out, err := r.Receive(d)
		if err != nil {
			continue
		}
		ok++
		for _, dl := range out {
			if dl.IFP != nil {
				_ = ifp.Unmarshal(dl.IFP, Syntax1998)
			}
		}
	}
	if ok == 0 || r.Stats.Invalid == 0 {
		t.Errorf("expected a mix of valid and invalid packets, got %d valid, stats %+v", ok, r.Stats)
	}
	t.Logf("valid %d, stats %+v", ok, r.Stats)
}

// TestStaleRTPRejected feeds the G.711 RTP of a real call (the SIPp fallback capture) to a UDPTL
// receiver, as happens when RTP still arrives on the port after the switch to T.38 (reference brief
// §1.5, §5 #30): none of it may pass as UDPTL.
func TestStaleRTPRejected(t *testing.T) {
	var r Receiver
	rtp := 0
	for _, d := range udpPayloads(t, "../testdata/pcaps/sipp-loopback_t38-reinvite-488-fallback.pcap") {
		if len(d) < 12 || d[0]>>6 != 2 {
			continue // SIP
		}
		rtp++
		if out, err := r.Receive(d); err == nil {
			t.Fatalf("RTP packet %X... accepted as UDPTL: %+v", d[:12], out)
		}
	}
	if rtp < 500 {
		t.Fatalf("only %d RTP packets in the capture", rtp)
	}
}
