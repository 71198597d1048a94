package sip

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/pion/rtp"
)

// G.711 framing: 20 ms = 160 samples = 160 octets at 8 kHz (RFC 3551 §4.5.14, a=ptime:20).
const (
	FrameSamples  = 160
	FrameInterval = 20 * time.Millisecond
	// playoutDepth is the fixed playout delay in frames. Fax modems need a steady sample clock,
	// not a low-latency adaptive buffer (sip.md §2.1: fixed/low jitter buffer), and T.30's
	// 3 s response windows absorb 60 ms easily.
	playoutDepth = 3
	playoutRing  = 64 // frames the playout buffer can hold ahead (1.28 s)
	maxDatagram  = 1500
)

// ErrMediaClosed is returned by media writes after the call ended or the stream was stopped.
var ErrMediaClosed = errors.New("sip: media stream closed")

// ErrAudioBacklog means WriteAudio was called faster than the 20 ms clock drains frames.
var ErrAudioBacklog = errors.New("sip: audio send queue full")

// AudioFrame is one 20 ms G.711 frame in the call's negotiated law. Lost is set when the
// playout clock found no packet for the slot; Payload is then silence.
type AudioFrame struct {
	Payload [FrameSamples]byte
	Seq     uint16
	Lost    bool
}

// rtpStream sends G.711 every 20 ms without VAD/CN (RFC 3551; fax must not be silence-suppressed)
// and plays received frames out through a fixed-depth buffer on the same clock.
type rtpStream struct {
	conn   *net.UDPConn
	format atomic.Uint32 // codec<<8 | payload type: set from the answer, read by both loops
	peer   peerFilter

	resume  chan struct{}
	out     chan [FrameSamples]byte
	in      chan AudioFrame
	sending atomic.Bool
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu   sync.Mutex
	ring [playoutRing]struct {
		ok   bool
		seq  uint16
		data [FrameSamples]byte
	}
	started bool   // a first packet arrived
	next    uint16 // sequence number the playout clock delivers next
	wait    int    // ticks left before playout starts

	cng   ToneDetector // owned by clockLoop
	onCNG func()

	sent, received, lost, late, stray atomic.Uint64
}

// ToneDetector recognises the calling tone on received audio (CNG, 1100 Hz, T.30 §4.1); package
// modem/tone provides one. Feed takes one 20 ms frame of linear samples and reports whether the
// tone has been recognised (the detector needs >= 0.4 s of it: fax-protocols §3.6).
type ToneDetector interface {
	Feed(samples []int16) bool
}

func newRTPStream(conn *net.UDPConn, codec Codec, pt uint8, remote netip.AddrPort, in chan AudioFrame, cng ToneDetector, onCNG func()) *rtpStream {
	s := &rtpStream{conn: conn, out: make(chan [FrameSamples]byte, 8), in: in, resume: make(chan struct{}, 1), stop: make(chan struct{}), cng: cng, onCNG: onCNG}
	s.setFormat(codec, pt)
	s.peer.set(remote)
	s.sending.Store(true)
	return s
}

// setFormat sets the codec and payload type the answer chose; the stream may have been built
// (its port offered) before the answer was known.
func (s *rtpStream) setFormat(codec Codec, pt uint8) { s.format.Store(uint32(codec)<<8 | uint32(pt)) }

func (s *rtpStream) codec() Codec { return Codec(s.format.Load() >> 8) }
func (s *rtpStream) pt() uint8    { return uint8(s.format.Load()) }

// setActive starts or stops the 20 ms clock (sending and playout together).
func (s *rtpStream) setActive(on bool) {
	s.sending.Store(on)
	if on {
		select {
		case s.resume <- struct{}{}:
		default:
		}
	}
}

func (s *rtpStream) start() {
	s.wg.Add(2)
	go s.readLoop()
	go s.clockLoop()
}

func (s *rtpStream) close() {
	s.once.Do(func() {
		close(s.stop)
		// Unblock the reader; the socket itself is closed by the port pool.
		s.conn.SetReadDeadline(time.Unix(1, 0))
	})
	s.wg.Wait()
}

func (s *rtpStream) setRemote(a netip.AddrPort) { s.peer.set(a) }

