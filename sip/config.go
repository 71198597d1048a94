package sip

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/faxseal/faxseal/t38"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"gopkg.in/yaml.v3"
)

// Config is the SIP part of the FaxSeal configuration file (the `sip:` key of --config, or a file
// of its own). testdata/trunks/example.yaml documents every field.
type Config struct {
	// Listen lists the SIP listeners; default one UDP and one TCP listener on 0.0.0.0:5060.
	Listen []Listener `yaml:"listen"`
	// PublicAddress is the IP written into Via, Contact and SDP (the address trunks reach us on).
	PublicAddress string `yaml:"public_address"`
	// Media is the RTP/UDPTL port range; every call takes one port per stream from it.
	Media MediaConfig `yaml:"media"`
	// UserAgent is sent in User-Agent/Server headers.
	UserAgent string `yaml:"user_agent"`
	// MaxCalls bounds concurrent calls; INVITEs beyond it get 503 + Retry-After so a front proxy
	// fails over (sip.md §6.1). 0 = the size of the media port range.
	MaxCalls int `yaml:"max_calls"`
	// SessionExpires is the RFC 4028 interval we accept (we let the peer refresh). 0 = 1800 s.
	SessionExpires time.Duration `yaml:"session_expires"`
	// UDPMTU raises sipgo's UDP size limit (it refuses messages over UDPMTU-200 bytes; sip.md §1.3).
	UDPMTU int     `yaml:"udp_mtu"`
	Trunks []Trunk `yaml:"trunks"`
}

// Listener is one SIP socket.
type Listener struct {
	Transport string `yaml:"transport"` // udp | tcp | tls
	Address   string `yaml:"address"`   // host:port
	CertFile  string `yaml:"cert_file"` // tls only
	KeyFile   string `yaml:"key_file"`  // tls only
}

// MediaConfig is the UDP port range for RTP and UDPTL.
type MediaConfig struct {
	PortMin int `yaml:"port_min"`
	PortMax int `yaml:"port_max"`
	// Address is the IP media sockets bind to; default the unspecified address.
	BindAddress string `yaml:"bind_address"`
}

// NumberFormat is how a trunk writes telephone numbers in Request-URI/To/From.
type NumberFormat int

const (
	NumberFormatInvalid  NumberFormat = iota
	NumberFormatE164                  // +15551234567 (the + optional on input)
	NumberFormatNational              // national significant number with the trunk's country code implied
)

func (f NumberFormat) String() string {
	switch f {
	case NumberFormatE164:
		return "e164"
	case NumberFormatNational:
		return "national"
	}
	return "invalid"
}

// UnmarshalYAML reads "e164" or "national".
func (f *NumberFormat) UnmarshalYAML(n *yaml.Node) error {
	switch strings.ToLower(n.Value) {
	case "e164", "e.164", "":
		*f = NumberFormatE164
	case "national":
		*f = NumberFormatNational
	default:
		return fmt.Errorf("sip: number_format %q: want e164 or national", n.Value)
	}
	return nil
}

// CallerIDMode says where our caller number goes on outbound INVITEs. Carriers take PAI first
// and fall back to From (sip.md §5: Flowroute PAI > RPID > From).
type CallerIDMode int

const (
	CallerIDInvalid CallerIDMode = iota
	CallerIDBoth                 // From user and P-Asserted-Identity (default)
	CallerIDFrom                 // From only
	CallerIDPAI                  // PAI carries the number, From is anonymous-ish (the trunk account user)
)

func (m CallerIDMode) String() string {
	switch m {
	case CallerIDBoth:
		return "both"
	case CallerIDFrom:
		return "from"
	case CallerIDPAI:
		return "pai"
	}
	return "invalid"
}

// UnmarshalYAML reads "both", "from" or "pai".
func (m *CallerIDMode) UnmarshalYAML(n *yaml.Node) error {
	switch strings.ToLower(n.Value) {
	case "both", "":
		*m = CallerIDBoth
	case "from":
		*m = CallerIDFrom
	case "pai":
		*m = CallerIDPAI
	default:
		return fmt.Errorf("sip: caller_id %q: want both, from or pai", n.Value)
	}
	return nil
}

// ReinviteMode says when we, as the receiving side of an inbound call, ask for T.38.
type ReinviteMode int

