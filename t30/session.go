package t30

import (
	"bytes"
	"fmt"
	"time"
)

// Turnaround and signal durations (T.30 §5.3.2.4, brief §2.1, Appendix A).
const (
	gapSilence     = 75 * time.Millisecond // between signals, 75 ± 20 ms
	cedLead        = 200 * time.Millisecond
	cedDuration    = 3 * time.Second // 2.6-4.0 s
	tcfDuration    = 1500 * time.Millisecond
	maxCommandTry  = 3 // T.30 §5.4.3.1 note, DEFAULT_MAX_COMMAND_TRIES
	maxTriesHeard  = 6 // with unreadable answers (giveUp)
	pprLimit       = 4 // T.30 §A.4.4: CTC or EOR after the fourth PPR
	maxFramesBlock = 256
	rcpCount       = 3
	// eomDISDelay: after MCF to EOM the receiver sends DIS again once the
	// sender has had time to return to phase B; TSB-85 MRGN09 wants it
	// 5.0-7.0 s after MCF, so aim at 6 s including the turnaround gap.
	eomDISDelay = 6*time.Second - gapSilence
	// dcsAnswerWait: the earliest a DCS+TCF is repeated, counted from the
	// end of the DCS: the receiver's longest T2 (7 s) plus the round trip
	// and flag detection of its FTT (armDCSWait).
	dcsAnswerWait = 8 * time.Second
)

type state uint8

const (
	stIdle state = iota
	// Phase B, identification.
	stWaitDIS // calling: CNG, waiting for DIS
	stWaitDCS // sent DIS or DTC, waiting for DCS (or DTC when we send)
	// Transmitter.
	stTxTCF   // sending DCS+TCF: responses not yet valid
	stTxDCS   // waiting for CFR/FTT
	stTxPage  // sending non-ECM page or ECM burst: responses not yet valid
	stTxPPM   // waiting for MCF/RTP/RTN/PIP/PIN
	stTxPPS   // ECM: waiting for MCF/PPR/RNR after PPS or RR
	stTxCTC   // ECM: waiting for CTR
	stTxEOR   // ECM: waiting for ERR
	stTxDCN   // DCN queued
	stRxTCF   // got DCS, receiving TCF
	stRxWait  // sent CFR/MCF/PPR/CTR..., waiting for a page, a burst or a command
	stRxPage  // receiving a non-ECM page
	stRxPPM   // page carrier ended, waiting for the post-page command
	stRxECM   // receiving an ECM burst
	stRxDCN   // after MCF to EOP, waiting for DCN
	stRxEOM   // after MCF to EOM: DIS again after T2 (TSB-85 MRGN09)
	stRxDCNTx // we are sending DCN as receiver
	stDone
)

var stateNames = [...]string{
	stIdle: "idle", stWaitDIS: "wait-DIS", stWaitDCS: "wait-DCS", stTxTCF: "tx-TCF", stTxDCS: "wait-CFR",
	stTxPage: "tx-page", stTxPPM: "wait-MCF", stTxPPS: "wait-PPS-response", stTxCTC: "wait-CTR",
	stTxEOR: "wait-ERR", stTxDCN: "tx-DCN", stRxTCF: "rx-TCF", stRxWait: "rx-wait", stRxPage: "rx-page",
	stRxPPM: "rx-wait-PPM", stRxECM: "rx-ECM", stRxDCN: "rx-wait-DCN", stRxEOM: "rx-EOM",
	stRxDCNTx: "rx-tx-DCN", stDone: "done",
}

func (s state) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

type timerKind uint8

const (
	timerNone timerKind = iota
	timerT2
	timerT4
	timerT2EOM // T2 in stRxEOM: then send DIS
)

// pendingTx is a queued transmission and what to do when it is done.
type pendingTx struct {
	cng    bool
	expect state // onDone only runs if the session is still in this state
	onDone func()
}

