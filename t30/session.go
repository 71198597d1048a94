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
	pprLimit       = 4 // T.30 §A.4.4: CTC or EOR after the fourth PPR
	maxFramesBlock = 256
	rcpCount       = 3
	// eomDISDelay: after MCF to EOM the receiver sends DIS again once the
	// sender has had time to return to phase B; TSB-85 MRGN09 wants it
	// 5.0-7.0 s after MCF, so aim at 6 s including the turnaround gap.
	eomDISDelay = 6*time.Second - gapSilence
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
// three times in all, then DCN; CRP counts as a try. A command heard again
// means our response was lost: the response is repeated. Frames with a bad
// FCS are never acted on (TSB-85 MRGN17), echoes of our own frames and
// frames we cannot parse are ignored, and a copy of a frame we are still
// answering is dropped. A V.21 carrier from the peer extends T4 and
// restarts T2.
//
// Tolerated deviations: PRI-MPS/EOP/EOM are treated as MPS/EOP/EOM; NSF,
// NSS, SUB, SID, PWD are accepted and ignored; DIS/DCS longer than this
// package knows are accepted; a PPS frame count smaller than the frames
// heard is raised to match; a page whose carrier-down report was lost
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
	pendingCTC speed
	postPage   FCF // last PPM or PPS second FCF sent
	lastResp   FCF // last response received (MCF/RTP/RTN)

	// Receiver.
	tcfRun, tcfBest, tcfBytes int
	rxTrained                 bool
	rxPageOpen                bool
	rxPageCount               int
	quality                   Quality
	pageErr                   bool
	lastPPM                   FCF
	lastPPMResp               FCF
	rxFrames                  [maxFramesBlock][]byte
	rxHave                    [maxFramesBlock]bool
	rxFrameSize               int
	rxLastPage, rxLastBlock   int
	rxHaveLast                bool
	rxBlocks                  int
	rxRejected                bool
	burstFrames               int
	sawCarrier                bool
	lastRespFCF               FCF
	lastRx                    []byte
	cancelled                 bool
	tcf                       []byte
	rxEnded                   bool // EndPage called, Commit still owed
}

// NewSession checks cfg and returns a session ready to Start.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, fe: cfg.FrontEnd}
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
// when it has gone out; on T4 expiry or CRP it is repeated up to three
// times, then the session fails with fail (T.30 §5.4.3.1).
func (s *Session) sendCommand(fail Code, what string, frames ...[]byte) {
	s.cmd = []Tx{{Kind: TxSilence, Duration: gapSilence}, v21Burst(frames...)}
	s.cmdTries = 0
	s.cmdFail, s.cmdWhat = fail, what
	s.repeatCommand()
}