const (
	ReinviteInvalid ReinviteMode = iota
	ReinviteAnswer               // right after the ACK of our 200 (FreeSWITCH fax_enable_t38_request)
	ReinviteCNG                  // when CNG is heard on the audio (the Gamma/Cisco TGW behaviour)
	ReinvitePeer                 // never ourselves: wait for the trunk's re-INVITE
)

func (m ReinviteMode) String() string {
	switch m {
	case ReinviteAnswer:
		return "answer"
	case ReinviteCNG:
		return "cng"
	case ReinvitePeer:
		return "peer"
	}
	return "invalid"
}

// UnmarshalYAML reads "answer", "cng" or "peer".
func (m *ReinviteMode) UnmarshalYAML(n *yaml.Node) error {
	switch strings.ToLower(n.Value) {
	case "answer", "":
		*m = ReinviteAnswer
	case "cng":
		*m = ReinviteCNG
	case "peer":
		*m = ReinvitePeer
	default:
		return fmt.Errorf("sip: t38.reinvite %q: want answer, cng or peer", n.Value)
	}
	return nil
}

// T38Policy is a trunk's T.38 configuration.
type T38Policy struct {
	Enabled *bool `yaml:"enabled"` // default true
	// Reinvite is the inbound (we receive) policy.
	Reinvite ReinviteMode `yaml:"reinvite"`
	// OutboundReinviteAfter: on outbound calls (we send) the far end normally re-INVITEs; if it has
	// not done so this long after answer we send our own. 0 = never (wait for the peer or the
	// gateway's explicit RequestT38 after far CED/V.21).
	OutboundReinviteAfter time.Duration `yaml:"outbound_reinvite_after"`
	// ReinviteTimeout bounds our re-INVITE; no final response by then = refused, stay on G.711
	// (Asterisk's t38timeout is 5 s; fax-protocols §1.8).
	ReinviteTimeout time.Duration `yaml:"reinvite_timeout"`
	ECM             *bool         `yaml:"ecm"`          // T.30 ECM on/off for calls on this trunk (default on)
	Version         int           `yaml:"version"`      // highest T.38 version we offer (default 0)
	MaxBitRate      int           `yaml:"max_bit_rate"` // 2400..14400 (default 14400)
	UDPEC           string        `yaml:"udp_ec"`       // redundancy | fec | none (default redundancy)
	MaxDatagram     int           `yaml:"max_datagram"` // our T38FaxMaxDatagram (default 400)
	MaxBuffer       int           `yaml:"max_buffer"`   // our T38FaxMaxBuffer (default 2000)
}

// Trunk is one SIP trunk (provider or PBX).
type Trunk struct {
	Name      string `yaml:"name"`
	Address   string `yaml:"address"`   // host[:port] of the provider's SIP proxy/SBC
	Transport string `yaml:"transport"` // udp | tcp | tls (default udp)
	Domain    string `yaml:"domain"`    // host part of R-URI/To/From; default the host of Address
	Username  string `yaml:"username"`  // digest user (also From user on REGISTER)
	Password  string `yaml:"password"`
	Register  bool   `yaml:"register"`
	// RegisterExpires is the Expires we ask for; refresh happens at 3/4 of the granted value.
	RegisterExpires time.Duration `yaml:"register_expires"`
	// InboundCIDRs lists where this trunk's INVITEs come from; INVITEs from elsewhere get 403.
	InboundCIDRs []string     `yaml:"inbound_cidrs"`
	NumberFormat NumberFormat `yaml:"number_format"`
	CountryCode  string       `yaml:"country_code"`    // e.g. "1"; required for national format
	NationalPfx  string       `yaml:"national_prefix"` // trunk prefix dialled before national numbers ("0", "1" for NANP)
	TechPrefix   string       `yaml:"tech_prefix"`     // prepended to outbound R-URI users (Flowroute "12345678*")
	CallerID     CallerIDMode `yaml:"caller_id"`
	Codecs       []string     `yaml:"codecs"` // preference order, PCMU/PCMA (default PCMU, PCMA)
	T38          T38Policy    `yaml:"t38"`
	// AnyNumber accepts INVITEs for numbers the lookup does not know only on this trunk when set;
	// the --dev loopback trunk uses it. Production trunks leave it false.
	AnyNumber bool `yaml:"any_number"`

	ruri   sipmsg.Uri // host (and port) of R-URI/To
	route  string     // pre-loaded Route to the outbound proxy, "" if none
	cidrs  []netip.Prefix
	codecs []Codec
	t38    t38.Parameters
}

