package v17

import (
	"flag"
	"fmt"
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
	line   int // line.Config.Channel
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
		m := &lineModel{snrDB: ch.snrDB, gainDB: ch.gainDB, sigPower: meanSquare(sig), ppm: ch.ppm, law: ch.law, channel: ch.line, seed: seed*1000 + 7}
		m.run(sig, rx)
		tx.SetSource(src)
		tx.Restart(rate, ch.tep, true)
		rx.Restart(rate, true)
		sink.bits, sink.events = sink.bits[:0], sink.events[:0]
	} else if ch.tep {
		tx.Restart(rate, true, false)
	}
	sig := transmit(tx)
	m := &lineModel{snrDB: ch.snrDB, gainDB: ch.gainDB, stepDB: ch.stepDB, sigPower: meanSquare(sig), ppm: ch.ppm, law: ch.law, loss: ch.loss, channel: ch.line, seed: seed*1000 + 9}
	lost := m.run(sig, rx)
	if ch.short && !rx.short {
		return trial{failure: "receiver did not use the short training"}
	}
	return trial{bits: nbits, errs: bitErrors(src.sent, sink.bits), trained: sink.has(StatusTrainingSucceeded), lost: lost,
		failure: rx.failure, mse: rx.mse / float64(max(rx.mseN, 1))}
}

// noiseFloor is the white noise level of the BER measurements, in dBm0. It sits below the carrier-off
// threshold of both receivers (spandsp: -48 dBm0), because noise above the carrier-on threshold starts
// spandsp's training on the noise before the signal arrives and it then fails; the SNR is set by the
// signal level instead (-34 dBm0 at 16 dB ... -20 dBm0 at 30 dB), all within the receive range.
const noiseFloor = -50.0

// atSNR returns a mu-law channel at snr dB with the noise at noiseFloor.
func atSNR(snr float64) channel {
	return channel{snrDB: snr, gainDB: noiseFloor + snr - DefaultLevel, law: g711.MuLaw}
}

// TestBERTable measures the bit error rate against SNR at every rate through mu-law companding. With
// -v17.table it prints the full table recorded in docs/benchmarks.md (200000 bits per cell); without
// it, a coarse version (20000 bits) checks the shape: error-free at 30 dB, and never worse at a higher
// SNR than at a lower one (a failed training counts as BER 1/2).
func TestBERTable(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	snrs := []float64{14, 16, 18, 20, 22, 24, 26, 30}
	nbits := 20000
	if *berTable {
		nbits = 200000
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "| rate | %s |\n", joinf(snrs, " | ", "%.0f dB"))
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		var cells []string
		prev := 1.0
		for _, snr := range snrs {
			tr := runTrial(rate, atSNR(snr), nbits, uint64(snr))
			ber := float64(tr.errs) / float64(tr.bits)
			cell := fmt.Sprintf("%.1e", ber)
			if !tr.trained {
				ber = 0.5
				cell = "no train"
			}
			cells = append(cells, cell)
			if ber > prev+1e-3 {
				t.Errorf("%v: BER %.2e at %.0f dB is worse than %.2e below it", rate, ber, snr, prev)
			}
			prev = ber
		}
		if prev != 0 {
			t.Errorf("%v: BER %.2e at %.0f dB, want 0", rate, prev, snrs[len(snrs)-1])
		}
		fmt.Fprintf(&sb, "| %d | %s |\n", int(rate), strings.Join(cells, " | "))
	}
	t.Logf("BER vs SNR (mu-law, noise at %.0f dBm0, %d bits per cell):\n%s", noiseFloor, nbits, sb.String())
}

// thresholds are the SNRs at which TestBERThreshold requires BER < 1e-4: the lowest SNR of the
// TestBERAgainstSpandsp table at which spandsp's receiver, on the same signals, is error-free over
// 200000 bits (so a correct V.17 receiver clearly achieves it). Ours has margin at each: see
// docs/benchmarks.md.
var thresholds = map[Rate]float64{Rate7200: 16, Rate9600: 18, Rate12000: 20, Rate14400: 24}