// Session is one T.30 call, sender or receiver. See the package comment for
// how it is driven. A Session is not safe for concurrent use; one goroutine
// (the call's media loop) owns it.
//
// Procedure (T.30 §5, Figures 5-2 to 5-7; state names follow spandsp t30.c
// where they exist):
//
//   - Phase A/B: the caller plays CNG and waits up to T1 for DIS; the
//     answerer plays CED and sends [CSI] DIS every T4 until T1. A calling
//     receiver polls with [CIG] DTC if the DIS says a document is waiting.
//   - The transmitter intersects capabilities (ECM only if both, MMR only
//     with ECM, resolution and width stepped down to the receiver's), picks
//     the fastest common entry of the spandsp fallback table and sends
//     [TSI] DCS, then TCF: 1.5 s of zeros, always long-trained. The receiver
//     answers CFR if the longest zero run lasts 1 s, else FTT; FTT steps the
//     transmitter one entry down the table, FTT at 2400 ends in DCN.
//   - Phase C/D non-ECM: page, then MPS (more pages) or EOP. MCF next page;
//     RTP keep and retrain at the same rate; RTN (or PIN) retrain one step
//     lower and send the page again, at most Config.MaxPageRetries times.
//     PIP counts as MCF: this engine has no operator interrupt, so T3 is
//     unused.
//   - Phase C/D ECM (Annex A): the page is cut into 256-octet FCD frames
//     (64 if the receiver prefers them), at most 256 per block, each burst
//     ends with 3 RCP and is followed by PPS-NULL/MPS/EOP. PPR lists frames
//     to resend; after the fourth PPR for a block, CTC moves one rate down
//     (answered by CTR, next burst long-trained), or at the lowest rate EOR
//     drops the block (answered by ERR). RNR is polled with RR until T5.
//   - Phase E: DCN, sent by the transmitter after the last confirmation or
//     by either side on failure.
//
// Repetition (§5.4.3): a command without response is sent again after T4,
// three times in all, then DCN; CRP counts as a try. A try whose answer
// arrived unreadable (bad FCS) is not unanswered and does not count, up to
// six tries in all. DCS+TCF is repeated no earlier than 8 s after the DCS,
// so that a receiver that missed TCF answers FTT at its T2 first; after
// three tries at one modem of which one drew no signal at all the sender
// moves to the next slower modem (V.17, V.29, V.27ter), whose training may
// survive where the faster one's did not, and sends DCN only when the
// slowest modem got no answer either. A command heard again
// means our response was lost: the response is repeated. Frames with a bad
// FCS are never acted on (TSB-85 MRGN17), echoes of our own frames and
// frames we cannot parse are ignored, and a copy of a frame we are still
// answering is dropped. A V.21 carrier from the peer extends T4 and
// restarts T2.
//
// Tolerated deviations: PRI-MPS/EOP/EOM are treated as MPS/EOP/EOM; NSF,
// NSS, SUB, SID, PWD are accepted and ignored; DIS/DCS longer than this
// package knows are accepted; a PPS frame count smaller than the frames
// heard, or than an earlier PPS of the same block gave, is raised to
// match; a page whose carrier-down report was lost
// ends at its post-page command; a short last ECM frame and a zero-padded
// one are both accepted.
type Session struct {
	cfg   Config
	fe    FrontEnd
	now   time.Duration
	state state
	res   Result
	trace []TraceEntry

	t1On    bool
	t1At    time.Duration
	t5On    bool
	t5At    time.Duration
	timer   timerKind
	timerAt time.Duration

	queue    []pendingTx
	lastSent [][]byte // frames of our last V.21 burst, for echo detection

	// Command repetition (T.30 §5.4.3.1) and response repetition (§5.3.2.5).
	cmd      []Tx
	cmdTries int
	cmdFail  Code
	cmdWhat  string
	resp     []Tx

	// Negotiation.
	remote    Capabilities
	gotRemote bool
	speeds    []speed
	speedIdx  int
	format    Format
	dcs       Settings
	xbit      bool
	longTrain bool // next fast transmission/reception needs long training

	// Sender.
	page       int
	pageData   []byte
	pageTries  int
	pageLost   bool // an ECM block of this page was abandoned (EOR)
	anyLost    bool
	blockStart int // first frame of the current block within the page
	blockLen   int // frames in the current block
	frameSize  int
	pprCount   int
	resend     [32]byte
	postPage   FCF // last PPM or PPS second FCF sent

	// Receiver.
	tcfRun, tcfBest, tcfBytes int
	rxTrained                 bool
	rxPageOpen                bool
	rxPageCount               int
	quality                   Quality
	pageErr                   bool
	lastPPM                   FCF
	rxFrames                  [maxFramesBlock][]byte
	rxHave                    [maxFramesBlock]bool
	rxFrameSize               int
	rxLastPage, rxLastBlock   int
	rxHaveLast                bool
	rxRejected                bool
	burstFrames               int
	sawCarrier                bool
	lastRespFCF               FCF
	lastRx                    []byte
	cancelled                 bool
	tcf                       []byte
	rxBytes                   int
	documents                 Documents // Source as Documents, if it is one
	t2Quiet                   int       // consecutive T2 expiries in stRxWait
	rxEnded                   bool      // EndPage called, Commit still owed

	// The ECM block being received: its PPS page and block numbers and
	// the largest frame count heard for it (gotPPS).
	rxBlockKnown            bool
	rxBlockPage, rxBlockNum int
	rxBlockFrames           int

	// The modems at which DCS+TCF went unanswered three times; whether
	// the peer's V.21 was heard at all since the command was last sent,
	// and how many tries of it drew no signal at all.
	noResponse []string
	cmdHeard   bool
	cmdSilent  int
	dcsDoneAt  time.Duration // when our last DCS burst had been sent
}

