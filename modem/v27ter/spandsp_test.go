//go:build spandsp

package v27ter

import (
	"testing"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/internal/qamtest"
)

// TestOurTxSpandspRx: our V.27ter transmitter, a µ-law line with noise at 30 dB SNR and 100 ppm drift,
// spandsp's v27ter_rx. spandsp must train and deliver our bits without error.
func TestOurTxSpandspRx(t *testing.T) {
	qamtest.OurTxPeerRx(t, modem, func(t *testing.T, rate int) qamtest.PeerRx {
		rx, err := spandsp.NewModemRx(spandsp.ModV27ter, rate)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rx.Close)
		// spandsp's V.27ter carrier detector (cutoff -45.5 dBm0) takes the -44 dBm0 noise floor of
		// this line for carrier, trains on it, fails and parks until the carrier drops, which it
		// never does. Raise its cutoff above the noise; ours restarts on the power jump instead.
		rx.SetCutoff(-40)
		return rx
	}, spandsp.StatusTrainingSucceeded)
}

// TestSpandspTxOurRx: spandsp's v27ter_tx through an A-law line into our receiver.
func TestSpandspTxOurRx(t *testing.T) {
	qamtest.PeerTxOurRx(t, modem, func(t *testing.T, rate int, tep bool, bits []byte) qamtest.PeerTx {
		tx, err := spandsp.NewModemTx(spandsp.ModV27ter, rate, tep, bits)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tx.Close)
		return tx
	})
}
