package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Direction says who placed the call.
type Direction int

const (
	DirectionInvalid Direction = iota
	Inbound                    // the trunk called us: we receive the fax
	Outbound                   // we called through a trunk: we send the fax
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return "invalid"
}

// EventKind is the kind of a call event.
type EventKind int

const (
	EventInvalid      EventKind = iota
	EventAnswered               // the dialog is confirmed (our 200 ACKed, or their 200 received and ACKed)
	EventT38Started             // media is now T.38; Event.T38 holds the parameters, Remote who asked
	EventT38Refused             // our T.38 re-INVITE was refused (Status) or timed out (Status 0): stay on G.711
	EventAudioResumed           // the peer re-INVITEd back to audio
	EventHangup                 // the call ended; Remote says whether the peer sent BYE; Err the cause
)

func (k EventKind) String() string {
	switch k {
	case EventAnswered:
		return "answered"
	case EventT38Started:
		return "t38-started"
	case EventT38Refused:
		return "t38-refused"
	case EventAudioResumed:
		return "audio-resumed"
	case EventHangup:
		return "hangup"
	}
	return "invalid"
}

// Event is something that happened on a call's dialog.
type Event struct {
	Kind   EventKind
	Remote bool
	Status int
	T38    T38Session
	Err    error
}

// Errors of the call seam.
var (
	ErrCallEnded     = errors.New("sip: call ended")
	ErrMediaInactive = errors.New("sip: that media is not active on the call")
	ErrT38Disabled   = errors.New("sip: T.38 disabled on this trunk")
	ErrRemoteHangup  = errors.New("sip: remote hung up")
)

// dialog is what *sipgo.DialogServerSession and *sipgo.DialogClientSession share.
type dialog interface {
	Do(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, error)
	WriteRequest(req *sipmsg.Request) error
	Bye(ctx context.Context) error
	ReadRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) error
	Context() context.Context
}

// Call is one SIP dialog and its media. All methods are safe for concurrent use; the intended
// consumer is one goroutine per call (package gateway).
type Call struct {
	ep        *Endpoint
	id        string // sipgo dialog ID
	direction Direction
	trunk     *Trunk
	from, to  string // E.164: caller and called
	log       *slog.Logger
	// audioOnly keeps this call on G.711 whatever the trunk allows (DialRequest.AudioOnly).
	audioOnly bool

	dlg dialog
	uas *sipgo.DialogServerSession
	uac *sipgo.DialogClientSession
	sdp *sdpBuilder

	audioIn chan AudioFrame
	udptlIn chan []byte
	events  chan Event
	done    chan struct{}

	mu            sync.Mutex
	media         MediaKind
	codec         Codec
	pt            uint8
	audio         *rtpStream
	audioPort     int
	image         *udptlStream
	imagePort     int
	t38           T38Session
	localPending  bool // our re-INVITE is in flight (glare guard, RFC 3261 §14.1)
	localDone     chan struct{}
	remotePending bool // their re-INVITE is being answered (RFC 3261 §14.2: 500 to an overlapping one)
	t38Tried      bool // a refused T.38 request is not repeated in this call (fax-protocols §3.6)
	ackWait       map[uint32]chan struct{}
	ackSDP        chan []byte // delayed-offer call: the initial ACK's body (the answer to our 2xx)
	lastAck       *sipmsg.Request
	abandoned     *sipmsg.Request // our T.38 re-INVITE that timed out, whose late 2xx we still accept
	lastAckCSeq   uint32
	answered      bool
	held          []Event // events that came before EventAnswered, delivered right after it
	localBye      bool
	ended         bool
	cause         error
	cng           ToneDetector
	endOnce       sync.Once
}

// ID is the dialog ID (Call-ID and both tags).
func (c *Call) ID() string { return c.id }

// Direction says who placed the call.
func (c *Call) Direction() Direction { return c.direction }

// Trunk is the trunk the call arrived on or left through.
func (c *Call) Trunk() *Trunk { return c.trunk }

// From is the caller's number, E.164 when it could be normalised (else the raw user part).
func (c *Call) From() string { return c.from }

// To is the called number in E.164.
func (c *Call) To() string { return c.to }

// Events delivers the call's events; EventHangup is the last one.
func (c *Call) Events() <-chan Event { return c.events }

// Done is closed when the call has ended and its media ports are released.
func (c *Call) Done() <-chan struct{} { return c.done }

