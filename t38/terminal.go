package t38

import (
	"errors"
	"fmt"
	"time"

	"github.com/faxseal/faxseal/t30"
)

// TerminalConfig configures a T.38 terminal transport.
type TerminalConfig struct {
	// Syntax is the IFP syntax of the answered T38FaxVersion (SyntaxForVersion).
	Syntax Syntax
	// RateManagement is the negotiated T38FaxRateManagement; zero means TransferredTCF. With
	// LocalTCF the TCF bytes are not sent: only the training indicator and, after the TCF time, no-signal
	// (T.38 §8.1; reference brief §1.7).
	RateManagement RateManagement
	// MaxDatagram is the peer's T38FaxMaxDatagram; data chunks are cut so that one IFP always fits a
	// UDPTL packet of that size (reference brief §5 #12, #35). Zero means 400.
	MaxDatagram int
	// V21Preamble is the time between the v21-preamble indicator and the first HDLC octet. The far
	// gateway makes the 1 s of flags itself; holding data back for all of it makes some gateways choke
	// (reference brief §5 #26). Zero means 100 ms.
	V21Preamble time.Duration
	// CNGRepeat is how often a CNG transmission without a duration repeats the cng indicator, so a
	// far gateway that missed the first copies still learns of it (reference brief §5 #19). Zero
	// means 3 s.
	CNGRepeat time.Duration
	// KeepAlive, if set, repeats the current indicator whenever nothing has been sent for that long
	// while idle (spandsp T38_TERMINAL_OPTION_REGULAR_INDICATORS), so NAT pinholes stay open and
	// SBCs that drop media-inactive calls after 30-60 s keep the call (reference brief §5 #17, #18).
	// About 2 s suits SIP trunks; zero sends nothing extra.
	KeepAlive time.Duration
}

// Out is one IFP ready to go out at time At. Count is how many copies of the same UDPTL packet to send
// (T.38 terminal practice: indicators and the last packet of a burst 3 times; spandsp t38_terminal.c
// INDICATOR_TX_COUNT, DATA_END_TX_COUNT).
type Out struct {
	At    time.Duration
	IFP   []byte
	Count int
}

// Pacing and repeat constants (reference brief §1.4, §1.6; spandsp t38_core.c, t38_terminal.c).
const (
	indicatorCount   = 3
	dataEndCount     = 3
	chunkTime        = 30 * time.Millisecond // octets per packet = 30 ms at the bit rate
	silenceLead      = 75 * time.Millisecond // no-signal before a new carrier (T.30 §5.3.2.4)
	toneLead         = 200 * time.Millisecond
	hdlcFlagsTime    = 200 * time.Millisecond // flags after fast-modem training before ECM frames
	hdlcTail         = 100 * time.Millisecond // HDLC sig-end -> no-signal
	dataTail         = 60 * time.Millisecond  // t4-non-ecm-sig-end -> no-signal
	nonECMPadPackets = 3                      // packets of zero fill after RTC (brief §5 #24)
	midReceiveLimit  = 15 * time.Second       // spandsp MID_RX_TIMEOUT
	defaultDatagram  = 400
	maxHDLCFrame     = 2048 // receive bound; spandsp's is 260 (T38_MAX_HDLC_LEN)
	datagramOverhead = 16   // UDPTL and IFP headers around one data chunk with a second field
)

// queued is a Tx with the time it was queued (the last time the terminal was given).
type queued struct {
	tx t30.Tx
	at time.Duration
}

type txPhase uint8

const (
	phaseLead txPhase = iota + 1 // no-signal if a carrier or tone was on
	phaseIndicator
	phaseBody
	phaseWait // hold (tone duration, TCF time, CNG repeats)
	phaseEnd  // the last HDLC octets are on the line
	phaseDone
)

