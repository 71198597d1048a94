package webhook

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// dnsServer is an authoritative DNS server on 127.0.0.1 (UDP) answering every A query with the
// current address (RFC 1035 §4.1), and AAAA queries with no answer. Tests change the address between
// lookups to play a rebinding attacker.
type dnsServer struct {
	conn net.PacketConn
	mu   sync.Mutex
	a    netip.Addr
}

func newDNSServer(t *testing.T) *dnsServer {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go s.serve()
	return s
}

func (s *dnsServer) set(a string) { s.mu.Lock(); s.a = netip.MustParseAddr(a); s.mu.Unlock() }

func (s *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
	}}
}

func (s *dnsServer) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		q := buf[:n]
		if len(q) < 12 {
			continue
		}
		// The question: labels up to the root, then QTYPE and QCLASS.
		end := 12
		for end < len(q) && q[end] != 0 {
			end += int(q[end]) + 1
		}
		if end+5 > len(q) {
			continue
		}
		qtype := binary.BigEndian.Uint16(q[end+1:])
		question := q[12 : end+5]
		s.mu.Lock()
		a := s.a.As4()
		s.mu.Unlock()
		resp := append([]byte{}, q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0) // id, QR|RD|RA, 1 question
		resp = append(resp, question...)
		if qtype == 1 { // A
			resp[7] = 1 // one answer: a pointer to the question's name, A IN, TTL 0, 4 bytes
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, a[0], a[1], a[2], a[3])
		}
		s.conn.WriteTo(resp, from)
	}
}

// TestDNSRebinding: the name resolves to a public address when a naive validator looks it up, then
// to loopback or a private address when the client connects. The check runs on the address dialled,
// so the request is refused without connecting.
func TestDNSRebinding(t *testing.T) {
	dns := newDNSServer(t)
	c := NewGuardedClient(GuardOptions{Resolver: dns.resolver()})
	for _, inside := range []string{"127.0.0.1", "10.1.2.3", "169.254.169.254"} {
		dns.set("93.184.216.34")
		addrs, err := dns.resolver().LookupHost(context.Background(), "hooks.rebind.test")
		if err != nil || len(addrs) != 1 || addrs[0] != "93.184.216.34" {
			t.Fatalf("validation-time lookup: %v %v", addrs, err)
		}
		dns.set(inside) // the attacker's DNS now points inside
		a := deliverTo(c, "https://hooks.rebind.test/webhook")
		if a.Delivered || !strings.Contains(a.Error, inside) || !strings.Contains(a.Error, "blocked") {
			t.Fatalf("rebinding to %s: %+v", inside, a)
		}
	}
}
