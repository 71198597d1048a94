package gateway

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/faxseal/faxseal/modem/audio"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/t30"
	"github.com/faxseal/faxseal/t38"
)

// Copies of key UDPTL packets go out this far apart: loss on IP paths is bursty (spandsp
// doc/t38_manual.xml; t38.Datagram).
const copySpacing = 15 * time.Millisecond

// afterDone is how long a finished session keeps the call for the peer's BYE before we send ours.
const afterDone = 2 * time.Second

// faxCall is one fax call end to end: the goroutine that runs it owns the t30 session, the media
// transport (T.38 terminal or G.711 modems), the timers and the call's packet I/O.
type faxCall struct {
	call  *sip.Call
	cfg   t30.Config // without FrontEnd
	log   *slog.Logger
	start time.Time

	sess  *t30.Session
	media sip.MediaKind
	t38   sip.T38Session

	tep  *t38.Endpoint
	pend []pending // UDPTL copies scheduled for later

	au  *audio.Transport
	txf [sip.FrameSamples]byte

	restarts int
	onMedia  func(sip.MediaKind)
	// reinviteOnCED: as the sender on G.711, ask for T.38 ourselves this long after the far
	// CED or V.21 if the far end has not (fax-protocols §3.6: Asterisk SendFAX z, FreeSWITCH txfax).
	reinviteOnCED time.Duration
	cedAt         time.Duration // when CED was heard, 0 = not yet
	asked         bool
}

type pending struct {
	at   time.Duration
	data []byte
	left int
}

func (f *faxCall) now() time.Duration { return time.Since(f.start) }

// newSession starts a fresh T.30 session on fe. A switch to T.38 mid-call restarts T.30 from
// phase B with the same role (fax-protocols §3.6; FreeSWITCH re-inits its t38_terminal), and the
// peer's T.30 retries absorb it.
func (f *faxCall) newSession(fe t30.FrontEnd, onT38 bool) error {
	cfg := f.cfg
	cfg.FrontEnd = fe
	if onT38 {
		cfg.LocalTCF = f.t38.RateManagement == t38.LocalTCF
		if f.t38.MaxBitRate > 0 && (cfg.MaxBitRate == 0 || f.t38.MaxBitRate < cfg.MaxBitRate) {
			cfg.MaxBitRate = f.t38.MaxBitRate
		}
		cfg.RelaxedTimers = true
	}
	if s, ok := cfg.Sink.(*pageSink); ok {
		s.reset()
	}
	sess, err := t30.NewSession(cfg)
	if err != nil {
		return err
	}
	f.sess = sess
	sess.Start(f.now())
	return nil
}

func (f *faxCall) startAudio() error {
	law := g711.MuLaw
	if f.call.Codec() == sip.CodecPCMA {
		law = g711.ALaw
	}
	f.au = audio.New(law)
	f.tep, f.pend = nil, nil
	f.media = sip.MediaAudio
	if f.onMedia != nil {
		f.onMedia(f.media)
	}
	return f.newSession(f.au, false)
}

func (f *faxCall) startT38(s sip.T38Session) error {
	f.t38 = s
	term, err := t38.NewTerminal(t38.TerminalConfig{Syntax: t38.SyntaxForVersion(s.Version), RateManagement: s.RateManagement,
		MaxDatagram: s.RemoteDatagram, KeepAlive: 2 * time.Second})
	if err != nil {
		return err
	}
	// Redundancy 3 for control traffic, 1 for image data (sip.md §5 recommended depths).
	sc := s.Remote().SenderConfig(3)
	if sc.Depth > 0 {
		sc.ImageDepth = 1
	}
	snd, err := t38.NewSender(sc)
	if err != nil {
		return err
	}
	f.au = nil
	f.media = sip.MediaT38
	if f.onMedia != nil {
		f.onMedia(f.media)
	}
	if err := f.newSession(term, true); err != nil {
		return err
	}
	f.tep = t38.NewEndpoint(f.sess, term, snd)
	f.tep.Advance(f.now())
	f.flush()
	return nil
}

// flush schedules what the endpoint produced and sends what is due.
func (f *faxCall) flush() {
	if f.tep == nil {
		return
	}
	for _, d := range f.tep.TakeDatagrams() {
		f.pend = append(f.pend, pending{at: d.At, data: slices.Clone(d.Data), left: max(d.Count, 1)})
	}
	now := f.now()
	keep := f.pend[:0]
	for _, p := range f.pend {
		for p.left > 0 && p.at <= now {
			if err := f.call.WriteUDPTL(p.data); err != nil {
				f.log.Debug("UDPTL send failed", "err", err)
			}
			p.left--
			p.at += copySpacing
		}
		if p.left > 0 {
			keep = append(keep, p)
		}
	}
	f.pend = keep
}