// Err is why the call ended (nil while it runs; ErrRemoteHangup for a peer BYE).
func (c *Call) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Audio delivers one frame every 20 ms while the media is G.711 (Lost silence frames until the
// playout buffer has filled, and for every packet that did not arrive in time).
func (c *Call) Audio() <-chan AudioFrame { return c.audioIn }

// UDPTL delivers the UDPTL datagrams received while the media is T.38.
func (c *Call) UDPTL() <-chan []byte { return c.udptlIn }

// Media is the current media kind.
func (c *Call) Media() MediaKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media
}

// Codec is the negotiated G.711 law (valid while an audio stream exists).
func (c *Call) Codec() Codec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codec
}

// T38 returns the negotiated T.38 parameters; ok is false while the media is not T.38.
func (c *Call) T38() (T38Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t38, c.media == MediaT38
}

// WriteAudio queues one 20 ms frame (160 octets in the call's law) for the RTP clock.
func (c *Call) WriteAudio(frame []byte) error {
	c.mu.Lock()
	a, active := c.audio, c.media == MediaAudio && !c.ended
	c.mu.Unlock()
	if !active || a == nil {
		return ErrMediaInactive
	}
	var f [FrameSamples]byte
	n := copy(f[:], frame)
	for i := n; i < FrameSamples; i++ {
		f[i] = a.codec().Silence()
	}
	select {
	case a.out <- f:
		return nil
	default:
		return ErrAudioBacklog
	}
}

// WriteUDPTL sends one UDPTL datagram to the peer.
func (c *Call) WriteUDPTL(p []byte) error {
	c.mu.Lock()
	s, active := c.image, c.media == MediaT38 && !c.ended
	c.mu.Unlock()
	if !active || s == nil {
		return ErrMediaInactive
	}
	if len(p) > maxDatagram {
		return fmt.Errorf("sip: UDPTL datagram of %d octets exceeds %d", len(p), maxDatagram)
	}
	return s.write(p)
}

// RequestT38 asks the peer to switch to T.38 with a re-INVITE (fax-protocols §3.6). It returns
// at once; the outcome arrives as EventT38Started or EventT38Refused. A call that is already on
// T.38, has a switch in progress, or had one refused, ignores the request.
func (c *Call) RequestT38() error {
	if !c.t38Allowed() {
		return ErrT38Disabled
	}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return ErrCallEnded
	}
	busy := c.media == MediaT38 || c.localPending || c.t38Tried || !c.answered
	if !busy {
		c.t38Tried = true
	}
	c.mu.Unlock()
	if busy {
		return nil
	}
	go c.reinviteT38()
	return nil
}

// t38Allowed reports whether this call may switch to T.38: the trunk enables it and the call was
// not placed audio-only.
func (c *Call) t38Allowed() bool { return c.trunk.T38Enabled() && !c.audioOnly }

// Hangup ends the call with BYE and waits (bounded by ctx) for the 200.
func (c *Call) Hangup(ctx context.Context) error {
	c.mu.Lock()
	ended := c.ended
	c.localBye = true
	c.mu.Unlock()
	if ended {
		return nil
	}
	bctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	err := c.sendBye(bctx)
	c.finish(nil, false)
	return err
}

// sendBye builds the BYE toward the remote target (RFC 3261 §15.1.1) and sends it from our
// listener socket.
func (c *Call) sendBye(ctx context.Context) error {
	if c.uas != nil {
		inv := c.uas.InviteRequest
		bye := sipmsg.NewRequest(sipmsg.BYE, c.remoteTarget())
		bye.SetTransport(inv.Transport())
		c.ep.pinUDP(bye, inv.Transport())
		return c.uas.WriteBye(ctx, bye)
	}
	if c.uac.InviteResponse == nil {
		return nil
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, c.remoteTarget())
	c.ep.pinUDP(bye, c.uac.InviteRequest.Transport())
	return c.uac.WriteBye(ctx, bye)
}

// remoteTarget is the peer's Contact (RFC 3261 §12.1.1/§12.1.2).
func (c *Call) remoteTarget() sipmsg.Uri {
	if c.uas != nil {
		if h := c.uas.InviteRequest.Contact(); h != nil {
			return *h.Address.Clone()
		}
		return c.uas.InviteRequest.From().Address
	}
	if h := c.uac.InviteResponse.Contact(); h != nil {
		return *h.Address.Clone()
	}
	return c.uac.InviteRequest.Recipient
}

