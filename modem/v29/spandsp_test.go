//go:build spandsp

package v29

import (
	"testing"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/internal/qamtest"
)

// TestOurTxSpandspRx: our V.29 transmitter, a µ-law line with noise at 30 dB SNR and 100 ppm drift,
// spandsp's v29_rx. spandsp must train and deliver our bits without error.
func TestOurTxSpandspRx(t *testing.T) {
	qamtest.OurTxPeerRx(t, modem, func(t *testing.T, rate int) qamtest.PeerRx {
		rx, err := spandsp.NewModemRx(spandsp.ModV29, rate)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rx.Close)
		return rx
	}, spandsp.StatusTrainingSucceeded)
}

// TestSpandspTxOurRx: spandsp's v29_tx through an A-law line into our receiver.
func TestSpandspTxOurRx(t *testing.T) {
	qamtest.PeerTxOurRx(t, modem, func(t *testing.T, rate int, tep bool, bits []byte) qamtest.PeerTx {
		tx, err := spandsp.NewModemTx(spandsp.ModV29, rate, tep, bits)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tx.Close)
		return tx
	})
}

// Side by side, one run: our V.29 9600 receiver versus spandsp's on the same 20 ms blocks of a
// trained signal (spandsp's tx output). Report ns per block for each.
func BenchmarkRxVsSpandsp(b *testing.B) {
	bits := qamtest.RandomBits(9600*12, 1)
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
