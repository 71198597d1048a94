package t38

import (
	"fmt"
	"strconv"
	"strings"
)

// RateManagement is T38FaxRateManagement (T.38 §8, Annex D).
type RateManagement uint8

const (
	// LocalTCF: gateways generate and check TCF locally; TCF is not carried (T.38 §8.1, method 1).
	LocalTCF RateManagement = iota + 1
	// TransferredTCF: TCF travels end to end as t4-non-ecm-data (method 2, mandatory for UDP).
	TransferredTCF
)

func (m RateManagement) String() string {
	switch m {
	case LocalTCF:
		return "localTCF"
	case TransferredTCF:
		return "transferredTCF"
	}
	return fmt.Sprintf("RateManagement(%d)", uint8(m))
}

// UDPEC is T38FaxUdpEC: the error correction a side transmits.
type UDPEC uint8

const (
	// UDPECNone: attribute absent; secondaries are sent as an empty list.
	UDPECNone UDPEC = iota + 1
	UDPECRedundancy
	UDPECFEC
)

func (e UDPEC) String() string {
	switch e {
	case UDPECNone:
		return "none"
	case UDPECRedundancy:
		return "t38UDPRedundancy"
	case UDPECFEC:
		return "t38UDPFEC"
	}
	return fmt.Sprintf("UDPEC(%d)", uint8(e))
}

// Attribute is one SDP attribute line of an image/t38 media section, as a=Name[:Value]. HasValue
// distinguishes "a=T38FaxFillBitRemoval" from "a=T38FaxFillBitRemoval:0".
type Attribute struct {
	Name     string
	Value    string
	HasValue bool
}

// Parameters are the T.38 session parameters negotiated in SDP (T.38 Annex D; RFC 4612). The SDP
// syntax itself is parsed by the sip package; this is the mapping to and from attribute values.
type Parameters struct {
	Version         int // T38FaxVersion, 0..4
	MaxBitRate      int // T38MaxBitRate in bit/s
	RateManagement  RateManagement
	MaxBuffer       int // T38FaxMaxBuffer in octets, 0 = not stated
	MaxDatagram     int // T38FaxMaxDatagram in octets, 0 = not stated
	UDPEC           UDPEC
	FillBitRemoval  bool
	TranscodingMMR  bool
	TranscodingJBIG bool
}

// DefaultParameters is FaxSeal's offer (reference brief §0 "Offer": what FreeSWITCH, Asterisk and
// Cisco send, no fill-bit removal or transcoding).
func DefaultParameters() Parameters {
	return Parameters{Version: 0, MaxBitRate: 14400, RateManagement: TransferredTCF, MaxBuffer: 2000,
		MaxDatagram: 400, UDPEC: UDPECRedundancy}
}

// Syntax is the IFP syntax implied by the (answered) version.
func (p Parameters) Syntax() Syntax { return SyntaxForVersion(p.Version) }

// ParseAttributes reads the T38* attributes of an image media section. Unknown attributes are ignored;
// names are case-insensitive and the known aliases (T38maxBitRate, T38FaxMaxRate, T38MaxDatagram) are
// accepted. Missing attributes mean version 0, no rate cap (14400), transferredTCF and no EC (reference
// brief §6.3 SDP-1). Repeated T38FaxUdpEC lines: redundancy wins over FEC, since that is what we answer
// (rtpengine issue #1100).
func ParseAttributes(attrs []Attribute) (Parameters, error) {
	p := Parameters{MaxBitRate: 14400, RateManagement: TransferredTCF, UDPEC: UDPECNone}
	for _, a := range attrs {
		v := strings.TrimSpace(a.Value)
		switch strings.ToLower(a.Name) {
		case "t38faxversion":
			n, err := atoi(a, v)
			if err != nil {
				return p, err
			}
			p.Version = n
		case "t38maxbitrate", "t38faxmaxrate":
			n, err := atoi(a, v)
			if err != nil {
				return p, err
			}
			p.MaxBitRate = n
		case "t38faxratemanagement":
			switch strings.ToLower(v) {
			case "localtcf":
				p.RateManagement = LocalTCF
			case "transferredtcf":
				p.RateManagement = TransferredTCF
			default:
				return p, fmt.Errorf("t38: unknown T38FaxRateManagement %q", a.Value)
			}
		case "t38faxmaxbuffer":
			n, err := atoi(a, v)
			if err != nil {
				return p, err
			}
			p.MaxBuffer = n
		case "t38faxmaxdatagram", "t38maxdatagram":
			n, err := atoi(a, v)
			if err != nil {
				return p, err
			}
			p.MaxDatagram = n
		case "t38faxudpec":
			switch strings.ToLower(v) {
			case "t38udpredundancy":
				p.UDPEC = UDPECRedundancy
			case "t38udpfec":
				if p.UDPEC != UDPECRedundancy {
					p.UDPEC = UDPECFEC
				}
			case "t38udpnoec", "":
			default:
				return p, fmt.Errorf("t38: unknown T38FaxUdpEC %q", a.Value)
			}
		case "t38faxfillbitremoval":
			p.FillBitRemoval = boolAttr(a, v)
		case "t38faxtranscodingmmr":
			p.TranscodingMMR = boolAttr(a, v)
		case "t38faxtranscodingjbig":
			p.TranscodingJBIG = boolAttr(a, v)
		}
	}
	if p.Version < 0 || p.Version > 255 || p.MaxBitRate < 0 || p.MaxBuffer < 0 || p.MaxDatagram < 0 {
		return p, fmt.Errorf("t38: attribute value out of range in %+v", p)
	}
	return p, nil
}