// Terminal is the T.38 terminal transport: it implements t30.FrontEnd, turning a Session's
// transmissions into paced IFP packets and received IFPs into t30 events. It is pure: the caller
// passes time in (Advance, Input), sends the packets TakePackets returns, and hands the events
// TakeEvents returns to the Session.
type Terminal struct {
	cfg      TerminalConfig
	maxChunk int
	now      time.Duration

	// transmit
	queue    []queued
	cur      t30.Tx
	active   bool
	phase    txPhase
	due      time.Duration // when the next transmit step is due
	freeAt   time.Duration // when the line is free after the last transmission
	frame    int           // HDLC frame index in cur
	off      int           // offset in the current frame or data
	pad      int           // zero octets of fill still to send
	lastInd  Indicator     // last indicator sent
	lastTxAt time.Duration // when the last packet went out
	sentAny  bool
	idleAt   time.Duration // pending no-signal after a burst, if idlePend
	idlePend bool
	// fcsPending: the current frame's octets are sent, its FCS marker is next
	fcsPending bool
	scratch    []byte
	rev        []byte
	ifp        IFP
	fields     [2]Field

	// receive
	mode        t30.RxMode
	rxInd       Indicator
	rxCarrier   t30.Modulation // carrier being received, 0 none
	rxRate      int
	inFrame     bool
	missing     bool
	rxFrame     []byte
	lastRx      time.Duration
	rxIFP       IFP
	rxIndUsed   bool   // the last training indicator has already produced EventTrained
	endIFP      []byte // the IFP that ended the last carrier, to spot its repeats
	rxRaw       []byte // the IFP being processed (nil from the backstop)
	InvalidIFPs int    // received IFPs that did not decode and were dropped

	// double-buffered outputs: Take* hands one side out and starts filling the other
	outs     [2][]Out
	outArena [2][]byte
	evs      [2][]t30.Event
	evArena  [2][]byte
	side     int
	evSide   int
}

// NewTerminal returns a transport with the receiver off and nothing queued.
func NewTerminal(cfg TerminalConfig) (*Terminal, error) {
	if cfg.Syntax != Syntax1998 && cfg.Syntax != Syntax2002 {
		return nil, fmt.Errorf("t38: terminal needs an IFP syntax, got %v", cfg.Syntax)
	}
	if cfg.RateManagement == 0 {
		cfg.RateManagement = TransferredTCF
	}
	if cfg.MaxDatagram == 0 {
		cfg.MaxDatagram = defaultDatagram
	}
	if cfg.MaxDatagram < datagramOverhead+1 {
		return nil, fmt.Errorf("t38: peer max datagram %d too small", cfg.MaxDatagram)
	}
	if cfg.V21Preamble == 0 {
		cfg.V21Preamble = 100 * time.Millisecond
	}
	if cfg.CNGRepeat == 0 {
		cfg.CNGRepeat = 3 * time.Second
	}
	return &Terminal{cfg: cfg, maxChunk: cfg.MaxDatagram - datagramOverhead, mode: t30.RxMode{Kind: t30.RxOff}}, nil
}

var _ t30.FrontEnd = (*Terminal)(nil)

// Receive implements t30.FrontEnd.
func (t *Terminal) Receive(mode t30.RxMode) {
	t.mode = mode
	// A training indicator that arrived before the engine asked for the fast modem still counts.
	if (mode.Kind == t30.RxHDLC || mode.Kind == t30.RxData) && t.rxCarrier == 0 && !t.rxIndUsed {
		if m, r, ok := trainedBy(t.rxInd); ok && m == mode.Modulation && r == mode.BitRate {
			t.rxCarrier, t.rxRate, t.rxIndUsed = m, r, true
			t.event(t30.Event{Kind: t30.EventTrained, Modulation: m, BitRate: r})
		}
	}
}

// Transmit implements t30.FrontEnd.
func (t *Terminal) Transmit(tx t30.Tx) {
	if t.active && t.cur.Kind == t30.TxCNG && t.cur.Duration == 0 && t.phase == phaseWait {
		// T.30 contract: a CNG without duration lasts until the next transmission is queued.
		t.finish(t.now)
	}
	t.queue = append(t.queue, queued{tx, t.now})
}

