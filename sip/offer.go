package sip

import (
	"errors"
	"fmt"
	"github.com/faxseal/faxseal/t38"
	"net/netip"
	"strconv"
	"strings"
)

// Codec is a G.711 law. Fax over audio is only reliable on G.711 (fax-protocols §3.1): no G.729,
// no Opus, so nothing else is ever offered or accepted.
type Codec int

const (
	CodecInvalid Codec = iota
	CodecPCMU          // µ-law, static payload type 0 (RFC 3551 §6)
	CodecPCMA          // A-law, static payload type 8
)

func (c Codec) String() string {
	switch c {
	case CodecPCMU:
		return "PCMU"
	case CodecPCMA:
		return "PCMA"
	}
	return "invalid"
}

// PayloadType is the RFC 3551 static payload type of the codec.
func (c Codec) PayloadType() uint8 {
	if c == CodecPCMA {
		return 8
	}
	return 0
}

// Silence is the G.711 code for a zero sample, used to keep RTP flowing with no VAD/CN.
func (c Codec) Silence() byte {
	if c == CodecPCMA {
		return 0xD5
	}
	return 0xFF
}

// ParseCodec reads "PCMU"/"PCMA" (case-insensitive).
func ParseCodec(s string) (Codec, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "PCMU", "G711U", "ULAW":
		return CodecPCMU, nil
	case "PCMA", "G711A", "ALAW":
		return CodecPCMA, nil
	}
	return CodecInvalid, fmt.Errorf("sip: unknown codec %q (want PCMU or PCMA)", s)
}

// MediaKind is what a call's media currently is.
type MediaKind int

const (
	MediaInvalid MediaKind = iota
	MediaAudio             // G.711 over RTP
	MediaT38               // T.38 IFPs over UDPTL
)

func (k MediaKind) String() string {
	switch k {
	case MediaAudio:
		return "audio"
	case MediaT38:
		return "t38"
	}
	return "invalid"
}

// ErrNoAcceptableMedia means the offer has nothing we can use: answer 488 (RFC 3261 §21.4.26).
var ErrNoAcceptableMedia = errors.New("sip: no acceptable media in offer")

// audioChoice is the G.711 stream chosen from an offer.
type audioChoice struct {
	index  int
	codec  Codec
	pt     uint8
	remote netip.AddrPort // zero when the peer holds (c=0.0.0.0): learnt from the first packet
}

// imageChoice is the T.38 stream chosen from an offer.
type imageChoice struct {
	index  int
	params t38.Parameters
	remote netip.AddrPort
}

func isT38(m *Media) bool {
	if !strings.EqualFold(m.Type, "image") || !strings.EqualFold(m.Proto, "udptl") {
		return false
	}
	for _, f := range m.Formats {
		if strings.EqualFold(f, "t38") {
			return true
		}
	}
	return false
}

func isRTPAudio(m *Media) bool {
	return strings.EqualFold(m.Type, "audio") && strings.HasPrefix(strings.ToUpper(m.Proto), "RTP/AVP")
}

func remoteAddr(s *Session, m *Media) (netip.AddrPort, error) {
	c := s.Connection(m)
	if c == nil {
		return netip.AddrPort{}, errors.New("sip: media without c= line")
	}
	host := c.Address
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// RFC 4566 allows FQDNs; trunks send addresses, and resolving here would block signalling.
		return netip.AddrPort{}, fmt.Errorf("sip: media address %q is not an IP", host)
	}
	if ip.IsUnspecified() {
		return netip.AddrPort{}, nil
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(m.Port)), nil
}

// pickAudio returns the first acceptable audio stream and the most preferred G.711 codec it
// carries. Payload types are read from rtpmap when present (dynamic PTs for PCMU/PCMA are legal).
func pickAudio(s *Session, prefs []Codec) (audioChoice, bool) {
	for i := range s.Media {
		m := &s.Media[i]
		if m.Port == 0 || !isRTPAudio(m) {
			continue
		}
		offered := map[Codec]uint8{}
		for _, f := range m.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt > 127 {
				continue
			}
			c := codecOfPT(m, pt)
			if c == CodecInvalid {
				continue
			}
			if _, dup := offered[c]; !dup {
				offered[c] = uint8(pt)
			}
		}
		for _, c := range prefs {
			if pt, ok := offered[c]; ok {
				addr, err := remoteAddr(s, m)
				if err != nil {
					break
				}
				return audioChoice{index: i, codec: c, pt: pt, remote: addr}, true
			}
		}
	}
	return audioChoice{}, false
}

