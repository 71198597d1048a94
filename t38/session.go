package t38

import (
	"bytes"
	"errors"
	"fmt"
)

// ringSize is the number of past IFPs a Sender keeps for redundancy/FEC and a Receiver keeps for FEC
// repair (spandsp/Asterisk/FreeSWITCH use a 16-packet ring, UDPTL_BUF_MASK 15).
const ringSize = 16

// SenderConfig sets how a Sender protects packets (T.38 §9.1; reference brief §0 "Error recovery tx").
type SenderConfig struct {
	// Recovery is RecoveryRedundancy (the default when zero) or RecoveryFEC.
	Recovery Recovery
	// Depth is the number of secondary IFPs (redundancy) or of parity entries per packet (FEC).
	// At most 15. Zero with redundancy sends an empty secondary list ("no error correction").
	Depth int
	// ImageDepth, if non-zero, overrides Depth for packets carrying fast-modem data (image, TCF, ECM
	// frames); -1 means none. Control traffic (V.21, indicators) is what a call cannot afford to lose,
	// while image data has ECM or copy-quality checks behind it, so gateways set the two separately
	// (Cisco "low-speed"/"high-speed" redundancy; reference brief §0, §1.8). Redundancy only.
	ImageDepth int
	// FECSpan is the number of IFPs each parity entry covers (FEC only); Depth*FECSpan <= 15.
	FECSpan int
	// MaxDatagram is the peer's T38FaxMaxDatagram, taken as the limit for the whole UDPTL payload
	// (the strictest reading, reference brief §5 #12); 0 means no limit. Secondaries are dropped,
	// oldest first, to stay within it.
	MaxDatagram int
	// InitialSeq is the first sequence number. Zero is usual; a transport restarted on the same port
	// (after a re-INVITE) may continue where it was, and tests use it to cross the 65535 -> 0 wrap.
	InitialSeq uint16
}

// ErrDatagramTooLarge is returned when even the unprotected packet exceeds the peer's MaxDatagram.
var ErrDatagramTooLarge = errors.New("t38: UDPTL packet exceeds the peer's T38FaxMaxDatagram")

// Sender numbers IFPs and wraps them in UDPTL with redundancy or FEC.
type Sender struct {
	cfg  SenderConfig
	seq  uint16
	sent int // packets sent since start, for the wind-up of redundancy/FEC
	ring [ringSize][]byte
	pkt  Packet
	out  []byte
	fec  [ringSize][]byte
}

// NewSender returns a Sender starting at sequence number 0.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.Recovery == 0 {
		cfg.Recovery = RecoveryRedundancy
	}
	switch {
	case cfg.Recovery != RecoveryRedundancy && cfg.Recovery != RecoveryFEC:
		return nil, fmt.Errorf("t38: unknown recovery %v", cfg.Recovery)
	case cfg.Depth < 0 || cfg.Depth >= ringSize:
		return nil, fmt.Errorf("t38: recovery depth %d outside 0..15", cfg.Depth)
	case cfg.ImageDepth < -1 || cfg.ImageDepth >= ringSize:
		return nil, fmt.Errorf("t38: image recovery depth %d outside -1..15", cfg.ImageDepth)
	case cfg.Recovery == RecoveryFEC && (cfg.FECSpan < 1 || cfg.FECSpan*cfg.Depth >= ringSize):
		return nil, fmt.Errorf("t38: FEC span %d x entries %d outside the 16-packet window", cfg.FECSpan, cfg.Depth)
	case cfg.MaxDatagram < 0:
		return nil, errors.New("t38: negative MaxDatagram")
	}
	return &Sender{cfg: cfg, seq: cfg.InitialSeq}, nil
}

// SetMaxDatagram changes the peer limit (e.g. after a re-INVITE).
func (s *Sender) SetMaxDatagram(n int) { s.cfg.MaxDatagram = n }

// Seq is the sequence number the next packet will carry.
func (s *Sender) Seq() uint16 { return s.seq }

