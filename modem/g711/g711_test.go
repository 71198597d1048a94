package g711

import (
	"math"
	"testing"
)

func TestKnownCodes(t *testing.T) {
	for _, c := range []struct {
		law  Law
		code byte
		want int16
	}{
		{MuLaw, 0xFF, 0}, {MuLaw, 0x7F, 0}, {MuLaw, 0x80, 32124}, {MuLaw, 0x00, -32124},
		{MuLaw, 0xFE, 8}, {MuLaw, 0x7E, -8}, // smallest non-zero steps: the sign bit set means positive
		{ALaw, 0xD5, 8}, {ALaw, 0x55, -8}, {ALaw, 0xAA, 32256}, {ALaw, 0x2A, -32256},
	} {
		var got int16
		if c.law == MuLaw {
			got = MuLawToLinear(c.code)
		} else {
			got = ALawToLinear(c.code)
		}
		if got != c.want {
			t.Errorf("%v %#02x: got %d want %d", c.law, c.code, got, c.want)
		}
	}
}

func TestCodesRoundTrip(t *testing.T) {
	for _, law := range []Law{MuLaw, ALaw} {
		for i := range 256 {
			code := byte(i)
			var lin int16
			var back byte
			if law == MuLaw {
				lin = MuLawToLinear(code)
				back = LinearToMuLaw(lin)
				if code == 0x7F { // µ-law has two zeros (+0 0xFF, -0 0x7F); zero encodes as +0
					continue
				}
			} else {
				lin = ALawToLinear(code)
				back = LinearToALaw(lin)
			}
			if back != code {
				t.Errorf("%v: code %#02x -> %d -> %#02x", law, code, lin, back)
			}
		}
	}
}

func TestQuantisationError(t *testing.T) {
	// G.711 is a logarithmic quantiser: relative error stays within about one half step of the segment
	// (≤ 1/32 of the value above the first segments) and the mapping is monotonic.
	for _, law := range []Law{MuLaw, ALaw} {
		src := make([]int16, 65536)
		for i := range src {
			src[i] = int16(i - 32768)
		}
		enc := law.Encode(make([]byte, len(src)), src)
		dec := law.Decode(make([]int16, len(src)), enc)
		prev := int16(math.MinInt16)
		for i, s := range src {
			d := dec[i]
			if d < prev {
				t.Fatalf("%v: not monotonic at %d: %d after %d", law, s, d, prev)
			}
			prev = d
			e := math.Abs(float64(d) - float64(s))
			if a := math.Abs(float64(s)); a > 256 && e > a/15 {
				t.Fatalf("%v: sample %d decodes to %d (error %v)", law, s, d, e)
			}
		}
	}
}

func TestSNR(t *testing.T) {
	// A -14 dBm0 sine (the fax transmit level) through either law keeps an SNR near 38 dB (G.711 §6).
	for _, law := range []Law{MuLaw, ALaw} {
		amp := 32767 * math.Pow(10, (-14-3.14)/20)
		var sig, noise float64
		src := make([]int16, 8000)
		for i := range src {
			src[i] = int16(math.Round(amp * math.Sin(2*math.Pi*1004*float64(i)/8000)))
		}
		dec := law.Decode(make([]int16, len(src)), law.Encode(make([]byte, len(src)), src))
		for i := range src {
			sig += float64(src[i]) * float64(src[i])
			d := float64(dec[i]) - float64(src[i])
			noise += d * d
		}
		snr := 10 * math.Log10(sig/noise)
		t.Logf("%v SNR at -14 dBm0: %.1f dB", law, snr)
		if snr < 35 {
			t.Errorf("%v: SNR %.1f dB", law, snr)
		}
	}
}

func TestLawString(t *testing.T) {
	if MuLaw.String() != "mu-law" || ALaw.String() != "A-law" || LawInvalid.String() != "g711.Law(0)" {
		t.Fatal("String")
	}
	if MuLaw.PayloadType() != 0 || ALaw.PayloadType() != 8 || MuLaw.Silence() != 0xFF || ALaw.Silence() != 0xD5 {
		t.Fatal("payload type / silence")
	}
}

func TestZeroAllocs(t *testing.T) {
	src := make([]int16, FrameSamples)
	enc := make([]byte, FrameSamples)
	if a := testing.AllocsPerRun(10, func() { MuLaw.Decode(src, MuLaw.Encode(enc, src)) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func BenchmarkEncodeDecodeFrame(b *testing.B) {
	src := make([]int16, FrameSamples)
	for i := range src {
		src[i] = int16(i * 200)
	}
	enc := make([]byte, FrameSamples)
	b.ReportAllocs()
	b.SetBytes(FrameSamples * 2)
	for b.Loop() {
		ALaw.Decode(src, ALaw.Encode(enc, src))
	}
}