func (s *Session) repeatCommand() {
	s.cmdTries++
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

// retryCommand repeats the last command or gives up after three tries.
func (s *Session) retryCommand(why string) {
	if s.cmdTries >= maxCommandTry {
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

func (s *Session) timerExpired(k timerKind) {
	switch k {
	case timerT4:
		switch s.state {
		case stWaitDCS:
			// The answering side repeats DIS until T1 (T.30 §5.3.2.1);
			// a polling DTC is bounded by T1 too.
			s.cmdTries = 0
			s.repeatCommand()
		case stTxDCS:
			s.retryDCS("without response")
		default:
			s.retryCommand("without response")
		}
	case timerT2:
		switch s.state {
		case stRxTCF:
			// No usable TCF arrived: spandsp timer_t2_expired "No TCF data
			// received" answers FTT.
			s.answerTCF(false)
		case stRxDCN:
			s.finish(OK, "no DCN after the last page")
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
	f, err := ParseFrame(ev.Frame)
	if err != nil {
		s.traceFrame(Received, V21, ev.Frame, false, err.Error())
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

// --- transmitter ------------------------------------------------------------

// gotDIS negotiates from a received DIS/DTC and sends DCS+TCF.
func (s *Session) gotDIS(f Frame) {
	caps, err := ParseDIS(f.FIF)
	if err != nil {
		return // unusable: wait for a repeat
	}
	s.remote, s.gotRemote = caps, true
	if !caps.CanReceive {
		s.sendDCN(Incompatible, "remote cannot receive")
		return
	}
	s.speeds = s.speeds[:0]
	for _, sp := range fallback {
		if s.cfg.usable(sp, caps) {
			s.speeds = append(s.speeds, sp)
		}
	}
	if len(s.speeds) == 0 {
		s.sendDCN(Incompatible, "no common modem")
		return
	}
	if err := s.chooseFormat(); err != nil {
		s.sendDCN(Incompatible, err.Error())
		return
	}
	s.speedIdx = 0
	s.t1On = false
	s.sendDCS()
}

func (s *Session) chooseFormat() error {
	c := s.remote
	width, res := s.cfg.Source.Prepared()
	f := Format{Width: width, Resolution: res}
	if f.Width > c.MaxWidth {
		f.Width = c.MaxWidth
	}
	if f.Width != WidthA4 && f.Width != WidthB4 && f.Width != WidthA3 {
		f.Width = WidthA4
	}
	// Step resolution down to what the receiver takes (T.30 §5.3.6.1.3).
	if f.Resolution == Superfine && !c.Superfine {
		f.Resolution = Fine
	}
	if f.Resolution == Fine && !c.Fine {
		f.Resolution = Standard
	}
	if f.Resolution == 0 {
		f.Resolution = Standard
	}
	f.ECM = c.ECM && !s.cfg.DisableECM
	switch {
	case f.ECM && c.MMR && s.cfg.allowsCompression(MMR):
		f.Compression = MMR
	case c.MR && s.cfg.allowsCompression(MR):
		f.Compression = MR
	case s.cfg.allowsCompression(MH):
		f.Compression = MH
	default:
		return fmt.Errorf("no common coding")
	}
	s.format = f
	s.frameSize = 256
	if f.ECM && c.ECM64Preferred {
		s.frameSize = 64
	}
	return nil
}

// sendDCS sends TSI+DCS at the current speed followed by TCF with long
// training (T.30 §5.3.2.2; TCF is always long-trained, brief §3.4).
func (s *Session) sendDCS() {
	sp := s.speeds[s.speedIdx]
	ms := 0
	if !s.format.ECM {
		ms = s.remote.MinScanTime(s.format.Resolution)
	}
	s.format.MinRowBits = sp.rate * ms / 1000
	s.dcs = Settings{
		Receive: true, Modulation: sp.mod, BitRate: sp.rate, Resolution: s.format.Resolution,
		Compression: s.format.Compression, Width: s.format.Width, Length: 2, MinScanTime: ms,
		ECM: s.format.ECM, Frame64: s.frameSize == 64,
	}
	if s.remote.Length < 2 {
		s.dcs.Length = s.remote.Length
	}
	s.enter(stTxTCF)
	s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
	// TCF is all zeros and never written, so one buffer serves every try.
	if len(s.tcf) < tcfOctets(sp.rate) {
		s.tcf = make([]byte, tcfOctets(fallback[0].rate))
	}
	tcf := s.tcf[:tcfOctets(sp.rate)]
	s.cmd = []Tx{
		{Kind: TxSilence, Duration: gapSilence},
		v21Burst(s.identFrames(FCFTSI, FCFDCS)...),
		{Kind: TxSilence, Duration: gapSilence},
		{Kind: TxData, Modulation: sp.mod, BitRate: sp.rate, Data: tcf, TCF: true},
	}
	s.cmdTries = 0
	s.cmdFail, s.cmdWhat = NoResponseDCS, "DCS+TCF"
	s.repeatDCS()
}

// tcfOctets is the length of TCF at rate: 1.5 s of zeros (T.30 §5.3.2.2).
func tcfOctets(rate int) int {
	return rate * int(tcfDuration/time.Millisecond) / 8000
}

func (s *Session) repeatDCS() {
	s.cmdTries++
	s.enter(stTxTCF)
	for i, tx := range s.cmd {
		var done func()
		if i == len(s.cmd)-1 {
			done = func() { s.enter(stTxDCS); s.armT4() }
		}
		s.transmit(tx, stTxTCF, done)
	}
}

func (s *Session) senderFrame(f Frame) {
	fcf := f.FCF.base()
	switch s.state {
	case stWaitDIS:
		switch fcf {
		case FCFDIS:
			s.gotDIS(f)
		case FCFDTC:
			// The remote polls us although it called: we have a document, so
			// honour it like a DIS.
			s.gotDIS(f)
		}
	case stTxDCS:
		switch fcf {
		case FCFCFR:
			s.timer = timerNone
			s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
			s.res.ECM, s.res.Format = s.format.ECM, s.format
			s.longTrain = false
			s.startPage()
		case FCFFTT:
			// T.30 §5.3.2.2: step down and retrain (brief §2.4).
			s.timer = timerNone
			if s.speedIdx+1 >= len(s.speeds) {
				s.sendDCN(TrainingFailed, fmt.Sprintf("FTT at %v %d", s.dcs.Modulation, s.dcs.BitRate))
				return
			}
			s.speedIdx++
			s.res.Retrains++
			s.sendDCS()
		case FCFDIS, FCFDTC:
			// The peer missed our DCS (TSB-85 MTGN09).
			s.retryDCS("answered by DIS")
		case FCFCRP:
			s.retryDCS("answered by CRP")
		}
	case stTxPPM:
		s.postPageResponse(fcf)
	case stTxPPS:
		s.ecmResponse(f, fcf)
	case stTxCTC:
		switch fcf {
		case FCFCTR:
			s.timer = timerNone
			s.speedIdx = s.ctcIndex()
			s.res.Retrains++
			s.longTrain = true
			s.pprCount = 0
			s.dcs.Modulation, s.dcs.BitRate = s.speeds[s.speedIdx].mod, s.speeds[s.speedIdx].rate
			s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
			s.sendBurst(true)
		case FCFCRP:
			s.retryCommand("answered by CRP")
		}
	case stTxEOR:
		switch fcf {
		case FCFERR:
			s.timer = timerNone
			s.pageLost = true
			s.blockConfirmed()
		case FCFCRP:
			s.retryCommand("answered by CRP")
		}
	}
}

func (s *Session) retryDCS(why string) {
	if s.cmdTries >= maxCommandTry {
		s.sendDCN(NoResponseDCS, fmt.Sprintf("%d × DCS+TCF %s", s.cmdTries, why))
		return
	}
	s.repeatDCS()
}

// startPage encodes the current page and sends it (non-ECM) or its first
// block (ECM).
func (s *Session) startPage() {
	data, err := s.cfg.Source.Encode(s.page, s.format)
	if err != nil {
		s.sendDCN(DocumentError, fmt.Sprintf("page %d: %v", s.page+1, err))
		return
	}
	if len(data) == 0 {
		s.sendDCN(DocumentError, fmt.Sprintf("page %d encoded to nothing", s.page+1))
		return
	}
	s.pageData = data
	s.pageLost = false
	if s.format.ECM {
		s.blockStart = 0
		s.startBlock()
		return
	}
	s.enter(stTxPage)
	s.postPage = FCFMPS
	if s.page == s.cfg.Source.Pages()-1 {
		s.postPage = FCFEOP
	}
	sp := s.speeds[s.speedIdx]
	s.transmit(Tx{Kind: TxSilence, Duration: gapSilence}, stTxPage, nil)
	// T.30 §5.2: V.17 image data after a good TCF uses short training.
	s.transmit(Tx{Kind: TxData, Modulation: sp.mod, BitRate: sp.rate, ShortTrain: sp.mod == V17 && !s.longTrain, Data: data},
		stTxPage, func() { s.afterImage(stTxPPM, s.frame(s.postPage, true), s.postPage.String()) })
}

// afterImage runs when the page or ECM burst has left: the post-page
// command (MPS/EOP or PPS) follows after the turnaround gap. It is queued
// only now, not with the image, so that a Cancel during the page can still
// replace it with DCN.
func (s *Session) afterImage(next state, cmd []byte, what string) {
	if s.cancelled {
		s.sendDCN(Cancelled, "cancelled locally during "+what)
		return
	}
	s.enter(next)
	s.cmd = []Tx{{Kind: TxSilence, Duration: gapSilence}, v21Burst(cmd)}
	s.cmdTries = 1
	s.cmdFail, s.cmdWhat = NoResponsePostPage, what
	s.transmit(s.cmd[0], next, nil)
	s.transmit(s.cmd[1], next, s.armT4)
}

// postPageResponse handles the receiver's answer to MPS/EOP (T.30 §5.3.2.5,
// brief §2.7).
func (s *Session) postPageResponse(fcf FCF) {
	switch fcf {
	case FCFMCF, FCFRTP, FCFPIP:
		s.timer = timerNone
		s.pageDone(fcf, true)
		if s.state == stDone || s.state == stTxDCN {
			return
		}
		if fcf == FCFRTP {
			// RTP: page kept, retrain before the next one (T.30 §5.3.6.1.6).
			s.res.Retrains++
			s.sendDCS()
			return
		}
		s.startPage()
	case FCFRTN, FCFPIN:
		s.timer = timerNone
		s.pageTries++
		s.report(PageResult{Page: s.page, Response: fcf, Bytes: len(s.pageData)})
		if s.pageTries > s.cfg.MaxPageRetries {
			s.sendDCN(CopyQuality, fmt.Sprintf("page %d rejected %d times", s.page+1, s.pageTries))
			return
		}
		// RTN: retrain one step lower and send the page again (brief §2.7).
		if s.speedIdx+1 < len(s.speeds) {
			s.speedIdx++
		}
		s.res.Retrains++
		s.sendDCS()
	case FCFCRP:
		s.retryCommand("answered by CRP")
	}
}

// pageDone records a confirmed page and moves on, sending DCN after the
// last one.
func (s *Session) pageDone(resp FCF, accepted bool) {
	if accepted && !s.pageLost {
		s.res.Pages++
	}
	if s.pageLost {
		s.anyLost = true
		resp = FCFERR
	}
	s.report(PageResult{Page: s.page, Response: resp, Accepted: accepted && !s.pageLost, Bytes: len(s.pageData)})
	s.page++
	s.pageTries = 0
	if s.page >= s.cfg.Source.Pages() {
		s.sendDCN(OK, "")
	}
}

func (s *Session) report(p PageResult) {
	p.Format = s.format
	p.Modulation, p.BitRate = s.dcs.Modulation, s.dcs.BitRate
	if s.cfg.OnPage != nil {
		s.cfg.OnPage(p)
	}
}

// --- ECM transmitter (T.30 Annex A) -------------------------------------------

func (s *Session) pageFrames() int {
	return (len(s.pageData) + s.frameSize - 1) / s.frameSize
}

func (s *Session) startBlock() {
	n := s.pageFrames() - s.blockStart
	if n > maxFramesBlock {
		n = maxFramesBlock
	}
	s.blockLen = n
	s.pprCount = 0
	for i := range s.resend {
		s.resend[i] = 0
	}
	for i := 0; i < n; i++ {
		s.resend[i/8] |= 1 << uint(i%8)
	}
	s.postPage = FCFNull
	if s.blockStart+n >= s.pageFrames() {
		s.postPage = FCFMPS
		if s.page == s.cfg.Source.Pages()-1 {
			s.postPage = FCFEOP
		}
	}
	s.sendBurst(false)
}

// sendBurst sends the frames flagged in s.resend, 3 RCP, then the PPS.
func (s *Session) sendBurst(long bool) {
	// One backing array per burst: the frames stay untouched until the
	// transport reports the burst done (frontend contract).
	n := rcpCount
	for i := 0; i < s.blockLen; i++ {
		if s.resend[i/8]&(1<<uint(i%8)) != 0 {
			n++
		}
	}
	frames := make([][]byte, 0, n)
	buf := make([]byte, 0, (n-rcpCount)*(4+s.frameSize)+rcpCount*3)
	for i := 0; i < s.blockLen; i++ {
		if s.resend[i/8]&(1<<uint(i%8)) == 0 {
			continue
		}
		off := (s.blockStart + i) * s.frameSize
		end := off + s.frameSize
		if end > len(s.pageData) {
			end = len(s.pageData)
		}
		start := len(buf)
		buf = AppendFrame(buf, FCFFCD, false, false, byte(i))
		buf = append(buf, s.pageData[off:end]...)
		frames = append(frames, buf[start:len(buf):len(buf)])
	}
	for i := 0; i < rcpCount; i++ {
		start := len(buf)
		buf = AppendFrame(buf, FCFRCP, false, false)
		frames = append(frames, buf[start:len(buf):len(buf)])
	}
	s.enter(stTxPage)
	sp := s.speeds[s.speedIdx]
	s.traceNote(Sent, sp.mod, FCFFCD, fmt.Sprintf("ECM burst: %d frames + %d RCP, page %d block %d",
		len(frames)-rcpCount, rcpCount, s.page+1, s.blockStart/maxFramesBlock))
	s.transmit(Tx{Kind: TxSilence, Duration: gapSilence}, stTxPage, nil)
	pps := s.ppsFrame(FCFPPS)
	s.transmit(Tx{Kind: TxHDLC, Modulation: sp.mod, BitRate: sp.rate, ShortTrain: sp.mod == V17 && !long && !s.longTrain, Frames: frames},
		stTxPage, func() { s.afterImage(stTxPPS, pps, "PPS-"+s.postPage.String()) })
	s.longTrain = false
}

func (s *Session) ppsFrame(fcf FCF) []byte {
	second := byte(s.postPage)
	if s.postPage != FCFNull && s.xbit {
		second |= 1
	}
	return s.frame(fcf, true, second, byte(s.page), byte(s.blockStart/maxFramesBlock), byte(s.blockLen-1))
}

// ecmResponse handles the answer to PPS or RR.
func (s *Session) ecmResponse(f Frame, fcf FCF) {
	switch fcf {
	case FCFMCF:
		s.timer = timerNone
		s.t5On = false
		s.blockConfirmed()
	case FCFPPR:
		s.timer = timerNone
		s.t5On = false
		m, ok := ParsePPR(f.FIF)
		if !ok {
			s.retryCommand("answered by an empty PPR")
			return
		}
		n := 0
		for i := 0; i < s.blockLen; i++ {
			if m[i/8]&(1<<uint(i%8)) != 0 {
				n++
			}
		}
		if n == 0 {
			// A PPR asking for nothing: treat it as confirmation.
			s.blockConfirmed()
			return
		}
		s.resend = m
		s.pprCount++
		if s.pprCount >= pprLimit {
			// T.30 §A.4.4: after the fourth PPR, CTC at a lower rate if
			// there is one, else EOR (brief §2.8).
			if s.ctcIndex() > s.speedIdx {
				sp := s.speeds[s.ctcIndex()]
				d := Settings{Modulation: sp.mod, BitRate: sp.rate}
				fif := d.Encode()[:2]
				s.enter(stTxCTC)
				s.sendCommand(NoResponsePostPage, "CTC", s.frame(FCFCTC, true, fif...))
				return
			}
			s.enter(stTxEOR)
			second := byte(s.postPage)
			if s.postPage != FCFNull && s.xbit {
				second |= 1
			}
			s.sendCommand(NoResponsePostPage, "EOR", s.frame(FCFEOR, true, second))
			return
		}
		s.sendBurst(false)
	case FCFRNR:
		// Receiver not ready: poll with RR until T5 (T.30 §A.4.5).
		s.timer = timerNone
		if !s.t5On {
			s.t5On, s.t5At = true, s.now+s.cfg.Timers.T5
		}
		s.sendCommand(RemoteBusy, "RR", s.frame(FCFRR, true))
	case FCFCRP:
		s.retryCommand("answered by CRP")
	}
}

// ctcIndex is the fallback entry a CTC moves to: the next lower rate.
func (s *Session) ctcIndex() int {
	if s.speedIdx+1 < len(s.speeds) {
		return s.speedIdx + 1
	}
	return s.speedIdx
}

func (s *Session) blockConfirmed() {
	s.blockStart += s.blockLen
	if s.blockStart < s.pageFrames() {
		s.startBlock()
		return
	}
	s.pageDone(FCFMCF, true)
	if s.state == stDone || s.state == stTxDCN {
		return
	}
	s.startPage()
}

// --- receiver -------------------------------------------------------------------

func (s *Session) receiverFrame(f Frame) {
	fcf := f.FCF.base()
	switch s.state {
	case stWaitDIS:
		// We called to receive: poll the remote (T.30 §5.3.6.1.2).
		if fcf != FCFDIS {
			return
		}
		caps, err := ParseDIS(f.FIF)
		if err != nil {
			return
		}
		s.remote, s.gotRemote = caps, true
		if !caps.ReadyToTransmit {
			s.sendDCN(NothingToPoll, "remote DIS has no document to send")
			return
		}
		s.enter(stWaitDCS)
		s.sendCommand(NoAnswer, "DTC", s.identFrames(FCFCIG, FCFDTC)...)
		return
	case stWaitDCS:
		switch fcf {
		case FCFDCS:
			if s.cfg.Role == Receive {
				s.gotDCS(f)
			} else {
				s.sendDCN(Incompatible, "both sides want to send")
			}
		case FCFDTC:
			if s.cfg.Role == Send {
				s.gotDIS(f)
			}
		case FCFCRP:
			s.cmdTries = 0
			s.repeatCommand()
		}
		return
	}
	switch fcf {
	case FCFDCS:
		// A (repeated) DCS: peer missed CFR, or retrains after RTP/RTN
		// (TSB-85 MRGN14/15).
		switch s.state {
		case stRxTCF, stRxWait, stRxPPM, stRxEOM:
			if s.state == stRxPPM || s.rxPageOpen {
				s.closeNonECMPage()
			}
			s.gotDCS(f)
		}
	case FCFMPS, FCFEOP, FCFEOM:
		s.gotPostPage(fcf)
	case FCFPPS:
		s.gotPPS(f)
	case FCFCTC:
		if s.state != stRxWait && s.state != stRxECM {
			return
		}
		d, err := ParseDCS(padFIF(f.FIF))
		if err != nil {
			return
		}
		s.dcs.Modulation, s.dcs.BitRate = d.Modulation, d.BitRate
		s.res.Modulation, s.res.BitRate = d.Modulation, d.BitRate
		s.res.Retrains++
		s.enter(stRxWait)
		s.longTrain = true
		s.sendResponse(s.waitImage, s.frame(FCFCTR, true))
	case FCFEOR:
		if s.state != stRxWait && s.state != stRxECM {
			return
		}
		second := FCFNull
		if len(f.FIF) > 0 {
			second = FCF(f.FIF[0] &^ 1).base()
		}
		s.abandonBlock(second)
	case FCFRR:
		if s.state == stRxWait || s.state == stRxECM {
			s.repeatResponse()
		}
	case FCFCRP:
		s.repeatResponse()
	}
}

// gotDCS accepts the transmitter's mode and prepares for TCF.
func (s *Session) gotDCS(f Frame) {
	d, err := ParseDCS(f.FIF)
	if err != nil {
		return // garbled: the sender repeats it
	}
	ours := s.cfg.ourCapabilities()
	switch {
	case d.Compression == MMR && !d.ECM:
		s.sendDCN(Incompatible, "DCS asks for MMR without ECM")
		return
	case d.ECM && !ours.ECM:
		s.sendDCN(Incompatible, "DCS asks for ECM which we did not offer")
		return
	case !s.cfg.allowsCompression(d.Compression), !s.cfg.allowsResolution(d.Resolution), d.Width > s.cfg.MaxWidth:
		s.sendDCN(Incompatible, "DCS asks for "+d.String())
		return
	}
	s.dcs = d
	s.gotRemote = true
	s.t1On = false
	// A DCS starts a new mode: commands heard after it refer to pages
	// after it, never to responses we gave before it (a new document after
	// EOM restarts the ECM page and block counters at 0).
	s.lastPPM, s.rxHaveLast = 0, false
	s.format = Format{Compression: d.Compression, Resolution: d.Resolution, Width: d.Width, ECM: d.ECM}
	if !d.ECM {
		s.format.MinRowBits = d.BitRate * d.MinScanTime / 1000
	}
	s.rxFrameSize = 256
	if d.Frame64 {
		s.rxFrameSize = 64
	}
	s.enter(stRxTCF)
	s.tcfRun, s.tcfBest, s.tcfBytes = 0, 0, 0
	s.rxTrained = false
	s.fe.Receive(RxMode{Kind: RxData, Modulation: d.Modulation, BitRate: d.BitRate})
	s.startTimer(timerT2, s.cfg.Timers.T2)
}

func (s *Session) rxTrainedEv(ev Event) {
	switch s.state {
	case stRxTCF:
		s.rxTrained = true
		s.tcfRun, s.tcfBest, s.tcfBytes = 0, 0, 0
	case stRxWait:
		s.longTrain = false
		if s.format.ECM {
			s.enter(stRxECM)
			s.burstFrames = 0
			s.rxTrained = true
			return
		}
		s.enter(stRxPage)
		s.rxTrained = true
		if !s.rxPageOpen {
			if err := s.cfg.Sink.StartPage(s.format); err != nil {
				s.sendDCN(PageStoreError, err.Error())
				return
			}
			s.rxPageOpen = true
			s.pageErr = false
		}
	}
}

func (s *Session) rxTrainFailed(ev Event) {
	switch s.state {
	case stRxTCF:
		s.answerTCF(false)
	case stRxWait:
		s.sawCarrier = true
	}
}

func (s *Session) rxData(p []byte) {
	switch s.state {
	case stRxTCF:
		if !s.rxTrained {
			s.rxTrained = true // data without a training report: T.38 peers vary
		}
		s.tcfBytes += len(p)
		for _, b := range p {
			if b == 0 {
				s.tcfRun += 8
				continue
			}
			// Count the zero bits at either edge of a non-zero octet
			// (LSB-first: low bits come first on the line).
			lead := 0
			for lead < 8 && b&(1<<uint(lead)) == 0 {
				lead++
			}
			if s.tcfRun+lead > s.tcfBest {
				s.tcfBest = s.tcfRun + lead
			}
			trail := 0
			for trail < 8 && b&(0x80>>uint(trail)) == 0 {
				trail++
			}
			s.tcfRun = trail
		}
		if s.tcfRun > s.tcfBest {
			s.tcfBest = s.tcfRun
		}
	case stRxPage:
		if s.pageErr {
			return
		}
		if err := s.cfg.Sink.Write(p); err != nil {
			s.pageErr = true
		}
	}
}

func (s *Session) rxCarrierDown(ev Event) {
	if ev.Modulation == V21 {
		return
	}
	switch s.state {
	case stRxTCF:
		if !s.rxTrained {
			return
		}
		// TCF passes with a zero run of at least one second (spandsp
		// t30.c, brief §2.4). A localTCF transport sends no data at all.
		ok := s.tcfBest >= s.dcs.BitRate || (s.cfg.LocalTCF && s.tcfBytes == 0)
		s.answerTCF(ok)
	case stRxPage:
		s.closeNonECMPage()
		s.enter(stRxPPM)
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.startTimer(timerT2, s.cfg.Timers.T2)
	case stRxECM:
		s.traceNote(Received, s.dcs.Modulation, FCFFCD, fmt.Sprintf("ECM burst: %d frames", s.burstFrames))
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.startTimer(timerT2, s.cfg.Timers.T2)
	}
}

func (s *Session) answerTCF(ok bool) {
	s.enter(stRxWait)
	if !ok {
		// FTT: the sender steps down and sends DCS+TCF again.
		s.res.Retrains++
		s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
		s.sendResponse(func() { s.startTimer(timerT2, s.cfg.Timers.T2) }, s.frame(FCFFTT, true))
		return
	}
	s.res.Modulation, s.res.BitRate = s.dcs.Modulation, s.dcs.BitRate
	s.res.ECM, s.res.Format = s.format.ECM, s.format
	s.longTrain = false
	s.sendResponse(s.waitImage, s.frame(FCFCFR, true))
}

// waitImage listens for the next page or burst (with V.21 in parallel, so
// a repeated command is still heard) and arms T2.
func (s *Session) waitImage() {
	s.rxTrained = false
	s.sawCarrier = false
	kind := RxData
	if s.format.ECM {
		kind = RxHDLC
	}
	s.fe.Receive(RxMode{Kind: kind, Modulation: s.dcs.Modulation, BitRate: s.dcs.BitRate,
		ShortTrain: s.dcs.Modulation == V17 && !s.longTrain})
	s.startTimer(timerT2, s.cfg.Timers.T2)
}

// closeNonECMPage ends the page the sink is decoding and decides its fate.
func (s *Session) closeNonECMPage() {
	if !s.rxPageOpen {
		return
	}
	s.rxPageOpen = false
	s.rxEnded = true
	q, err := s.cfg.Sink.EndPage()
	if err != nil || s.pageErr {
		q = Quality{}
	}
	s.quality = q
}

// copyQuality turns the decode report into MCF, RTP or RTN (T.30
// §5.3.6.2.3 leaves the criterion to the implementation; we use spandsp's
// thresholds from TSB-85 MRGN04: under 5 % bad rows is good, under 15 %
// acceptable with a retrain, and treat a run of more than 32 consecutive bad
// rows — about 8 mm at standard resolution, a lost line of text — as one
// step worse).
func copyQuality(q Quality) FCF {
	if q.Rows == 0 {
		return FCFRTN
	}
	resp := FCFRTN
	switch {
	case q.BadRows*20 < q.Rows:
		resp = FCFMCF
	case q.BadRows*100 < q.Rows*15:
		resp = FCFRTP
	}
	if q.LongestBadRun > 32 {
		switch resp {
		case FCFMCF:
			resp = FCFRTP
		case FCFRTP:
			resp = FCFRTN
		}
	}
	return resp
}

// gotPostPage answers MPS/EOP/EOM after a non-ECM page.
func (s *Session) gotPostPage(fcf FCF) {
	noPage := false
	switch s.state {
	case stRxPage:
		// The carrier-down report was lost: the page ended anyway.
		s.closeNonECMPage()
	case stRxPPM:
	case stRxWait, stRxDCN, stRxEOM:
		if s.state == stRxWait && (s.sawCarrier || s.lastPPM == 0) && !s.format.ECM {
			// An image carrier came but never trained, or nothing came at
			// all for the first page: the page is bad (spandsp
			// process_state_f_doc_non_ecm).
			s.quality = Quality{}
			noPage = true
			break
		}
		// No page since our last response: the sender repeats the command
		// because our response was lost (T.30 §5.3.2.5, TSB-85 MRGN16).
		if s.lastPPM != 0 && !s.busy() {
			s.repeatResponse()
		}
		return
	default:
		return
	}
	resp := copyQuality(s.quality)
	if s.pageErr {
		resp = FCFRTN
	}
	keep := resp != FCFRTN && !noPage
	s.rxEnded = false
	if noPage {
		resp = FCFRTN
	} else if err := s.cfg.Sink.Commit(keep); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	s.rxRejected = !keep
	if keep {
		s.res.Pages++
	}
	s.report(PageResult{Page: s.rxPageCount, Response: resp, Accepted: keep, Quality: s.quality})
	if keep {
		s.rxPageCount++
	}
	s.lastPPM, s.lastPPMResp = fcf, resp
	s.respondPostPage(fcf, resp)
}

func (s *Session) respondPostPage(fcf, resp FCF) {
	switch {
	case resp != FCFMCF:
		// RTP/RTN: the sender retrains with DCS+TCF, or disconnects.
		s.enter(stRxWait)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2, s.cfg.Timers.T2)
		}, s.frame(resp, true))
	case fcf == FCFEOP:
		s.enter(stRxDCN)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2, s.cfg.Timers.T2)
		}, s.frame(resp, true))
	case fcf == FCFEOM:
		s.enter(stRxEOM)
		s.sendResponse(func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			s.startTimer(timerT2EOM, eomDISDelay)
		}, s.frame(resp, true))
	default:
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(resp, true))
	}
}

