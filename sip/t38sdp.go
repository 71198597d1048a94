package sip

import (
	"strconv"
	"strings"
)

// UDPEC is the UDPTL error-correction scheme of T.38 Annex D (T38FaxUdpEC).
type UDPEC int

const (
	ECInvalid    UDPEC = iota
	ECNone             // attribute absent or unknown value: no secondary IFPs
	ECRedundancy       // t38UDPRedundancy
	ECFEC              // t38UDPFEC
)

func (e UDPEC) String() string {
	switch e {
	case ECNone:
		return "none"
	case ECRedundancy:
		return "t38UDPRedundancy"
	case ECFEC:
		return "t38UDPFEC"
	}
	return "invalid"
}

// Rate management values (T.38 §8.1/8.2); over UDP only transferredTCF is meaningful.
const (
	TransferredTCF = "transferredTCF"
	LocalTCF       = "localTCF"
)

// T38Params are the T.38 session parameters of one m=image udptl t38 section (T.38 Annex D.2.3).
type T38Params struct {
	Version         int
	MaxBitRate      int
	RateManagement  string
	MaxBuffer       int
	MaxDatagram     int // the largest UDPTL payload the side that wrote it accepts
	EC              UDPEC
	FillBitRemoval  bool
	TranscodingMMR  bool
	TranscodingJBIG bool
}

// T.38 defaults applied when a peer sends a bare m=image line (the 2008 Wireshark sample does):
// version 0, 14400 bit/s, transferredTCF (T.38 Annex D.2.3 says absent version means 0).
const (
	defaultT38MaxBitRate  = 14400
	defaultT38MaxDatagram = 400
)

// ParseT38 reads the T38Fax* attributes of m. Names are matched case-insensitively and the
// aliases T38FaxMaxRate / T38MaxDatagram accepted. Booleans are true when bare or ":1"/":true"
// and false when absent or ":0"/":false" (Cisco sends the value form; fax-protocols §1.8).
// Unparseable numbers fall back to the defaults rather than failing the call.
func ParseT38(m *Media) T38Params {
	p := T38Params{MaxBitRate: defaultT38MaxBitRate, RateManagement: TransferredTCF, MaxDatagram: defaultT38MaxDatagram, EC: ECNone}
	for _, a := range m.Attrs {
		k := strings.ToLower(a.Key)
		switch k {
		case "t38faxversion":
			if n, ok := atoiRange(a.Value, 0, 255); ok {
				p.Version = n
			}
		case "t38maxbitrate", "t38faxmaxrate":
			if n, ok := atoiRange(a.Value, 1, 1<<20); ok {
				p.MaxBitRate = n
			}
		case "t38faxratemanagement":
			switch strings.ToLower(a.Value) {
			case "transferredtcf":
				p.RateManagement = TransferredTCF
			case "localtcf":
				p.RateManagement = LocalTCF
			}
		case "t38faxmaxbuffer":
			if n, ok := atoiRange(a.Value, 1, 1<<20); ok {
				p.MaxBuffer = n
			}
		case "t38faxmaxdatagram", "t38maxdatagram":
			if n, ok := atoiRange(a.Value, 1, 65535); ok {
				p.MaxDatagram = n
			}
		case "t38faxudpec":
			switch strings.ToLower(a.Value) {
			case "t38udpredundancy":
				p.EC = ECRedundancy
			case "t38udpfec":
				p.EC = ECFEC
			default:
				p.EC = ECNone
			}
		case "t38faxfillbitremoval":
			p.FillBitRemoval = attrBool(a)
		case "t38faxtranscodingmmr":
			p.TranscodingMMR = attrBool(a)
		case "t38faxtranscodingjbig":
			p.TranscodingJBIG = attrBool(a)
		}
	}
	return p
}

func attrBool(a Attr) bool {
	if !a.HasValue {
		return true
	}
	switch strings.ToLower(a.Value) {
	case "1", "true", "on", "yes", "":
		return true
	}
	return false
}

