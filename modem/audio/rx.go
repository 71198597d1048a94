package audio

import (
	"fmt"

	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/internal/qam"
	"github.com/faxseal/faxseal/modem/tone"
	"github.com/faxseal/faxseal/modem/v17"
	"github.com/faxseal/faxseal/modem/v27ter"
	"github.com/faxseal/faxseal/modem/v29"
	"github.com/faxseal/faxseal/t30"
)

// fastState is what the transport has reported about the fast carrier.
type fastState uint8

const (
	fastIdle fastState = iota
	fastTrained
	fastFailed
)

type statusKind uint8

const (
	stTrained statusKind = iota + 1
	stFailed
	stCarrierDown
)

// statusAt is a receiver event and the number of bits delivered before it.
type statusAt struct {
	kind statusKind
	at   int
}

// fastRx adapts the V.27ter/V.29 (qam engine) and V.17 receivers to one shape.
type fastRx interface {
	put(samples []int16, bits []byte, evs []statusAt) ([]byte, []statusAt)
	fillin(n int)
}

// fastFor returns the receiver for mode. V.17 keeps one receiver per call and restarts it, so a
// short training (image data after a long-trained TCF at the same rate, T.30 §5.2) finds the
// equaliser and carrier state the long training left (brief §3.5 item 7).
func (t *Transport) fastFor(mode t30.RxMode) (fastRx, error) {
	if mode.Modulation == t30.V17 && t.v17 != nil {
		if err := t.v17.r.Restart(v17.Rate(mode.BitRate), mode.ShortTrain); err != nil {
			return nil, err
		}
		t.v17.trained, t.v17.failed = false, false
		return t.v17, nil
	}
	f, err := newFastRx(mode.Modulation, mode.BitRate, mode.ShortTrain)
	if err == nil {
		if a, ok := f.(*v17Rx); ok {
			t.v17 = a
		}
	}
	return f, err
}

func newFastRx(m t30.Modulation, rate int, short bool) (fastRx, error) {
	switch m {
	case t30.V27ter:
		r, err := v27ter.NewRx(rate)
		if err != nil {
			return nil, err
		}
		return &qamRx{r: r.Receiver, last: qam.Idle}, nil
	case t30.V29:
		r, err := v29.NewRx(rate)
		if err != nil {
			return nil, err
		}
		return &qamRx{r: r.Receiver, last: qam.Idle}, nil
	case t30.V17:
		a := &v17Rx{}
		r, err := v17.NewReceiver(v17.Rate(rate), a)
		if err != nil {
			return nil, err
		}
		if short {
			if err := r.Restart(v17.Rate(rate), true); err != nil {
				return nil, err
			}
		}
		a.r = r
		return a, nil
	}
	return nil, fmt.Errorf("audio: no receiver for %v", m)
}

type qamRx struct {
	r     *qam.Receiver
	last  qam.State
	stage string
}

func (q *qamRx) put(samples []int16, bits []byte, evs []statusAt) ([]byte, []statusAt) {
	before := q.last
	stage := q.r.Stage()
	bits = q.r.Put(samples, bits)
	now := q.r.State()
	q.last = now
	if now == before {
		return bits, evs
	}
	switch {
	case now == qam.Data:
		evs = append(evs, statusAt{stTrained, 0})
	case now == qam.Failed:
		evs = append(evs, statusAt{stFailed, 0})
	case now == qam.Idle && before == qam.Data:
		evs = append(evs, statusAt{stCarrierDown, len(bits)})
	case now == qam.Idle && before == qam.Failed:
		evs = append(evs, statusAt{stCarrierDown, len(bits)})
	case now == qam.Idle && before == qam.Training && (stage == "train" || stage == "test"):
		// The carrier went away in the middle of the known training symbols.
		evs = append(evs, statusAt{stFailed, 0}, statusAt{stCarrierDown, 0})
	case before == qam.Data && now == qam.Training:
		// A new training started without a carrier gap between: close the old carrier.
		evs = append(evs, statusAt{stCarrierDown, len(bits)})
	}
	return bits, evs
}

