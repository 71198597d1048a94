// Package qamtest is the test suite the QAM/DPSK fax modems (V.27ter, V.29) share: loopback through
// the line model, the BER table, the pass thresholds, level range, packet loss and fill-in, carrier
// offset, channel distortion, zero allocation and the per-block benchmarks. Each modem's _test files
// describe the modem in a Modem (its rates, SNR grids, its own training length) and call the suite;
// only _test files import this package.
package qamtest

import (
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

// Bits is a bit source over a slice of 0/1 bytes; it satisfies each modem's BitSource.
type Bits struct {
	Bits []byte
	i    int
}

// Bit returns the next bit, or 1 and false after the end.
func (b *Bits) Bit() (int, bool) {
	if b.i >= len(b.Bits) {
		return 1, false
	}
	b.i++
	return int(b.Bits[b.i-1]), true
}

// RandomBits returns n pseudo-random bits, the same for the same seed.
func RandomBits(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(2))
	}
	return b
}

// Tx is what the suite needs of a modem's transmitter.
type Tx interface {
	Read(dst []int16) int
	Done() bool
}

// Rx is what the suite needs of a modem's receiver (a qam.Receiver underneath).
type Rx interface {
	Put(samples []int16, bits []byte) []byte
	Fillin(n int)
	State() qam.State
	FailCause() string
	TrainingMSE() float64
	CarrierOffset() float64
}

// Modem describes one modem to the suite. The numbers are the modem's own (its rates, where its BER
// curve is worth tabulating, where a lost packet falls inside its training); the suite's assertions
// and thresholds are the same for all.
type Modem struct {
	Name    string // "V.27ter", for the BER table log
	Rates   [2]int // fast rate first; the fast one is used where a test needs only one
	TxLevel float64
	// NewTx and NewRx wrap the modem's constructors.
	NewTx func(rate int, tep bool, src *Bits) (Tx, error)
	NewRx func(rate int) (Rx, error)
	// NewTxOffset returns a transmitter (no TEP) whose carrier is offHz off nominal.
	NewTxOffset func(rate int, src *Bits, offHz float64) Tx
	// BadTxRate and BadRxRate are rates the constructors must refuse.
	BadTxRate, BadRxRate int
	// BERSNR and Channel3SNR are the SNR grids (dB) of the BER table, flat line and channel 3.
	BERSNR, Channel3SNR []float64
	// TrainingPacket is a 20 ms packet inside the known training symbols (TestLossDuringTraining
	// drops it, and the one three later).
	TrainingPacket int
}

type outcome struct {
	bits    []byte
	trained bool
	rx      Rx
}

func run(t testing.TB, m Modem, rate int, tep bool, bits []byte, cfg line.Config) outcome {
	t.Helper()
	return runDrop(t, m, rate, tep, bits, cfg, nil)
}

// runDrop is run with the packets whose indices are in drop lost as well.
func runDrop(t testing.TB, mod Modem, rate int, tep bool, bits []byte, cfg line.Config, drop map[int]bool) outcome {
	t.Helper()
	tx, err := mod.NewTx(rate, tep, &Bits{Bits: bits})
	if err != nil {
		t.Fatal(err)
	}
	rx, err := mod.NewRx(rate)
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

// LoopbackClean: both rates, with and without TEP, over a noiseless µ-law line: trained and no errors.
func LoopbackClean(t *testing.T, m Modem) {
	for _, rate := range m.Rates {
		for _, tep := range []bool{false, true} {
			bits := RandomBits(rate*2, uint64(rate))
			o := run(t, m, rate, tep, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: line.NoNoise})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			t.Logf("%d tep=%v: trained %v (mse %.4f, offset %.2f Hz, %q), %d errors in %d bits, %d slips, got %d bits",
				rate, tep, o.trained, o.rx.TrainingMSE(), o.rx.CarrierOffset(), o.rx.FailCause(), errs, n, slips, len(o.bits))
			if !o.trained || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: trained %v, %d errors in %d", rate, tep, o.trained, errs, n)
			}
		}
	}
}

