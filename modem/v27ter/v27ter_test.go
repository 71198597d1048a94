package v27ter

import (
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

type bitSlice struct {
	bits []byte
	i    int
}

func (b *bitSlice) Bit() (int, bool) {
	if b.i >= len(b.bits) {
		return 1, false
	}
	b.i++
	return int(b.bits[b.i-1]), true
}

func randomBits(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(2))
	}
	return b
}

type outcome struct {
	bits    []byte
	trained bool
	rx      *Rx
}

func run(t testing.TB, rate int, tep bool, bits []byte, cfg line.Config) outcome {
	t.Helper()
	return runDrop(t, rate, tep, bits, cfg, nil)
}

// runDrop is run with the packets whose indices are in drop lost as well.
func runDrop(t testing.TB, rate int, tep bool, bits []byte, cfg line.Config, drop map[int]bool) outcome {
	t.Helper()
	tx, err := NewTx(rate, tep, &bitSlice{bits: bits})
	if err != nil {
		t.Fatal(err)
	}
	rx, err := NewRx(rate)
	if err != nil {
		t.Fatal(err)
	}
	m := line.New(cfg)
	buf := make([]int16, line.Block)
	var o outcome
	o.rx = rx
	packet := 0
	feed := func() {
		for {
			lost, ok := m.Read(buf)
			if !ok {
				return
			}
			packet++
			if lost || drop[packet] {
				rx.Fillin(line.Block)
				continue
			}
			o.bits = rx.Put(buf, o.bits)
			if rx.State() == qam.Data {
				o.trained = true
			}
		}
	}
	m.Write(make([]int16, 400))
	for !tx.Done() {
		tx.Read(buf)
		m.Write(buf)
		feed()
	}
	m.Write(make([]int16, 800))
	feed()
	return o
}

func TestLoopbackClean(t *testing.T) {
	for _, rate := range []int{4800, 2400} {
		for _, tep := range []bool{false, true} {
			bits := randomBits(rate*2, uint64(rate))
			o := run(t, rate, tep, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: line.NoNoise})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			t.Logf("%d tep=%v: trained %v (mse %.4f, offset %.2f Hz, %q), %d errors in %d bits, %d slips, got %d bits",
				rate, tep, o.trained, o.rx.TrainingMSE(), o.rx.CarrierOffset(), o.rx.FailCause(), errs, n, slips, len(o.bits))
			if !o.trained || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: trained %v, %d errors in %d", rate, tep, o.trained, errs, n)
			}
		}
	}
}

func TestBERTable(t *testing.T) {
	if testing.Short() {
		t.Skip("table")
	}
	for _, rate := range []int{4800, 2400} {
		bits := randomBits(rate*4, 11)
		for _, snr := range []float64{6, 8, 10, 12, 14, 16, 20, 25} {
			for _, drift := range []float64{100, -100} {
				o := run(t, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: TxLevel - 6 - snr, DriftPPM: drift, Seed: uint64(snr)})
				errs, n, slips := line.BER(bits, o.bits, 50, 0)
				t.Logf("V.27ter %d SNR %2.0f dB drift %+4.0f ppm: trained %v (%q) BER %.2e (%d/%d) slips %d", rate, snr, drift, o.trained, o.rx.FailCause(), float64(errs)/float64(max(n, 1)), errs, n, slips)
			}
		}
	}
	// The same on line channel 3 (dispersive echo), +100 ppm.
	for _, rate := range []int{4800, 2400} {
		bits := randomBits(rate*4, 13)
		for _, snr := range []float64{8, 10, 12, 14, 16} {
			o := run(t, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: TxLevel - 6 - snr, DriftPPM: 100, Channel: 3, Seed: uint64(snr)})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			t.Logf("V.27ter %d channel 3 SNR %2.0f dB: trained %v BER %.2e (%d/%d) slips %d", rate, snr, o.trained, float64(errs)/float64(max(n, 1)), errs, n, slips)
		}
	}
}

func TestThreshold(t *testing.T) {
	// Per rate: through A-law, ±100 ppm clock and a 6 dB level drop, at 20 dB SNR the BER must stay
	// below 1e-4 (measured: 0 errors in 4 s of data at 18 dB and up).
	for _, rate := range []int{4800, 2400} {
		for _, drift := range []float64{100, -100} {
			bits := randomBits(rate*2, 5)
			o := run(t, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: TxLevel - 6 - 20, DriftPPM: drift, Seed: 9})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			if !o.trained || n < len(bits)-50 || float64(errs)/float64(n) > 1e-4 || slips != 0 {
				t.Errorf("%d drift %v: trained %v (%s), %d errors in %d bits, %d slips", rate, drift, o.trained, o.rx.FailCause(), errs, n, slips)
			}
		}
	}
}

