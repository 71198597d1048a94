package v17

import (
	"testing"
)

// nullSink discards bits.
type nullSink struct{ bits, events int }

func (n *nullSink) PutBit(int)           { n.bits++ }
func (n *nullSink) ModemStatus(s Status) { n.events++ }

// ones is an endless source of ones.
type ones struct{}

func (ones) NextBit() int { return 1 }

// recording returns a long V.17 transmission at rate, for the receive benchmarks.
func recording(rate Rate, seconds int) []int16 {
	tx, _ := NewTransmitter(rate, newPRBS(9, int(rate)*seconds))
	return transmit(tx)
}

// BenchmarkReceive measures the receiver per 20 ms frame (160 samples) over a whole transmission:
// training, then data.
func BenchmarkReceive(b *testing.B) {
	for _, rate := range []Rate{Rate7200, Rate14400} {
		b.Run(rate.String(), func(b *testing.B) {
			sig := recording(rate, 10)
			frames := len(sig) / 160
			rx, _ := NewReceiver(rate, &nullSink{})
			b.SetBytes(160 * 2)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				f := i % frames
				if f == 0 {
					rx.Restart(rate, false)
				}
				rx.Receive(sig[f*160 : f*160+160])
			}
		})
	}
}

// BenchmarkReceiveIdle measures the receiver on silence (no carrier), where a fax receiver spends
// most of a call.
func BenchmarkReceiveIdle(b *testing.B) {
	rx, _ := NewReceiver(Rate14400, &nullSink{})
	frame := make([]int16, 160)
	b.SetBytes(160 * 2)
	b.ReportAllocs()
	for range b.N {
		rx.Receive(frame)
	}
}

// BenchmarkTransmit measures the transmitter per 20 ms frame.
func BenchmarkTransmit(b *testing.B) {
	for _, rate := range []Rate{Rate7200, Rate14400} {
		b.Run(rate.String(), func(b *testing.B) {
			tx, _ := NewTransmitter(rate, ones{})
			buf := make([]int16, 160)
			b.SetBytes(160 * 2)
			b.ReportAllocs()
			for range b.N {
				tx.Transmit(buf)
			}
		})
	}
}

// TestNoAllocations: receiving and transmitting a 20 ms frame never allocates, in training or data.
func TestNoAllocations(t *testing.T) {
	rate := Rate14400
	sig := recording(rate, 2)
	rx, _ := NewReceiver(rate, &nullSink{})
	frames := len(sig) / 160
	f := 0
	allocs := testing.AllocsPerRun(frames-1, func() {
		rx.Receive(sig[f*160 : f*160+160])
		if f%50 == 7 {
			rx.FillIn(160)
		}
		f++
	})
	if allocs != 0 {
		t.Errorf("receiver: %v allocations per frame", allocs)
	}
	tx, _ := NewTransmitter(rate, ones{})
	buf := make([]int16, 160)
	if a := testing.AllocsPerRun(1000, func() { tx.Transmit(buf) }); a != 0 {
		t.Errorf("transmitter: %v allocations per frame", a)
	}
}
