package line

import (
	"math"
	"testing"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// feed writes n samples of a 1 kHz sine at amplitude amp and returns everything read back, with the
// number of packets marked lost.
func feed(m *Model, n int, amp float64) (out []int16, lost, packets int) {
	in := make([]int16, Block)
	buf := make([]int16, Block)
	for k := 0; k < n; k += Block {
		for i := range in {
			in[i] = int16(amp * math.Sin(2*math.Pi*1000*float64(k+i)/8000))
		}
		m.Write(in)
		for {
			l, ok := m.Read(buf)
			if !ok {
				break
			}
			packets++
			if l {
				lost++
			}
			out = append(out, buf...)
		}
	}
	return
}

func TestDriftChangesSampleCount(t *testing.T) {
	for _, ppm := range []float64{100, -100} {
		m := New(Config{NoiseDBm0: NoNoise, DriftPPM: ppm})
		out, _, _ := feed(m, 8000*60, 10000)
		// 60 s at ±100 ppm: ±48 samples (within a packet of buffering).
		want := 8000 * 60 * (1 + ppm*1e-6)
		if d := float64(len(out)) - want; math.Abs(d) > Block+16 {
			t.Errorf("%+v ppm: %d samples out, want about %.0f", ppm, len(out), want)
		}
		// The interpolator must not distort: a clean 1 kHz tone keeps its level within 0.1 dB.
		var ms float64
		for _, s := range out[8000:16000] {
			ms += float64(s) * float64(s)
		}
		if lvl := dsp.PowerDBm0(ms/8000) - dsp.PowerDBm0(10000*10000/2); math.Abs(lvl) > 0.1 {
			t.Errorf("%+v ppm: level changed by %.2f dB", ppm, lvl)
		}
	}
}

func TestNoiseLevelGainAndLoss(t *testing.T) {
	m := New(Config{Law: g711.ALaw, GainDB: -6, NoiseDBm0: -30, LossRate: 0.05, Seed: 3})
	out, lost, packets := feed(m, 8000*20, 0)
	var ms float64
	for _, s := range out {
		ms += float64(s) * float64(s)
	}
	if lvl := dsp.PowerDBm0(ms / float64(len(out))); math.Abs(lvl+30) > 0.5 {
		t.Errorf("noise at %.2f dBm0, want -30", lvl)
	}
	if r := float64(lost) / float64(packets); r < 0.035 || r > 0.065 {
		t.Errorf("loss rate %.3f, want 0.05", r)
	}
	// Gain: -6 dB on a clean tone.
	m = New(Config{GainDB: -6, NoiseDBm0: NoNoise})
	out, _, _ = feed(m, 8000, 10000)
	ms = 0
	for _, s := range out[800:] {
		ms += float64(s) * float64(s)
	}
	if d := dsp.PowerDBm0(ms/float64(len(out)-800)) - dsp.PowerDBm0(10000*10000/2); math.Abs(d+6) > 0.1 {
		t.Errorf("gain %.2f dB, want -6", d)
	}
}

func TestBERCountsErrorsAndSlips(t *testing.T) {
	sent := make([]byte, 4000)
	r := uint32(1)
	for i := range sent {
		r = r*1664525 + 1013904223
		sent[i] = byte(r >> 31)
	}
	got := append([]byte{1, 0, 1}, sent...) // 3 extra bits at the start
	got[1000] ^= 1
	got = append(got[:2000], got[2003:]...) // a 3-bit slip
	errs, n, slips := BER(sent, got, 10, 0)
	if slips != 1 || errs > 40 || n < 3900 {
		t.Fatalf("errs %d n %d slips %d", errs, n, slips)
	}
}

func TestJitterAgainstPlayout(t *testing.T) {
	// 20-40 ms jitter into a 60 ms fixed buffer loses nothing; into a 30 ms buffer about half.
	for _, c := range []struct {
		playout  time.Duration
		min, max float64
	}{{60 * time.Millisecond, 0, 0}, {30 * time.Millisecond, 0.4, 0.6}} {
		m := New(Config{NoiseDBm0: NoNoise, JitterMin: 20 * time.Millisecond, JitterMax: 40 * time.Millisecond, Playout: c.playout, Seed: 1})
		_, lost, packets := feed(m, 8000*10, 1000)
		if r := float64(lost) / float64(packets); r < c.min || r > c.max || m.Late() != lost {
			t.Errorf("playout %v: %d of %d late", c.playout, lost, packets)
		}
	}
}