// NewSession checks cfg and returns a session ready to Start.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, fe: cfg.FrontEnd}
	s.documents, _ = cfg.Source.(Documents)
	s.xbit = cfg.Calling
	return s, nil
}

// Start begins phase A at time now: the calling side plays CNG and listens
// for DIS; the answering side plays CED and sends DIS (T.30 §5.1, §5.2).
func (s *Session) Start(now time.Duration) {
	if s.state != stIdle {
		return
	}
	s.now = now
	s.t1On, s.t1At = true, now+s.cfg.Timers.T1
	if s.cfg.Calling {
		s.enter(stWaitDIS)
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.transmit(Tx{Kind: TxCNG}, stWaitDIS, nil)
		return
	}
	s.enter(stWaitDCS)
	s.transmit(Tx{Kind: TxSilence, Duration: cedLead}, stWaitDCS, nil)
	s.transmit(Tx{Kind: TxCED, Duration: cedDuration}, stWaitDCS, nil)
	s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
	s.sendCommand(NoAnswer, "DIS", s.identFrames(FCFCSI, FCFDIS)...)
}

// Done reports whether the session has reached its end (phase E).
func (s *Session) Done() bool { return s.state == stDone }

// Result returns the outcome; meaningful once Done.
func (s *Session) Result() Result { return s.res }

// Trace returns the frame trace so far. The slice is owned by the session
// and must not be modified.
func (s *Session) Trace() []TraceEntry { return s.trace }

// Deadline returns the time at which the session next needs Advance, and
// false if no timer is running.
func (s *Session) Deadline() (time.Duration, bool) {
	if s.state == stDone {
		return 0, false
	}
	var at time.Duration
	ok := false
	pick := func(t time.Duration) {
		if !ok || t < at {
			at, ok = t, true
		}
	}
	if s.t1On {
		pick(s.t1At)
	}
	if s.t5On {
		pick(s.t5At)
	}
	if s.timer != timerNone {
		pick(s.timerAt)
	}
	return at, ok
}

// Advance moves the session's clock to now and fires due timers.
func (s *Session) Advance(now time.Duration) {
	if now > s.now {
		s.now = now
	}
	for s.state != stDone {
		at, ok := s.Deadline()
		if !ok || at > s.now {
			return
		}
		switch {
		case s.timer != timerNone && s.timerAt == at:
			k := s.timer
			s.timer = timerNone
			s.timerExpired(k)
		case s.t1On && s.t1At == at:
			s.t1On = false
			s.t1Expired()
		default:
			s.t5On = false
			s.sendDCN(RemoteBusy, "T5 expired while the receiver was not ready")
		}
	}
}

