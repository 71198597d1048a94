package tone

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/dsp"
)

// render produces n samples of tone t scaled to level dBm0 (relative to TxLevel), plus white noise at
// snr dB below the tone (no noise if snr is +Inf), passed through µ-law.
func render(t Tone, n int, level, snr float64, seed uint64) []int16 {
	g := NewGenerator(t)
	buf := make([]int16, n)
	g.Fill(buf)
	scale := math.Pow(10, (level-TxLevel)/20)
	r := rand.New(rand.NewPCG(seed, 7))
	sigma := 0.0
	if !math.IsInf(snr, 1) {
		sigma = math.Sqrt(dsp.DBm0Power(level - snr))
	}
	enc := make([]byte, 1)
	dec := make([]int16, 1)
	for i, s := range buf {
		v := float64(s)*scale + sigma*r.NormFloat64()
		v = math.Max(-32767, math.Min(32767, v))
		g711.MuLaw.Encode(enc, []int16{int16(v)})
		g711.MuLaw.Decode(dec, enc)
		buf[i] = dec[0]
	}
	return buf
}

// detect feeds audio in 160-sample blocks and returns the tones reported with the sample index.
func detect(audio []int16) (tones []Tone, at []int) {
	d := NewDetector()
	for i := 0; i+160 <= len(audio); i += 160 {
		if t, ok := d.Put(audio[i : i+160]); ok {
			tones = append(tones, t)
			at = append(at, i+160)
		}
	}
	return
}

func TestDetectLevelsAndNoise(t *testing.T) {
	for _, tt := range []Tone{CNG, CED, ANSam} {
		for _, c := range []struct{ level, snr float64 }{
			{-11, math.Inf(1)}, {-30, 20}, {-40, 10}, {-20, 5}, {-11, 3},
		} {
			if tt == ANSam && c.snr < 5 {
				continue // ANSam's -20 % troughs drop under the 60 % ratio at 3 dB: declared late, as CED
			}
			n := 8000 * 2
			tones, at := detect(render(tt, n, c.level, c.snr, 1))
			if len(tones) != 1 || tones[0] != tt {
				t.Errorf("%v at %v dBm0, SNR %v: got %v", tt, c.level, c.snr, tones)
				continue
			}
			start := 0
			if tt != CNG {
				start = cedLeadIn
			}
			ms := float64(at[0]-start) / 8
			if ms < 415 || ms > 600 {
				t.Errorf("%v at %v dBm0: declared after %.0f ms of tone", tt, c.level, ms)
			}
		}
	}
}

func TestCNGCadenceReportsEachBurst(t *testing.T) {
	tones, at := detect(render(CNG, 8000*8, -20, 20, 2))
	// 8 s of CNG holds bursts at 0, 3.5 and 7 s: three reports, 3.5 s apart.
	if len(tones) != 3 {
		t.Fatalf("got %v at %v", tones, at)
	}
	if d := at[1] - at[0]; d < 27000 || d > 29000 {
		t.Fatalf("bursts %d samples apart", d)
	}
}

func TestRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	mk := func(f func(i int) float64) []int16 {
		b := make([]int16, 8000*3)
		for i := range b {
			b[i] = int16(f(i))
		}
		return b
	}
	amp := dsp.SineAmplitude(-15)
	cases := map[string][]int16{
		"silence":     make([]int16, 8000*3),
		"white noise": mk(func(int) float64 { return 3000 * r.NormFloat64() }),
		"1200 Hz":     mk(func(i int) float64 { return amp * math.Sin(2*math.Pi*1200*float64(i)/8000) }),
		"2250 Hz":     mk(func(i int) float64 { return amp * math.Sin(2*math.Pi*2250*float64(i)/8000) }),
		"1100 Hz at -50 dBm0": mk(func(i int) float64 {
			return dsp.SineAmplitude(-50) * math.Sin(2*math.Pi*1100*float64(i)/8000)
		}),
		"1100 Hz 300 ms bursts": mk(func(i int) float64 {
			if i%4800 < 2400 {
				return amp * math.Sin(2*math.Pi*1100*float64(i)/8000)
			}
			return 0
		}),
		"1100 + 2100 Hz": mk(func(i int) float64 {
			return amp * (math.Sin(2*math.Pi*1100*float64(i)/8000) + math.Sin(2*math.Pi*2100*float64(i)/8000))
		}),
		// V.21 FSK alternating mark/space every bit: no single connect tone.
		"V.21 1650/1850": mk(func(i int) float64 {
			f := 1650.0
			if (i/27)%2 == 1 {
				f = 1850
			}
			return amp * math.Sin(2*math.Pi*f*float64(i)/8000)
		}),
	}
	for name, audio := range cases {
		if tones, _ := detect(audio); len(tones) != 0 {
			t.Errorf("%s: detected %v", name, tones)
		}
	}
}

func TestFrequencyTolerance(t *testing.T) {
	for _, f := range []float64{1100 - 38, 1100 + 38} {
		amp := dsp.SineAmplitude(-20)
		b := make([]int16, 8000)
		for i := range b {
			b[i] = int16(amp * math.Sin(2*math.Pi*f*float64(i)/8000))
		}
		if tones, _ := detect(b); len(tones) != 1 || tones[0] != CNG {
			t.Errorf("%v Hz: got %v", f, tones)
		}
	}
}

func TestGeneratorTiming(t *testing.T) {
	on := func(t Tone, n int) (first, last int, running bool) {
		g := NewGenerator(t)
		b := make([]int16, n)
		running = g.Fill(b)
		first, last = -1, -1
		for i, s := range b {
			if s != 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		return
	}
	first, last, running := on(CNG, 8000)
	if first != 0 || last < 3990 || last >= 4000 || !running {
		t.Errorf("CNG burst %d..%d running %v", first, last, running)
	}
	first, last, running = on(CED, 8000*5)
	if first < 1600 || first > 1602 || last < 1600+26390 || last >= 1600+26400 || running {
		t.Errorf("CED %d..%d running %v", first, last, running)
	}
	amp := dsp.SineAmplitude(TxLevel)
	g := NewGenerator(CNG)
	b := make([]int16, 4000)
	g.Fill(b)
	var ms float64
	for _, s := range b {
		ms += float64(s) * float64(s)
	}
	if lvl := dsp.PowerDBm0(ms / 4000); math.Abs(lvl-TxLevel) > 0.1 {
		t.Errorf("CNG level %.2f dBm0 (amplitude %.0f)", lvl, amp)
	}
}

func TestToneString(t *testing.T) {
	if CNG.String() != "CNG" || CED.String() != "CED" || ANSam.String() != "ANSam" || ToneInvalid.String() != "tone.Tone(0)" {
		t.Fatal("String")
	}
}

func BenchmarkDetector(b *testing.B) {
	audio := render(CED, 160, -20, 20, 3)
	d := NewDetector()
	b.ReportAllocs()
	b.SetBytes(320)
	for b.Loop() {
		d.Put(audio)
	}
}

func TestSteadyCED(t *testing.T) {
	g := NewSteady(CED)
	b := make([]int16, 8000*5)
	if !g.Fill(b) {
		t.Fatal("steady CED ended")
	}
	if b[0] == 0 || b[len(b)-1] == 0 && b[len(b)-2] == 0 {
		t.Fatalf("steady CED should start at once and keep going: %v %v %v", b[0], b[1], b[len(b)-1])
	}
	if tones, _ := detect(b); len(tones) != 1 || tones[0] != CED {
		t.Fatalf("detected %v", tones)
	}
}