func (q *qamRx) fillin(n int) { q.r.Fillin(n) }

// v17Rx collects the V.17 receiver's callbacks.
type v17Rx struct {
	r       *v17.Receiver
	bits    []byte
	evs     []statusAt
	trained bool
	failed  bool
}

func (a *v17Rx) PutBit(bit int) { a.bits = append(a.bits, byte(bit&1)) }

func (a *v17Rx) ModemStatus(s v17.Status) {
	switch s {
	case v17.StatusTrainingSucceeded:
		a.trained = true
		a.evs = append(a.evs, statusAt{stTrained, len(a.bits)})
	case v17.StatusTrainingFailed:
		a.failed = true
		a.evs = append(a.evs, statusAt{stFailed, len(a.bits)})
	case v17.StatusCarrierDown:
		if a.trained || a.failed {
			a.evs = append(a.evs, statusAt{stCarrierDown, len(a.bits)})
		}
		a.trained, a.failed = false, false
	}
}

func (a *v17Rx) put(samples []int16, bits []byte, evs []statusAt) ([]byte, []statusAt) {
	a.bits, a.evs = bits, evs
	a.r.Receive(samples)
	return a.bits, a.evs
}

func (a *v17Rx) fillin(n int) { a.r.FillIn(n) }

// Rx receives one block of linear samples.
func (t *Transport) Rx(samples []int16) {
	t.data, t.frames, t.dataFrom = t.data[:0], t.frames[:0], 0
	if t.txBusy {
		// Half duplex: the receivers never see the echo of our own modulated signal (brief §3.1).
		return
	}
	// Tones only matter before the first control frame (phase A); after that the detector would
	// only burn a fifth of the receive CPU.
	if !t.sawFrame && (t.cur == nil || !t.cur.isTone()) {
		if tn, ok := t.tones.Put(samples); ok {
			switch tn {
			case tone.CNG:
				t.emit(t30.Event{Kind: t30.EventTone, Tone: t30.ToneCNG})
			case tone.CED, tone.ANSam:
				t.emit(t30.Event{Kind: t30.EventTone, Tone: t30.ToneCED})
			}
		}
	}
	switch t.mode.Kind {
	case t30.RxV21:
		t.runV21(samples, true)
	case t30.RxHDLC, t30.RxData:
		if t.fastSt != fastTrained {
			// Until the fast modem trains, a V.21 frame may arrive instead (brief §3.3).
			t.runV21(samples, false)
			if !t.v21framing && audible(samples) {
				t.heardBeforeV21 += len(samples)
			}
		}
		t.runFast(samples)
	}
}

// preV21Signal is how much signal (in samples) may come before V.21 preamble flags are recognised
// for a failed fast training to count as that V.21 transmission: 5 flags take 133 ms, and a lost
// packet among the first flags delays them; 0.5 s is far below any image carrier before a
// post-page command (training alone is 0.25-1.4 s, plus the page).
const preV21Signal = 4000

// audible reports whether a block carries signal rather than idle noise: mean power above
// -48 dBm0 (RMS 64 in linear samples, where 0 dBm0 is RMS ~16000), 5 dB under the weakest signal
// the receivers train on (-43 dBm0).
func audible(samples []int16) bool {
	var p int64
	for _, v := range samples {
		p += int64(v) * int64(v)
	}
	return p > 4096*int64(len(samples))
}