func TestLevels(t *testing.T) {
	// Receive range: from +0 dB down to -43 dBm0 (brief §3.1), µ-law, modest noise floor.
	for _, gain := range []float64{6, 0, -15, -29} {
		bits := randomBits(4800, 6)
		o := run(t, 4800, false, bits, line.Config{Law: g711.MuLaw, GainDB: gain, NoiseDBm0: -75, Seed: 1})
		errs, n, _ := line.BER(bits, o.bits, 50, 0)
		if !o.trained || errs != 0 || n < len(bits)-50 {
			t.Errorf("gain %v dB (rx %v dBm0): trained %v (%s), %d errors in %d", gain, TxLevel+gain, o.trained, o.rx.FailCause(), errs, n)
		}
	}
	// Below the carrier threshold nothing is received.
	o := run(t, 4800, false, randomBits(2000, 6), line.Config{Law: g711.MuLaw, GainDB: -40, NoiseDBm0: line.NoNoise})
	if o.trained || len(o.bits) != 0 {
		t.Errorf("-54 dBm0: trained %v, %d bits", o.trained, len(o.bits))
	}
}

func TestPacketLossFillin(t *testing.T) {
	// 2 % packet loss after training: each lost 20 ms packet destroys about its 192 bits plus the
	// equaliser refill, but the receiver stays trained and error-free between losses.
	bits := randomBits(4800*6, 8)
	o := run(t, 4800, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 30, LossRate: 0.02, Seed: 21})
	if !o.trained || o.rx.State() == qam.Failed {
		t.Fatalf("not trained: %s", o.rx.FailCause())
	}
	// With bits missing the alignment shifts at each loss; count errors chunk by chunk, allowing
	// re-alignment (slips) at the losses.
	errs, n, slips := line.BERRealign(bits, o.bits, 50, 0, 400)
	t.Logf("2%% loss: %d errors in %d bits, %d re-alignments", errs, n, slips)
	if n < len(bits)*9/10 || float64(errs)/float64(n) > 0.02 {
		t.Fatalf("%d errors in %d bits", errs, n)
	}
}

func TestLossDuringTraining(t *testing.T) {
	// One lost packet in the middle of the known training symbols: the fill-in keeps the symbol
	// count in step, so training still succeeds and the data is clean.
	for _, rate := range []int{4800, 2400} {
		for _, pkt := range []int{20, 20 + 3} {
			bits := randomBits(rate, 3)
			o := runDrop(t, rate, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 30, Seed: 2}, map[int]bool{pkt: true})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			if !o.trained || errs != 0 || n < len(bits)-50 {
				t.Errorf("%d, packet %d lost: trained %v (%s), %d errors in %d bits", rate, pkt, o.trained, o.rx.FailCause(), errs, n)
			}
		}
	}
}

func TestTrainingFailsOnGarbage(t *testing.T) {
	// White noise at a fax level must never be reported as trained.
	rx, _ := NewRx(4800)
	m := line.New(line.Config{NoiseDBm0: -20, Seed: 4})
	buf := make([]int16, line.Block)
	for range 200 {
		m.Write(make([]int16, line.Block))
		if _, ok := m.Read(buf); ok {
			rx.Put(buf, nil)
			if rx.State() == qam.Data {
				t.Fatal("trained on noise")
			}
		}
	}
}

func TestBadRate(t *testing.T) {
	if _, err := NewTx(9600, false, &bitSlice{}); err == nil {
		t.Fatal("9600 accepted")
	}
	if _, err := NewRx(7200); err == nil {
		t.Fatal("7200 accepted")
	}
}

func TestZeroAllocs(t *testing.T) {
	tx, _ := NewTx(4800, false, &bitSlice{bits: randomBits(100000, 1)})
	rx, _ := NewRx(4800)
	buf := make([]int16, 160)
	out := make([]byte, 0, 256)
	for range 50 {
		tx.Read(buf)
		out = rx.Put(buf, out[:0])
	}
	if a := testing.AllocsPerRun(20, func() {
		tx.Read(buf)
		out = rx.Put(buf, out[:0])
	}); a != 0 {
		t.Fatalf("%v allocs per 20 ms block", a)
	}
}

