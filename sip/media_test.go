package sip

import (
	"math"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/pion/rtp"
)

// TestRTPPlayoutReordersAndFills sends RTP with a swapped pair and a gap into a stream and checks
// that the playout clock delivers frames in sequence order and marks the missing one lost.
func TestRTPPlayoutReordersAndFills(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	in := make(chan AudioFrame, 64)
	s := newRTPStream(conn, CodecPCMA, 8, peer.LocalAddr().(*net.UDPAddr).AddrPort(), in, nil, nil)
	s.start()
	defer s.close()
	dst := conn.LocalAddr().(*net.UDPAddr)
	send := func(seq uint16) {
		var payload [FrameSamples]byte
		for i := range payload {
			payload[i] = byte(seq)
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 7}, Payload: payload[:]}
		b, _ := p.Marshal()
		peer.WriteToUDP(b, dst)
	}
	// 100, 102, 101 (reordered), 104 (103 lost), a CN packet that must be ignored, 105.
	for _, seq := range []uint16{100, 102, 101, 104} {
		send(seq)
	}
	cn := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 13, SequenceNumber: 200}, Payload: []byte{0x40}}
	b, _ := cn.Marshal()
	peer.WriteToUDP(b, dst)
	send(105)
	want := []struct {
		seq  uint16
		lost bool
	}{{100, false}, {101, false}, {102, false}, {103, true}, {104, false}, {105, false}}
	for _, w := range want {
		select {
		case f := <-in:
			for f.Lost && f.Seq == 0 {
				f = <-in // fill frames before the playout buffer started
			}
			if f.Seq != w.seq || f.Lost != w.lost {
				t.Fatalf("frame seq %d lost %v, want %d %v", f.Seq, f.Lost, w.seq, w.lost)
			}
			if !f.Lost && f.Payload[0] != byte(w.seq) {
				t.Fatalf("frame %d carries payload of %d", w.seq, f.Payload[0])
			}
			if f.Lost && f.Payload[0] != CodecPCMA.Silence() {
				t.Fatalf("lost frame not silence")
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no frame for seq %d", w.seq)
		}
	}
	// Our clock sends continuously (silence when nothing is queued): no VAD/CN.
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	var p rtp.Packet
	var last uint16
	for i := 0; i < 5; i++ {
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil || p.PayloadType != 8 || len(p.Payload) != FrameSamples {
			t.Fatalf("bad RTP out: %v %+v", err, p.Header)
		}
		if i > 0 && p.SequenceNumber != last+1 {
			t.Fatalf("sequence gap %d -> %d", last, p.SequenceNumber)
		}
		last = p.SequenceNumber
	}
}

// TestCNGDetector checks the modem/tone adapter recognises CNG from G.711 frames.
func TestCNGDetector(t *testing.T) {
	d := NewCNGDetector()
	var pcm [FrameSamples]int16
	var frame [FrameSamples]byte
	var lin [FrameSamples]int16
	n := 0
	for i := 0; i < 40; i++ { // 0.8 s of 1100 Hz at about -12 dBm0
		for j := range pcm {
			pcm[j] = int16(4000 * math.Sin(2*math.Pi*1100*float64(n)/8000))
			n++
		}
		g711.MuLaw.Encode(frame[:], pcm[:])
		if d.Feed(decodeG711(lin[:], frame[:], CodecPCMU)) {
			return
		}
	}
	t.Fatal("CNG not detected in 0.8 s of 1100 Hz")
}

// TestUDPTLIgnoresStalePeer: a port fresh from the pool still receives a previous call's peer;
// those packets must neither reach the fax nor divert our sending, while the peer the SDP named
// is heard and answered. A peer signalling a private address (behind a NAT) is still latched.
func TestUDPTLIgnoresStalePeer(t *testing.T) {
	udp := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	addr := func(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }
	read := func(c *net.UDPConn) string {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	conn, stale, peer := udp(), udp(), udp()
	in := make(chan []byte, 8)
	s := newUDPTLStream(conn, in)
	s.setRemote(addr(peer))
	s.start()
	defer s.close()
	stale.WriteToUDPAddrPort([]byte("stale"), addr(conn))
	time.Sleep(50 * time.Millisecond)
	peer.WriteToUDPAddrPort([]byte("peer"), addr(conn))
	select {
	case d := <-in:
		if string(d) != "peer" {
			t.Fatalf("delivered %q", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the signalled peer's datagram was not delivered")
	}
	if err := s.write([]byte("to-peer")); err != nil {
		t.Fatal(err)
	}
	if got := read(peer); got != "to-peer" {
		t.Fatalf("peer read %q", got)
	}
	if s.stray.Load() != 1 {
		t.Fatalf("%d stray datagrams counted, want 1", s.stray.Load())
	}

	// NAT: the SDP names 10.0.0.7, the packets come from elsewhere: latch onto their source.
	s.setRemote(netip.MustParseAddrPort("10.0.0.7:4000"))
	nat := udp()
	nat.WriteToUDPAddrPort([]byte("nat"), addr(conn))
	select {
	case d := <-in:
		if string(d) != "nat" {
			t.Fatalf("delivered %q", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the NATed peer's datagram was not delivered")
	}
	s.write([]byte("to-nat"))
	if got := read(nat); got != "to-nat" {
		t.Fatalf("NATed peer read %q", got)
	}
	stale.WriteToUDPAddrPort([]byte("stale2"), addr(conn))
	time.Sleep(50 * time.Millisecond)
	select {
	case d := <-in:
		t.Fatalf("delivered %q after latching", d)
	default:
	}
}