// Cancel ends the session at the local application's request: DCN is sent
// (T.30 §5.3.6.1.9) and the result is Cancelled.
func (s *Session) Cancel(now time.Duration) {
	s.Advance(now)
	switch s.state {
	case stDone, stTxDCN, stRxDCNTx:
		return
	case stIdle:
		s.finish(Cancelled, "cancelled before start")
		return
	case stTxPage:
		// Let the image end (it is already queued), then DCN instead of the
		// post-page command.
		s.cancelled = true
		return
	}
	s.sendDCN(Cancelled, "cancelled locally")
}

// Hangup tells the session the call is gone (SIP BYE, line drop): nothing
// more can be sent or received. The result depends on how far we got.
func (s *Session) Hangup(now time.Duration) {
	s.Advance(now)
	switch s.state {
	case stDone:
		return
	case stTxDCN, stRxDCNTx:
		s.finish(s.res.Code, s.res.Detail)
		return
	case stRxDCN:
		s.finish(OK, "line dropped instead of DCN")
		return
	}
	s.finish(s.disconnectCode(false), "call hung up in state "+s.state.String())
}

// disconnectCode classifies an end of call the procedure did not expect.
func (s *Session) disconnectCode(dcn bool) Code {
	switch s.state {
	case stWaitDIS, stWaitDCS:
		if !s.gotRemote && !dcn {
			return NotFax
		}
	case stTxPage, stRxPage, stRxECM:
		return HungUpMidPage
	}
	if dcn {
		return RemoteDisconnected
	}
	return HungUp
}

// Handle processes one transport event at time now.
func (s *Session) Handle(now time.Duration, ev Event) {
	s.Advance(now)
	if s.state == stDone {
		return
	}
	switch ev.Kind {
	case EventTxDone:
		s.txDone()
	case EventHDLC:
		s.rxHDLC(ev)
	case EventCarrierUp:
		if ev.Modulation != V21 && s.state == stRxWait {
			s.sawCarrier = true
		}
		if ev.Modulation == V21 {
			s.v21Flags()
		}
	case EventTrained:
		s.rxTrainedEv(ev)
	case EventTrainingFailed:
		s.rxTrainFailed(ev)
	case EventData:
		s.rxData(ev.Data)
	case EventCarrierDown:
		s.rxCarrierDown(ev)
	case EventTone:
		// Informational: T.30 acts on frames, not tones.
	}
}

// v21Flags reacts to the start of a V.21 transmission from the peer: a
// frame is arriving, so a wait must not expire under it (T.30 §5.4.3.1,
// spandsp T2/T4 "flagged"). A receiver waiting for a command restarts T2
// altogether: the sender is alive and repeating, and three tries of a
// command at T4 spacing outlast a single T2.
func (s *Session) v21Flags() {
	if s.timer == timerT4 || s.state == stTxDCS {
		s.cmdHeard = true // a response came, even if we cannot read it
	}
	switch s.timer {
	case timerT2:
		if s.state != stRxTCF {
			s.startTimer(timerT2, s.cfg.Timers.T2)
		}
	case timerT4:
		if s.timerAt < s.now+flaggedExtension {
			s.timerAt = s.now + flaggedExtension
		}
	}
}

// enter switches state and stops the response timer (T1 and T5 run on).
func (s *Session) enter(st state) {
	s.state = st
	s.timer = timerNone
}

func (s *Session) startTimer(k timerKind, d time.Duration) {
	s.timer, s.timerAt = k, s.now+d
}

// transmit queues tx; onDone runs when it has been sent if the session is
// then still in state expect.
func (s *Session) transmit(tx Tx, expect state, onDone func()) {
	if tx.Kind == TxHDLC && tx.Modulation == V21 {
		s.lastSent = tx.Frames
		for _, f := range tx.Frames {
			s.traceFrame(Sent, V21, f, false, "")
		}
	}
	s.queue = append(s.queue, pendingTx{cng: tx.Kind == TxCNG && tx.Duration == 0, expect: expect, onDone: onDone})
	s.fe.Transmit(tx)
}