// Deadline reports when Advance must next be called if no packet arrives.
func (t *Terminal) Deadline() (time.Duration, bool) {
	at, ok := time.Duration(0), false
	take := func(d time.Duration) {
		if !ok || d < at {
			at, ok = d, true
		}
	}
	switch {
	case t.active:
		take(t.due)
	case len(t.queue) > 0:
		take(max(t.queue[0].at, t.freeAt))
	case t.idlePend:
		take(t.idleAt)
	case t.cfg.KeepAlive > 0 && t.sentAny:
		take(t.lastTxAt + t.cfg.KeepAlive)
	}
	if t.rxCarrier != 0 {
		take(t.lastRx + midReceiveLimit)
	}
	return at, ok
}

// Advance runs the transmitter and the receive backstop up to now.
func (t *Terminal) Advance(now time.Duration) {
	if now > t.now {
		t.now = now
	}
	for {
		if !t.active {
			if len(t.queue) == 0 {
				break
			}
			t.start()
		}
		if t.due > now {
			break
		}
		t.step()
	}
	if !t.active && len(t.queue) == 0 && t.idlePend && t.idleAt <= now {
		t.idlePend = false
		if t.lastInd != IndicatorNoSignal {
			t.sendIndicator(t.idleAt, IndicatorNoSignal)
		}
	}
	for !t.active && len(t.queue) == 0 && !t.idlePend && t.cfg.KeepAlive > 0 && t.sentAny && t.lastTxAt+t.cfg.KeepAlive <= now {
		t.sendIndicatorCount(t.lastTxAt+t.cfg.KeepAlive, t.lastInd, 1)
	}
	if t.rxCarrier != 0 && now-t.lastRx >= midReceiveLimit {
		// spandsp MID_RX_TIMEOUT: a peer that stops sending mid-receive has dropped its carrier.
		t.endCarrier()
	}
}

func (t *Terminal) start() {
	at := max(t.queue[0].at, t.freeAt)
	t.cur = t.queue[0].tx
	t.queue = append(t.queue[:0], t.queue[1:]...)
	t.active, t.phase, t.due, t.frame, t.off, t.pad, t.fcsPending = true, phaseLead, at, 0, 0, 0, false
	t.idlePend = false
}

func (t *Terminal) finish(at time.Duration) {
	t.active, t.phase = false, phaseDone
	t.freeAt = at
	t.event(t30.Event{Kind: t30.EventTxDone})
}

// step performs the transmit step due at t.due.
func (t *Terminal) step() {
	tx := &t.cur
	at := t.due
	switch t.phase {
	case phaseLead:
		t.phase = phaseIndicator
		lead := silenceLead
		if tx.Kind == t30.TxCNG || tx.Kind == t30.TxCED {
			lead = toneLead
		}
		if t.lastInd != IndicatorNoSignal && t.lastInd != 0 || (t.lastInd == 0 && tx.Kind != t30.TxSilence) {
			t.sendIndicator(at, IndicatorNoSignal)
			if tx.Kind != t30.TxSilence {
				t.due = at + lead
			}
		}
	case phaseIndicator:
		t.phase = phaseBody
		switch tx.Kind {
		case t30.TxSilence:
			t.phase, t.due = phaseWait, at+tx.Duration
		case t30.TxCNG:
			t.sendIndicator(at, IndicatorCNG)
			t.phase, t.due = phaseWait, at+tx.Duration
			if tx.Duration == 0 {
				t.due = at + t.cfg.CNGRepeat
			}
		case t30.TxCED:
			t.sendIndicator(at, IndicatorCED)
			t.phase, t.due = phaseWait, at+tx.Duration
		case t30.TxHDLC:
			if tx.Modulation == t30.V21 {
				t.sendIndicator(at, IndicatorV21Preamble)
				t.due = at + t.cfg.V21Preamble
				break
			}
			ind, ok := trainingIndicator(tx.Modulation, tx.BitRate, tx.ShortTrain)
			if !ok {
				t.finish(at) // the engine never asks for an invalid modem; end the Tx rather than hang
				return
			}
			t.sendIndicator(at, ind)
			t.due = at + trainingTime(ind) + hdlcFlagsTime
		case t30.TxData:
			ind, ok := trainingIndicator(tx.Modulation, tx.BitRate, tx.ShortTrain)
			if !ok {
				t.finish(at)
				return
			}
			t.sendIndicator(at, ind)
			t.due = at + trainingTime(ind)
			if tx.TCF && t.cfg.RateManagement == LocalTCF {
				// T.38 §8.1: the TCF itself stays local; the far terminal sees training, then no-signal.
				t.phase, t.due = phaseWait, t.due+bitTime(len(tx.Data)*8, tx.BitRate)
			} else if !tx.TCF {
				// Some peers cut the last octets of a non-ECM page: send 3 packets of zero fill after
				// RTC, as spandsp does, which is >= 40 ms at any rate (reference brief §1.4, §5 #24).
				t.pad = nonECMPadPackets * t.chunkSize(tx.BitRate)
			}
		default:
			t.finish(at)
		}
	case phaseBody:
		if tx.Kind == t30.TxHDLC {
			t.stepHDLC(at)
		} else {
			t.stepData(at)
		}
	case phaseEnd:
		t.endBurst(at, hdlcTail)
	case phaseWait:
		switch {
		case tx.Kind == t30.TxCNG && tx.Duration == 0:
			// Keep repeating cng until the engine queues something else.
			t.sendIndicatorCount(at, IndicatorCNG, 1)
			t.due = at + t.cfg.CNGRepeat
		case tx.Kind == t30.TxData:
			// localTCF: the training and TCF time are over.
			t.sendIndicator(at, IndicatorNoSignal)
			t.finish(at)
		default:
			t.finish(at)
		}
	}
}

