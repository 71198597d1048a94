package v17

import (
	"os"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
)

// recordingPath is a recording of spandsp 0.0.6's V.17 transmitter at 14400 bit/s, long training, no
// TEP, sending recordingBits, as mu-law bytes at 8 kHz (written by TestWriteSpandspRecording).
const recordingPath = "testdata/spandsp_14400.ulaw"

func recordingBits() []byte {
	src := newPRBS(1400, 20000)
	for src.NextBit() != EndOfData {
	}
	return src.sent
}

func readRecording(t testing.TB) []int16 {
	b, err := os.ReadFile(recordingPath)
	if err != nil {
		t.Fatal(err)
	}
	return g711.MuLaw.Decode(make([]int16, len(b)), b)
}

// TestSpandspRecording decodes spandsp's recorded signal bit-exact, in 20 ms packets.
func TestSpandspRecording(t *testing.T) {
	sig := readRecording(t)
	sink := &collectSink{}
	rx, err := NewReceiver(Rate14400, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+160 <= len(sig); i += 160 {
		rx.Receive(sig[i : i+160])
	}
	want := recordingBits()
	if !sink.has(StatusTrainingSucceeded) {
		t.Fatalf("no training: %v (%s)", sink.events, rx.failure)
	}
	if errs := bitErrors(want, sink.bits); errs != 0 {
		t.Fatalf("%d bit errors in %d", errs, len(want))
	}
}

// FuzzReceiver feeds arbitrary mu-law audio, in arbitrary packet sizes with fill-ins, to a receiver.
// Properties: no panic; events come in a legal order (training results only after carrier up, and
// no data bit before training succeeded); and the bits delivered stay within what the audio could
// carry.
func FuzzReceiver(f *testing.F) {
	rec, err := os.ReadFile(recordingPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec[:3000], uint8(160), uint8(0))
	f.Add(rec[6000:9000], uint8(37), uint8(3))
	f.Add(rec[12000:15000], uint8(160), uint8(20))
	f.Add([]byte{0x00, 0xff, 0x7f, 0x80}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, audio []byte, block, lossEvery uint8) {
		sink := &orderSink{t: t}
		rx, _ := NewReceiver(Rate14400, sink)
		samples := g711.MuLaw.Decode(make([]int16, len(audio)), audio)
		n := max(1, int(block))
		k := 0
		for i := 0; i < len(samples); i += n {
			k++
			if lossEvery > 0 && k%int(lossEvery) == 0 {
				rx.FillIn(n)
				continue
			}
			rx.Receive(samples[i:min(i+n, len(samples))])
		}
		if limit := len(samples)*6*3/10 + 64; sink.bits > limit {
			t.Fatalf("%d bits from %d samples", sink.bits, len(samples))
		}
	})
}

// orderSink checks the order of receiver events.
type orderSink struct {
	t       *testing.T
	carrier bool
	trained bool
	bits    int
}

func (o *orderSink) PutBit(b int) {
	if !o.trained {
		o.t.Fatal("data bit before training succeeded")
	}
	if b != 0 && b != 1 {
		o.t.Fatalf("bit value %d", b)
	}
	o.bits++
}

func (o *orderSink) ModemStatus(s Status) {
	switch s {
	case StatusCarrierUp:
		o.carrier, o.trained = true, false
	case StatusCarrierDown:
		o.carrier, o.trained = false, false
	case StatusTraining, StatusTrainingFailed:
		if !o.carrier {
			o.t.Fatalf("%v without carrier", s)
		}
		o.trained = false
	case StatusTrainingSucceeded:
		if !o.carrier {
			o.t.Fatalf("%v without carrier", s)
		}
		o.trained = true
	default:
		o.t.Fatalf("unknown status %d", s)
	}
}
