package v17

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLoopbackClean(t *testing.T) {
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		t.Run(rate.String(), func(t *testing.T) {
			src := newPRBS(1, 20000)
			tx, err := NewTransmitter(rate, src)
			if err != nil {
				t.Fatal(err)
			}
			sig := transmit(tx)
			sink := &collectSink{}
			rx, err := NewReceiver(rate, sink)
			if err != nil {
				t.Fatal(err)
			}
			m := &lineModel{snrDB: math.Inf(1), rng: rand.New(rand.NewPCG(2, 2))}
			m.run(sig, rx)
			errs := bitErrors(src.sent, sink.bits)
			t.Logf("events %v, got %d bits, %d errors, level %.1f dBm0", sink.events, len(sink.bits), errs, 0.0)
			if errs != 0 {
				t.Errorf("%d bit errors", errs)
			}
		})
	}
}