func (t *Terminal) chunkSize(rate int) int {
	n := int(int64(rate) * int64(chunkTime) / int64(8*time.Second))
	return max(1, min(n, t.maxChunk))
}

func (t *Terminal) stepHDLC(at time.Duration) {
	tx := &t.cur
	dt, _ := dataTypeFor(tx.Modulation, tx.BitRate)
	if t.fcsPending {
		// The frame's octets are out: its FCS and closing flag take line time too (T.30 §5.3.7),
		// plus stuffing. The end marker travels in its own IFP, as spandsp sends it (and Wireshark
		// reassembles it); the last frame's is the burst's single end marker, sent 3 times
		// (reference brief §5 #7).
		t.fcsPending = false
		f := tx.Frames[t.frame]
		t.due = at + bitTime(stuffedBits(f)+16+8, tx.BitRate)
		t.frame, t.off = t.frame+1, 0
		if t.frame < len(tx.Frames) {
			t.sendData(at, dt, 1, Field{Type: FieldHDLCFCSOK})
			return
		}
		t.sendData(at, dt, dataEndCount, Field{Type: FieldHDLCFCSOKSigEnd})
		t.phase = phaseEnd
		return
	}
	for t.frame < len(tx.Frames) && len(tx.Frames[t.frame]) == 0 {
		t.frame++
	}
	if t.frame >= len(tx.Frames) {
		// No frames at all: close the carrier with a bare sig-end.
		t.sendData(at, dt, dataEndCount, Field{Type: FieldHDLCSigEnd})
		t.endBurst(at, hdlcTail)
		return
	}
	f := tx.Frames[t.frame]
	n := min(t.chunkSize(tx.BitRate), len(f)-t.off)
	t.sendData(at, dt, 1, Field{Type: FieldHDLCData, Data: f[t.off : t.off+n]})
	t.off += n
	t.due = at + bitTime(n*8, tx.BitRate)
	t.fcsPending = t.off == len(f)
}

func (t *Terminal) stepData(at time.Duration) {
	tx := &t.cur
	dt, _ := dataTypeFor(tx.Modulation, tx.BitRate)
	size := t.chunkSize(tx.BitRate)
	if t.off < len(tx.Data) {
		n := min(size, len(tx.Data)-t.off)
		t.sendData(at, dt, 1, Field{Type: FieldT4NonECMData, Data: tx.Data[t.off : t.off+n]})
		t.off += n
		t.due = at + bitTime(n*8, tx.BitRate)
		return
	}
	if t.pad > 0 {
		n := min(size, t.pad)
		t.pad -= n
		t.scratch = t.scratch[:0]
		for range n {
			t.scratch = append(t.scratch, 0)
		}
		t.sendData(at, dt, 1, Field{Type: FieldT4NonECMData, Data: t.scratch})
		t.due = at + bitTime(n*8, tx.BitRate)
		return
	}
	t.sendData(at, dt, dataEndCount, Field{Type: FieldT4NonECMSigEnd})
	t.endBurst(at, dataTail)
}

