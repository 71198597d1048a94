package v17

import (
	"fmt"

	"github.com/faxseal/faxseal/modem/g711"
	"math"
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
			m := &lineModel{snrDB: math.Inf(1), seed: 2*1000 + 2}
			m.run(sig, rx)
			errs := bitErrors(src.sent, sink.bits)
			t.Logf("events %v, got %d bits, %d errors, level %.1f dBm0", sink.events, len(sink.bits), errs, 0.0)
			if errs != 0 {
				t.Errorf("%d bit errors", errs)
			}
		})
	}
}

// TestLoopbackLine runs every rate through the line model's impairments one at a time (and a few
// together) and requires a clean training and no bit errors, except where packets are lost.
func TestLoopbackLine(t *testing.T) {
	conds := []struct {
		name string
		ch   channel
	}{
		{"mu-law 30dB", channel{snrDB: 30, law: g711.MuLaw}},
		{"A-law 30dB", channel{snrDB: 30, law: g711.ALaw}},
		{"clock +100ppm", channel{snrDB: 30, law: g711.MuLaw, ppm: 100}},
		{"clock -100ppm", channel{snrDB: 30, law: g711.MuLaw, ppm: -100}},
		{"level -26dB", channel{snrDB: 30, law: g711.MuLaw, gainDB: -26}},
		{"level +8dB", channel{snrDB: 30, law: g711.MuLaw, gainDB: 8}},
		{"TEP", channel{snrDB: 30, law: g711.MuLaw, tep: true}},
		{"level step +3dB", channel{snrDB: 30, law: g711.MuLaw, stepDB: 3}},
		{"level step -3dB", channel{snrDB: 30, law: g711.MuLaw, stepDB: -3}},
		{"short train", channel{snrDB: 30, law: g711.MuLaw, short: true}},
		{"short train TEP -100ppm", channel{snrDB: 30, law: g711.ALaw, short: true, tep: true, ppm: -100}},
	}
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		for _, c := range conds {
			t.Run(fmt.Sprintf("%d/%s", int(rate), c.name), func(t *testing.T) {
				tr := runTrial(rate, c.ch, 60000, 11)
				if !tr.trained {
					t.Fatalf("training failed: %s (mse %.3f)", tr.failure, tr.mse)
				}
				// A level step mid-data costs a short burst while the equaliser follows it.
				allowed := 0
				if c.ch.stepDB != 0 {
					allowed = 100 * rate.bitsPerSymbol()
				}
				if tr.errs > allowed {
					t.Errorf("%d bit errors in %d (allowed %d)", tr.errs, tr.bits, allowed)
				}
			})
		}
	}
}

// TestLoopbackPacketLoss drops packets and tells the receiver with FillIn: training must survive and
// each lost packet may damage only the bits around it.
func TestLoopbackPacketLoss(t *testing.T) {
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		for _, loss := range []float64{0.01, 0.05} {
			t.Run(fmt.Sprintf("%d/%.0f%%", int(rate), loss*100), func(t *testing.T) {
				trained, runs := 0, 0
				for seed := uint64(1); seed <= 6; seed++ {
					tr := runTrial(rate, channel{snrDB: 30, law: g711.MuLaw, loss: loss}, 40000, seed)
					runs++
					if !tr.trained {
						t.Logf("seed %d: training failed (%s), %d packets lost", seed, tr.failure, tr.lost)
						continue
					}
					trained++
					// A lost packet costs its own 20 ms of bits plus the resynchronisation after it.
					perLoss := int(rate)/50 + 600
					t.Logf("seed %d: %d packets lost, %d bit errors", seed, tr.lost, tr.errs)
					if tr.errs > tr.lost*perLoss {
						t.Errorf("seed %d: %d bit errors for %d lost packets", seed, tr.errs, tr.lost)
					}
				}
				if trained < runs-1 {
					t.Errorf("trained %d of %d runs", trained, runs)
				}
			})
		}
	}
}
