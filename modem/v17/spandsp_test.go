//go:build spandsp

package v17

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/dsp"
	"github.com/faxseal/faxseal/modem/internal/line"
)

// through passes samples over a G.711 line with noise at -55 dBm0 (41 dB below the signal;
// spandsp's carrier detector switches on at -43 dBm0, so noise much nearer than that starts its
// training on noise) and hands each 160-sample packet to rx. The seed also picks the law (odd:
// A-law) and a far-end clock offset of ±60 ppm.
func through(samples []int16, seed uint64, rx func([]int16)) {
	law, drift := g711.MuLaw, 60.0
	if seed%2 == 1 {
		law, drift = g711.ALaw, -60
	}
	lm := line.New(line.Config{Law: law, NoiseDBm0: -55, DriftPPM: drift, Seed: seed})
	lm.Write(samples)
	buf := make([]int16, line.Block)
	for {
		if _, ok := lm.Read(buf); !ok {
			return
		}
		rx(buf)
	}
}

func randomBits(seed uint64, n int) []byte {
	src := newPRBS(seed, n)
	for src.NextBit() != EndOfData {
	}
	return src.sent
}

// sliceSource sends a fixed bit slice.
type sliceSource struct {
	bits []byte
	pos  int
}

func (s *sliceSource) NextBit() int {
	if s.pos >= len(s.bits) {
		return EndOfData
	}
	s.pos++
	return int(s.bits[s.pos-1])
}

// spandspTransmit runs spandsp's transmitter to its end, with silence around it.
func spandspTransmit(t *testing.T, tx *spandsp.V17Tx) []int16 {
	out := make([]int16, 800)
	buf := make([]int16, 160)
	for {
		n := tx.Transmit(buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			break
		}
		if len(out) > 8000*120 {
			t.Fatal("spandsp transmitter never finished")
		}
	}
	return append(out, make([]int16, 1600)...)
}

// TestSpandspInterop checks both directions against spandsp 0.0.6 at every rate, long and short
// training, with and without TEP, through µ-law and A-law lines with ±60 ppm clock offset: the data
// must arrive bit-exact.
func TestSpandspInterop(t *testing.T) {
	const nbits = 30000
	for _, rate := range []Rate{Rate7200, Rate9600, Rate12000, Rate14400} {
		for _, short := range []bool{false, true} {
			for _, tep := range []bool{false, true} {
				name := fmt.Sprintf("%d/short=%v/tep=%v", int(rate), short, tep)
				t.Run("ours-to-spandsp/"+name, func(t *testing.T) { oursToSpandsp(t, rate, short, tep, nbits) })
				t.Run("spandsp-to-ours/"+name, func(t *testing.T) { spandspToOurs(t, rate, short, tep, nbits) })
			}
		}
	}
}

// caseSeed varies the line (law and clock offset, see through) across the interop cases.
func caseSeed(rate Rate, short, tep bool) uint64 {
	s := uint64(rate / 2400)
	if short {
		s += 2
	}
	if tep {
		s += 5
	}
	return s
}

func oursToSpandsp(t *testing.T, rate Rate, short, tep bool, nbits int) {
	rx, err := spandsp.NewV17Rx(int(rate))
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := NewTransmitter(rate, &sliceSource{bits: randomBits(3, 4000)})
	if err != nil {
		t.Fatal(err)
	}
	if short {
		// A short training follows a long one at the same rate.
		// The same line (law, clock offset) as the short-trained transmission: it is one call.
		through(transmit(tx), caseSeed(rate, short, tep)+100, rx.Receive)
		if !slices.Contains(rx.Events(), spandsp.V17TrainingSucceeded) {
			t.Fatalf("spandsp did not train on our long training: events %v", rx.Events())
		}
		if err := rx.Restart(int(rate), true); err != nil {
			t.Fatal(err)
		}
	}
	want := randomBits(uint64(rate), nbits)
	tx.SetSource(&sliceSource{bits: want})
	if err := tx.Restart(rate, tep, short); err != nil {
		t.Fatal(err)
	}
	through(transmit(tx), caseSeed(rate, short, tep), rx.Receive)
	got := rx.Bits()
	if !slices.Contains(rx.Events(), spandsp.V17TrainingSucceeded) {
		t.Fatalf("spandsp did not train: events %v", rx.Events())
	}
	if len(got) < len(want) {
		t.Fatalf("spandsp delivered %d bits, want at least %d", len(got), len(want))
	}
	if errs := bitErrors(want, got); errs != 0 {
		t.Fatalf("%d bit errors in %d", errs, len(want))
	}
}