// endBurst finishes a carrier: the Tx is done when its last bit has left, and no-signal follows
// unless another transmission starts first (reference brief §1.4).
func (t *Terminal) endBurst(at, tail time.Duration) {
	t.finish(at)
	t.idlePend, t.idleAt = true, at+tail
}

func (t *Terminal) sendIndicator(at time.Duration, ind Indicator) {
	t.sendIndicatorCount(at, ind, indicatorCount)
}

func (t *Terminal) sendIndicatorCount(at time.Duration, ind Indicator, count int) {
	t.lastInd = ind
	t.ifp = IFP{Indicator: ind}
	t.emit(at, count)
}

// sendData emits a data IFP; field data is given LSB-first and reversed here for the wire.
func (t *Terminal) sendData(at time.Duration, dt DataType, count int, fields ...Field) {
	t.ifp = IFP{Data: dt, Fields: t.fields[:0]}
	rev := t.rev[:0]
	for _, f := range fields {
		if len(f.Data) > 0 {
			start := len(rev)
			rev = appendReversed(rev, f.Data)
			f.Data = rev[start:]
		}
		t.ifp.Fields = append(t.ifp.Fields, f)
	}
	t.rev = rev
	t.emit(at, count)
}

func (t *Terminal) emit(at time.Duration, count int) {
	s := t.side
	start := len(t.outArena[s])
	b, err := t.ifp.Append(t.outArena[s], t.cfg.Syntax)
	if err != nil {
		// Only reachable through an engine request no peer could receive; drop it.
		return
	}
	t.outArena[s] = b
	t.outs[s] = append(t.outs[s], Out{At: at, IFP: b[start:len(b):len(b)], Count: count})
	t.lastTxAt, t.sentAny = at, true
}

// TakePackets returns the IFPs produced since the last call, in order. The slice and the IFP bytes are
// valid until the call after next.
func (t *Terminal) TakePackets() []Out {
	s := t.side
	t.side ^= 1
	t.outs[t.side], t.outArena[t.side] = t.outs[t.side][:0], t.outArena[t.side][:0]
	return t.outs[s]
}

// TakeEvents returns the t30 events produced since the last call. The slice and the frame/data bytes
// in it are valid until the call after next. Handing an event to the Session may queue more (a
// Transmit ending a CNG), so callers loop until it returns none.
func (t *Terminal) TakeEvents() []t30.Event {
	s := t.evSide
	t.evSide ^= 1
	t.evs[t.evSide], t.evArena[t.evSide] = t.evs[t.evSide][:0], t.evArena[t.evSide][:0]
	return t.evs[s]
}

// event queues ev; Frame is already LSB-first (reversed as it was assembled), Data is still in wire
// order and is reversed here.
func (t *Terminal) event(ev t30.Event) {
	s := t.evSide
	if ev.Frame != nil {
		start := len(t.evArena[s])
		t.evArena[s] = append(t.evArena[s], ev.Frame...)
		ev.Frame = t.evArena[s][start:len(t.evArena[s]):len(t.evArena[s])]
	}
	if ev.Data != nil {
		start := len(t.evArena[s])
		t.evArena[s] = appendReversed(t.evArena[s], ev.Data)
		ev.Data = t.evArena[s][start:len(t.evArena[s]):len(t.evArena[s])]
	}
	t.evs[s] = append(t.evs[s], ev)
}

// ErrIFPDropped wraps the decode error of an IFP the terminal dropped.
var ErrIFPDropped = errors.New("t38: IFP dropped")