// rxFastFrame collects an ECM frame from the fast modem (T.4 Annex A).
func (s *Session) rxFastFrame(ev Event) {
	if s.state == stRxWait && s.format.ECM {
		s.enter(stRxECM) // frames without a training report
	}
	if s.state != stRxECM || !ev.FCSOK {
		return
	}
	f, err := ParseFrame(ev.Frame)
	if err != nil || f.FCF != FCFFCD || len(f.FIF) < 2 {
		return // RCP, garbage
	}
	i := int(f.FIF[0])
	data := f.FIF[1:]
	if len(data) > s.rxFrameSize {
		return
	}
	s.rxFrames[i] = append(s.rxFrames[i][:0], data...)
	s.rxHave[i] = true
	s.burstFrames++
}

// gotPPS checks the block and answers MCF or PPR (T.30 §A.4.2-A.4.3).
func (s *Session) gotPPS(f Frame) {
	switch s.state {
	case stRxWait, stRxECM, stRxDCN, stRxEOM:
	default:
		return
	}
	p, err := ParsePPS(f.FIF)
	if err != nil {
		return
	}
	if s.rxHaveLast && p.Page == s.rxLastPage && p.Block == s.rxLastBlock {
		// Already confirmed: our MCF was lost (brief §2.8). Frames heard
		// since belong to that old block too (a retransmission that
		// crossed our MCF): drop them.
		s.clearBlock()
		if !s.busy() {
			s.repeatResponse()
		}
		return
	}
	if s.state == stRxDCN || s.state == stRxEOM {
		return
	}
	n := p.Frames
	for i := n; i < maxFramesBlock; i++ {
		if s.rxHave[i] {
			n = i + 1 // accept the largest count seen (brief §2.8)
		}
	}
	var m [32]byte
	missing := 0
	for i := 0; i < n; i++ {
		ok := s.rxHave[i] && (i == n-1 || len(s.rxFrames[i]) == s.rxFrameSize)
		if !ok {
			s.rxHave[i] = false
			m[i/8] |= 1 << uint(i%8)
			missing++
		}
	}
	if missing > 0 {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFPPR, true, m[:]...))
		return
	}
	if err := s.commitBlock(n); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	s.rxHaveLast, s.rxLastPage, s.rxLastBlock = true, p.Page, p.Block
	s.endECMBlock(p.PostPage)
}