func spandspToOurs(t *testing.T, rate Rate, short, tep bool, nbits int) {
	tx, err := spandsp.NewV17Tx(int(rate), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	sink := &collectSink{}
	rx, err := NewReceiver(rate, sink)
	if err != nil {
		t.Fatal(err)
	}
	if short {
		if err := tx.Restart(int(rate), false, false, randomBits(4, 4000)); err != nil {
			t.Fatal(err)
		}
		through(spandspTransmit(t, tx), caseSeed(rate, short, tep)+101, rx.Receive)
		if !sink.has(StatusTrainingSucceeded) {
			t.Fatalf("we did not train on spandsp's long training: %v (%s)", sink.events, rx.failure)
		}
		rx.Restart(rate, true)
		sink.bits, sink.events = nil, nil
	}
	want := randomBits(uint64(rate)+1, nbits)
	if err := tx.Restart(int(rate), tep, short, want); err != nil {
		t.Fatal(err)
	}
	through(spandspTransmit(t, tx), caseSeed(rate, short, tep)+1, rx.Receive)
	if !sink.has(StatusTrainingSucceeded) {
		t.Fatalf("we did not train: %v (%s)", sink.events, rx.failure)
	}
	if short && !rx.short {
		t.Fatal("receiver did not use the short training")
	}
	if errs := bitErrors(want, sink.bits); errs != 0 {
		t.Fatalf("%d bit errors in %d (got %d bits)", errs, len(want), len(sink.bits))
	}
}

// BenchmarkSpandspReceive is the anchor for BenchmarkReceive: spandsp's V.17 receiver on the same
// recording, per 20 ms frame.
func BenchmarkSpandspReceive(b *testing.B) {
	for _, rate := range []Rate{Rate7200, Rate14400} {
		b.Run(rate.String(), func(b *testing.B) {
			sig := recording(rate, 10)
			frames := len(sig) / 160
			rx, _ := spandsp.NewV17Rx(int(rate))
			defer rx.Close()
			b.SetBytes(160 * 2)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				f := i % frames
				if f == 0 {
					rx.Restart(int(rate), false)
				}
				rx.Receive(sig[f*160 : f*160+160])
			}
		})
	}
}

// BenchmarkSpandspTransmit is the anchor for BenchmarkTransmit.
func BenchmarkSpandspTransmit(b *testing.B) {
	for _, rate := range []Rate{Rate7200, Rate14400} {
		b.Run(rate.String(), func(b *testing.B) {
			tx, _ := spandsp.NewV17Tx(int(rate), false)
			defer tx.Close()
			buf := make([]int16, 160)
			bits := make([]byte, 1<<22)
			tx.Restart(int(rate), false, false, bits)
			b.SetBytes(160 * 2)
			b.ReportAllocs()
			for range b.N {
				if tx.Transmit(buf) < len(buf) {
					tx.Restart(int(rate), false, false, bits)
				}
			}
		})
	}
}

