package t38

import (
	"time"

	"github.com/faxseal/faxseal/t30"
)

// Engine is the part of a *t30.Session an Endpoint drives.
type Engine interface {
	Handle(now time.Duration, ev t30.Event)
	Advance(now time.Duration)
	Deadline() (time.Duration, bool)
}

// Datagram is one UDPTL payload to send at At, Count times (copies of key packets; a sender spreads
// them 10-20 ms apart because loss is bursty, spandsp doc/t38_manual.xml).
type Datagram struct {
	At    time.Duration
	Data  []byte
	Count int
}

// Endpoint is one side of a T.38 call without the socket: a t30 engine, the terminal transport it
// drives and the UDPTL sender and receiver. Feed it received datagrams and time; send what
// TakeDatagrams returns.
//
// Wiring for a call whose SDP exchange gave local and remote Parameters (answered version v):
//
//	term, _ := t38.NewTerminal(t38.TerminalConfig{Syntax: t38.SyntaxForVersion(v),
//		RateManagement: remote.RateManagement, MaxDatagram: remote.MaxDatagram, KeepAlive: 2 * time.Second})
//	sess, _ := t30.NewSession(t30.Config{FrontEnd: term, LocalTCF: remote.RateManagement == t38.LocalTCF,
//		MaxBitRate: remote.MaxBitRate, ...})
//	snd, _ := t38.NewSender(remote.SenderConfig(3))
//	ep := t38.NewEndpoint(sess, term, snd)
//	sess.Start(now); ep.Advance(now)
//	// then: ep.Datagram(now, payload) per received datagram, ep.Advance(now) at ep.Deadline(),
//	// and after each call send ep.TakeDatagrams(): Data at At, Count copies 10-20 ms apart.
type Endpoint struct {
	Engine   Engine
	Terminal *Terminal
	Sender   *Sender
	Receiver Receiver

	out   [2][]Datagram
	arena [2][]byte
	side  int
}

// NewEndpoint joins a terminal (the engine's FrontEnd) and a UDPTL sender.
func NewEndpoint(engine Engine, term *Terminal, sender *Sender) *Endpoint {
	return &Endpoint{Engine: engine, Terminal: term, Sender: sender}
}

// Datagram takes one received UDP payload at now. A datagram that is not UDPTL is dropped (returned
// as an error for the caller's counters); so are IFPs the terminal cannot decode.
func (e *Endpoint) Datagram(now time.Duration, b []byte) error {
	dl, err := e.Receiver.Receive(b)
	if err != nil {
		return err
	}
	for _, d := range dl {
		if d.IFP == nil {
			e.Terminal.Lost(d.Lost)
			continue
		}
		_ = e.Terminal.Input(now, d.IFP) // counted in Terminal.InvalidIFPs
	}
	e.pump(now)
	return nil
}

// Advance runs timers and the transmitter up to now.
func (e *Endpoint) Advance(now time.Duration) {
	e.Engine.Advance(now)
	e.pump(now)
}

// Deadline is the earliest time the engine or the transport needs Advance.
func (e *Endpoint) Deadline() (time.Duration, bool) {
	a, okA := e.Engine.Deadline()
	b, okB := e.Terminal.Deadline()
	switch {
	case okA && okB:
		return min(a, b), true
	case okA:
		return a, true
	}
	return b, okB
}

func (e *Endpoint) pump(now time.Duration) {
	// Handing events to the engine queues transmissions; running the terminal may produce more
	// events (TxDone), so loop until quiet. The bound only guards against a livelock bug.
	for range 1000 {
		e.Terminal.Advance(now)
		evs := e.Terminal.TakeEvents()
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			e.Engine.Handle(now, ev)
		}
	}
	s := e.side
	for _, o := range e.Terminal.TakePackets() {
		d, err := e.Sender.Packet(o.IFP)
		if err != nil {
			continue // cannot happen: the terminal cuts data to the peer's max datagram
		}
		start := len(e.arena[s])
		e.arena[s] = append(e.arena[s], d...)
		e.out[s] = append(e.out[s], Datagram{At: o.At, Data: e.arena[s][start:len(e.arena[s]):len(e.arena[s])], Count: o.Count})
	}
}

// TakeDatagrams returns the datagrams produced since the last call; valid until the call after next.
func (e *Endpoint) TakeDatagrams() []Datagram {
	s := e.side
	e.side ^= 1
	e.out[e.side], e.arena[e.side] = e.out[e.side][:0], e.arena[e.side][:0]
	return e.out[s]
}