// RxFillin bridges a lost packet of n samples.
func (t *Transport) RxFillin(n int) {
	t.data, t.frames, t.dataFrom = t.data[:0], t.frames[:0], 0
	if t.txBusy {
		return
	}
	// A lost packet costs V.21 six bits: let the deframer rebuild the frame around them.
	if k := t.v21rx.Fillin(n); k > 0 && (t.mode.Kind == t30.RxV21 || t.fastSt != fastTrained) {
		t.v21def.PutGap(k)
		t.v21tail.gap(k)
	}
	if t.fast != nil {
		t.fast.fillin(n)
		if t.fastSt == fastTrained {
			// After a gap the receive filter and the equaliser still hold the fill-in for a few
			// dozen symbols, and the descrambler needs its register refilled: the bits it delivers
			// meanwhile are noise. Drop them rather than pass them on, so a lost packet costs only
			// missing bits, not a burst of wrong ones (a TCF zero run then survives a lost packet;
			// brief §3.5 item 9).
			syms := dropSymbols
			if t.mode.Modulation == t30.V17 {
				syms += v17Traceback // the Viterbi decoder delivers its bits that much later
			}
			t.dropBits = syms * t.mode.BitRate / baudOf(t.mode.Modulation, t.mode.BitRate)
		}
	}
}

func (t *Transport) runV21(samples []int16, carrierEvents bool) {
	t.bits = t.v21rx.Put(samples, t.bits[:0])
	for _, b := range t.bits {
		t.v21tail.put(b)
		st := t.v21def.PutBit(int(b))
		if t.v21tail.flagged {
			if st == hdlc.FrameBad && t.v21framing {
				// The deframer could not repair a gap that took the closing flag's first bits:
				// try the frame as ending in the gap.
				if f, ok := t.v21tail.rebuild(t.v21def.Check); ok {
					t.sawFrame = true
					t.emitFrame(t30.V21, 300, f, true)
					continue
				}
			}
			t.v21tail.reset()
		}
		switch st {
		case hdlc.Preamble:
			// Frames count only after a real preamble (5 flags, brief §3.2): noise and the other
			// modems' signals make random "frames" between chance flag patterns.
			t.v21framing = true
			if carrierEvents && !t.v21up {
				t.v21up = true
				t.emit(t30.Event{Kind: t30.EventCarrierUp, Modulation: t30.V21, BitRate: 300})
			}
		case hdlc.FrameOK:
			if t.v21framing {
				t.sawFrame = true
				t.emitFrame(t30.V21, 300, t.v21def.Frame(), true)
			}
		case hdlc.FrameBad:
			if t.v21framing {
				t.emitFrame(t30.V21, 300, t.v21def.Frame(), false)
			}
		case hdlc.Abort:
			t.v21rebuildTail()
			t.v21framing = false
		}
	}
	if !t.v21rx.Carrier() {
		t.v21rebuildTail()
		if t.v21up {
			t.v21up = false
			t.emit(t30.Event{Kind: t30.EventCarrierDown, Modulation: t30.V21, BitRate: 300})
		}
		t.v21def.Reset()
		t.v21framing = false
	}
}

// v21rebuildTail reports a V.21 frame whose end fell in a lost packet, if it can be rebuilt (see
// v21Tail), when its carrier has gone or an abort ended it.
func (t *Transport) v21rebuildTail() {
	if !t.v21framing {
		t.v21tail.reset()
		return
	}
	if f, ok := t.v21tail.rebuild(t.v21def.Check); ok {
		t.sawFrame = true
		t.emitFrame(t30.V21, 300, f, true)
	}
}

func (t *Transport) emitFrame(m t30.Modulation, rate int, f []byte, ok bool) {
	start := len(t.frames)
	t.frames = append(t.frames, f...)
	t.emit(t30.Event{Kind: t30.EventHDLC, Modulation: m, BitRate: rate, Frame: t.frames[start:len(t.frames):len(t.frames)], FCSOK: ok})
}

