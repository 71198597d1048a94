package sip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts means the media port range is exhausted: the INVITE gets 503 (sip.md §6.1).
var ErrNoPorts = errors.New("sip: media port range exhausted")

// PortPool hands out UDP sockets bound to ports of the configured range. Even ports only, so
// the odd neighbour stays free for RTCP by the RFC 3550 §11 convention peers assume. Every socket
// taken must be given back with Release, on every call path; InUse lets tests prove it.
type PortPool struct {
	bind netip.Addr
	mu   sync.Mutex
	free []int // LIFO would reuse hot ports immediately; we take from the front, append at the back
	used map[int]*net.UDPConn
}

// NewPortPool covers [min, max] (inclusive) on bind (the unspecified address when invalid).
func NewPortPool(bind netip.Addr, min, max int) (*PortPool, error) {
	if min < 1 || max > 65535 || min > max {
		return nil, fmt.Errorf("sip: port range %d-%d invalid", min, max)
	}
	if !bind.IsValid() {
		bind = netip.IPv4Unspecified()
	}
	p := &PortPool{bind: bind, used: map[int]*net.UDPConn{}}
	for port := min + min%2; port <= max; port += 2 {
		p.free = append(p.free, port)
	}
	if len(p.free) == 0 {
		return nil, fmt.Errorf("sip: port range %d-%d has no even port", min, max)
	}
	return p, nil
}

// Capacity is the number of sockets the pool can hand out.
func (p *PortPool) Capacity() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free) + len(p.used)
}

// InUse is the number of sockets currently taken.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// Take binds the next free port. Ports some other process holds are skipped (and put back at
// the end of the queue, since they may free up later).
func (p *PortPool) Take() (*net.UDPConn, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for tries := len(p.free); tries > 0; tries-- {
		port := p.free[0]
		p.free = p.free[1:]
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.bind, uint16(port))))
		if err != nil {
			p.free = append(p.free, port)
			continue
		}
		p.used[port] = c
		return c, port, nil
	}
	return nil, 0, ErrNoPorts
}

// Release closes the socket of port and returns the port. Releasing twice is harmless, so every
// cleanup path may call it.
func (p *PortPool) Release(port int) {
	p.mu.Lock()
	c, ok := p.used[port]
	if ok {
		delete(p.used, port)
		p.free = append(p.free, port)
	}
	p.mu.Unlock()
	if ok {
		c.Close()
	}
}

func rand64() uint64 { return uint64(rand.Uint32())<<16 | uint64(rand.Uint32()&0xffff) }
