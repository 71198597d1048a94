// Package audio is the G.711 audio transport for the T.30 engine: it implements t30.FrontEnd over the
// fax modems (V.21 channel 2 for control frames; V.27ter, V.29 and V.17 for TCF and image data, with
// HDLC framing for ECM) plus the connect tones, and it is driven entirely by sample counts: the caller
// feeds every received 20 ms block and asks for every block to send (fax-protocols brief §3.1: one
// 20 ms tick drives everything).
//
// Per tick:
//
//	tr.Rx(received)            // or RxFillin(160) when the packet is missing
//	tr.Tx(toSend)              // the next 160 samples to send (silence when idle)
//	for _, ev := range tr.Events() {
//		session.Handle(now, ev)
//	}
//	session.Advance(now)
//
// Events (and the Frame and Data slices inside them) are valid until the next Rx or Tx call.
//
// Behaviour the brief asks for (§3.1, §3.3):
//   - Half duplex: while we send a modulated signal the receivers are not fed, so the echo of our own
//     signal is never decoded.
//   - While a fast modem is expected (TCF, image, ECM), a V.21 receiver runs beside it until the fast
//     modem has trained, so a DCS repeated by a peer that missed our CFR is still seen.
//   - Lost packets are bridged with each receiver's fill-in.
//   - V.21 bursts open with about 0.9 s of flags (T.30 §5.3.1: 1 s ± 15 %); fast HDLC bursts send
//     200 ms of flags after training (T.4 Annex A); carrier stops after each transmission.
package audio

import (
	"fmt"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/tone"
	"github.com/faxseal/faxseal/modem/v21"
	"github.com/faxseal/faxseal/t30"
)

// Block is the normal tick size, 20 ms at 8 kHz.
const Block = 160

const (
	v21PreambleFlags = 34 // 907 ms at 300 bit/s
	v21ClosingFlags  = 2
	fastClosingFlags = 4
)

// Transport is one side's audio front end. It is not safe for concurrent use.
type Transport struct {
	law g711.Law

	// Receive side.
	mode       t30.RxMode
	v21rx      *v21.Rx
	v21def     *hdlc.Deframer
	v21tail    v21Tail // rebuilds a frame whose closing flag fell in a lost packet
	v21up      bool
	v21framing bool // a V.21 preamble has been seen on this carrier
	fast       fastRx
	v17        *v17Rx // kept across modes: a V.17 short train needs the equaliser of the long one
	fastDef    *hdlc.Deframer
	fastSt     fastState
	trained    bool
	tones      *tone.Detector
	sawFrame   bool // a good V.21 frame arrived: phase A is over, stop tone detection
	bits       []byte
	acc        uint32 // non-ECM byte assembly, LSB first
	nacc       int
	data       []byte // EventData arena, reset per Rx call
	dataFrom   int    // start of the bytes not yet reported
	evs        []statusAt
	dropBits   int    // fast-modem bits still to discard after a fill-in
	frames     []byte // EventHDLC arena, reset per Rx call
	// heardBeforeV21 counts audible samples while waiting for the fast modem and before V.21
	// flags (see runFast, stFailed).
	heardBeforeV21 int

	// Transmit side.
	queue   []t30.Tx
	cur     *txJob
	events  []t30.Event
	spare   []t30.Event
	pcm     []int16
	txBusy  bool // the last Tx block carried a modulated signal
	samples int64
}

// New returns a transport. law is only used by the RxG711/TxG711 helpers.
func New(law g711.Law) *Transport {
	return &Transport{
		law:    law,
		mode:   t30.RxMode{Kind: t30.RxOff},
		v21rx:  v21.NewRx(),
		v21def: newV21Deframer(),
		tones:  tone.NewDetector(),
		bits:   make([]byte, 0, 512),
		evs:    make([]statusAt, 0, 8),
		data:   make([]byte, 0, 512),
		frames: make([]byte, 0, 2048),
		events: make([]t30.Event, 0, 16),
		spare:  make([]t30.Event, 0, 16),
		pcm:    make([]int16, Block),
	}
}

// Receive implements t30.FrontEnd.
func (t *Transport) Receive(mode t30.RxMode) {
	prev := t.mode
	t.mode = mode
	switch mode.Kind {
	case t30.RxHDLC, t30.RxData:
		t.heardBeforeV21 = 0
		if t.fast == nil || prev.Modulation != mode.Modulation || prev.BitRate != mode.BitRate ||
			prev.ShortTrain != mode.ShortTrain || (prev.Kind != t30.RxHDLC && prev.Kind != t30.RxData) {
			f, err := t.fastFor(mode)
			if err != nil {
				// The engine asked for a modem we do not have: report it as a failed training
				// when a carrier shows up, by keeping no receiver.
				t.fast = nil
			} else {
				t.fast = f
			}
			t.fastDef = hdlc.NewDeframer(0)
			t.fastSt, t.trained = fastIdle, false
			t.nacc, t.acc = 0, 0
		}
	default:
		t.fast = nil
	}
}

// Transmit implements t30.FrontEnd: the transmission is queued behind any in progress. An
// open-ended CNG ends as soon as something else is queued.
func (t *Transport) Transmit(tx t30.Tx) {
	if t.cur != nil && t.cur.tx.Kind == t30.TxCNG && t.cur.tx.Duration == 0 {
		t.finishCurrent()
	}
	t.queue = append(t.queue, tx)
}

// Events returns the events since the last call; they are valid until the next Rx or Tx call.
func (t *Transport) Events() []t30.Event {
	ev := t.events
	t.events, t.spare = t.spare[:0], ev
	return ev
}

func (t *Transport) emit(ev t30.Event) { t.events = append(t.events, ev) }

// Elapsed returns the virtual time covered by the Tx calls so far.
func (t *Transport) Elapsed() time.Duration {
	return time.Duration(t.samples) * time.Second / dsp.SampleRate
}

// RxG711 decodes one G.711 packet and receives it.
func (t *Transport) RxG711(payload []byte) {
	if cap(t.pcm) < len(payload) {
		t.pcm = make([]int16, len(payload))
	}
	t.Rx(t.law.Decode(t.pcm[:len(payload)], payload))
}

// TxG711 fills dst with the next len(dst) samples, G.711 encoded.
func (t *Transport) TxG711(dst []byte) {
	if cap(t.pcm) < len(dst) {
		t.pcm = make([]int16, len(dst))
	}
	pcm := t.pcm[:len(dst)]
	t.Tx(pcm)
	t.law.Encode(dst, pcm)
}

// String describes the state, for logs.
func (t *Transport) String() string {
	cur := "idle"
	if t.cur != nil {
		cur = t.cur.tx.Kind.String()
	}
	return fmt.Sprintf("audio: rx %v, tx %s, %d queued", t.mode, cur, len(t.queue))
}

// newV21Deframer returns the deframer for T.30 control frames; a frame rebuilt across a lost packet
// must also look like a T.30 frame: address 0xFF, control 0x03 or 0x13 (T.30 §5.3.4) and an FCF
// T.30 defines. The FCF check is what brings false accepts of gap repairs on random data to zero
// (modem/hdlc TestGapRepairFalseAccept: 1 in 4000 with the FCS alone).
func newV21Deframer() *hdlc.Deframer {
	d := hdlc.NewDeframer(0)
	d.Check = func(f []byte) bool {
		fr, err := t30.ParseFrame(f)
		return err == nil && fr.FCF.Known()
	}
	return d
}