func (t *Transport) runFast(samples []int16) {
	if t.fast == nil {
		return
	}
	t.bits, t.evs = t.fast.put(samples, t.bits[:0], t.evs[:0])
	m, rate := t.mode.Modulation, t.mode.BitRate
	pos := 0
	for _, e := range t.evs {
		at := min(max(e.at, pos), len(t.bits))
		t.fastBits(t.bits[pos:at])
		pos = at
		switch e.kind {
		case stTrained:
			t.fastSt = fastTrained
			t.heardBeforeV21 = 0
			t.dropBits = 0
			t.fastDef.Reset()
			t.acc, t.nacc = 0, 0
			t.v21def.Reset()
			t.v21tail.reset()
			t.emit(t30.Event{Kind: t30.EventTrained, Modulation: m, BitRate: rate})
		case stFailed:
			t.fastSt = fastFailed
			// While V.21 preamble flags are being received (runV21 ran on this block first) the
			// signal the fast receiver failed on is that V.21 transmission, not an image carrier:
			// reporting it would make t30 take a repeated post-page command for a page that never
			// trained and answer RTN (T.30 §5.3.2.5 wants the last response repeated), so the sender
			// would send an already confirmed page again. V.17 training runs long enough (segment 1
			// alone is 256 symbols) to fail only after the flags have been recognised.
			// But only if nothing else was heard before those flags: an image carrier whose
			// training went unnoticed (a lost packet in it) runs for seconds before the post-page
			// command, and its failure must reach t30 (RTN), or a repeated MPS would confirm it.
			if !t.v21framing || t.heardBeforeV21 > preV21Signal {
				t.emit(t30.Event{Kind: t30.EventTrainingFailed, Modulation: m, BitRate: rate})
			}
		case stCarrierDown:
			t.heardBeforeV21 = 0
			t.flushData()
			if t.fastSt != fastIdle {
				t.emit(t30.Event{Kind: t30.EventCarrierDown, Modulation: m, BitRate: rate})
			}
			t.fastSt = fastIdle
		}
	}
	t.fastBits(t.bits[pos:])
	t.flushData()
}

// fastBits takes demodulated bits from a trained fast modem.
func (t *Transport) fastBits(bits []byte) {
	if t.fastSt != fastTrained {
		return
	}
	if t.dropBits > 0 {
		k := min(t.dropBits, len(bits))
		t.dropBits -= k
		bits = bits[k:]
	}
	m, rate := t.mode.Modulation, t.mode.BitRate
	if t.mode.Kind == t30.RxHDLC {
		for _, b := range bits {
			switch t.fastDef.PutBit(int(b)) {
			case hdlc.FrameOK:
				t.emitFrame(m, rate, t.fastDef.Frame(), true)
			case hdlc.FrameBad:
				t.emitFrame(m, rate, t.fastDef.Frame(), false)
			}
		}
		return
	}
	// Non-ECM: bytes LSB first, as the T.4 stream and TCF are sent (t30 package comment).
	for _, b := range bits {
		t.acc |= uint32(b&1) << t.nacc
		t.nacc++
		if t.nacc == 8 {
			t.data = append(t.data, byte(t.acc))
			t.acc, t.nacc = 0, 0
		}
	}
}

// flushData reports the bytes assembled since the last EventData.
func (t *Transport) flushData() {
	if len(t.data) > t.dataFrom {
		t.emit(t30.Event{Kind: t30.EventData, Modulation: t.mode.Modulation, BitRate: t.mode.BitRate,
			Data: t.data[t.dataFrom:len(t.data):len(t.data)]})
		t.dataFrom = len(t.data)
	}
}

// dropSymbols is how many symbols after a fill-in are not trusted: the receive filter and the
// 33-tap T/2 equaliser span about 25 symbols, and the scramblers need up to 23 clean line bits.
const dropSymbols = 32

// v17Traceback is the V.17 trellis decoder's decision delay in symbols (brief §3.5 item 8: 16).
const v17Traceback = 16

func baudOf(m t30.Modulation, rate int) int {
	switch m {
	case t30.V27ter:
		if rate == 2400 {
			return 1200
		}
		return 1600
	case t30.V21:
		return 300
	}
	return 2400 // V.29 and V.17
}
