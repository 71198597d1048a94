package audio

import (
	"time"

	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/tone"
	"github.com/faxseal/faxseal/modem/v17"
	"github.com/faxseal/faxseal/modem/v21"
	"github.com/faxseal/faxseal/modem/v27ter"
	"github.com/faxseal/faxseal/modem/v29"
	"github.com/faxseal/faxseal/t30"
)

// sampleReader is the common shape of the transmitters: fill dst, return how many samples carry
// signal, report when the carrier has stopped.
type sampleReader interface {
	Read(dst []int16) int
	Done() bool
}

// v17Tx adapts v17.Transmitter.
type v17Tx struct{ t *v17.Transmitter }

func (a v17Tx) Read(dst []int16) int {
	n := a.t.Transmit(dst)
	clear(dst[n:])
	return n
}
func (a v17Tx) Done() bool { return a.t.Done() }

// v17Bits adapts an hdlc.Framer or a byte source to v17.BitSource.
type v17Bits struct{ src v21.BitSource }

func (b v17Bits) NextBit() int {
	bit, ok := b.src.Bit()
	if !ok {
		return v17.EndOfData
	}
	return bit
}

// byteBits serves the bits of a byte slice, LSB first.
type byteBits struct {
	data []byte
	i    int
}

func (b *byteBits) Bit() (int, bool) {
	if b.i >= 8*len(b.data) {
		return 1, false
	}
	bit := int(b.data[b.i>>3]>>(b.i&7)) & 1
	b.i++
	return bit, true
}

type txJob struct {
	tx        t30.Tx
	remaining int // samples left for timed kinds; -1 for open-ended CNG
	gen       *tone.Generator
	mod       sampleReader
	framer    hdlc.Framer
	data      byteBits
}

func (j *txJob) isTone() bool { return j.tx.Kind == t30.TxCNG || j.tx.Kind == t30.TxCED }

func samplesOf(d time.Duration) int { return int(d * dsp.SampleRate / time.Second) }

// start builds the generator for tx. A transmission the modems cannot make (an unknown modulation
// or rate) is sent as silence of zero length: it completes at once.
func (t *Transport) start(tx t30.Tx) *txJob {
	j := &txJob{tx: tx}
	switch tx.Kind {
	case t30.TxSilence:
		j.remaining = samplesOf(tx.Duration)
	case t30.TxCNG:
		j.gen = tone.NewGenerator(tone.CNG)
		j.remaining = samplesOf(tx.Duration)
		if tx.Duration == 0 {
			j.remaining = -1
		}
	case t30.TxCED:
		j.gen = tone.NewSteady(tone.CED)
		j.remaining = samplesOf(tx.Duration)
	case t30.TxHDLC:
		if tx.Modulation == t30.V21 {
			j.framer.Flags(v21PreambleFlags)
		} else {
			// T.4 Annex A / T.30 §5.3.2.1: at least 200 ms of flags after training.
			j.framer.Flags(max(tx.BitRate/40, 8))
		}
		for _, f := range tx.Frames {
			if err := j.framer.Frame(f); err != nil {
				// Oversize frames cannot be sent; the engine never builds them.
				continue
			}
		}
		if tx.Modulation == t30.V21 {
			j.framer.Flags(v21ClosingFlags)
			j.mod = v21.NewTx(&j.framer)
		} else {
			j.framer.Flags(fastClosingFlags)
			j.mod = newFastTx(tx, &j.framer)
		}
	case t30.TxData:
		j.data = byteBits{data: tx.Data}
		j.mod = newFastTx(tx, &j.data)
	}
	return j
}

func newFastTx(tx t30.Tx, src v21.BitSource) sampleReader {
	switch tx.Modulation {
	case t30.V27ter:
		if m, err := v27ter.NewTx(tx.BitRate, false, src); err == nil {
			return m
		}
	case t30.V29:
		if m, err := v29.NewTx(tx.BitRate, false, src); err == nil {
			return m
		}
	case t30.V17:
		m, err := v17.NewTransmitter(v17.Rate(tx.BitRate), v17Bits{src})
		if err != nil {
			return nil
		}
		if tx.ShortTrain {
			if err := m.Restart(v17.Rate(tx.BitRate), false, true); err != nil {
				return nil
			}
		}
		return v17Tx{m}
	}
	return nil
}

// fill writes up to len(dst) samples and reports how many it wrote and whether the job is over.
func (j *txJob) fill(dst []int16) (n int, done bool) {
	switch j.tx.Kind {
	case t30.TxSilence:
		n = min(len(dst), j.remaining)
		clear(dst[:n])
		j.remaining -= n
		return n, j.remaining == 0
	case t30.TxCNG, t30.TxCED:
		n = len(dst)
		if j.remaining >= 0 {
			n = min(n, j.remaining)
			j.remaining -= n
		}
		j.gen.Fill(dst[:n])
		return n, j.remaining == 0
	case t30.TxHDLC, t30.TxData:
		if j.mod == nil {
			return 0, true
		}
		n = j.mod.Read(dst)
		return n, j.mod.Done()
	}
	return 0, true
}

// Tx fills dst with the next samples to send: queued transmissions back to back, silence when idle.
func (t *Transport) Tx(dst []int16) {
	t.samples += int64(len(dst))
	busy := false
	i := 0
	for i < len(dst) {
		if t.cur == nil {
			if len(t.queue) == 0 {
				clear(dst[i:])
				break
			}
			t.cur = t.start(t.queue[0])
			t.queue = t.queue[1:]
		}
		n, done := t.cur.fill(dst[i:])
		if n > 0 && (t.cur.tx.Kind == t30.TxHDLC || t.cur.tx.Kind == t30.TxData) {
			busy = true
		}
		i += n
		if done {
			t.finishCurrent()
		}
	}
	if len(t.queue) == 0 && cap(t.queue) > 64 {
		t.queue = nil
	}
	if t.txBusy && !busy {
		// Our carrier just stopped: forget whatever the receivers half-saw before it.
		t.v21def.Reset()
		t.v21framing = false
	}
	t.txBusy = busy
}

func (t *Transport) finishCurrent() {
	t.cur = nil
	t.emit(t30.Event{Kind: t30.EventTxDone})
}