func atoi(a Attribute, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("t38: attribute %s: %w", a.Name, err)
	}
	return n, nil
}

// boolAttr: presence means true (T.38 Annex D), but Cisco sends ":0"/":1" (reference brief §5 #23).
func boolAttr(a Attribute, v string) bool {
	if !a.HasValue {
		return true
	}
	return v != "0" && !strings.EqualFold(v, "false")
}

// Attributes renders p as SDP attribute values in the conventional order. Booleans are emitted only
// when true, as bare attributes.
func (p Parameters) Attributes() []Attribute {
	attrs := []Attribute{
		{Name: "T38FaxVersion", Value: strconv.Itoa(p.Version), HasValue: true},
		{Name: "T38MaxBitRate", Value: strconv.Itoa(p.MaxBitRate), HasValue: true},
	}
	for _, b := range []struct {
		on   bool
		name string
	}{{p.FillBitRemoval, "T38FaxFillBitRemoval"}, {p.TranscodingMMR, "T38FaxTranscodingMMR"},
		{p.TranscodingJBIG, "T38FaxTranscodingJBIG"}} {
		if b.on {
			attrs = append(attrs, Attribute{Name: b.name})
		}
	}
	rm := p.RateManagement
	if rm == 0 {
		rm = TransferredTCF
	}
	attrs = append(attrs, Attribute{Name: "T38FaxRateManagement", Value: rm.String(), HasValue: true})
	if p.MaxBuffer > 0 {
		attrs = append(attrs, Attribute{Name: "T38FaxMaxBuffer", Value: strconv.Itoa(p.MaxBuffer), HasValue: true})
	}
	if p.MaxDatagram > 0 {
		attrs = append(attrs, Attribute{Name: "T38FaxMaxDatagram", Value: strconv.Itoa(p.MaxDatagram), HasValue: true})
	}
	if p.UDPEC == UDPECRedundancy || p.UDPEC == UDPECFEC {
		attrs = append(attrs, Attribute{Name: "T38FaxUdpEC", Value: p.UDPEC.String(), HasValue: true})
	}
	return attrs
}

// Answer computes our answer to a peer's offer given our own capabilities (local): version =
// min(offer, ours), except that 1 is answered as 0; bit rate = min; rate management echoed; our own buffer and datagram sizes;
// redundancy when the peer offered any EC (we never emit FEC by default); fill-bit removal and
// transcoding never (reference brief §1.8, §5 #22).
func Answer(offer, local Parameters) Parameters {
	a := local
	a.Version = min(offer.Version, local.Version)
	if a.Version == 1 {
		// Version 1 is where implementations disagree on the IFP syntax: T.38 (2000) keeps the 1998
		// ASN.1, but spandsp 0.0.6 (inside FreeSWITCH and Asterisk) switches to the 2002 syntax from
		// version 1 on (checked: its fcs-OK-sig-end is C0 01 20 at version 1, C0 01 40 at 0). Both
		// syntaxes decode most packets, wrongly, so the mismatch is silent. Version 0 has the same
		// G3 features and one reading (reference brief §0, §5 #32).
		a.Version = 0
	}
	if offer.MaxBitRate > 0 {
		a.MaxBitRate = min(offer.MaxBitRate, local.MaxBitRate)
	}
	a.RateManagement = offer.RateManagement
	if a.RateManagement == 0 {
		a.RateManagement = TransferredTCF
	}
	switch offer.UDPEC {
	case UDPECRedundancy, UDPECFEC:
		a.UDPEC = UDPECRedundancy
	default:
		a.UDPEC = UDPECNone
	}
	a.FillBitRemoval, a.TranscodingMMR, a.TranscodingJBIG = false, false, false
	return a
}

// SenderConfig derives the UDPTL transmit settings for a session whose peer sent remote: depth
// redundancy when the peer's EC allows it (or always, since every receiver accepts redundancy
// packets, and an empty secondary list is just depth 0), trimmed to the peer's MaxDatagram. Asterisk
// defaults a missing or absurd datagram size to 400 (main/udptl.c); so do we.
func (remote Parameters) SenderConfig(depth int) SenderConfig {
	d := remote.MaxDatagram
	if d <= 0 || d > 1400 {
		d = 400
	}
	if remote.UDPEC == UDPECNone {
		depth = 0
	}
	return SenderConfig{Recovery: RecoveryRedundancy, Depth: depth, MaxDatagram: d}
}
