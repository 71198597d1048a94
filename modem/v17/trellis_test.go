package v17

import (
	"math"
	"math/rand/v2"
	"testing"
)

var allRates = []Rate{Rate7200, Rate9600, Rate12000, Rate14400}

// TestConstellationRotation checks the property V.17's trellis coding builds on: rotating any point by 90°
// lands on the point whose label has the same Q bits, Y2Y1 one less and Y0 inverted; and every
// constellation has distinct points with the expected mean power and minimum distance.
func TestConstellationRotation(t *testing.T) {
	for _, r := range allRates {
		pts := r.points()
		if len(pts) != 1<<(r.bitsPerSymbol()+1) {
			t.Fatalf("%v: %d points", r, len(pts))
		}
		seen := map[complex128]bool{}
		var power float64
		dmin := math.Inf(1)
		for l, p := range pts {
			if pts[rotateLabel(l)] != p*1i {
				t.Errorf("%v: label %#x at %v rotates to %v, label %#x is at %v", r, l, p, p*1i, rotateLabel(l), pts[rotateLabel(l)])
			}
			if seen[p] {
				t.Errorf("%v: point %v appears twice", r, p)
			}
			seen[p] = true
			power += real(p)*real(p) + imag(p)*imag(p)
			for _, q := range pts[l+1:] {
				d := p - q
				dmin = math.Min(dmin, real(d)*real(d)+imag(d)*imag(d))
			}
		}
		power /= float64(len(pts))
		if power < 39 || power > 43 {
			t.Errorf("%v: mean power %.1f", r, power)
		}
		if dmin != r.minDistance2() {
			t.Errorf("%v: minimum squared distance %v, want %v", r, dmin, r.minDistance2())
		}
	}
}

// TestTrellisShape checks the code is a proper 8-state, 4-branch trellis in which Y0 depends on the
// state only and parallel transitions do not exist.
func TestTrellisShape(t *testing.T) {
	for s := range trellisStates {
		seen := map[int]bool{}
		for y := range 4 {
			n := nextState(s, y)
			if seen[n] {
				t.Errorf("state %d: two inputs lead to %d", s, n)
			}
			seen[n] = true
		}
	}
	for tt, into := range trellisInto {
		subsets := map[uint8]bool{}
		for _, br := range into {
			if nextState(int(br.prev), int(br.subset>>1)) != tt {
				t.Errorf("branch %v does not reach %d", br, tt)
			}
			subsets[br.subset] = true
		}
		if len(subsets) != 4 {
			t.Errorf("state %d: incoming subsets %v not distinct", tt, into)
		}
	}
}

// encodeSymbols runs data words through the encoder and returns the labels.
func encodeSymbols(r Rate, words []int) []int {
	var e encoder
	e.reset(0)
	labels := make([]int, len(words))
	for i, q := range words {
		labels[i] = e.encode(q)
	}
	return labels
}

// decodeLabels runs received points through the Viterbi decoder and the differential decoder and
// returns the data words, aligned with the input (the last tracebackDepth-1 are flushed with
// repeats of the final point).
func decodeLabels(r Rate, rx []complex128) []int {
	v := newViterbi(r.points())
	var out []int
	diff := 0
	emit := func(label int) {
		y21 := label >> 1 & 3
		out = append(out, (y21-diff)&3|label>>3<<2)
		diff = y21
	}
	for _, z := range rx {
		_, d := v.decode(z)
		for _, l := range d {
			emit(int(l))
		}
	}
	// Flush by repeating the final point: the decoder needs future symbols to commit.
	for len(out) < len(rx) {
		_, d := v.decode(rx[len(rx)-1])
		for _, l := range d {
			emit(int(l))
		}
	}
	return out[:len(rx)]
}

func randomWords(rng *rand.Rand, r Rate, n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = rng.IntN(1 << r.bitsPerSymbol())
	}
	return w
}

// TestViterbiRoundTrip: encoder -> ideal channel -> Viterbi -> differential decoder gives the data
// back, at every rate.
func TestViterbiRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range allRates {
		words := randomWords(rng, r, 5000)
		labels := encodeSymbols(r, words)
		pts := r.points()
		rx := make([]complex128, len(labels))
		for i, l := range labels {
			rx[i] = pts[l]
		}
		got := decodeLabels(r, rx)
		// The last symbols are decided on the flush, which repeats the final point: skip them.
		for i := range len(words) - survivorRing {
			if got[i] != words[i] {
				t.Fatalf("%v: word %d = %#x, want %#x", r, i, got[i], words[i])
			}
		}
	}
}