func codecOfPT(m *Media, pt int) Codec {
	for _, a := range m.Attrs {
		if !strings.EqualFold(a.Key, "rtpmap") {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) != 2 || f[0] != strconv.Itoa(pt) {
			continue
		}
		enc := strings.ToUpper(f[1])
		switch {
		case strings.HasPrefix(enc, "PCMU/8000"):
			return CodecPCMU
		case strings.HasPrefix(enc, "PCMA/8000"):
			return CodecPCMA
		}
		return CodecInvalid
	}
	switch pt {
	case 0:
		return CodecPCMU
	case 8:
		return CodecPCMA
	}
	return CodecInvalid
}

// pickImage returns the first non-rejected m=image udptl t38 stream (an m=image 0 offer is a
// declined stream, asterisk testsuite t38_zero_port).
func pickImage(s *Session) (imageChoice, bool) {
	for i := range s.Media {
		m := &s.Media[i]
		if m.Port == 0 || !isT38(m) {
			continue
		}
		addr, err := remoteAddr(s, m)
		if err != nil {
			continue
		}
		return imageChoice{index: i, params: ParseT38(m), remote: addr}, true
	}
	return imageChoice{}, false
}

// sdpBuilder keeps our o= line: one session id per call and a version that grows with every SDP
// we send that differs from the last one (RFC 3264 §8; RFC 4566 §5.2).
type sdpBuilder struct {
	origin  Origin
	lastSDP string
}

func newSDPBuilder(id uint64, ip netip.Addr) *sdpBuilder {
	at := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		at = "IP6"
	}
	return &sdpBuilder{origin: Origin{Username: "faxseal", SessionID: id, Version: 1, NetType: "IN", AddrType: at, Address: ip.String()}}
}

func (b *sdpBuilder) conn() *Connection {
	return &Connection{NetType: "IN", AddrType: b.origin.AddrType, Address: b.origin.Address}
}

// finish stamps the o= line, bumping the version only when the content changed, so a
// session-timer refresh answered with the same SDP keeps the same version (RFC 3264 §8).
func (b *sdpBuilder) finish(s *Session) []byte {
	s.Origin = b.origin
	body := string(s.Marshal())
	if b.lastSDP != "" && body != b.lastSDP {
		b.origin.Version++
		s.Origin = b.origin
		body = string(s.Marshal())
	}
	b.lastSDP = body
	return []byte(body)
}

func audioMedia(port int, codec Codec, pt uint8) Media {
	return Media{
		Type: "audio", Port: port, Proto: "RTP/AVP", Formats: []string{strconv.Itoa(int(pt))},
		Attrs: []Attr{
			{Key: "rtpmap", Value: strconv.Itoa(int(pt)) + " " + codec.String() + "/8000", HasValue: true},
			{Key: "ptime", Value: "20", HasValue: true},
			{Key: "sendrecv"},
		},
	}
}

func audioOfferMedia(port int, prefs []Codec) Media {
	m := Media{Type: "audio", Port: port, Proto: "RTP/AVP"}
	for _, c := range prefs {
		pt := strconv.Itoa(int(c.PayloadType()))
		m.Formats = append(m.Formats, pt)
		m.Attrs = append(m.Attrs, Attr{Key: "rtpmap", Value: pt + " " + c.String() + "/8000", HasValue: true})
	}
	m.Attrs = append(m.Attrs, Attr{Key: "ptime", Value: "20", HasValue: true}, Attr{Key: "sendrecv"})
	return m
}

func imageMedia(port int, p t38.Parameters) Media {
	return Media{Type: "image", Port: port, Proto: "udptl", Formats: []string{"t38"}, Attrs: t38Attrs(p)}
}

// answerShape mirrors the offer's m-lines (RFC 3264 §6: same number and order): the accepted one
// gets our stream, every other one is declined with port 0.
func (b *sdpBuilder) answerShape(offer *Session, accepted int, ours Media) []byte {
	s := &Session{Name: "-", Conn: b.conn()}
	for i := range offer.Media {
		if i == accepted {
			s.Media = append(s.Media, ours)
			continue
		}
		om := offer.Media[i]
		f := om.Formats
		if len(f) > 1 {
			f = f[:1]
		}
		s.Media = append(s.Media, Media{Type: om.Type, Port: 0, Proto: om.Proto, Formats: append([]string(nil), f...)})
	}
	return b.finish(s)
}

func (b *sdpBuilder) offer(m Media) []byte {
	return b.finish(&Session{Name: "-", Conn: b.conn(), Media: []Media{m}})
}

var netipZero netip.AddrPort
