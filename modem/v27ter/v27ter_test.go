package v27ter

import (
	"testing"

	"github.com/faxseal/faxseal/modem/internal/qamtest"
)

// modem describes V.27ter to the suite the QAM modems share (modem/internal/qamtest).
var modem = qamtest.Modem{
	Name:    "V.27ter",
	Rates:   [2]int{4800, 2400},
	TxLevel: TxLevel,
	NewTx: func(rate int, tep bool, src *qamtest.Bits) (qamtest.Tx, error) {
		return NewTx(rate, tep, src)
	},
	NewRx: func(rate int) (qamtest.Rx, error) { return NewRx(rate) },
	NewTxOffset: func(rate int, src *qamtest.Bits, offHz float64) qamtest.Tx {
		tx, _ := NewTx(rate, false, src)
		tx.out.Shaper.Carrier.SetFreq(CarrierHz + offHz)
		return tx
	},
	BadTxRate: 9600,
	BadRxRate: 7200,
	// Four- and eight-phase DPSK: the interesting part of the curve lies 6-25 dB below V.29's.
	BERSNR:      []float64{6, 8, 10, 12, 14, 16, 20, 25},
	Channel3SNR: []float64{8, 10, 12, 14, 16},
	// Packet 20 (about 400 ms in, no TEP) falls in segment 4's 1074 scrambled
	// reversals (V.27ter §2.6).
	TrainingPacket: 20,
}

func TestLoopbackClean(t *testing.T)          { qamtest.LoopbackClean(t, modem) }
func TestBERTable(t *testing.T)               { qamtest.BERTable(t, modem) }
func TestThreshold(t *testing.T)              { qamtest.Threshold(t, modem) }
func TestLevels(t *testing.T)                 { qamtest.Levels(t, modem) }
func TestPacketLossFillin(t *testing.T)       { qamtest.PacketLossFillin(t, modem) }
func TestLossDuringTraining(t *testing.T)     { qamtest.LossDuringTraining(t, modem) }
func TestTrainingFailsOnGarbage(t *testing.T) { qamtest.TrainingFailsOnGarbage(t, modem) }
func TestBadRate(t *testing.T)                { qamtest.BadRate(t, modem) }
func TestZeroAllocs(t *testing.T)             { qamtest.ZeroAllocs(t, modem) }
func TestLevelStepDuringData(t *testing.T)    { qamtest.LevelStepDuringData(t, modem) }
func TestCarrierOffset(t *testing.T)          { qamtest.CarrierOffset(t, modem) }
func TestChannelDistortion(t *testing.T)      { qamtest.ChannelDistortion(t, modem) }
func BenchmarkRx4800(b *testing.B)            { qamtest.BenchmarkRx(b, modem) }
func BenchmarkTx4800(b *testing.B)            { qamtest.BenchmarkTx(b, modem) }