// TestBERAgainstSpandsp (with -v17.table) measures our receiver and spandsp's on the very same
// signals: our transmitter through a mu-law line with white noise at each SNR. It is the reference
// for the thresholds in TestBERThreshold: what a proven V.17 receiver achieves on this channel.
func TestBERAgainstSpandsp(t *testing.T) {
	if !*berTable {
		t.Skip("run with -v17.table")
	}
	snrs := []float64{16, 18, 19, 20, 21, 22, 24, 26}
	const nbits = 200000
	var sb strings.Builder
	fmt.Fprintf(&sb, "| rate | receiver | %s |\n", joinf(snrs, " | ", "%.0f dB"))
	for _, rate := range allRates {
		ours := make([]string, len(snrs))
		theirs := make([]string, len(snrs))
		for i, snr := range snrs {
			want := randomBits(uint64(snr), nbits)
			tx, _ := NewTransmitter(rate, &sliceSource{bits: want})
			sig := transmit(tx)
			// The noise floor stays below spandsp's carrier-off threshold and the signal level moves
			// instead (see noiseFloor).
			gain := noiseFloor + snr - dsp.PowerDBm0(meanSquare(sig))
			run := func(rx func([]int16)) {
				lm := line.New(line.Config{Law: g711.MuLaw, GainDB: gain, NoiseDBm0: noiseFloor, Seed: uint64(snr) * 7})
				lm.Write(sig)
				buf := make([]int16, line.Block)
				for {
					if _, ok := lm.Read(buf); !ok {
						return
					}
					rx(buf)
				}
			}
			sink := &collectSink{}
			rx, _ := NewReceiver(rate, sink)
			run(rx.Receive)
			ours[i] = berCell(want, sink.bits, sink.has(StatusTrainingSucceeded))
			srx, _ := spandsp.NewV17Rx(int(rate))
			run(srx.Receive)
			theirs[i] = berCell(want, srx.Bits(), slices.Contains(srx.Events(), spandsp.V17TrainingSucceeded))
			srx.Close()
		}
		fmt.Fprintf(&sb, "| %d | FaxSeal | %s |\n", int(rate), strings.Join(ours, " | "))
		fmt.Fprintf(&sb, "| %d | spandsp | %s |\n", int(rate), strings.Join(theirs, " | "))
	}
	t.Logf("BER vs SNR, our transmitter, mu-law, %d bits per cell:\n%s", nbits, sb.String())
}

func berCell(want, got []byte, trained bool) string {
	if !trained {
		return "no train"
	}
	return fmt.Sprintf("%.1e", float64(bitErrors(want, got))/float64(len(want)))
}

var update = flag.Bool("v17.update", false, "rewrite testdata/spandsp_14400.ulaw from spandsp's transmitter")