// BERTable logs BER against SNR and ±100 ppm drift, then on line channel 3 (skipped with -short).
func BERTable(t *testing.T, m Modem) {
	if testing.Short() {
		t.Skip("table")
	}
	for _, rate := range m.Rates {
		bits := RandomBits(rate*4, 11)
		for _, snr := range m.BERSNR {
			for _, drift := range []float64{100, -100} {
				o := run(t, m, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: m.TxLevel - 6 - snr, DriftPPM: drift, Seed: uint64(snr)})
				errs, n, slips := line.BER(bits, o.bits, 50, 0)
				t.Logf("%s %d SNR %2.0f dB drift %+4.0f ppm: trained %v (%q) BER %.2e (%d/%d) slips %d", m.Name, rate, snr, drift, o.trained, o.rx.FailCause(), float64(errs)/float64(max(n, 1)), errs, n, slips)
			}
		}
	}
	// The same on line channel 3 (dispersive echo), +100 ppm.
	for _, rate := range m.Rates {
		bits := RandomBits(rate*4, 13)
		for _, snr := range m.Channel3SNR {
			o := run(t, m, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: m.TxLevel - 6 - snr, DriftPPM: 100, Channel: 3, Seed: uint64(snr)})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			t.Logf("%s %d channel 3 SNR %2.0f dB: trained %v BER %.2e (%d/%d) slips %d", m.Name, rate, snr, o.trained, float64(errs)/float64(max(n, 1)), errs, n, slips)
		}
	}
}

// Threshold: per rate, through A-law, ±100 ppm clock and a 6 dB level drop, at 20 dB SNR the BER must
// stay below 1e-4 with no slips.
func Threshold(t *testing.T, m Modem) {
	for _, rate := range m.Rates {
		for _, drift := range []float64{100, -100} {
			bits := RandomBits(rate*2, 5)
			o := run(t, m, rate, false, bits, line.Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: m.TxLevel - 6 - 20, DriftPPM: drift, Seed: 9})
			errs, n, slips := line.BER(bits, o.bits, 50, 0)
			if !o.trained || n < len(bits)-50 || float64(errs)/float64(n) > 1e-4 || slips != 0 {
				t.Errorf("%d drift %v: trained %v (%s), %d errors in %d bits, %d slips", rate, drift, o.trained, o.rx.FailCause(), errs, n, slips)
			}
		}
	}
}

// Levels: receive range from +0 dB down to -43 dBm0 (brief §3.1), µ-law, modest noise floor; below
// the carrier threshold nothing is received.
func Levels(t *testing.T, m Modem) {
	rate := m.Rates[0]
	for _, gain := range []float64{6, 0, -15, -29} {
		bits := RandomBits(rate, 6)
		o := run(t, m, rate, false, bits, line.Config{Law: g711.MuLaw, GainDB: gain, NoiseDBm0: -75, Seed: 1})
		errs, n, _ := line.BER(bits, o.bits, 50, 0)
		if !o.trained || errs != 0 || n < len(bits)-50 {
			t.Errorf("gain %v dB (rx %v dBm0): trained %v (%s), %d errors in %d", gain, m.TxLevel+gain, o.trained, o.rx.FailCause(), errs, n)
		}
	}
	o := run(t, m, rate, false, RandomBits(2000, 6), line.Config{Law: g711.MuLaw, GainDB: -40, NoiseDBm0: line.NoNoise})
	if o.trained || len(o.bits) != 0 {
		t.Errorf("-54 dBm0: trained %v, %d bits", o.trained, len(o.bits))
	}
}

// PacketLossFillin: 2 % packet loss after training. Each lost 20 ms packet destroys its bits plus the
// equaliser refill, but the receiver stays trained and error-free between losses.
func PacketLossFillin(t *testing.T, m Modem) {
	rate := m.Rates[0]
	bits := RandomBits(rate*6, 8)
	o := run(t, m, rate, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: m.TxLevel - 30, LossRate: 0.02, Seed: 21})
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

// LossDuringTraining: one lost packet in the middle of the known training symbols. The fill-in keeps
// the symbol count in step, so training still succeeds and the data is clean.
func LossDuringTraining(t *testing.T, m Modem) {
	for _, rate := range m.Rates {
		for _, pkt := range []int{m.TrainingPacket, m.TrainingPacket + 3} {
			bits := RandomBits(rate, 3)
			o := runDrop(t, m, rate, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: m.TxLevel - 30, Seed: 2}, map[int]bool{pkt: true})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			if !o.trained || errs != 0 || n < len(bits)-50 {
				t.Errorf("%d, packet %d lost: trained %v (%s), %d errors in %d bits", rate, pkt, o.trained, o.rx.FailCause(), errs, n)
			}
		}
	}
}

// TrainingFailsOnGarbage: white noise at a fax level must never be reported as trained.
func TrainingFailsOnGarbage(t *testing.T, m Modem) {
	rx, _ := m.NewRx(m.Rates[0])
	l := line.New(line.Config{NoiseDBm0: -20, Seed: 4})
	buf := make([]int16, line.Block)
	for range 200 {
		l.Write(make([]int16, line.Block))
		if _, ok := l.Read(buf); ok {
			rx.Put(buf, nil)
			if rx.State() == qam.Data {
				t.Fatal("trained on noise")
			}
		}
	}
}