func (s *rtpStream) readLoop() {
	defer s.wg.Done()
	buf := make([]byte, maxDatagram)
	var p rtp.Packet
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			continue // ICMP port unreachable etc. on a connectionless socket: keep reading
		}
		if err := p.Unmarshal(buf[:n]); err != nil || p.Version != 2 {
			continue
		}
		// CN (PT 13) and telephone-event are ignored: a fax stream must be continuous G.711.
		if p.PayloadType != s.pt() || len(p.Payload) == 0 {
			continue
		}
		if !s.peer.accept(src) {
			s.stray.Add(1)
			continue
		}
		s.received.Add(1)
		s.push(p.SequenceNumber, p.Payload)
	}
}

func (s *rtpStream) push(seq uint16, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.next = seq
		s.wait = playoutDepth
	}
	d := int16(seq - s.next)
	if d < 0 {
		s.late.Add(1)
		return
	}
	if int(d) >= playoutRing {
		// A jump (peer restarted its stream): resynchronise rather than play a second of silence.
		for i := range s.ring {
			s.ring[i].ok = false
		}
		s.next = seq
		s.wait = playoutDepth
	}
	slot := &s.ring[seq%playoutRing]
	slot.ok, slot.seq = true, seq
	n := copy(slot.data[:], payload)
	for i := n; i < FrameSamples; i++ {
		slot.data[i] = s.codec().Silence()
	}
}

// pull returns the frame due at this tick.
func (s *rtpStream) pull() (AudioFrame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.wait > 0 {
		// Nothing to play yet: still one (silent, lost) frame per tick, so the consumer's clock
		// never stops (a fax modem needs every 20 ms block, received or not).
		if s.started {
			s.wait--
		}
		f := AudioFrame{Lost: true}
		for i := range f.Payload {
			f.Payload[i] = s.codec().Silence()
		}
		return f, true
	}
	f := AudioFrame{Seq: s.next}
	slot := &s.ring[s.next%playoutRing]
	if slot.ok && slot.seq == s.next {
		f.Payload = slot.data
		slot.ok = false
	} else {
		f.Lost = true
		for i := range f.Payload {
			f.Payload[i] = s.codec().Silence()
		}
		s.lost.Add(1)
	}
	s.next++
	return f, true
}

func (s *rtpStream) clockLoop() {
	defer s.wg.Done()
	hdr := rtp.Header{Version: 2, PayloadType: s.pt(), SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), SSRC: rand.Uint32(), Marker: true}
	pkt := make([]byte, 12+FrameSamples)
	var linear [FrameSamples]int16
	var silence [FrameSamples]byte
	for i := range silence {
		silence[i] = s.codec().Silence()
	}
	t := time.NewTicker(FrameInterval)
	defer t.Stop()
	for {
		if !s.sending.Load() {
			// Inactive (before answer, or while the call is on T.38): no RTP at all (fax-protocols
			// §3.6: stop RTP before the first UDPTL packet) and no wake-ups.
			t.Stop()
			select {
			case <-s.stop:
				return
			case <-s.resume:
			}
			t.Reset(FrameInterval)
			continue
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if !s.sending.Load() {
			continue
		}
		if codec := s.codec(); silence[0] != codec.Silence() {
			for i := range silence {
				silence[i] = codec.Silence()
			}
		}
		hdr.PayloadType = s.pt()
		frame := silence
		select {
		case frame = <-s.out:
		default:
		}
		if r := s.peer.remote.Load(); r != nil {
			n, err := hdr.MarshalTo(pkt)
			if err == nil {
				copy(pkt[n:], frame[:])
				if _, err := s.conn.WriteToUDPAddrPort(pkt[:n+FrameSamples], *r); err == nil {
					s.sent.Add(1)
				}
			}
		}
		hdr.Marker = false
		hdr.SequenceNumber++
		hdr.Timestamp += FrameSamples
		if f, ok := s.pull(); ok {
			if s.cng != nil && !f.Lost && s.cng.Feed(decodeG711(linear[:], f.Payload[:], s.codec())) {
				s.cng = nil
				s.onCNG()
			}
			select {
			case s.in <- f:
			default:
				// The consumer is behind: dropping keeps the clock honest (a modem would see a
				// slip either way, and blocking here would stall sending too).
			}
		}
	}
}