// Packet wraps one encoded IFP in the next UDPTL packet. The result aliases an internal buffer valid
// until the next call. Repeats of a key packet (T.38 terminal INDICATOR_TX_COUNT) are sent as copies
// of the same datagram, which receivers drop by sequence number.
func (s *Sender) Packet(ifp []byte) ([]byte, error) {
	p := &s.pkt
	p.Seq, p.Primary, p.Recovery = s.seq, ifp, s.cfg.Recovery
	p.Secondary, p.FEC, p.FECSpan = p.Secondary[:0], p.FEC[:0], 0
	n := s.sent
	if s.cfg.Recovery == RecoveryRedundancy {
		// Wind-up: only as many secondaries as packets already sent (FreeSWITCH udptl_build_packet).
		depth := s.cfg.Depth
		if s.cfg.ImageDepth != 0 && isImageData(ifp) {
			depth = max(s.cfg.ImageDepth, 0)
		}
		for i := 0; i < depth && i < n; i++ {
			p.Secondary = append(p.Secondary, s.ring[(n-1-i)%ringSize])
		}
		for s.cfg.MaxDatagram > 0 && len(p.Secondary) > 0 && p.MarshalSize() > s.cfg.MaxDatagram {
			p.Secondary = p.Secondary[:len(p.Secondary)-1]
		}
	} else {
		// T.38 Annex C parity: entry m of packet n is the XOR of IFPs n+m-k*E, k = 1..S; during
		// wind-up E = n/S, and no entries while n < S.
		span, entries := s.cfg.FECSpan, s.cfg.Depth
		if n < span*entries {
			entries = n / span
		}
		if entries == 0 {
			span = 0
		}
		p.FECSpan = span
		for m := 0; m < entries; m++ {
			e := s.fec[m][:0]
			for k := 1; k <= span; k++ {
				e = xorInto(e, s.ring[(n+m-k*entries)%ringSize])
			}
			s.fec[m] = e
			p.FEC = append(p.FEC, e)
		}
		if s.cfg.MaxDatagram > 0 && p.MarshalSize() > s.cfg.MaxDatagram {
			// Parity groups depend on the entry count, so entries cannot be trimmed one by one.
			p.FEC, p.FECSpan = p.FEC[:0], 0
		}
	}
	if s.cfg.MaxDatagram > 0 && p.MarshalSize() > s.cfg.MaxDatagram {
		return nil, fmt.Errorf("%w: %d > %d", ErrDatagramTooLarge, p.MarshalSize(), s.cfg.MaxDatagram)
	}
	out, err := p.Append(s.out[:0])
	if err != nil {
		return nil, err
	}
	s.out = out
	s.ring[n%ringSize] = append(s.ring[n%ringSize][:0], ifp...)
	s.sent++
	s.seq++
	return out, nil
}

// isImageData reports whether an encoded IFP is a data packet of a fast modem. The first octet has the
// same layout in both syntaxes (reference brief §1.2): D T E value(4) 0; T = 1 data, value 0 = V.21.
func isImageData(ifp []byte) bool {
	return len(ifp) > 0 && ifp[0]&0x40 != 0 && ifp[0]&0x3E != 0
}

// xorInto XORs src into dst, zero-extending the shorter (T.38 Annex C).
func xorInto(dst, src []byte) []byte {
	for len(dst) < len(src) {
		dst = append(dst, 0)
	}
	for i, b := range src {
		dst[i] ^= b
	}
	return dst
}

// Delivery is one item a Receiver hands on, in sequence order: an IFP (received, or recovered from
// redundancy or FEC), or a run of Lost packets that could not be recovered.
type Delivery struct {
	Seq       uint16
	IFP       []byte // nil for a lost run
	Lost      int    // number of consecutive lost packets starting at Seq
	Recovered bool   // IFP came from a secondary or from FEC parity
}

// ReceiverStats counts what a Receiver saw.
type ReceiverStats struct {
	Packets, Duplicates, Late, Recovered, Lost, Restarts, Invalid int
}

// Receiver reorders nothing and waits for nothing: like spandsp's t38_core_rx_ifp_packet it hands on
// each packet as it arrives, filling a gap from the new packet's redundancy or FEC, and drops
// duplicates and late packets. It accepts redundancy and FEC packets even when intermixed, whatever
// the SDP said (reference brief §0).
type Receiver struct {
	started  bool
	expected uint16
	ring     [ringSize]ringSlot
	pkt      Packet
	out      []Delivery
	Stats    ReceiverStats

	// A packet from far behind, held to see whether the peer restarted its numbering.
	farHeld bool
	farSeq  uint16
	farBuf  []byte
}

type ringSlot struct {
	seq   uint16
	valid bool
	buf   []byte
}

// seqWindow is how far a sequence number may jump before it is taken as a restart rather than
// loss or lateness (spandsp t38_core.c ACCEPTABLE_SEQ_NO_OFFSET).
const seqWindow = 2000