func BenchmarkRx4800(b *testing.B) {
	tx, _ := NewTx(4800, false, &bitSlice{bits: randomBits(1<<20, 1)})
	rx, _ := NewRx(4800)
	blocks := make([][]int16, 200)
	for i := range blocks {
		blocks[i] = make([]int16, 160)
		tx.Read(blocks[i])
	}
	out := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(320)
	i := 0
	for b.Loop() {
		out = rx.Put(blocks[i%len(blocks)], out[:0])
		i++
	}
}

func BenchmarkTx4800(b *testing.B) {
	tx, _ := NewTx(4800, false, &bitSlice{bits: randomBits(1<<22, 1)})
	buf := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(320)
	for b.Loop() {
		tx.Read(buf)
	}
}

func TestLevelStepDuringData(t *testing.T) {
	// The level changes by ±3 dB and ±6 dB in the middle of the data (2 s after the start). The
	// receiver's level tracking must recover within a few tens of milliseconds: a short burst of
	// errors at the step, none in the last quarter of the data.
	for _, step := range []float64{3, -3, 6, -6} {
		for _, rate := range []int{4800, 2400} {
			bits := randomBits(rate*3, 4)
			o := run(t, rate, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 35, StepAt: 16000, StepDB: step, Seed: 3})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			tail, _, _ := line.BER(bits, o.bits, 50, len(bits)*3/4)
			t.Logf("%d step %+v dB: trained %v, %d errors in %d, %d in the last quarter", rate, step, o.trained, errs, n, tail)
			if !o.trained || n < len(bits)-100 || float64(errs)/float64(n) > 0.02 || tail != 0 {
				t.Errorf("%d step %+v dB: %d errors in %d bits, %d after recovery", rate, step, errs, n, tail)
			}
		}
	}
}

func TestCarrierOffset(t *testing.T) {
	// Brief §6.1: ±10 Hz carrier offset (analogue segments shift frequency); spandsp accepts ±20 Hz.
	for _, off := range []float64{-15, -7, 7, 15} {
		for _, rate := range []int{4800, 2400} {
			bits := randomBits(rate*2, 12)
			tx, _ := NewTx(rate, false, &bitSlice{bits: bits})
			tx.shaper.Carrier.SetFreq(CarrierHz + off)
			rx, _ := NewRx(rate)
			m := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 30, DriftPPM: 50, Seed: 5})
			buf := make([]int16, line.Block)
			var got []byte
			trained := false
			m.Write(make([]int16, 400))
			for i := 0; !tx.Done() || i < 10; i++ {
				tx.Read(buf)
				m.Write(buf)
				for {
					if _, ok := m.Read(buf); !ok {
						break
					}
					got = rx.Put(buf, got)
					trained = trained || rx.State() == qam.Data
				}
			}
			errs, n, _ := line.BER(bits, got, 50, 0)
			t.Logf("%d offset %+v Hz: trained %v (measured %.2f Hz), %d errors in %d", rate, off, trained, rx.CarrierOffset(), errs, n)
			if !trained || errs != 0 || n < len(bits)-50 {
				t.Errorf("%d offset %+v Hz: trained %v %s, %d errors in %d", rate, off, trained, rx.FailCause(), errs, n)
			}
		}
	}
}

func TestChannelDistortion(t *testing.T) {
	// The equaliser must undo the line model's channels 1-3 (band-pass, mild and dispersive echo).
	for _, ch := range []int{1, 2, 3} {
		for _, rate := range []int{4800, 2400} {
			bits := randomBits(rate*2, 21)
			o := run(t, rate, false, bits, line.Config{Law: g711.ALaw, NoiseDBm0: TxLevel - 28, DriftPPM: 100, Channel: ch, Seed: 8})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			t.Logf("%d channel %d: trained %v (mse %.4f), %d errors in %d", rate, ch, o.trained, o.rx.TrainingMSE(), errs, n)
			if !o.trained || errs != 0 || n < len(bits)-50 {
				t.Errorf("%d channel %d: trained %v %s, %d errors in %d", rate, ch, o.trained, o.rx.FailCause(), errs, n)
			}
		}
	}
}