// TestWriteSpandspRecording (with -v17.update) records spandsp's V.17 transmitter at 14400 bit/s
// sending recordingBits, mu-law coded, into testdata, so TestSpandspRecording can check our receiver
// against spandsp's signal without cgo.
func TestWriteSpandspRecording(t *testing.T) {
	if !*update {
		t.Skip("run with -v17.update")
	}
	tx, err := spandsp.NewV17Tx(14400, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.Restart(14400, false, false, recordingBits()); err != nil {
		t.Fatal(err)
	}
	sig := spandspTransmit(t, tx)
	enc := g711.MuLaw.Encode(make([]byte, len(sig)), sig)
	if err := os.WriteFile(recordingPath, enc, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLossAgainstSpandsp (with -v17.table) compares training success and damage per lost packet
// under random 20 ms packet loss with fill-in, for our receiver and spandsp's on the same spandsp
// transmissions (14400 bit/s, long training, 4 s of data, 20 runs per loss rate).
func TestLossAgainstSpandsp(t *testing.T) {
	if !*berTable {
		t.Skip("run with -v17.table")
	}
	const runs = 20
	rate := Rate14400
	var sb strings.Builder
	sb.WriteString("| loss | receiver | trained | lost packets | bit errors per lost packet (strict) | (re-aligned) | slips |\n")
	for _, loss := range []float64{0.01, 0.03, 0.05} {
		type acc struct{ trained, lost, errs, aligned, slips int }
		var ours, theirs acc
		for run := range runs {
			want := randomBits(uint64(run)+500, 4*int(rate))
			tx, _ := spandsp.NewV17Tx(int(rate), false)
			tx.Restart(int(rate), false, false, want)
			sig := spandspTransmit(t, tx)
			tx.Close()
			feed := func(rx func([]int16), fill func(int)) int {
				lm := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: -55, LossRate: loss, Seed: uint64(run) + 1})
				lm.Write(sig)
				buf := make([]int16, line.Block)
				lost := 0
				for {
					gone, ok := lm.Read(buf)
					if !ok {
						return lost
					}
					if gone {
						fill(len(buf))
						lost++
						continue
					}
					rx(buf)
				}
			}
			sink := &collectSink{}
			rx, _ := NewReceiver(rate, sink)
			lost := feed(rx.Receive, rx.FillIn)
			if sink.has(StatusTrainingSucceeded) {
				ours.trained++
				ours.lost += lost
				ours.errs += bitErrors(want, sink.bits)
				e, _, sl := line.BER(want, sink.bits, 64, 0)
				ours.aligned += e
				ours.slips += sl
			}
			srx, _ := spandsp.NewV17Rx(int(rate))
			lost = feed(srx.Receive, srx.FillIn)
			if slices.Contains(srx.Events(), spandsp.V17TrainingSucceeded) {
				theirs.trained++
				theirs.lost += lost
				theirs.errs += bitErrors(want, srx.Bits())
				e, _, sl := line.BER(want, srx.Bits(), 64, 0)
				theirs.aligned += e
				theirs.slips += sl
			}
			srx.Close()
		}
		for _, r := range []struct {
			name string
			a    acc
		}{{"FaxSeal", ours}, {"spandsp", theirs}} {
			per, al := "-", "-"
			if r.a.lost > 0 {
				per = fmt.Sprintf("%d", r.a.errs/r.a.lost)
				al = fmt.Sprintf("%d", r.a.aligned/r.a.lost)
			}
			fmt.Fprintf(&sb, "| %.0f %% | %s | %d/%d | %d | %s | %s | %d |\n", loss*100, r.name, r.a.trained, runs, r.a.lost, per, al, r.a.slips)
		}
	}
	t.Logf("14400 bit/s from spandsp's transmitter under packet loss:\n%s", sb.String())
}

// BenchmarkReceiveVsSpandsp runs our receiver and spandsp's on the same recording (training and
// data; "idle" is silence), alternately in batches of frames, and reports each one's CPU time per 20 ms frame and their
// ratio. CPU time of the locked OS thread is measured, so the load of a shared machine does not count.
func BenchmarkReceiveVsSpandsp(b *testing.B) {
	for _, c := range []struct {
		name string
		rate Rate
		idle bool
	}{{"7200", Rate7200, false}, {"14400", Rate14400, false}, {"idle", Rate14400, true}} {
		rate := c.rate
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			sig := recording(rate, 10)
			if c.idle {
				clear(sig) // silence: no carrier, as between signals
			}
			frames := len(sig) / 160
			rx, _ := NewReceiver(rate, &nullSink{})
			srx, _ := spandsp.NewV17Rx(int(rate))
			defer srx.Close()
			var ours, theirs int64
			b.ReportAllocs()
			b.ResetTimer()
			const batch = 250
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				f0 := done % frames
				f1 := min(frames, f0+n)
				if f0 == 0 {
					rx.Restart(rate, false)
					srx.Restart(int(rate), false)
				}
				t0 := spandsp.ThreadCPUTime()
				for f := f0; f < f1; f++ {
					rx.Receive(sig[f*160 : f*160+160])
				}
				t1 := spandsp.ThreadCPUTime()
				for f := f0; f < f1; f++ {
					srx.Receive(sig[f*160 : f*160+160])
				}
				t2 := spandsp.ThreadCPUTime()
				ours += t1 - t0
				theirs += t2 - t1
				done += f1 - f0
			}
			b.ReportMetric(float64(ours)/float64(b.N), "ours-cpu-ns/frame")
			b.ReportMetric(float64(theirs)/float64(b.N), "spandsp-cpu-ns/frame")
			b.ReportMetric(float64(ours)/float64(theirs), "ratio")
		})
	}
}

// BenchmarkTransmitVsSpandsp is the same for the transmitters.
func BenchmarkTransmitVsSpandsp(b *testing.B) {
	for _, rate := range []Rate{Rate7200, Rate14400} {
		b.Run(rate.String(), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tx, _ := NewTransmitter(rate, ones{})
			stx, _ := spandsp.NewV17Tx(int(rate), false)
			defer stx.Close()
			bits := make([]byte, 1<<22)
			stx.Restart(int(rate), false, false, bits)
			buf := make([]int16, 160)
			var ours, theirs int64
			b.ReportAllocs()
			const batch = 250
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				t0 := spandsp.ThreadCPUTime()
				for range n {
					tx.Transmit(buf)
				}
				t1 := spandsp.ThreadCPUTime()
				for range n {
					if stx.Transmit(buf) < len(buf) {
						stx.Restart(int(rate), false, false, bits)
					}
				}
				t2 := spandsp.ThreadCPUTime()
				ours += t1 - t0
				theirs += t2 - t1
			}
			b.ReportMetric(float64(ours)/float64(b.N), "ours-cpu-ns/frame")
			b.ReportMetric(float64(theirs)/float64(b.N), "spandsp-cpu-ns/frame")
			b.ReportMetric(float64(ours)/float64(theirs), "ratio")
		})
	}
}
