//go:build spandsp

package v27ter

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

// TestOurTxSpandspRx: our V.27ter transmitter, a µ-law line with noise at 30 dB SNR and 100 ppm drift,
// spandsp's v29_rx. spandsp must train and deliver our bits without error.
func TestOurTxSpandspRx(t *testing.T) {
	for _, rate := range []int{4800, 2400} {
		for _, tep := range []bool{false, true} {
			bits := randomBits(rate*2, 31)
			tx, err := NewTx(rate, tep, &bitSlice{bits: bits})
			if err != nil {
				t.Fatal(err)
			}
			rx, err := spandsp.NewModemRx(spandsp.ModV27ter, rate)
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			// spandsp's V.27ter carrier detector (cutoff -45.5 dBm0) takes the -44 dBm0 noise floor of
			// this line for carrier, trains on it, fails and parks until the carrier drops, which it
			// never does. Raise its cutoff above the noise; ours restarts on the power jump instead.
			rx.SetCutoff(-40)
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
	for _, rate := range []int{4800, 2400} {
		for _, tep := range []bool{false, true} {
			bits := randomBits(rate*2, 32)
			tx, err := spandsp.NewModemTx(spandsp.ModV27ter, rate, tep, bits)
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