// next is when the loop must wake up without input.
func (f *faxCall) next() (time.Duration, bool) {
	var at time.Duration
	ok := false
	pick := func(t time.Duration, has bool) {
		if has && (!ok || t < at) {
			at, ok = t, true
		}
	}
	if f.tep != nil {
		pick(f.tep.Deadline())
	} else if f.sess != nil {
		pick(f.sess.Deadline())
	}
	for _, p := range f.pend {
		pick(p.at, true)
	}
	return at, ok
}

func (f *faxCall) audioTick(fr sip.AudioFrame) {
	if fr.Lost {
		f.au.RxFillin(sip.FrameSamples)
	} else {
		f.au.RxG711(fr.Payload[:])
	}
	f.au.TxG711(f.txf[:])
	f.call.WriteAudio(f.txf[:])
	now := f.now()
	for _, ev := range f.au.Events() {
		// The far fax shows itself by CED, or definitively by V.21 flags (fax-protocols §3.6;
		// CED is not detected while our own CNG plays).
		farFax := (ev.Kind == t30.EventTone && ev.Tone == t30.ToneCED) ||
			((ev.Kind == t30.EventCarrierUp || ev.Kind == t30.EventHDLC) && ev.Modulation == t30.V21)
		if farFax && f.cedAt == 0 {
			f.cedAt = now
		}
		f.sess.Handle(now, ev)
	}
	f.sess.Advance(now)
	if f.reinviteOnCED > 0 && f.cedAt > 0 && !f.asked && now-f.cedAt >= f.reinviteOnCED {
		f.asked = true
		f.call.RequestT38()
	}
}

// run drives the call until the T.30 session ends or the call does, and returns the outcome.
// ctx cancels the fax (T.30 DCN, then BYE).
func (f *faxCall) run(ctx context.Context) t30.Result {
	f.start = time.Now()
	var err error
	if s, ok := f.call.T38(); ok {
		err = f.startT38(s)
	} else {
		err = f.startAudio()
	}
	if err != nil {
		f.log.Error("fax session did not start", "err", err)
		f.call.Hangup(context.Background())
		return t30.Result{Code: t30.ProtocolError, Detail: err.Error()}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctxDone := ctx.Done()
	var doneAt time.Time
	hungUp := false
	for {
		if f.sess.Done() && doneAt.IsZero() {
			doneAt = time.Now()
		}
		if !doneAt.IsZero() && (hungUp || time.Since(doneAt) > afterDone || f.cfg.Role == t30.Send) {
			break
		}
		wait := time.Hour
		if at, ok := f.next(); ok {
			wait = max(at-f.now(), 0)
		}
		if !doneAt.IsZero() {
			wait = min(wait, max(afterDone-time.Since(doneAt), 0))
		}
		timer.Reset(wait)
		select {
		case <-ctxDone:
			ctxDone = nil
			f.sess.Cancel(f.now())
			f.pump()
		case ev := <-f.call.Events():
			switch ev.Kind {
			case sip.EventT38Started:
				if f.media != sip.MediaT38 && !f.sess.Done() {
					f.restarts++
					if err := f.startT38(ev.T38); err != nil {
						f.log.Error("T.38 start failed", "err", err)
					}
				}
			case sip.EventAudioResumed:
				if f.media != sip.MediaAudio && !f.sess.Done() {
					f.restarts++
					f.startAudio()
				}
			case sip.EventHangup:
				f.sess.Hangup(f.now())
				hungUp = true
			}
		case fr := <-f.call.Audio():
			if f.media == sip.MediaAudio && !f.sess.Done() {
				f.audioTick(fr)
			}
		case d := <-f.call.UDPTL():
			if f.tep != nil {
				f.tep.Datagram(f.now(), d)
				f.flush()
			}
		case <-timer.C:
			f.pump()
		}
		if hungUp {
			break
		}
	}
	// Let the last copies (DCN, MCF) go out before the BYE.
	for len(f.pend) > 0 && !hungUp {
		at, _ := f.next()
		time.Sleep(max(at-f.now(), 0))
		f.flush()
	}
	if !hungUp {
		f.call.Hangup(context.Background())
	}
	return f.sess.Result()
}

func (f *faxCall) pump() {
	now := f.now()
	if f.tep != nil {
		f.tep.Advance(now)
		f.flush()
		return
	}
	f.sess.Advance(now)
}
