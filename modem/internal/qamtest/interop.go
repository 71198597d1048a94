package qamtest

import (
	"slices"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
	"github.com/faxseal/faxseal/modem/internal/qam"
)

// PeerRx is a reference receiver (spandsp's, through internal/spandsp): samples in, bits and status
// events out. This package stays tier 0, so the binding itself is opened by the caller's _test file.
type PeerRx interface {
	Write(samples []int16)
	Bits() []byte
	Events() (codes, at []int)
}

// PeerTx is a reference transmitter: Read returns how many samples carry signal, 0 at the end.
type PeerTx interface {
	Read(samples []int16) int
}

// OurTxPeerRx: our transmitter, a µ-law line with noise at 30 dB SNR and 100 ppm drift, the peer's
// receiver (opened by newRx, closed by the caller's cleanup). The peer must report trainedCode among
// its events and deliver our bits without error.
func OurTxPeerRx(t *testing.T, m Modem, newRx func(t *testing.T, rate int) PeerRx, trainedCode int) {
	for _, rate := range m.Rates {
		for _, tep := range []bool{false, true} {
			bits := RandomBits(rate*2, 31)
			tx, err := m.NewTx(rate, tep, &Bits{Bits: bits})
			if err != nil {
				t.Fatal(err)
			}
			rx := newRx(t, rate)
			l := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: m.TxLevel - 30, DriftPPM: 100, Seed: 5})
			buf := make([]int16, line.Block)
			l.Write(make([]int16, 800))
			for !tx.Done() {
				tx.Read(buf)
				l.Write(buf)
				for {
					if _, ok := l.Read(buf); !ok {
						break
					}
					rx.Write(buf)
				}
			}
			l.Write(make([]int16, 1600))
			for {
				if _, ok := l.Read(buf); !ok {
					break
				}
				rx.Write(buf)
			}
			codes, _ := rx.Events()
			got := rx.Bits()
			errs, n, slips := line.BER(bits, got, 400, 0)
			t.Logf("%d tep=%v -> spandsp: events %v, %d errors in %d bits (%d received), %d slips", rate, tep, codes, errs, n, len(got), slips)
			if !slices.Contains(codes, trainedCode) || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: spandsp events %v, %d errors in %d bits", rate, tep, codes, errs, n)
			}
		}
	}
}

// PeerTxOurRx: the peer's transmitter (sending the given bits, opened by newTx) through an A-law line
// at 30 dB SNR and -100 ppm drift into our receiver, which must train and deliver them without error.
func PeerTxOurRx(t *testing.T, m Modem, newTx func(t *testing.T, rate int, tep bool, bits []byte) PeerTx) {
	for _, rate := range m.Rates {
		for _, tep := range []bool{false, true} {
			bits := RandomBits(rate*2, 32)
			tx := newTx(t, rate, tep, bits)
			rx, _ := m.NewRx(rate)
			l := line.New(line.Config{Law: g711.ALaw, NoiseDBm0: m.TxLevel - 30, DriftPPM: -100, Seed: 6})
			buf := make([]int16, line.Block)
			var got []byte
			trained := false
			feed := func() {
				for {
					if _, ok := l.Read(buf); !ok {
						return
					}
					got = rx.Put(buf, got)
					trained = trained || rx.State() == qam.Data
				}
			}
			l.Write(make([]int16, 800))
			for {
				n := tx.Read(buf)
				if n == 0 {
					break
				}
				clear(buf[n:])
				l.Write(buf)
				feed()
			}
			l.Write(make([]int16, 1600))
			feed()
			errs, n, slips := line.BER(bits, got, 400, 0)
			t.Logf("spandsp %d tep=%v -> us: trained %v (%q, offset %.2f Hz), %d errors in %d bits (%d received), %d slips", rate, tep, trained, rx.FailCause(), rx.CarrierOffset(), errs, n, len(got), slips)
			if !trained || errs != 0 || n < len(bits)-100 {
				t.Errorf("%d tep=%v: trained %v, %d errors in %d bits", rate, tep, trained, errs, n)
			}
		}
	}
}