// busy reports whether something other than open-ended CNG is still being
// sent.
func (s *Session) busy() bool {
	for _, p := range s.queue {
		if !p.cng {
			return true
		}
	}
	return false
}

func (s *Session) txDone() {
	if len(s.queue) == 0 {
		return // a transport reporting more than we queued: ignore
	}
	p := s.queue[0]
	s.queue = s.queue[1:]
	if p.onDone != nil && s.state == p.expect {
		p.onDone()
	}
}

func v21Burst(frames ...[]byte) Tx {
	return Tx{Kind: TxHDLC, Modulation: V21, BitRate: 300, Frames: frames}
}

// sendCommand sends a command burst (after the turnaround gap) and arms T4
// when it has gone out; on T4 expiry or CRP it is repeated until giveUp
// says enough (three tries, T.30 §5.4.3.1), then the session fails with
// fail.
func (s *Session) sendCommand(fail Code, what string, frames ...[]byte) {
	s.cmd = []Tx{{Kind: TxSilence, Duration: gapSilence}, v21Burst(frames...)}
	s.cmdTries, s.cmdSilent = 0, 0
	s.cmdFail, s.cmdWhat = fail, what
	s.repeatCommand()
}

func (s *Session) repeatCommand() {
	s.cmdTries++
	s.cmdHeard = false
	st := s.state
	for i, tx := range s.cmd {
		var done func()
		if i == len(s.cmd)-1 {
			done = s.armT4
		}
		s.transmit(tx, st, done)
	}
}

func (s *Session) armT4() { s.startTimer(timerT4, s.cfg.Timers.T4) }

// retryCommand repeats the last command or gives up (giveUp).
func (s *Session) retryCommand(why string) {
	if s.giveUp(why) {
		s.sendDCN(s.cmdFail, fmt.Sprintf("%d × %s %s", s.cmdTries, s.cmdWhat, why))
		return
	}
	s.timer = timerNone
	s.repeatCommand()
}

// sendResponse sends a response burst and remembers it for repeats
// (T.30 §5.3.2.5: a repeated command means our response was lost).
func (s *Session) sendResponse(then func(), frames ...[]byte) {
	if f, err := ParseFrame(frames[len(frames)-1]); err == nil {
		s.lastRespFCF = f.FCF
	}
	s.resp = []Tx{{Kind: TxSilence, Duration: gapSilence}, v21Burst(frames...)}
	s.timer = timerNone
	st := s.state
	s.transmit(s.resp[0], st, nil)
	s.transmit(s.resp[1], st, then)
}

func (s *Session) repeatResponse() {
	if s.resp == nil || s.busy() {
		return
	}
	st := s.state
	s.transmit(s.resp[0], st, nil)
	s.transmit(s.resp[1], st, func() { s.startTimer(timerT2, s.cfg.Timers.T2) })
}

func (s *Session) frame(fcf FCF, final bool, fif ...byte) []byte {
	return AppendFrame(nil, fcf, s.xbit, final, fif...)
}

// identFrames builds [ident frame, capability frame] (CSI+DIS, CIG+DTC,
// TSI+DCS): optional frames first, the final one last (T.30 §5.3.6).
func (s *Session) identFrames(ident, main FCF) [][]byte {
	var fif []byte
	switch main {
	case FCFDIS, FCFDTC:
		fif = s.cfg.ourCapabilities().Encode()
	case FCFDCS:
		fif = s.dcs.Encode()
	}
	var out [][]byte
	if s.cfg.Ident != "" {
		out = append(out, s.frame(ident, false, EncodeIdent(s.cfg.Ident)...))
	}
	return append(out, s.frame(main, true, fif...))
}

// sendDCN sends DCN and ends the session with code when it has gone out.
func (s *Session) sendDCN(code Code, detail string) {
	s.res.Code, s.res.Detail = code, detail
	st := stTxDCN
	if s.cfg.Role == Receive {
		st = stRxDCNTx
	}
	s.enter(st)
	s.t1On, s.t5On = false, false
	s.transmit(Tx{Kind: TxSilence, Duration: gapSilence}, st, nil)
	s.transmit(v21Burst(s.frame(FCFDCN, true)), st, func() { s.finish(code, detail) })
}

