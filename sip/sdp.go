package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SDP limits: an offer from a trunk is a few hundred bytes; anything far larger is hostile or broken.
const (
	maxSDPSize      = 16 << 10
	maxSDPMedia     = 16
	maxSDPAttrs     = 256
	maxSDPFormats   = 64
	maxSDPLineBytes = 2048
)

// ErrSDP is wrapped by every SDP parse error, so callers can answer 400/488 without string matching.
var ErrSDP = errors.New("sip: sdp")

// SDPError says which line of the body was rejected and why.
type SDPError struct {
	Line   int // 1-based
	Reason string
}

func (e *SDPError) Error() string { return fmt.Sprintf("sip: sdp line %d: %s", e.Line, e.Reason) }
func (e *SDPError) Unwrap() error { return ErrSDP }

// Attr is one a= line. HasValue distinguishes the property form (a=T38FaxFillBitRemoval) from the
// value form with an empty value (a=foo:).
type Attr struct {
	Key      string
	Value    string
	HasValue bool
}

// Connection is a c= line (RFC 4566 §5.7); TTL/count suffixes are kept verbatim in Address.
type Connection struct {
	NetType  string // IN
	AddrType string // IP4 | IP6
	Address  string
}

// Origin is the o= line (RFC 4566 §5.2). Version must grow with every new offer (RFC 3264 §8).
type Origin struct {
	Username  string
	SessionID uint64
	Version   uint64
	NetType   string
	AddrType  string
	Address   string
}

// Media is one m= section with its own c= and a= lines.
type Media struct {
	Type      string // audio | image | ...
	Port      int
	NumPorts  int // 0 when absent
	Proto     string
	Formats   []string
	Conn      *Connection
	Bandwidth []string // b= values, kept for round trips
	Attrs     []Attr
}

// Session is a parsed SDP body. Unknown session-level lines are preserved in Extra (in order) so a
// round trip does not lose them; we never need to interpret them.
type Session struct {
	Origin Origin
	Name   string
	Conn   *Connection
	Time   string // t= value; "0 0" when absent
	Attrs  []Attr
	Extra  []string // other session lines, "x=value"
	Media  []Media
}

// Attr returns the first attribute whose key matches case-insensitively (T.38 attribute spellings
// vary in the wild, e.g. T38maxBitRate; fax-protocols §1.8).
func (m *Media) Attr(key string) (Attr, bool) {
	for _, a := range m.Attrs {
		if strings.EqualFold(a.Key, key) {
			return a, true
		}
	}
	return Attr{}, false
}

// Connection returns the media-level c= or, failing that, the session-level one (RFC 4566 §5.7).
func (s *Session) Connection(m *Media) *Connection {
	if m.Conn != nil {
		return m.Conn
	}
	return s.Conn
}

// ParseSDP parses an SDP body tolerantly: LF or CRLF line ends, missing s=/t=, unknown lines kept.
// It rejects structurally broken input (a line without "x=", a bad m= or c= line, absurd sizes).
func ParseSDP(b []byte) (*Session, error) {
	if len(b) > maxSDPSize {
		return nil, &SDPError{Line: 0, Reason: "body too large"}
	}
	s := &Session{Time: "0 0"}
	var cur *Media
	sawVersion := false
	lineNo := 0
	rest := string(b)
	for len(rest) > 0 {
		var line string
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, ""
		}
		lineNo++
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(line) > maxSDPLineBytes {
			return nil, &SDPError{Line: lineNo, Reason: "line too long"}
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, &SDPError{Line: lineNo, Reason: "not a type=value line"}
		}
		typ, val := line[0], line[2:]
		switch typ {
		case 'v':
			if strings.TrimSpace(val) != "0" {
				return nil, &SDPError{Line: lineNo, Reason: "unsupported version " + strconv.Quote(val)}
			}
			sawVersion = true
		case 'o':
			o, err := parseOrigin(val)
			if err != nil {
				return nil, &SDPError{Line: lineNo, Reason: err.Error()}
			}
			s.Origin = o
		case 's':
			s.Name = val
		case 't':
			s.Time = val
		case 'c':
			c, err := parseConnection(val)
			if err != nil {
				return nil, &SDPError{Line: lineNo, Reason: err.Error()}
			}
			if cur != nil {
				cur.Conn = c
			} else {
				s.Conn = c
			}
		case 'b':
			if cur != nil {
				cur.Bandwidth = append(cur.Bandwidth, val)
			} else {
				s.Extra = append(s.Extra, line)
			}
		case 'm':
			if len(s.Media) >= maxSDPMedia {
				return nil, &SDPError{Line: lineNo, Reason: "too many media sections"}
			}
			m, err := parseMediaLine(val)
			if err != nil {
				return nil, &SDPError{Line: lineNo, Reason: err.Error()}
			}
			s.Media = append(s.Media, m)
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			a := parseAttr(val)
			if cur != nil {
				if len(cur.Attrs) >= maxSDPAttrs {
					return nil, &SDPError{Line: lineNo, Reason: "too many attributes"}
				}
				cur.Attrs = append(cur.Attrs, a)
			} else {
				if len(s.Attrs) >= maxSDPAttrs {
					return nil, &SDPError{Line: lineNo, Reason: "too many attributes"}
				}
				s.Attrs = append(s.Attrs, a)
			}
		default:
			if cur == nil {
				s.Extra = append(s.Extra, line)
			}
			// media-level i=/k= lines are dropped: nothing in fax negotiation uses them.
		}
	}
	if !sawVersion {
		return nil, &SDPError{Line: 1, Reason: "missing v=0"}
	}
	return s, nil
}

