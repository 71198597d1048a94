package sip

import "github.com/faxseal/faxseal/t38"

// The T38Fax* attributes of an m=image udptl t38 section map to t38.Parameters (T.38 Annex D.2.3);
// package t38 owns that mapping and the answer rules, so this file only adapts SDP attributes.

// ParseT38 reads the T.38 parameters of m. A call is not failed over a bad value: an attribute
// package t38 cannot read (an unparseable number, an unknown rate management or EC name) is
// left out and its default applies (absent version means 0, T.38 Annex D.2.3), the way the
// 2008 Wireshark sample's bare m=image line is read.
func ParseT38(m *Media) t38.Parameters {
	attrs := make([]t38.Attribute, 0, len(m.Attrs))
	for _, a := range m.Attrs {
		ta := t38.Attribute{Name: a.Key, Value: a.Value, HasValue: a.HasValue}
		if _, err := t38.ParseAttributes([]t38.Attribute{ta}); err != nil {
			continue
		}
		attrs = append(attrs, ta)
	}
	p, err := t38.ParseAttributes(attrs)
	if err != nil {
		// Each attribute parsed alone; together they can still be out of range only through a
		// repeated bad line, which is covered above. Defaults, not a failure.
		p, _ = t38.ParseAttributes(nil)
	}
	return p
}

// t38Attrs renders p as SDP attributes (t38.Parameters.Attributes order and boolean form).
func t38Attrs(p t38.Parameters) []Attr {
	var out []Attr
	for _, a := range p.Attributes() {
		out = append(out, Attr{Key: a.Name, Value: a.Value, HasValue: a.HasValue})
	}
	return out
}

// T38Session is what both ends agreed for one T.38 media stream: the answer's values for the
// shared parameters, and each side's own declarative MaxDatagram and MaxBuffer.
type T38Session struct {
	Version         int
	MaxBitRate      int
	RateManagement  t38.RateManagement
	EC              t38.UDPEC
	LocalMaxBuffer  int
	LocalDatagram   int // largest UDPTL payload we accept
	RemoteDatagram  int // largest UDPTL payload the peer accepts (0: not stated): our sends respect it
	RemoteMaxBuffer int
}

// Remote is the peer's side of the session as t38.Parameters, for t38.Parameters.SenderConfig.
func (s T38Session) Remote() t38.Parameters {
	return t38.Parameters{Version: s.Version, MaxBitRate: s.MaxBitRate, RateManagement: s.RateManagement,
		MaxBuffer: s.RemoteMaxBuffer, MaxDatagram: s.RemoteDatagram, UDPEC: s.EC}
}

// agreeT38 combines what we wrote (local) and what the peer wrote (remote) once an offer/answer
// exchange completes; answer is whichever of the two was the answer.
func agreeT38(local, remote, answer t38.Parameters) T38Session {
	return T38Session{
		Version:         answer.Version,
		MaxBitRate:      answer.MaxBitRate,
		RateManagement:  answer.RateManagement,
		EC:              answer.UDPEC,
		LocalMaxBuffer:  local.MaxBuffer,
		LocalDatagram:   local.MaxDatagram,
		RemoteDatagram:  remote.MaxDatagram,
		RemoteMaxBuffer: remote.MaxBuffer,
	}
}