// LoadConfig reads and validates a YAML config file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sip: config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes YAML (unknown keys are errors: a typo in a trunk must not silently drop a
// credential) and validates it.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("sip: config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate fills defaults and checks every field; it is idempotent.
func (c *Config) Validate() error {
	if len(c.Listen) == 0 {
		c.Listen = []Listener{{Transport: "udp", Address: "0.0.0.0:5060"}, {Transport: "tcp", Address: "0.0.0.0:5060"}}
	}
	for i := range c.Listen {
		l := &c.Listen[i]
		l.Transport = strings.ToLower(orDefault(l.Transport, "udp"))
		switch l.Transport {
		case "udp", "tcp":
		case "tls":
			if l.CertFile == "" || l.KeyFile == "" {
				return fmt.Errorf("sip: listen[%d]: tls needs cert_file and key_file", i)
			}
		default:
			return fmt.Errorf("sip: listen[%d]: transport %q: want udp, tcp or tls", i, l.Transport)
		}
		if _, _, err := net.SplitHostPort(l.Address); err != nil {
			return fmt.Errorf("sip: listen[%d]: address %q: %w", i, l.Address, err)
		}
	}
	if c.PublicAddress == "" {
		c.PublicAddress = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(c.PublicAddress); err != nil {
		return fmt.Errorf("sip: public_address %q must be an IP: %w", c.PublicAddress, err)
	}
	if c.Media.PortMin == 0 && c.Media.PortMax == 0 {
		c.Media.PortMin, c.Media.PortMax = 20000, 29999
	}
	if c.Media.PortMin < 1024 || c.Media.PortMax > 65535 || c.Media.PortMin > c.Media.PortMax {
		return fmt.Errorf("sip: media port range %d-%d invalid", c.Media.PortMin, c.Media.PortMax)
	}
	if c.Media.BindAddress != "" {
		if _, err := netip.ParseAddr(c.Media.BindAddress); err != nil {
			return fmt.Errorf("sip: media.bind_address: %w", err)
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = "FaxSeal"
	}
	if c.SessionExpires == 0 {
		c.SessionExpires = 1800 * time.Second
	}
	if c.SessionExpires < 90*time.Second {
		return errors.New("sip: session_expires below the RFC 4028 minimum of 90s")
	}
	if c.UDPMTU != 0 && (c.UDPMTU < 1500 || c.UDPMTU > 65000) {
		return fmt.Errorf("sip: udp_mtu %d out of range 1500..65000", c.UDPMTU)
	}
	seen := map[string]bool{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		if err := t.validate(); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("sip: trunk %q defined twice", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

func (t *Trunk) validate() error {
	if t.Name == "" {
		return errors.New("sip: trunk without name")
	}
	wrap := func(format string, a ...any) error {
		return fmt.Errorf("sip: trunk %q: %s", t.Name, fmt.Sprintf(format, a...))
	}
	t.Transport = strings.ToLower(orDefault(t.Transport, "udp"))
	switch t.Transport {
	case "udp", "tcp", "tls":
	default:
		return wrap("transport %q: want udp, tcp or tls", t.Transport)
	}
	if t.Address == "" {
		return wrap("address is required")
	}
	t.ruri = sipmsg.Uri{Scheme: "sip"}
	t.route = ""
	if t.Domain == "" {
		// No separate domain: the Request-URI names the trunk's address, port included, so that
		// CANCEL/ACK (routed by the R-URI) reach the same place as the INVITE.
		host, port := t.Address, 0
		if h, p, err := net.SplitHostPort(t.Address); err == nil {
			host = h
			port, _ = strconv.Atoi(p)
		}
		t.ruri.Host, t.ruri.Port = host, port
	} else {
		// A domain different from the address: the address is an outbound proxy, pre-loaded as a
		// loose route (RFC 3261 §8.1.2) so every request of the dialog goes through it.
		t.ruri.Host = t.Domain
		if h, _, err := net.SplitHostPort(t.Address); err != nil || h != t.Domain {
			t.route = "<sip:" + t.Address + ";lr>"
		}
	}
	if t.Register && (t.Username == "" || t.Password == "") {
		return wrap("register needs username and password")
	}
	if t.RegisterExpires == 0 {
		t.RegisterExpires = 300 * time.Second
	}
	if t.RegisterExpires < 60*time.Second {
		return wrap("register_expires below 60s")
	}
	t.cidrs = t.cidrs[:0]
	for _, s := range t.InboundCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return wrap("inbound_cidrs %q: %v", s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.cidrs = append(t.cidrs, p.Masked())
	}
	if t.NumberFormat == NumberFormatInvalid {
		t.NumberFormat = NumberFormatE164
	}
	if t.NumberFormat == NumberFormatNational && !allDigits(t.CountryCode) {
		return wrap("national number_format needs a numeric country_code")
	}
	if t.CallerID == CallerIDInvalid {
		t.CallerID = CallerIDBoth
	}
	if len(t.Codecs) == 0 {
		t.Codecs = []string{"PCMU", "PCMA"}
	}
	t.codecs = t.codecs[:0]
	for _, s := range t.Codecs {
		c, err := ParseCodec(s)
		if err != nil {
			return wrap("%v", err)
		}
		t.codecs = append(t.codecs, c)
	}
	p := &t.T38
	if p.Enabled == nil {
		on := true
		p.Enabled = &on
	}
	if p.ECM == nil {
		on := true
		p.ECM = &on
	}
	if p.Reinvite == ReinviteInvalid {
		p.Reinvite = ReinviteAnswer
	}
	if p.ReinviteTimeout == 0 {
		p.ReinviteTimeout = 5 * time.Second
	}
	if p.MaxBitRate == 0 {
		p.MaxBitRate = 14400
	}
	switch p.MaxBitRate {
	case 2400, 4800, 7200, 9600, 12000, 14400:
	default:
		return wrap("t38.max_bit_rate %d: want one of 2400..14400 in 2400 steps", p.MaxBitRate)
	}
	if p.Version < 0 || p.Version > 3 {
		return wrap("t38.version %d: want 0..3", p.Version)
	}
	if p.MaxDatagram == 0 {
		p.MaxDatagram = 400
	}
	if p.MaxDatagram < 72 || p.MaxDatagram > 1500 {
		return wrap("t38.max_datagram %d: want 72..1500", p.MaxDatagram)
	}
	if p.MaxBuffer == 0 {
		p.MaxBuffer = 2000
	}
	ec := t38.UDPECRedundancy
	switch strings.ToLower(p.UDPEC) {
	case "", "redundancy", "t38udpredundancy":
	case "fec", "t38udpfec":
		ec = t38.UDPECFEC
	case "none":
		ec = t38.UDPECNone
	default:
		return wrap("t38.udp_ec %q: want redundancy, fec or none", p.UDPEC)
	}
	t.t38 = t38.Parameters{Version: p.Version, MaxBitRate: p.MaxBitRate, RateManagement: t38.TransferredTCF, MaxBuffer: p.MaxBuffer, MaxDatagram: p.MaxDatagram, UDPEC: ec}
	return nil
}

// T38Enabled reports whether T.38 may be negotiated on this trunk.
func (t *Trunk) T38Enabled() bool { return t.T38.Enabled == nil || *t.T38.Enabled }

// ECMEnabled reports whether T.30 ECM should be used on this trunk.
func (t *Trunk) ECMEnabled() bool { return t.T38.ECM == nil || *t.T38.ECM }

// T38Params returns the T.38 parameters we offer on this trunk.
func (t *Trunk) T38Params() t38.Parameters { return t.t38 }

// Codecs returns the G.711 preference order.
func (t *Trunk) CodecPrefs() []Codec { return t.codecs }

// admits reports whether src may send this trunk INVITEs.
func (t *Trunk) admits(src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range t.cidrs {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// LoopbackTrunk is the trunk `faxseal serve --dev` uses: it points at our own listener and accepts
// INVITEs from 127.0.0.1 for any provisioned number, so a demo fax crosses real SIP/T.38.
func LoopbackTrunk(sipAddr string) Trunk {
	return Trunk{Name: "loopback", Address: sipAddr, Transport: "udp", InboundCIDRs: []string{"127.0.0.0/8"}, T38: T38Policy{Reinvite: ReinviteAnswer}}
}