func (s *Session) commitBlock(n int) error {
	if !s.rxPageOpen {
		if err := s.cfg.Sink.StartPage(s.format); err != nil {
			return err
		}
		s.rxPageOpen = true
		s.pageErr = false
	}
	for i := 0; i < n; i++ {
		if !s.pageErr {
			if err := s.cfg.Sink.Write(s.rxFrames[i]); err != nil {
				s.pageErr = true
			}
		}
	}
	s.clearBlock()
	return nil
}

func (s *Session) clearBlock() {
	for i := range s.rxHave {
		s.rxHave[i] = false
		s.rxFrames[i] = s.rxFrames[i][:0]
	}
}

// endECMBlock answers a complete (or abandoned) block; with a post-page
// second FCF the page ends too.
func (s *Session) endECMBlock(second FCF) {
	if second == FCFNull {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFMCF, true))
		return
	}
	resp := FCFMCF
	keep := false
	if s.rxPageOpen {
		s.rxPageOpen = false
		q, err := s.cfg.Sink.EndPage()
		s.quality = q
		// In ECM the FCS already guarantees the data; the page is kept
		// unless it cannot be decoded at all or a block was dropped.
		keep = err == nil && !s.pageErr && !s.pageLost
	}
	if err := s.cfg.Sink.Commit(keep); err != nil {
		s.sendDCN(PageStoreError, err.Error())
		return
	}
	if keep {
		s.res.Pages++
	} else {
		s.anyLost = true
	}
	s.report(PageResult{Page: s.rxPageCount, Response: resp, Accepted: keep, Quality: s.quality})
	s.rxPageCount++
	s.pageLost = false
	s.lastPPM, s.lastPPMResp = second, resp
	s.respondPostPage(second, resp)
}

// abandonBlock answers EOR with ERR: the block is dropped (T.30 §A.4.4).
func (s *Session) abandonBlock(second FCF) {
	s.clearBlock()
	s.pageLost = true
	if second == FCFNull {
		s.enter(stRxWait)
		s.sendResponse(s.waitImage, s.frame(FCFERR, true))
		return
	}
	if s.rxPageOpen {
		s.rxPageOpen = false
		s.cfg.Sink.EndPage()
	}
	s.cfg.Sink.Commit(false)
	s.anyLost = true
	s.report(PageResult{Page: s.rxPageCount, Response: FCFERR})
	s.rxPageCount++
	s.pageLost = false
	s.lastPPM = second
	st := stRxWait
	switch second {
	case FCFEOP:
		st = stRxDCN
	case FCFEOM:
		st = stRxEOM
	}
	s.enter(st)
	then := s.waitImage
	if st != stRxWait {
		then = func() {
			s.fe.Receive(RxMode{Kind: RxV21, Modulation: V21, BitRate: 300})
			k := timerT2
			if st == stRxEOM {
				k = timerT2EOM
			}
			s.startTimer(k, s.cfg.Timers.T2)
		}
	}
	s.sendResponse(then, s.frame(FCFERR, true))
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
