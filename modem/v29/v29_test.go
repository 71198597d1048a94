package v29

import (
	"testing"

	"github.com/faxseal/faxseal/modem/internal/qamtest"
)

// modem describes V.29 to the suite the QAM modems share (modem/internal/qamtest).
var modem = qamtest.Modem{
	Name:    "V.29",
	Rates:   [2]int{9600, 7200},
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
	BadTxRate: 4800,
	BadRxRate: 14400,
	// 8- and 16-point QAM need about 6 dB more than V.27ter's DPSK: the curve lies 12-30 dB.
	BERSNR:      []float64{12, 14, 16, 18, 20, 22, 25, 30},
	Channel3SNR: []float64{14, 16, 18, 20, 25},
	// Packets 8 and 11 (about 160 and 220 ms in, no TEP) fall in segment 3's 384 C/D symbols
	// (V.29 §2.6).
	TrainingPacket: 8,
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
func BenchmarkRx9600(b *testing.B)            { qamtest.BenchmarkRx(b, modem) }
func BenchmarkTx9600(b *testing.B)            { qamtest.BenchmarkTx(b, modem) }