// BadRate: the constructors refuse rates the modem does not have.
func BadRate(t *testing.T, m Modem) {
	if _, err := m.NewTx(m.BadTxRate, false, &Bits{}); err == nil {
		t.Fatalf("%d accepted", m.BadTxRate)
	}
	if _, err := m.NewRx(m.BadRxRate); err == nil {
		t.Fatalf("%d accepted", m.BadRxRate)
	}
}

// ZeroAllocs: once running, a 20 ms block through transmitter and receiver allocates nothing.
func ZeroAllocs(t *testing.T, m Modem) {
	rate := m.Rates[0]
	tx, _ := m.NewTx(rate, false, &Bits{Bits: RandomBits(100000, 1)})
	rx, _ := m.NewRx(rate)
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

// BenchmarkRx measures the receiver at the fast rate on 20 ms blocks of trained signal.
func BenchmarkRx(b *testing.B, m Modem) {
	rate := m.Rates[0]
	tx, _ := m.NewTx(rate, false, &Bits{Bits: RandomBits(1<<20, 1)})
	rx, _ := m.NewRx(rate)
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

// BenchmarkTx measures the transmitter at the fast rate, 20 ms blocks.
func BenchmarkTx(b *testing.B, m Modem) {
	tx, _ := m.NewTx(m.Rates[0], false, &Bits{Bits: RandomBits(1<<22, 1)})
	buf := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(320)
	for b.Loop() {
		tx.Read(buf)
	}
}

// LevelStepDuringData: the level changes by ±3 dB and ±6 dB in the middle of the data (2 s after the
// start). The receiver's level tracking must recover within a few tens of milliseconds: a short burst
// of errors at the step, none in the last quarter of the data.
func LevelStepDuringData(t *testing.T, m Modem) {
	for _, step := range []float64{3, -3, 6, -6} {
		for _, rate := range m.Rates {
			bits := RandomBits(rate*3, 4)
			o := run(t, m, rate, false, bits, line.Config{Law: g711.MuLaw, NoiseDBm0: m.TxLevel - 35, StepAt: 16000, StepDB: step, Seed: 3})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			tail, _, _ := line.BER(bits, o.bits, 50, len(bits)*3/4)
			t.Logf("%d step %+v dB: trained %v, %d errors in %d, %d in the last quarter", rate, step, o.trained, errs, n, tail)
			if !o.trained || n < len(bits)-100 || float64(errs)/float64(n) > 0.02 || tail != 0 {
				t.Errorf("%d step %+v dB: %d errors in %d bits, %d after recovery", rate, step, errs, n, tail)
			}
		}
	}
}

// CarrierOffset: brief §6.1, ±10 Hz carrier offset (analogue segments shift frequency); spandsp
// accepts ±20 Hz, we test ±15.
func CarrierOffset(t *testing.T, m Modem) {
	for _, off := range []float64{-15, -7, 7, 15} {
		for _, rate := range m.Rates {
			bits := RandomBits(rate*2, 12)
			tx := m.NewTxOffset(rate, &Bits{Bits: bits}, off)
			rx, _ := m.NewRx(rate)
			l := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: m.TxLevel - 30, DriftPPM: 50, Seed: 5})
			buf := make([]int16, line.Block)
			var got []byte
			trained := false
			l.Write(make([]int16, 400))
			for i := 0; !tx.Done() || i < 10; i++ {
				tx.Read(buf)
				l.Write(buf)
				for {
					if _, ok := l.Read(buf); !ok {
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

// ChannelDistortion: the equaliser must undo the line model's channels 1-3 (band-pass, mild and
// dispersive echo).
func ChannelDistortion(t *testing.T, m Modem) {
	for _, ch := range []int{1, 2, 3} {
		for _, rate := range m.Rates {
			bits := RandomBits(rate*2, 21)
			o := run(t, m, rate, false, bits, line.Config{Law: g711.ALaw, NoiseDBm0: m.TxLevel - 28, DriftPPM: 100, Channel: ch, Seed: 8})
			errs, n, _ := line.BER(bits, o.bits, 50, 0)
			t.Logf("%d channel %d: trained %v (mse %.4f), %d errors in %d", rate, ch, o.trained, o.rx.TrainingMSE(), errs, n)
			if !o.trained || errs != 0 || n < len(bits)-50 {
				t.Errorf("%d channel %d: trained %v %s, %d errors in %d", rate, ch, o.trained, o.rx.FailCause(), errs, n)
			}
		}
	}
}
