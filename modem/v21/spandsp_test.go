//go:build spandsp

package v21

import (
	"testing"

	"github.com/faxseal/faxseal/internal/spandsp"
	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/hdlc"
	"github.com/faxseal/faxseal/modem/internal/line"
)

// hdlcBits frames a DIS-like control burst with spandsp's 32-flag preamble.
func hdlcBits() []byte {
	var f hdlc.Framer
	f.Flags(32)
	f.Frame([]byte{0xFF, 0x03, 0x40, '1', '2', '3', '4', ' ', ' '})
	f.Frame([]byte{0xFF, 0x13, 0x80, 0x00, 0x6E, 0xB8, 0x00})
	f.Flags(3)
	var bits []byte
	for b, ok := f.Bit(); ok; b, ok = f.Bit() {
		bits = append(bits, byte(b))
	}
	return bits
}

func countFrames(bits []byte) int {
	d := hdlc.NewDeframer(0)
	n := 0
	for _, b := range bits {
		if d.PutBit(int(b)) == hdlc.FrameOK {
			n++
		}
	}
	return n
}

func TestOurTxSpandspRx(t *testing.T) {
	for _, bits := range [][]byte{randomBits(3000, 41), hdlcBits()} {
		tx := NewTx(&bitSlice{bits: bits})
		rx, err := spandsp.NewModemRx(spandsp.ModV21, 300)
		if err != nil {
			t.Fatal(err)
		}
		defer rx.Close()
		m := line.New(line.Config{Law: g711.MuLaw, NoiseDBm0: TxLevel - 20, DriftPPM: 100, Seed: 3})
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
		got := rx.Bits()
		errs, n, slips := line.BER(bits, got, 300, 0)
		t.Logf("us -> spandsp: %d errors in %d bits (%d received), %d slips, %d frames", errs, n, len(got), slips, countFrames(got))
		if errs != 0 || n < len(bits)-20 {
			t.Errorf("%d errors in %d of %d bits", errs, n, len(bits))
		}
	}
	if n := countFramesVia(t, hdlcBits()); n != 2 {
		t.Errorf("spandsp received %d of 2 HDLC frames", n)
	}
}

// countFramesVia sends bits through our transmitter into spandsp and counts the good frames.
func countFramesVia(t *testing.T, bits []byte) int {
	tx := NewTx(&bitSlice{bits: bits})
	rx, err := spandsp.NewModemRx(spandsp.ModV21, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	buf := make([]int16, line.Block)
	for !tx.Done() {
		tx.Read(buf)
		rx.Write(buf)
	}
	rx.Write(make([]int16, 800))
	return countFrames(rx.Bits())
}

func TestSpandspTxOurRx(t *testing.T) {
	for _, bits := range [][]byte{randomBits(3000, 42), hdlcBits()} {
		tx, err := spandsp.NewModemTx(spandsp.ModV21, 300, false, bits)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		rx := NewRx()
		m := line.New(line.Config{Law: g711.ALaw, NoiseDBm0: TxLevel - 20, DriftPPM: -100, Seed: 4})
		buf := make([]int16, line.Block)
		var got []byte
		feed := func() {
			for {
				if _, ok := m.Read(buf); !ok {
					return
				}
				got = rx.Put(buf, got)
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
		errs, n, slips := line.BER(bits, got, 300, 0)
		t.Logf("spandsp -> us: %d errors in %d bits (%d received), %d slips, %d frames", errs, n, len(got), slips, countFrames(got))
		if errs != 0 || n < len(bits)-20 {
			t.Errorf("%d errors in %d of %d bits", errs, n, len(bits))
		}
	}
}