func (s *Session) finish(code Code, detail string) {
	s.res.Code, s.res.Detail = code, detail
	if s.cfg.Role == Receive {
		// Settle the sink: a page in progress or awaiting its post-page
		// command is not confirmed.
		if s.rxPageOpen {
			s.rxPageOpen = false
			s.cfg.Sink.EndPage()
			s.rxEnded = true
		}
		if s.rxEnded {
			s.rxEnded = false
			s.cfg.Sink.Commit(false)
		}
	}
	if code == OK && s.anyLost {
		s.res.Code, s.res.Detail = ECMBlockAbandoned, "an ECM block was dropped with EOR"
	}
	if code == OK && s.rxRejected {
		s.res.Code, s.res.Detail = CopyQuality, "the last copy of a page was rejected"
	}
	s.enter(stDone)
	s.t1On, s.t5On = false, false
	s.fe.Receive(RxMode{Kind: RxOff})
	for _, p := range s.queue {
		if p.cng {
			// End the open-ended CNG.
			s.fe.Transmit(Tx{Kind: TxSilence, Duration: gapSilence})
			break
		}
	}
}

// giveUp reports whether a command that drew why (noResponse or a CRP)
// has been tried often enough. T.30 §5.4.3.1 allows three tries; a try
// whose response arrived unreadable (flags or a frame with a bad FCS: the
// peer is alive and answering, a lost packet hit its frame) is not an
// unanswered one, so it does not count toward the three, up to a backstop
// of maxTriesHeard tries in all (spandsp's current MAX_COMMAND_TRIES).
// Three silent tries (TSB-85 MTGX07-10) or three CRP (MTGX13-16) still end
// the call.
func (s *Session) giveUp(why string) bool {
	if why != noResponse {
		return s.cmdTries >= maxCommandTry
	}
	return s.cmdSilent >= maxCommandTry || s.cmdTries >= maxTriesHeard
}

func (s *Session) timerExpired(k timerKind) {
	switch k {
	case timerT4:
		if !s.cmdHeard {
			s.cmdSilent++
		}
		switch s.state {
		case stWaitDCS:
			// The answering side repeats DIS until T1 (T.30 §5.3.2.1);
			// a polling DTC is bounded by T1 too.
			s.cmdTries = 0
			s.repeatCommand()
		case stTxDCS:
			s.retryDCS(noResponse)
		default:
			s.retryCommand(noResponse)
		}
	case timerT2:
		switch s.state {
		case stRxTCF:
			// No usable TCF arrived: spandsp timer_t2_expired "No TCF data
			// received" answers FTT.
			s.answerTCF(false)
		case stRxDCN:
			s.finish(OK, "no DCN after the last page")
		case stRxWait:
			// Waiting for a page or burst that has not come: the sender
			// may be repeating a DCS or PPS we keep missing (its retry
			// cycle of burst, TCF and T4 is longer than one T2). Listen on
			// for two more T2 before giving up.
			if s.t2Quiet < 2 {
				s.t2Quiet++
				s.startTimer(timerT2, s.cfg.Timers.T2)
				return
			}
			s.sendDCN(TimeoutCommand, "3 × T2 expired waiting for the sender")
		default:
			s.sendDCN(TimeoutCommand, "T2 expired in state "+s.state.String())
		}
	case timerT2EOM:
		s.enter(stWaitDCS)
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.t1On, s.t1At = true, s.now+s.cfg.Timers.T1
		s.sendCommand(NoAnswer, "DIS", s.identFrames(FCFCSI, FCFDIS)...)
	}
}

func (s *Session) t1Expired() {
	switch s.state {
	case stWaitDIS, stWaitDCS:
		if s.cfg.Calling && s.state == stWaitDIS {
			s.finish(NoAnswer, "T1 expired without DIS")
			return
		}
		s.sendDCN(NoAnswer, "T1 expired without DCS")
	}
}

