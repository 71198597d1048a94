package v21

import (
	"bytes"
	"testing"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/internal/line"
)

// gapRun demodulates samples with n of them lost from at, and returns the bits before the gap, the
// erasure count Fillin reported and the bits after it.
func gapRun(samples []int16, at, n int) (pre []byte, k int, post []byte) {
	rx := NewRx()
	pre = rx.Put(samples[:at], nil)
	k = rx.Fillin(n)
	post = rx.Put(samples[at+n:], nil)
	return pre, k, post
}

// lineSamples modulates bits and passes them through a line (no packet loss: the gap is cut
// by the caller), with 400 samples of silence ahead and 800 after.
func lineSamples(bits []byte, cfg line.Config) []int16 {
	tx := NewTx(&bitSlice{bits: bits})
	m := line.New(cfg)
	var s []int16
	buf := make([]int16, line.Block)
	drain := func() {
		for {
			if _, ok := m.Read(buf); !ok {
				return
			}
			s = append(s, buf...)
		}
	}
	m.Write(make([]int16, 400))
	for !tx.Done() {
		tx.Read(buf)
		m.Write(buf)
		drain()
	}
	m.Write(make([]int16, 800))
	drain()
	return s
}

func TestFillinResync(t *testing.T) {
	// A lost 20 ms packet (160 samples, 6 bit times) at every phase of a bit: after the gap the
	// receiver must deliver right bits at once. The bits it cannot know it reports as erasures
	// (Fillin's count, for hdlc.Deframer.PutGap): those whose sampling instant fell in the gap and,
	// when the first instant after it comes too soon for a clean decision, that one too. So the
	// erasures may be at most 7 (the bits the gap touches) and no delivered bit may be wrong.
	for _, c := range []struct {
		name string
		cfg  line.Config
	}{
		{"clean µ-law", line.Config{Law: g711.MuLaw, NoiseDBm0: line.NoNoise}},
		{"A-law 15 dB SNR +100 ppm", line.Config{Law: g711.ALaw, NoiseDBm0: snrNoise(0, 15), DriftPPM: 100, Seed: 5}},
		{"µ-law -20 dB 12 dB SNR -100 ppm", line.Config{Law: g711.MuLaw, GainDB: -20, NoiseDBm0: snrNoise(-20, 12), DriftPPM: -100, Seed: 6}},
	} {
		t.Run(c.name, func(t *testing.T) { fillinResync(t, c.cfg) })
	}
}

func fillinResync(t *testing.T, cfg line.Config) {
	bits := randomBits(400, 7)
	s := lineSamples(bits, cfg)
	ref := NewRx().Put(s, nil)
	// The clean run is the reference; check it against what was sent. Noise in the lead-in may
	// give bits ahead of the signal: find where the data starts.
	o := -1
	for i := 0; i+len(bits) <= len(ref) && o < 0; i++ {
		if bytes.Equal(ref[i:i+len(bits)], bits) {
			o = i
		}
	}
	if o < 0 {
		t.Fatalf("clean run does not hold the bits sent")
	}
	worst := 0
	for off := range 80 { // three bits: every sample phase of the 26.67-sample bit
		at := 400 + 100*80/3 + off
		pre, k, post := gapRun(s, at, 160)
		got := append(append([]byte(nil), pre...), make([]byte, k)...)
		got = append(got, post...)
		if len(got) != len(ref) {
			t.Errorf("gap at %d: %d bits, want %d (bit slip; %d erasures)", off, len(got), len(ref), k)
			continue
		}
		wrong := 0
		// The last bits are the carrier detector's hang-over after the signal ends, not data.
		for i := len(pre) + k; i < o+len(bits); i++ {
			if got[i] != ref[i] {
				wrong++
				if testing.Verbose() {
					t.Logf("phase %d: wrong bit %d after the erasures", off, i-len(pre)-k)
				}
			}
		}
		for i := o; i < len(pre); i++ {
			if pre[i] != ref[i] {
				wrong++
			}
		}
		if k > 7 || wrong > 0 {
			t.Errorf("gap at phase %d: %d erasures, %d wrong bits", off, k, wrong)
		}
		worst = max(worst, k+wrong)
	}
	t.Logf("worst erasures+wrong bits for a 160-sample gap: %d", worst)
}

func TestFillinBackToBack(t *testing.T) {
	// Two gaps in a row, or a gap shortly after another, at every phase: the erasures reported
	// and the bits delivered must still add up to the bits sent (no slip).
	bits := randomBits(300, 9)
	s := lineSamples(bits, line.Config{Law: g711.MuLaw, NoiseDBm0: line.NoNoise})
	ref := NewRx().Put(s, nil)
	for off := range 27 {
		for _, between := range []int{0, 1, 5, 13, 20, 40} {
			at := 2000 + off
			rx := NewRx()
			got := rx.Put(s[:at], nil)
			k := rx.Fillin(160)
			got = rx.Put(s[at+160:at+160+between], got)
			k += rx.Fillin(160)
			got = rx.Put(s[at+320+between:], got)
			if len(got)+k != len(ref) {
				t.Errorf("phase %d, %d samples between: %d bits + %d erasures, want %d", off, between, len(got), k, len(ref))
			}
		}
	}
}