// Input takes one received IFP (from the UDPTL receiver) at time now.
func (t *Terminal) Input(now time.Duration, b []byte) error {
	if now > t.now {
		t.now = now
	}
	t.lastRx = now
	t.rxRaw = nil
	if t.rxCarrier == 0 && t.endIFP != nil && string(b) == string(t.endIFP) {
		// A copy of the packet that ended the carrier, under a fresh sequence number: some peers
		// repeat their end markers that way (reference brief §1.4).
		return nil
	}
	p := &t.rxIFP
	if err := p.Unmarshal(b, t.cfg.Syntax); err != nil {
		// Unknown values or garbage: drop the packet, keep the call (spandsp t38_core.c).
		t.InvalidIFPs++
		return fmt.Errorf("%w: %w", ErrIFPDropped, err)
	}
	t.rxRaw = b
	if p.Indicator != 0 {
		t.rxIndicator(p.Indicator)
		return nil
	}
	mod, rate, ok := modemOf(p.Data)
	if !ok {
		return nil // V.8/V.34/V.33 data: not a G3 terminal's business
	}
	if t.rxCarrier != mod && !carriesData(p.Fields) {
		// End markers with no carrier: repeats with fresh sequence numbers, or hdlc-sig-end after
		// hdlc-fcs-OK-sig-end (spandsp PR #86). They must not start a carrier.
		return nil
	}
	if mod == t30.V21 {
		if t.mode.Kind == t30.RxOff {
			return nil
		}
		if t.rxCarrier != t30.V21 {
			// hdlc-data without a v21-preamble first (reference brief §1.4): fake the preamble.
			if t.rxCarrier != 0 {
				t.endCarrier()
			}
			t.rxCarrier, t.rxRate = t30.V21, 300
			t.event(t30.Event{Kind: t30.EventCarrierUp, Modulation: t30.V21, BitRate: 300})
		}
		t.rxFields(p.Fields, true)
		return nil
	}
	if (t.mode.Kind != t30.RxHDLC && t.mode.Kind != t30.RxData) || t.mode.Modulation != mod || t.mode.BitRate != rate {
		return nil
	}
	if t.rxCarrier != mod || t.rxRate != rate {
		// Image data with no (or a lost) training indicator: the modem evidently trained.
		if t.rxCarrier != 0 {
			t.endCarrier()
		}
		t.rxCarrier, t.rxRate, t.rxIndUsed = mod, rate, true
		t.event(t30.Event{Kind: t30.EventTrained, Modulation: mod, BitRate: rate})
	}
	t.rxFields(p.Fields, t.mode.Kind == t30.RxHDLC)
	return nil
}

func (t *Terminal) rxIndicator(ind Indicator) {
	if ind == t.rxInd {
		return // a repeat (T.38 terminals send every indicator several times)
	}
	t.rxInd, t.rxIndUsed = ind, false
	if t.rxCarrier != 0 {
		// A new indicator means the previous signal has ended, whatever end marker went missing.
		t.endCarrier()
	}
	switch ind {
	case IndicatorCNG:
		t.event(t30.Event{Kind: t30.EventTone, Tone: t30.ToneCNG})
	case IndicatorCED, IndicatorV8ANSam:
		t.event(t30.Event{Kind: t30.EventTone, Tone: t30.ToneCED})
	case IndicatorV21Preamble:
		if t.mode.Kind != t30.RxOff {
			t.rxCarrier, t.rxRate = t30.V21, 300
			t.event(t30.Event{Kind: t30.EventCarrierUp, Modulation: t30.V21, BitRate: 300})
		}
	default:
		m, r, ok := trainedBy(ind)
		if !ok || (t.mode.Kind != t30.RxHDLC && t.mode.Kind != t30.RxData) {
			return
		}
		if m == t.mode.Modulation && r == t.mode.BitRate {
			t.rxCarrier, t.rxRate, t.rxIndUsed = m, r, true
			t.event(t30.Event{Kind: t30.EventTrained, Modulation: m, BitRate: r})
		} else {
			t.event(t30.Event{Kind: t30.EventTrainingFailed, Modulation: m, BitRate: r})
		}
	}
}