// TestBERThreshold is the pass/fail line per rate: 150000 bits through mu-law and white noise at the
// rate's threshold SNR must train and give BER < 1e-4.
func TestBERThreshold(t *testing.T) {
	const nbits = 150000
	for _, rate := range allRates {
		t.Run(rate.String(), func(t *testing.T) {
			snr := thresholds[rate]
			tr := runTrial(rate, atSNR(snr), nbits, 77)
			if !tr.trained {
				t.Fatalf("at %.0f dB: training failed: %s", snr, tr.failure)
			}
			ber := float64(tr.errs) / float64(tr.bits)
			t.Logf("at %.0f dB: %d errors in %d bits (BER %.1e)", snr, tr.errs, tr.bits, ber)
			if ber >= 1e-4 {
				t.Errorf("BER %.1e at %.0f dB, want < 1e-4", ber, snr)
			}
		})
	}
}

func joinf(v []float64, sep, f string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(f, x)
	}
	return strings.Join(s, sep)
}

// TestChannelTable measures the bit error rate on the line model's linear channels (1: 300-3400 Hz
// band-pass, 2: with a mild echo, 3: with a strong dispersive echo), µ-law, +100 ppm, at each rate.
// It only reports (with -v17.table: 100000 bits per cell); TestChannelThreshold is the pass/fail line.
func TestChannelTable(t *testing.T) {
	if !*berTable {
		t.Skip("only with -v17.table")
	}
	snrs := []float64{20, 24, 27, 30}
	const nbits = 100000
	var sb strings.Builder
	fmt.Fprintf(&sb, "| channel | rate | %s |\n", joinf(snrs, " | ", "%.0f dB"))
	for _, ln := range []int{1, 2, 3} {
		for _, rate := range allRates {
			var cells []string
			for _, snr := range snrs {
				ch := atSNR(snr)
				ch.line, ch.ppm = ln, 100
				tr := runTrial(rate, ch, nbits, uint64(snr)+uint64(ln)*100)
				cell := fmt.Sprintf("%.1e", float64(tr.errs)/float64(tr.bits))
				if tr.errs == 0 {
					cell = "0"
				}
				if !tr.trained {
					cell = "no train"
				}
				cells = append(cells, cell)
			}
			fmt.Fprintf(&sb, "| %d | %d | %s |\n", ln, int(rate), strings.Join(cells, " | "))
		}
	}
	t.Logf("BER on line channels (mu-law, +100 ppm, %d bits per cell):\n%s", nbits, sb.String())
}

// channelThresholds are the SNRs at which TestChannelThreshold requires BER < 1e-4 on the line
// model's echo channels (µ-law, +100 ppm): 2 dB above the lowest SNR at which 6 runs of 50000 bits
// gave no error at all (2026-12-01, 33-tap equaliser; lower SNRs were not measured for the slower
// rates): channel 2 is error-free from 22 dB at 7200-12000 and from 24 dB at 14400 (3e-4 at 22 dB);
// channel 3 from 22 dB at 7200/9600, 24 dB at 12000 (1e-4 at 22 dB) and 27 dB at 14400 (3e-4 at
// 24 dB). The 17-tap equaliser this replaced never trained at 14400 on channel 3
// and had ~1e-3 at 12000 even at 30 dB: its ISI floor (training MSE 0.38 at 40 dB, against 0.05 now)
// sat above half the 14400 decision distance.
var channelThresholds = map[int]map[Rate]float64{
	2: {Rate7200: 24, Rate9600: 24, Rate12000: 24, Rate14400: 26},
	3: {Rate7200: 24, Rate9600: 24, Rate12000: 26, Rate14400: 29},
}

// TestChannelThreshold is the pass/fail line on dispersive lines: 100000 bits per rate through
// channels 2 and 3 at their threshold SNRs must train and give BER < 1e-4.
func TestChannelThreshold(t *testing.T) {
	const nbits = 100000
	for _, ln := range []int{2, 3} {
		for _, rate := range allRates {
			t.Run(fmt.Sprintf("channel%d/%d", ln, int(rate)), func(t *testing.T) {
				snr := channelThresholds[ln][rate]
				ch := atSNR(snr)
				ch.line, ch.ppm = ln, 100
				tr := runTrial(rate, ch, nbits, 91)
				if !tr.trained {
					t.Fatalf("at %.0f dB: training failed: %s", snr, tr.failure)
				}
				ber := float64(tr.errs) / float64(tr.bits)
				t.Logf("at %.0f dB: %d errors in %d bits (BER %.1e)", snr, tr.errs, tr.bits, ber)
				if ber >= 1e-4 {
					t.Errorf("BER %.1e at %.0f dB, want < 1e-4", ber, snr)
				}
			})
		}
	}
}