// Receive takes one datagram and returns what becomes deliverable, in order. The result and the IFP
// slices in it are valid until the next call. A decode error means the datagram was dropped (garbage,
// or RTP still arriving on the port after the switch to T.38).
func (r *Receiver) Receive(datagram []byte) ([]Delivery, error) {
	r.out = r.out[:0]
	p := &r.pkt
	if err := p.Unmarshal(datagram); err != nil {
		r.Stats.Invalid++
		return nil, err
	}
	r.Stats.Packets++
	d := int(int16(p.Seq - r.expected))
	switch {
	case !r.started:
		r.started = true
	case d < 0 && d > -seqWindow:
		// Includes the same seq as the previous packet: the repeats of key packets are exact copies.
		if d == -1 {
			r.Stats.Duplicates++
			return nil, nil
		}
		if d > -ringSize {
			r.Stats.Late++
			return nil, nil
		}
		// Far behind: no network reorders by 16 packets, but a peer that restarts at 0 or 1 (after a
		// re-INVITE, reference brief §5 #29) lands here, inside spandsp's 2000 window. Hold the packet;
		// if the next one continues from it, the peer restarted.
		if r.farHeld && p.Seq == r.farSeq+1 {
			r.Stats.Restarts++
			r.ring = [ringSize]ringSlot{}
			r.farHeld = false
			r.store(r.farSeq, r.farBuf)
			r.out = append(r.out, Delivery{Seq: r.farSeq, IFP: r.ring[r.farSeq%ringSize].buf})
			break
		}
		if !r.farHeld || p.Seq != r.farSeq {
			r.Stats.Late++
		} else {
			r.Stats.Duplicates++
		}
		r.farHeld, r.farSeq = true, p.Seq
		r.farBuf = append(r.farBuf[:0], p.Primary...)
		return nil, nil
	case d >= seqWindow || d <= -seqWindow:
		r.Stats.Restarts++
		r.ring = [ringSize]ringSlot{}
	case d > 0:
		if r.expected == 0 && d == 1 && r.wrapGlitch(p) {
			// Some peers wrap 0xFFFF -> 0x0001 (reference brief §1.5): no packet 0 was ever sent.
			break
		}
		r.fillGap(p, d)
	}
	r.farHeld = false
	r.store(p.Seq, p.Primary)
	r.out = append(r.out, Delivery{Seq: p.Seq, IFP: p.Primary})
	r.expected = p.Seq + 1
	return r.out, nil
}

func (r *Receiver) wrapGlitch(p *Packet) bool {
	last := &r.ring[0xFFFF%ringSize]
	if !last.valid || last.seq != 0xFFFF {
		return false
	}
	if p.Recovery == RecoveryRedundancy && len(p.Secondary) > 0 {
		return bytes.Equal(p.Secondary[0], last.buf)
	}
	return false
}

// fillGap delivers packets expected..p.Seq-1 from p's recovery data, or reports them lost.
func (r *Receiver) fillGap(p *Packet, gap int) {
	lostStart, lost := uint16(0), 0
	flush := func() {
		if lost > 0 {
			r.out = append(r.out, Delivery{Seq: lostStart, Lost: lost})
			r.Stats.Lost += lost
			lost = 0
		}
	}
	for i := gap; i >= 1; i-- {
		seq := p.Seq - uint16(i)
		ifp := r.recover(p, seq, i)
		if ifp == nil {
			if lost == 0 {
				lostStart = seq
			}
			lost++
			continue
		}
		flush()
		r.Stats.Recovered++
		// The delivery aliases the datagram (or a fresh FEC repair), not the ring: a long gap may
		// reuse a ring slot before the caller has read the earlier delivery.
		r.store(seq, ifp)
		r.out = append(r.out, Delivery{Seq: seq, IFP: ifp, Recovered: true})
	}
	flush()
}

// recover finds the IFP of seq (= p.Seq - back) in p's secondaries or FEC parity.
func (r *Receiver) recover(p *Packet, seq uint16, back int) []byte {
	if p.Recovery == RecoveryRedundancy {
		if back-1 < len(p.Secondary) && len(p.Secondary[back-1]) > 0 {
			return p.Secondary[back-1]
		}
		return nil
	}
	e, s := len(p.FEC), p.FECSpan
	if e == 0 || s == 0 || e*s >= ringSize*2 {
		return nil
	}
	// Entry m covers p.Seq+m-k*e for k = 1..s: seq is in entry m when back ≡ -m (mod e).
	m := (e - back%e) % e
	k0 := (back + m) / e
	if k0 < 1 || k0 > s {
		return nil
	}
	var tmp []byte
	slot := &r.ring[seq%ringSize]
	tmp = append(slot.buf[:0:0], p.FEC[m]...) // fresh copy; repair is rare
	for k := 1; k <= s; k++ {
		if k == k0 {
			continue
		}
		other := p.Seq + uint16(m) - uint16(k*e)
		o := &r.ring[other%ringSize]
		if !o.valid || o.seq != other {
			return nil
		}
		tmp = xorInto(tmp, o.buf)
	}
	// Members were zero-extended to the longest; the IFP decoder accepts the trailing zeros.
	return tmp
}

func (r *Receiver) store(seq uint16, ifp []byte) []byte {
	s := &r.ring[seq%ringSize]
	s.seq, s.valid = seq, true
	s.buf = append(s.buf[:0], ifp...)
	return s.buf
}

// Reset forgets all state, as after a re-INVITE to a new UDPTL session.
func (r *Receiver) Reset() { *r = Receiver{} }