func parseOrigin(v string) (Origin, error) {
	f := strings.Fields(v)
	if len(f) != 6 {
		return Origin{}, errors.New("o= needs 6 fields")
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return Origin{}, errors.New("o= session id not numeric")
	}
	ver, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return Origin{}, errors.New("o= version not numeric")
	}
	return Origin{Username: f[0], SessionID: id, Version: ver, NetType: f[3], AddrType: f[4], Address: f[5]}, nil
}

func parseConnection(v string) (*Connection, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return nil, errors.New("c= needs 3 fields")
	}
	return &Connection{NetType: f[0], AddrType: f[1], Address: f[2]}, nil
}

func parseMediaLine(v string) (Media, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Media{}, errors.New("m= needs media, port and proto")
	}
	if len(f)-3 > maxSDPFormats {
		return Media{}, errors.New("m= has too many formats")
	}
	m := Media{Type: f[0], Proto: f[2]}
	port := f[1]
	if i := strings.IndexByte(port, '/'); i >= 0 {
		n, err := strconv.Atoi(port[i+1:])
		if err != nil || n < 1 || n > 65535 {
			return Media{}, errors.New("m= bad port count")
		}
		m.NumPorts = n
		port = port[:i]
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return Media{}, errors.New("m= bad port")
	}
	m.Port = p
	if len(f) > 3 {
		m.Formats = append([]string(nil), f[3:]...)
	}
	return m, nil
}

func parseAttr(v string) Attr {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return Attr{Key: v[:i], Value: strings.TrimSpace(v[i+1:]), HasValue: true}
	}
	return Attr{Key: strings.TrimSpace(v)}
}

// Marshal writes the session in the strict form of RFC 4566 §5 (CRLF, fixed line order).
func (s *Session) Marshal() []byte {
	var b strings.Builder
	b.Grow(256 + 128*len(s.Media))
	b.WriteString("v=0\r\n")
	o := s.Origin
	user := o.Username
	if user == "" {
		user = "-"
	}
	fmt.Fprintf(&b, "o=%s %d %d %s %s %s\r\n", user, o.SessionID, o.Version, orDefault(o.NetType, "IN"), orDefault(o.AddrType, "IP4"), orDefault(o.Address, "0.0.0.0"))
	b.WriteString("s=" + orDefault(s.Name, "-") + "\r\n")
	if s.Conn != nil {
		writeConn(&b, s.Conn)
	}
	for _, e := range s.Extra {
		if strings.HasPrefix(e, "b=") {
			b.WriteString(e + "\r\n")
		}
	}
	b.WriteString("t=" + orDefault(s.Time, "0 0") + "\r\n")
	for _, e := range s.Extra {
		if !strings.HasPrefix(e, "b=") {
			b.WriteString(e + "\r\n")
		}
	}
	for _, a := range s.Attrs {
		writeAttr(&b, a)
	}
	for i := range s.Media {
		m := &s.Media[i]
		b.WriteString("m=" + m.Type + " " + strconv.Itoa(m.Port))
		if m.NumPorts > 0 {
			b.WriteString("/" + strconv.Itoa(m.NumPorts))
		}
		b.WriteString(" " + m.Proto)
		for _, f := range m.Formats {
			b.WriteString(" " + f)
		}
		b.WriteString("\r\n")
		if m.Conn != nil {
			writeConn(&b, m.Conn)
		}
		for _, bw := range m.Bandwidth {
			b.WriteString("b=" + bw + "\r\n")
		}
		for _, a := range m.Attrs {
			writeAttr(&b, a)
		}
	}
	return []byte(b.String())
}

func writeConn(b *strings.Builder, c *Connection) {
	b.WriteString("c=" + orDefault(c.NetType, "IN") + " " + orDefault(c.AddrType, "IP4") + " " + c.Address + "\r\n")
}

func writeAttr(b *strings.Builder, a Attr) {
	b.WriteString("a=" + a.Key)
	if a.HasValue {
		b.WriteString(":" + a.Value)
	}
	b.WriteString("\r\n")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