// udptlStream carries UDPTL datagrams (T.38 §9) unchanged between the socket and the call.
type udptlStream struct {
	conn *net.UDPConn
	peer peerFilter
	in   chan []byte
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	sent, received, dropped, stray atomic.Uint64
}

func newUDPTLStream(conn *net.UDPConn, in chan []byte) *udptlStream {
	return &udptlStream{conn: conn, in: in, stop: make(chan struct{})}
}

func (s *udptlStream) setRemote(a netip.AddrPort) { s.peer.set(a) }

func (s *udptlStream) start() {
	s.wg.Add(1)
	go s.readLoop()
}

func (s *udptlStream) close() {
	s.once.Do(func() {
		close(s.stop)
		s.conn.SetReadDeadline(time.Unix(1, 0))
	})
	s.wg.Wait()
}

func (s *udptlStream) readLoop() {
	defer s.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			continue
		}
		if n == 0 {
			continue
		}
		if !s.peer.accept(src) {
			s.stray.Add(1)
			continue
		}
		s.received.Add(1)
		d := make([]byte, n)
		copy(d, buf[:n])
		select {
		case s.in <- d:
		default:
			s.dropped.Add(1)
		}
	}
}

func (s *udptlStream) write(p []byte) error {
	select {
	case <-s.stop:
		return ErrMediaClosed
	default:
	}
	r := s.peer.remote.Load()
	if r == nil {
		return nil // peer address unknown yet (c=0.0.0.0): T.38 redundancy covers the first packets
	}
	if _, err := s.conn.WriteToUDPAddrPort(p, *r); err != nil {
		return err
	}
	s.sent.Add(1)
	return nil
}

func decodeG711(dst []int16, src []byte, c Codec) []int16 {
	law := g711.MuLaw
	if c == CodecPCMA {
		law = g711.ALaw
	}
	return law.Decode(dst, src)
}

// peerFilter decides which source a media socket listens to and sends to. The port pool hands
// out ports another call (in this process or another one on the host) released moments ago, and
// that call's peer may still be sending to it: redundant UDPTL copies, keep-alives, 20 ms RTP
// until its BYE lands. Latching onto the first packet from anywhere (plain comedia) then sends
// our whole T.30 exchange to that stale peer while the real one never hears us: a fax that
// fails with "DCS answered by DIS" three times, which is what a loaded `make test` showed.
// So, as Asterisk's strictrtp and RFC 4961 (symmetric RTP) suggest, a packet is accepted only
// from the address the SDP signalled; latching onto another source (symmetric RTP through a
// NAT) is allowed only when the SDP address cannot be the packets' source anyway: unspecified
// (c=0.0.0.0, RFC 3264 §8.4 hold / not yet known) or a private address (RFC 1918/4193) behind
// a NAT. Once latched, packets from other sources are dropped.
type peerFilter struct {
	remote    atomic.Pointer[netip.AddrPort] // where we send
	signalled atomic.Pointer[netip.AddrPort] // the SDP address, nil when unspecified
	latched   atomic.Bool                    // remote was learned from a packet
}

// set takes the SDP address of a (new) answer or offer; an unspecified one keeps the current
// destination until a packet shows the peer's address.
func (f *peerFilter) set(a netip.AddrPort) {
	f.latched.Store(false)
	if !a.IsValid() || a.Addr().IsUnspecified() {
		f.signalled.Store(nil)
		return
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	f.signalled.Store(&a)
	f.remote.Store(&a)
}

// accept reports whether a packet from src belongs to the call, latching when allowed.
func (f *peerFilter) accept(src netip.AddrPort) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	sig := f.signalled.Load()
	if sig != nil && src == *sig {
		if f.latched.Load() {
			// The signalled address speaks after all: it wins over a learned guess.
			f.remote.Store(sig)
			f.latched.Store(false)
		}
		return true
	}
	if f.latched.Load() {
		r := f.remote.Load()
		return r != nil && src == *r
	}
	if sig != nil && !sig.Addr().IsPrivate() {
		return false // a routable or loopback SDP address is the only source we believe
	}
	f.remote.Store(&src)
	f.latched.Store(true)
	return true
}