// rxFields applies the fields of one data IFP. hdlc selects HDLC framing (V.21 or ECM) rather than
// the non-ECM byte stream.
func (t *Terminal) rxFields(fields []Field, hdlc bool) {
	for _, f := range fields {
		if t.rxCarrier == 0 {
			// Everything after the end of the carrier is a stray repeat (a peer resending its sig-end
			// with fresh sequence numbers, or hdlc-sig-end after fcs-OK-sig-end: spandsp PR #86).
			return
		}
		switch f.Type {
		case FieldHDLCData:
			if hdlc && len(f.Data) > 0 {
				t.frameData(f.Data)
			}
		case FieldHDLCFCSOK, FieldHDLCFCSBad, FieldHDLCFCSOKSigEnd, FieldHDLCFCSBadSigEnd:
			if !hdlc {
				if f.Type == FieldHDLCFCSOKSigEnd || f.Type == FieldHDLCFCSBadSigEnd {
					t.endCarrier()
				}
				continue
			}
			// Cisco and Commetrex put the last data in the fcs field itself (reference brief §1.4).
			if len(f.Data) > 0 {
				t.frameData(f.Data)
			}
			if t.inFrame {
				ok := (f.Type == FieldHDLCFCSOK || f.Type == FieldHDLCFCSOKSigEnd) && !t.missing
				t.event(t30.Event{Kind: t30.EventHDLC, Modulation: t.rxCarrier, BitRate: t.rxRate, Frame: t.rxFrame, FCSOK: ok})
				t.inFrame = false
			}
			if f.Type == FieldHDLCFCSOKSigEnd || f.Type == FieldHDLCFCSBadSigEnd {
				t.endCarrier()
			}
		case FieldHDLCSigEnd, FieldT4NonECMSigEnd:
			// Any sig-end ends the carrier, whichever kind it should have been (Mediatrix, brief §1.4).
			if !hdlc && len(f.Data) > 0 {
				t.event(t30.Event{Kind: t30.EventData, Modulation: t.rxCarrier, BitRate: t.rxRate, Data: f.Data})
			}
			t.endCarrier()
		case FieldT4NonECMData:
			if !hdlc && len(f.Data) > 0 {
				t.event(t30.Event{Kind: t30.EventData, Modulation: t.rxCarrier, BitRate: t.rxRate, Data: f.Data})
			}
		}
	}
}

func carriesData(fields []Field) bool {
	for _, f := range fields {
		if len(f.Data) > 0 {
			return true
		}
	}
	return false
}

// frameData appends wire octets to the HDLC frame being received.
func (t *Terminal) frameData(b []byte) {
	if !t.inFrame {
		t.inFrame, t.rxFrame = true, t.rxFrame[:0]
		// A frame must begin with the address octet, else its start was lost (spandsp t38_terminal.c).
		t.missing = b[0] != 0xFF
	}
	if len(t.rxFrame)+len(b) > maxHDLCFrame {
		// No T.30 frame is this long (ECM frames are 256 octets + 4): a peer that never ends its
		// frame gets it delivered as bad at the end, not unbounded memory.
		t.missing = true
		return
	}
	t.rxFrame = appendReversed(t.rxFrame, b)
}

// Lost tells the terminal that n UDPTL packets could not be recovered. A frame in progress is then
// delivered as FCS-bad (ECM repairs it with PPR, V.21 with a repeat; reference brief §1.4).
func (t *Terminal) Lost(n int) {
	if n > 0 && t.inFrame {
		t.missing = true
	}
}

// endCarrier closes the carrier being received; a frame without its end is delivered as bad.
func (t *Terminal) endCarrier() {
	if t.rxCarrier == 0 {
		return
	}
	if t.inFrame {
		t.event(t30.Event{Kind: t30.EventHDLC, Modulation: t.rxCarrier, BitRate: t.rxRate, Frame: t.rxFrame, FCSOK: false})
		t.inFrame = false
	}
	m, r := t.rxCarrier, t.rxRate
	t.rxCarrier, t.rxRate = 0, 0
	t.endIFP = append(t.endIFP[:0], t.rxRaw...)
	t.event(t30.Event{Kind: t30.EventCarrierDown, Modulation: m, BitRate: r})
}
