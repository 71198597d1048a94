package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// GuardOptions configures NewGuardedClient.
type GuardOptions struct {
	// AllowLoopback admits loopback destinations (127.0.0.0/8, ::1), over https and over plain http.
	// Tests and `faxseal serve --dev` turn it on; production leaves it off. It never admits private,
	// link-local or metadata addresses, and plain http stays limited to loopback.
	AllowLoopback bool
	// TLSConfig, if set, is used for https (tests pass the roots of their httptest TLS server).
	TLSConfig *tls.Config
	// MaxRedirects bounds the redirect chain; 0 means 5. Every hop is checked like the first.
	MaxRedirects int
	// Resolver, if set, resolves names (nil: the system's). Whatever it answers is checked at dial.
	Resolver *net.Resolver
}

// ErrBlocked is matched (errors.Is) by every refusal of the guarded client.
var ErrBlocked = errors.New("webhook: destination blocked")

// BlockedError says which destination the guarded client refused and why.
type BlockedError struct {
	Dest   string // URL scheme or "ip:port" as dialled
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("webhook: destination %s blocked: %s", e.Dest, e.Reason)
}

// Is makes errors.Is(err, ErrBlocked) true for every *BlockedError.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// NewGuardedClient returns the HTTP client for every request FaxSeal makes on a partner's behalf
// (webhook deliveries, fileUrl fetches): partner-supplied URLs must not reach the server's own
// network (SSRF).
//
// The address check runs in the dialer's Control hook, on the IP the socket is about to connect to,
// after DNS resolution: a name that resolves to a public address when validated and to 127.0.0.1 when
// dialled (DNS rebinding) is still refused, and so is every hop of a redirect chain, since each hop
// dials anew. Environment proxies are ignored, as a proxy would hide the real destination from the
// check. The client has no overall timeout: callers bound each request with a context.
func NewGuardedClient(opts GuardOptions) *http.Client {
	max := opts.MaxRedirects
	if max <= 0 {
		max = 5
	}
	rt := &guardedTransport{
		secure:        newTransport(opts.TLSConfig, opts.Resolver, func(a netip.Addr) string { return blockReason(a, opts.AllowLoopback) }),
		allowLoopback: opts.AllowLoopback,
	}
	if opts.AllowLoopback {
		rt.plain = newTransport(nil, opts.Resolver, func(a netip.Addr) string {
			if a.Unmap().IsLoopback() {
				return ""
			}
			return "plain http is allowed to loopback only"
		})
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= max {
				return fmt.Errorf("webhook: stopped after %d redirects", len(via))
			}
			return nil
		},
	}
}

func newTransport(tlsConfig *tls.Config, resolver *net.Resolver, reason func(netip.Addr) string) *http.Transport {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Resolver:  resolver,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &BlockedError{Dest: address, Reason: "not an IP address"}
			}
			if r := reason(ap.Addr()); r != "" {
				return &BlockedError{Dest: address, Reason: r}
			}
			return nil
		},
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	return t
}

// guardedTransport routes by scheme: https always (to allowed addresses), plain http only when
// loopback is allowed, and then only to loopback; anything else is refused before any dial.
type guardedTransport struct {
	secure, plain *http.Transport
	allowLoopback bool
}

func (g *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Scheme {
	case "https":
		return g.secure.RoundTrip(req)
	case "http":
		if g.plain != nil {
			return g.plain.RoundTrip(req)
		}
	}
	if req.Body != nil {
		req.Body.Close() // http.RoundTripper: close the body, even on error
	}
	reason := "only https is allowed"
	if g.allowLoopback {
		reason = "only https, or plain http to loopback, is allowed"
	}
	return nil, &BlockedError{Dest: req.URL.Scheme + "://" + req.URL.Host, Reason: reason}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach both transports.
func (g *guardedTransport) CloseIdleConnections() {
	g.secure.CloseIdleConnections()
	if g.plain != nil {
		g.plain.CloseIdleConnections()
	}
}

// Special-purpose ranges that netip's predicates do not cover (RFC 6890 and its IANA registries).
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (RFC 791)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (RFC 6598; carrier-grade NAT, some cloud metadata)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (RFC 6890)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112), including broadcast"},
	{netip.MustParsePrefix("100::/64"), "discard-only (RFC 6666)"},
	{netip.MustParsePrefix("2001::/32"), "Teredo (RFC 4380) tunnels to arbitrary IPv4"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: IPv4 embedded in the low 32 bits
	sixToFour   = netip.MustParsePrefix("2002::/16")    // RFC 3056: IPv4 embedded in bits 16..47
	awsMetaV6   = netip.MustParseAddr("fd00:ec2::254")
	cloudMetaV4 = netip.MustParseAddr("169.254.169.254")
)

// blockReason says why a is not a destination for partner traffic, or "" if it is public (or
// loopback with allowLoopback). Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4)
// are judged by the embedded address.
func blockReason(a netip.Addr, allowLoopback bool) string {
	a = a.Unmap()
	if a.Is6() && nat64Prefix.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	} else if a.Is6() && sixToFour.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	switch {
	case !a.IsValid():
		return "invalid address"
	case a.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "loopback"
	case a == cloudMetaV4 || a == awsMetaV6:
		return "cloud metadata service"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsPrivate():
		return "private network (RFC 1918 / RFC 4193)"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range blockedPrefixes {
		if p.prefix.Contains(a) {
			return p.reason
		}
	}
	return ""
}