// rxHDLC handles one received HDLC frame.
func (s *Session) rxHDLC(ev Event) {
	if ev.Modulation != V21 && ev.Modulation != 0 {
		s.rxFastFrame(ev)
		return
	}
	if !ev.FCSOK {
		// T.30 §5.3.7 / TSB-85 MRGN17: never act on a bad frame; the peer
		// will repeat it after its T4.
		s.traceFrame(Received, V21, ev.Frame, true, "")
		s.v21Flags()
		return
	}
	for _, sent := range s.lastSent {
		if bytes.Equal(sent, ev.Frame) {
			s.traceFrame(Received, V21, ev.Frame, false, "echo of our own frame ignored")
			return
		}
	}
	if s.busy() && bytes.Equal(ev.Frame, s.lastRx) {
		// A copy of the frame we are already answering (duplicated on the
		// path); answering it again would collide with our own response.
		s.traceFrame(Received, V21, ev.Frame, false, "duplicate ignored while answering")
		return
	}
	s.lastRx = append(s.lastRx[:0], ev.Frame...)
	s.t2Quiet = 0
	f, err := ParseFrame(ev.Frame)
	if err != nil {
		s.traceFrame(Received, V21, ev.Frame, false, err.Error())
		if s.timer == timerT4 || s.state == stTxDCS {
			s.cmdHeard = true
		}
		return
	}
	s.traceFrame(Received, V21, ev.Frame, false, "")
	switch f.FCF {
	case FCFCSI, FCFTSI, FCFCIG:
		s.res.RemoteIdent = DecodeIdent(f.FIF)
		return
	case FCFNSF, FCFNSS, FCFNSC, FCFSUB, FCFSID, FCFPWD, FCFSEP:
		return // tolerated, not used (brief §2.10)
	case FCFDCN:
		s.rxDCN()
		return
	}
	if s.cfg.Role == Send && s.state != stWaitDCS {
		s.senderFrame(f)
	} else {
		s.receiverFrame(f)
	}
}

func (s *Session) rxDCN() {
	switch {
	case s.state == stRxDCN:
		s.finish(OK, "")
	case s.cfg.Role == Receive && s.state == stRxWait && s.lastRespFCF == FCFFTT:
		s.finish(TrainingFailed, "remote gave up after FTT")
	case s.cfg.Role == Receive && s.state == stRxWait && s.lastPPM == FCFEOP:
		// DCN after RTP/RTN to EOP: the sender is done (a rejected last page
		// turns into CopyQuality in finish).
		s.finish(OK, "")
	}
	switch s.state {
	case stDone:
	case stTxDCN, stRxDCNTx:
		// Both sides said goodbye.
	default:
		s.finish(s.disconnectCode(true), "remote sent DCN in state "+s.state.String())
	}
}

// --- trace ---------------------------------------------------------------------------

func (s *Session) traceFrame(dir Direction, mod Modulation, raw []byte, bad bool, note string) {
	e := TraceEntry{Time: s.now, Direction: dir, Modulation: mod, Raw: append([]byte(nil), raw...), BadFCS: bad, Note: note}
	if f, err := ParseFrame(raw); err == nil {
		e.FCF = f.FCF
		if bad {
			e.Decoded = f.FCF.String()
		} else {
			e.Decoded = Describe(f)
		}
	} else {
		e.Decoded = fmt.Sprintf("% x", raw)
	}
	s.trace = append(s.trace, e)
}

func (s *Session) traceNote(dir Direction, mod Modulation, fcf FCF, note string) {
	s.trace = append(s.trace, TraceEntry{Time: s.now, Direction: dir, Modulation: mod, FCF: fcf, Decoded: fcf.String(), Note: note})
}

// Phase reports the T.30 phase, for status displays and logs.
func (s *Session) Phase() Phase {
	switch s.state {
	case stIdle:
		return PhaseA
	case stWaitDIS, stWaitDCS:
		if !s.gotRemote {
			return PhaseA
		}
		return PhaseB
	case stTxTCF, stTxDCS, stRxTCF, stRxEOM:
		return PhaseB
	case stTxPage, stRxPage, stRxECM:
		return PhaseC
	case stTxDCN, stRxDCNTx, stDone:
		return PhaseE
	case stRxWait:
		if s.lastRespFCF == FCFFTT {
			return PhaseB
		}
	}
	return PhaseD
}
