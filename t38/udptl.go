package t38

import (
	"errors"
	"fmt"
)

// Recovery is the UDPTL error-recovery CHOICE (T.38 §9.1, Annex C).
type Recovery uint8

const (
	// RecoveryRedundancy: secondary-ifp-packets, copies of the previous IFPs, most recent first.
	RecoveryRedundancy Recovery = iota + 1
	// RecoveryFEC: fec-info, parity over groups of previous IFPs (T.38 Annex C).
	RecoveryFEC
)

func (r Recovery) String() string {
	switch r {
	case RecoveryRedundancy:
		return "redundancy"
	case RecoveryFEC:
		return "fec"
	}
	return fmt.Sprintf("Recovery(%d)", uint8(r))
}

// Packet is one UDPTL datagram (T.38 §9.1 UDPTLPacket). Primary and the recovery entries are encoded
// IFPs (open types); after Unmarshal they alias the datagram.
type Packet struct {
	Seq      uint16
	Primary  []byte
	Recovery Recovery
	// Secondary holds the IFPs of Seq-1, Seq-2, ... (RecoveryRedundancy).
	Secondary [][]byte
	// FECSpan is fec-npackets and FEC the parity entries (RecoveryFEC).
	FECSpan int
	FEC     [][]byte
}

// ErrInvalidUDPTL wraps every UDPTL decode error.
var ErrInvalidUDPTL = errors.New("t38: invalid UDPTL packet")

// Receive limits. Real peers send at most a handful of recovery entries (Asterisk rejects FEC with more
// than 5 entries, main/udptl.c MAX_FEC_ENTRIES); bounding them keeps a hostile packet from costing
// memory or time (the AST-2016-003 capture is such a stream).
const (
	maxSecondary  = 100
	maxFECEntries = 32
	maxFECSpan    = 32
)

// MarshalSize returns the encoded length of p.
func (p *Packet) MarshalSize() int {
	n := 2 + openTypeSize(p.Primary) + 1
	switch p.Recovery {
	case RecoveryFEC:
		n += 2 + lengthDetSize(len(p.FEC)) // span as INTEGER: length octet + one value octet
		if p.FECSpan > 127 {
			n++
		}
		for _, e := range p.FEC {
			n += lengthDetSize(len(e)) + len(e)
		}
	default:
		n += lengthDetSize(len(p.Secondary))
		for _, s := range p.Secondary {
			n += openTypeSize(s)
			if len(s) == 0 {
				n--
			}
		}
	}
	return n
}

func openTypeSize(b []byte) int {
	if len(b) == 0 {
		return 2 // X.691 §10.2.1: an empty open type is encoded as one zero octet, length 1
	}
	return lengthDetSize(len(b)) + len(b)
}

// Marshal encodes p into a new slice.
func (p *Packet) Marshal() ([]byte, error) { return p.Append(make([]byte, 0, p.MarshalSize())) }

// Append appends the encoding of p to dst; it does not allocate when dst has MarshalSize spare capacity.
func (p *Packet) Append(dst []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return dst, err
	}
	w := bitWriter{b: dst}
	w.b = append(w.b, byte(p.Seq>>8), byte(p.Seq))
	writeOpenType(&w, p.Primary)
	if p.Recovery == RecoveryFEC {
		w.bits(1, 1)
		// fec-npackets INTEGER (unconstrained): length octet, then the minimal two's-complement value.
		if p.FECSpan > 127 {
			w.lengthDet(2)
			w.b = append(w.b, byte(p.FECSpan>>8), byte(p.FECSpan))
		} else {
			w.lengthDet(1)
			w.b = append(w.b, byte(p.FECSpan))
		}
		w.lengthDet(len(p.FEC))
		for _, e := range p.FEC {
			w.lengthDet(len(e))
			w.b = append(w.b, e...)
		}
		return w.b, nil
	}
	w.bits(0, 1)
	w.lengthDet(len(p.Secondary))
	for _, s := range p.Secondary {
		// An empty secondary (seen in the AST-2016-003 stream) is echoed as a zero length, so a
		// decoded packet re-encodes to what was received; our own Sender never produces one.
		if len(s) == 0 {
			w.lengthDet(0)
			continue
		}
		writeOpenType(&w, s)
	}
	return w.b, nil
}