func atoiRange(s string, lo, hi int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// Attrs renders p as a= lines in the order of T.38 Annex D examples. Booleans are written only
// when true and in the bare form, which every parser reads as true.
func (p T38Params) Attrs() []Attr {
	a := []Attr{
		{Key: "T38FaxVersion", Value: strconv.Itoa(p.Version), HasValue: true},
		{Key: "T38MaxBitRate", Value: strconv.Itoa(p.MaxBitRate), HasValue: true},
	}
	if p.FillBitRemoval {
		a = append(a, Attr{Key: "T38FaxFillBitRemoval"})
	}
	if p.TranscodingMMR {
		a = append(a, Attr{Key: "T38FaxTranscodingMMR"})
	}
	if p.TranscodingJBIG {
		a = append(a, Attr{Key: "T38FaxTranscodingJBIG"})
	}
	a = append(a, Attr{Key: "T38FaxRateManagement", Value: orDefault(p.RateManagement, TransferredTCF), HasValue: true})
	if p.MaxBuffer > 0 {
		a = append(a, Attr{Key: "T38FaxMaxBuffer", Value: strconv.Itoa(p.MaxBuffer), HasValue: true})
	}
	if p.MaxDatagram > 0 {
		a = append(a, Attr{Key: "T38FaxMaxDatagram", Value: strconv.Itoa(p.MaxDatagram), HasValue: true})
	}
	if p.EC == ECRedundancy || p.EC == ECFEC {
		a = append(a, Attr{Key: "T38FaxUdpEC", Value: p.EC.String(), HasValue: true})
	}
	return a
}

// AnswerT38 computes our answer to a T.38 offer under our own limits (T.38 Annex D.2.3):
// version and bit rate are min(offer, ours); rate management is echoed (it is the one mandatory
// attribute and the answerer must not change it); the buffer and datagram sizes are ours
// (declarative); EC falls back to redundancy, which every receiver decodes, unless both sides
// do FEC; the transcoding/fill-bit booleans are never answered true since we do not implement
// them (answering true only when offered true is allowed, answering false always is safe).
func AnswerT38(offer, ours T38Params) T38Params {
	ans := T38Params{
		Version:        min(offer.Version, ours.Version),
		MaxBitRate:     min(offer.MaxBitRate, ours.MaxBitRate),
		RateManagement: orDefault(offer.RateManagement, TransferredTCF),
		MaxBuffer:      ours.MaxBuffer,
		MaxDatagram:    ours.MaxDatagram,
	}
	switch {
	case offer.EC == ECFEC && ours.EC == ECFEC:
		ans.EC = ECFEC
	case (offer.EC == ECFEC || offer.EC == ECRedundancy) && ours.EC != ECNone:
		ans.EC = ECRedundancy
	default:
		ans.EC = ECNone
	}
	return ans
}

// T38Session is what both ends agreed for one T.38 media stream: the answer's values for the
// shared parameters, and each side's own declarative MaxDatagram.
type T38Session struct {
	Version         int
	MaxBitRate      int
	RateManagement  string
	EC              UDPEC
	LocalMaxBuffer  int
	LocalDatagram   int // largest UDPTL payload we accept
	RemoteDatagram  int // largest UDPTL payload the peer accepts: our sends must respect it
	RemoteMaxBuffer int
}

// agreeT38 combines what we wrote (local) and what the peer wrote (remote) once an offer/answer
// exchange completes; answer is whichever of the two was the answer.
func agreeT38(local, remote, answer T38Params) T38Session {
	return T38Session{
		Version:         answer.Version,
		MaxBitRate:      answer.MaxBitRate,
		RateManagement:  answer.RateManagement,
		EC:              answer.EC,
		LocalMaxBuffer:  local.MaxBuffer,
		LocalDatagram:   local.MaxDatagram,
		RemoteDatagram:  remote.MaxDatagram,
		RemoteMaxBuffer: remote.MaxBuffer,
	}
}
