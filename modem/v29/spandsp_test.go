//go:build spandsp

package v29

import (
	"testing"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

func hasEvent(codes []int, want int) bool {
	for _, c := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// TestOurTxSpandspRx: our V.29 transmitter, a µ-law line with noise at 30 dB SNR and 100 ppm drift,
// spandsp's v29_rx. spandsp must train and deliver our bits without error.
func TestOurTxSpandspRx(t *testing.T) {
	for _, rate := range []int{9600, 7200} {
		for _, tep := range []bool{false, true} {
			bits := randomBits(rate*2, 31)
			tx, err := NewTx(rate, tep, &bitSlice{bits: bits})
			if err != nil {
				t.Fatal(err)
			}
			rx, err := spandsp.NewModemRx(spandsp.ModV29, rate)
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			m := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 30, DriftPPM: 100, Seed: 5})
			buf := make([]int16, line.Block)
			m.Write(make([]int16, 800))
			for !tx.Done() {
				tx.Read(buf)
				m.Write(buf)
				for {
					if _, ok := m.Read(buf); !ok {
						break
					}
					rx.Write(buf)
				}
			}
			m.Write(make([]int16, 1600))
			for {
				if _, ok := m.Read(buf); !ok {
					break
				}
				rx.Write(buf)
			}
			codes, _ := rx.Events()
			got := rx.Bits()
			errs, n, slips := line.BER(bits, got, 400, 0)
			t.Logf("%d tep=%v -> spandsp: events %v, %d errors in %d bits (%d received), %d slips", rate, tep, codes, errs, n, len(got), slips)
			if !hasEvent(codes, spandsp.StatusTrainingSucceeded) || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: spandsp events %v, %d errors in %d bits", rate, tep, codes, errs, n)
			}
		}
	}
}

// TestSpandspTxOurRx: spandsp's v29_tx through the same line into our receiver.
func TestSpandspTxOurRx(t *testing.T) {
	for _, rate := range []int{9600, 7200} {
		for _, tep := range []bool{false, true} {
			bits := randomBits(rate*2, 32)
			tx, err := spandsp.NewModemTx(spandsp.ModV29, rate, tep, bits)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			rx, _ := NewRx(rate)
			m := line.New(line.Config{Law: g711.ALaw, NoiseDBm0: TxLevel - 30, DriftPPM: -100, Seed: 6})
			buf := make([]int16, line.Block)
			var got []byte
			trained := false
			feed := func() {
				for {
					if _, ok := m.Read(buf); !ok {
						return
					}
					got = rx.Put(buf, got)
					trained = trained || rx.State() == qam.Data
				}
			}
			m.Write(make([]int16, 800))
			for {
				n := tx.Read(buf)
				if n == 0 {
					break
				}
				clear(buf[n:])
				m.Write(buf)
				feed()
			}
			m.Write(make([]int16, 1600))
			feed()
			errs, n, slips := line.BER(bits, got, 400, 0)
			t.Logf("spandsp %d tep=%v -> us: trained %v (%q, offset %.2f Hz), %d errors in %d bits (%d received), %d slips", rate, tep, trained, rx.FailCause(), rx.CarrierOffset(), errs, n, len(got), slips)
			if !trained || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: trained %v, %d errors in %d bits", rate, tep, trained, errs, n)
			}
		}
	}
}

// Side by side, one run: our V.29 9600 receiver versus spandsp's on the same 20 ms blocks of a
// trained signal (spandsp's tx output). Report ns per block for each.
func BenchmarkRxVsSpandsp(b *testing.B) {
	bits := randomBits(9600*12, 1)
	tx, _ := spandsp.NewModemTx(spandsp.ModV29, 9600, false, bits)
	defer tx.Close()
	var blocks [][]int16
	for {
		buf := make([]int16, 160)
		if tx.Read(buf) < 160 {
			break
		}
		blocks = append(blocks, buf)
	}
	b.Run("faxseal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(320)
		out := make([]byte, 0, 512)
		var rx *Rx
		for i := 0; b.Loop(); i++ {
			if i%len(blocks) == 0 {
				rx, _ = NewRx(9600)
			}
			out = rx.Put(blocks[i%len(blocks)], out[:0])
		}
	})
	b.Run("spandsp", func(b *testing.B) {
		b.SetBytes(320)
		var rx *spandsp.ModemRx
		for i := 0; b.Loop(); i++ {
			if i%len(blocks) == 0 {
				if rx != nil {
					rx.Close()
				}
				rx, _ = spandsp.NewModemRx(spandsp.ModV29, 9600)
			}
			rx.Write(blocks[i%len(blocks)])
		}
		rx.Close()
	})
}