func writeOpenType(w *bitWriter, b []byte) {
	if len(b) == 0 {
		w.lengthDet(1)
		w.b = append(w.b, 0)
		return
	}
	w.lengthDet(len(b))
	w.b = append(w.b, b...)
}

func (p *Packet) check() error {
	if len(p.Primary) == 0 || len(p.Primary) >= 16384 {
		return errors.New("t38: primary IFP too long for UDPTL")
	}
	switch p.Recovery {
	case RecoveryRedundancy, 0:
		if len(p.Secondary) >= 16384 {
			return errors.New("t38: too many secondary IFPs")
		}
		for _, s := range p.Secondary {
			if len(s) >= 16384 {
				return errors.New("t38: secondary IFP too long")
			}
		}
	case RecoveryFEC:
		if p.FECSpan < 0 || p.FECSpan > 0x7FFF || len(p.FEC) >= 16384 {
			return errors.New("t38: FEC span or entry count out of range")
		}
		for _, e := range p.FEC {
			if len(e) >= 16384 {
				return errors.New("t38: FEC entry too long")
			}
		}
	default:
		return fmt.Errorf("t38: unknown UDPTL recovery %v", p.Recovery)
	}
	return nil
}

// Unmarshal decodes a UDPTL datagram into p, reusing p's slices; the byte fields alias b. The whole
// datagram must be consumed: this, with the IFP check the receiver makes, is what tells a UDPTL packet
// from stale RTP arriving on the port after a re-INVITE (reference brief §1.5).
func (p *Packet) Unmarshal(b []byte) error {
	if err := p.unmarshal(b); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidUDPTL, err)
	}
	return nil
}

func (p *Packet) unmarshal(b []byte) error {
	p.Secondary, p.FEC, p.FECSpan, p.Recovery = p.Secondary[:0], p.FEC[:0], 0, 0
	r := bitReader{b: b}
	seq, err := r.bits(16)
	if err != nil {
		return err
	}
	p.Seq = uint16(seq)
	if p.Primary, err = readOpenType(&r); err != nil {
		return err
	}
	if len(p.Primary) == 0 {
		return errors.New("empty primary IFP")
	}
	choice, err := r.bits(1)
	if err != nil {
		return err
	}
	if choice == 0 {
		p.Recovery = RecoveryRedundancy
		n, err := r.lengthDet()
		if err != nil {
			return err
		}
		if n > maxSecondary {
			return fmt.Errorf("%d secondary IFPs", n)
		}
		for i := 0; i < n; i++ {
			s, err := readOpenType(&r)
			if err != nil {
				return err
			}
			p.Secondary = append(p.Secondary, s)
		}
	} else {
		p.Recovery = RecoveryFEC
		l, err := r.lengthDet()
		if err != nil {
			return err
		}
		if l < 1 || l > 2 {
			return fmt.Errorf("fec-npackets of %d octets", l)
		}
		v, err := r.bytes(l)
		if err != nil {
			return err
		}
		span := int(v[0])
		if l == 2 {
			span = span<<8 | int(v[1])
		}
		if span > maxFECSpan || v[0]&0x80 != 0 {
			return fmt.Errorf("fec-npackets %d out of range", span)
		}
		p.FECSpan = span
		n, err := r.lengthDet()
		if err != nil {
			return err
		}
		if n > maxFECEntries {
			return fmt.Errorf("%d FEC entries", n)
		}
		for i := 0; i < n; i++ {
			ln, err := r.lengthDet()
			if err != nil {
				return err
			}
			e, err := r.bytes(ln)
			if err != nil {
				return err
			}
			p.FEC = append(p.FEC, e)
		}
	}
	r.align()
	if r.octet() != len(b) {
		return fmt.Errorf("%d trailing octets", len(b)-r.octet())
	}
	return nil
}

// readOpenType reads a length-prefixed open type. (An empty open type is sent as the single octet 0x00,
// X.691 §10.2.1, which as an IFP reads as the no-signal indicator; no peer sends an empty primary.)
func readOpenType(r *bitReader) ([]byte, error) {
	n, err := r.lengthDet()
	if err != nil {
		return nil, err
	}
	return r.bytes(n)
}