// endFromDialog finishes a call whose sipgo dialog ended without going through onBye.
func (c *Call) endFromDialog(cause error) {
	c.mu.Lock()
	local := c.localBye
	c.mu.Unlock()
	if local {
		c.finish(nil, false)
		return
	}
	c.finish(cause, true)
}

func (c *Call) emit(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.answered && e.Kind != EventHangup {
		// A peer may re-INVITE the moment it has sent the ACK that confirms the dialog, before the
		// goroutine that saw the ACK has announced the answer: hold its events so a consumer always
		// sees EventAnswered first (markAnswered delivers them).
		c.held = append(c.held, e)
		return
	}
	c.deliverLocked(e)
}

// markAnswered records that the dialog is confirmed and, in one step under c.mu, delivers
// EventAnswered followed by any events held before it. It returns the media at that moment.
func (c *Call) markAnswered() MediaKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = true
	c.deliverLocked(Event{Kind: EventAnswered})
	for _, e := range c.held {
		c.deliverLocked(e)
	}
	c.held = nil
	return c.media
}

// deliverLocked hands e to the consumer without blocking (the events channel is buffered; a
// consumer that stopped reading loses events, never the call).
func (c *Call) deliverLocked(e Event) {
	select {
	case c.events <- e:
	default:
		c.log.Warn("call event dropped: consumer not reading", "event", e.Kind.String())
	}
}

// finish ends the call exactly once: stops media, releases every port, forgets the dialog.
func (c *Call) finish(cause error, remote bool) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.ended = true
		c.cause = cause
		audio, image := c.audio, c.image
		ap, ip := c.audioPort, c.imagePort
		c.audioPort, c.imagePort = 0, 0
		c.mu.Unlock()
		if audio != nil {
			audio.close()
		}
		if image != nil {
			image.close()
		}
		if ap != 0 {
			c.ep.ports.Release(ap)
		}
		if ip != 0 {
			c.ep.ports.Release(ip)
		}
		c.ep.forget(c)
		c.emit(Event{Kind: EventHangup, Remote: remote, Err: cause})
		close(c.done)
	})
}

// startAudio binds the RTP stream for choice (or re-targets the existing one) and makes it active.
func (c *Call) startAudioLocked(codec Codec, pt uint8, remote netip.AddrPort) {
	if c.audio == nil {
		return
	}
	c.audio.setFormat(codec, pt)
	c.audio.setRemote(remote)
	c.codec, c.pt = codec, pt
	c.media = MediaAudio
	c.audio.setActive(true)
}

// newAudioStreamLocked takes an RTP port for the call.
func (c *Call) newAudioStreamLocked(codec Codec, pt uint8, remote netip.AddrPort) error {
	conn, port, err := c.ep.ports.Take()
	if err != nil {
		return err
	}
	c.audioPort = port
	c.audio = newRTPStream(conn, codec, pt, remote, c.audioIn, c.cng, func() { c.RequestT38() })
	c.audio.setActive(false)
	c.codec, c.pt = codec, pt
	c.audio.start()
	return nil
}

// newImageStreamLocked takes a UDPTL port for the call (kept until the call ends, so a later
// refresh or switch reuses it).
func (c *Call) newImageStreamLocked() (int, error) {
	if c.image != nil {
		return c.imagePort, nil
	}
	conn, port, err := c.ep.ports.Take()
	if err != nil {
		return 0, err
	}
	c.imagePort = port
	c.image = newUDPTLStream(conn, c.udptlIn)
	c.image.start()
	return port, nil
}

// releaseImageLocked gives back a UDPTL port taken for an offer that was refused.
func (c *Call) releaseImageLocked() {
	if c.image == nil || c.media == MediaT38 {
		return
	}
	img, port := c.image, c.imagePort
	c.image, c.imagePort = nil, 0
	c.mu.Unlock()
	img.close()
	c.ep.ports.Release(port)
	c.mu.Lock()
}

func (c *Call) startT38Locked(remote netip.AddrPort, s T38Session) {
	c.image.setRemote(remote)
	c.t38 = s
	c.media = MediaT38
	// Stop RTP before the first UDPTL packet (fax-protocols §3.6, mid-T.30 switch).
	if c.audio != nil {
		c.audio.setActive(false)
	}
}

// currentMediaLocked is our current stream as an SDP media section, for refreshes (session
// timers must re-offer the image SDP while on T.38: freeswitch #2789).
func (c *Call) currentMediaLocked() Media {
	if c.media == MediaT38 {
		return imageMedia(c.imagePort, c.trunk.t38)
	}
	return audioMedia(c.audioPort, c.codec, c.pt)
}