// TestViterbiCorrectsErrors: with Gaussian noise the trellis decoder makes far fewer symbol errors
// than slicing each point to its nearest neighbour, which is what the code is for (V.17 gains about
// 4 dB over uncoded QAM).
func TestViterbiCorrectsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, r := range allRates {
		// Noise set so that nearest-point slicing gets roughly 2 % of symbols wrong.
		sigma := math.Sqrt(r.minDistance2()) / 2 / 2.6
		words := randomWords(rng, r, 20000)
		labels := encodeSymbols(r, words)
		pts := r.points()
		rx := make([]complex128, len(labels))
		hardErrs := 0
		v := newViterbi(pts)
		for i, l := range labels {
			rx[i] = pts[l] + complex(rng.NormFloat64()*sigma, rng.NormFloat64()*sigma)
			if n, _ := v.decode(rx[i]); n != l {
				hardErrs++
			}
		}
		got := decodeLabels(r, rx)
		softErrs := 0
		for i := range len(words) - survivorRing {
			if got[i] != words[i] {
				softErrs++
			}
		}
		t.Logf("%v: nearest-point symbol errors %d, Viterbi word errors %d", r, hardErrs, softErrs)
		if hardErrs < 100 {
			t.Fatalf("%v: noise too weak for the test (%d hard errors)", r, hardErrs)
		}
		if softErrs*10 > hardErrs {
			t.Errorf("%v: Viterbi left %d errors of %d", r, softErrs, hardErrs)
		}
	}
}

// TestRotationTransparency: a 90°, 180° or 270° rotation of the received signal costs only the first
// symbol after the decoder locks, because differential encoding and the non-linear code absorb it
// (V.17 trellis coding). This is what lets the receiver resolve the carrier phase only to a quarter turn.
func TestRotationTransparency(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, r := range allRates {
		words := randomWords(rng, r, 2000)
		labels := encodeSymbols(r, words)
		pts := r.points()
		for q := 1; q < 4; q++ {
			rot := complex(1, 0)
			for range q {
				rot *= 1i
			}
			rx := make([]complex128, len(labels))
			for i, l := range labels {
				rx[i] = pts[l] * rot
			}
			got := decodeLabels(r, rx)
			errs := 0
			for i := 1; i < len(words)-survivorRing; i++ {
				if got[i] != words[i] {
					errs++
				}
			}
			if errs != 0 {
				t.Errorf("%v rotated %d°: %d word errors", r, 90*q, errs)
			}
		}
	}
}

// TestNearTable checks the candidate lists against an exhaustive search on a fine grid over and
// beyond the constellations, and that no list needed more than nearMax entries.
func TestNearTable(t *testing.T) {
	for _, r := range allRates {
		pts := r.points()
		nt := nearTableFor(pts)
		if nt.maxLen > nearMax {
			t.Fatalf("%v: a cell needs %d candidates", r, nt.maxLen)
		}
		if (nt.lat != nil) != (r == Rate14400) {
			t.Fatalf("%v: lattice search %v, want it for 14400 only", r, nt.lat != nil)
		}
		var dist [8]int64
		var best [8]uint8
		for x := -11.95; x < 12; x += 0.1 {
			for y := -11.95; y < 12; y += 0.1 {
				z := complex(x, y)
				nearest := nt.lookup(pts, z, &dist, &best)
				overall := math.Inf(1)
				for s := range 8 {
					want := math.Inf(1)
					for l := s; l < len(pts); l += 8 {
						d := z - pts[l]
						want = math.Min(want, real(d)*real(d)+imag(d)*imag(d))
					}
					e := z - pts[best[s]]
					if got := real(e)*real(e) + imag(e)*imag(e); int(best[s])&7 != s || got > want+1e-9 {
						t.Fatalf("%v at %v subset %d: label %d at distance² %v, nearest is %v", r, z, s, best[s], got, want)
					}
					overall = math.Min(overall, want)
				}
				e := z - pts[nearest]
				// The 14400 search rounds distances to 1/16 of a grid unit per axis, so a near tie for the
				// nearest point overall may go either way.
				tol := 1e-9
				if nt.lat != nil {
					tol = 0.15
				}
				if got := real(e)*real(e) + imag(e)*imag(e); got > overall+tol {
					t.Fatalf("%v at %v: nearest %d at %v, want %v", r, z, nearest, got, overall)
				}
			}
		}
	}
}

// TestTrellisUnrolled: the trellis that viterbi.step writes out is the one derived from nextState.
func TestTrellisUnrolled(t *testing.T) {
	for s := range trellisStates {
		for br, tr := range trellisInto[s] {
			if int(tr.prev) != 2*br+s>>2 || tr.subset != intoSubset[s][br] {
				t.Errorf("state %d branch %d: %+v, step assumes prev %d subset %d", s, br, tr, 2*br+s>>2, intoSubset[s][br])
			}
		}
	}
}
