package v17

import "math"

// tracebackDepth is how many symbols the Viterbi decoder looks back before it commits to a decision.
// Survivor paths of an 8-state code merge within about five constraint lengths; 24 symbols (10 ms)
// costs little delay and leaves the decision error rate at the code's limit (see NOTES.md for the
// measured effect of shorter depths; spandsp uses 16).
const tracebackDepth = 24

// viterbi is the maximum-likelihood decoder for the V.17 trellis code over one constellation.
// It takes equalised, carrier-corrected symbols and returns constellation labels tracebackDepth-1
// symbols late. It never allocates after newViterbi.
type viterbi struct {
	points  []complex128 // constellation, by label
	subsets [8][]uint8   // labels in each subset (label & 7)

	metric [trellisStates]float64
	// Survivors, a ring of tracebackDepth symbols: for each state, the state it came from and the
	// label it decided.
	prev  [tracebackDepth][trellisStates]uint8
	label [tracebackDepth][trellisStates]uint8
	pos   int
	count int
}

func newViterbi(points []complex128) *viterbi {
	v := &viterbi{points: points}
	for l := range points {
		s := l & 7
		v.subsets[s] = append(v.subsets[s], uint8(l))
	}
	v.reset()
	return v
}

// reset starts a new code sequence. The transmitter's encoder starts segment 4 in state 0, but all
// states start equal so a symbol of misalignment costs nothing more than a few segment 4 errors.
func (v *viterbi) reset() {
	clear(v.metric[:])
	v.pos = 0
	v.count = 0
}

// decode takes one received symbol. It returns the label of the nearest point (the immediate hard
// decision, for carrier and equaliser tracking), the label decided tracebackDepth-1 symbols ago, and
// whether that decision exists yet.
func (v *viterbi) decode(z complex128) (nearest, decided int, ok bool) {
	var dist [8]float64
	var best [8]uint8
	nearestDist := math.Inf(1)
	for s := range v.subsets {
		d := math.Inf(1)
		var b uint8
		for _, l := range v.subsets[s] {
			e := z - v.points[l]
			if dd := real(e)*real(e) + imag(e)*imag(e); dd < d {
				d, b = dd, l
			}
		}
		dist[s], best[s] = d, b
		if d < nearestDist {
			nearestDist, nearest = d, int(b)
		}
	}
	decided, ok = v.step(&dist, &best)
	return nearest, decided, ok
}

// erase advances the trellis over a lost symbol: every branch costs the same.
func (v *viterbi) erase() (decided int, ok bool) {
	var dist [8]float64
	var best [8]uint8
	for s := range best {
		best[s] = v.subsets[s][0]
	}
	return v.step(&dist, &best)
}

// step runs one add-compare-select over the branch costs dist (per subset) whose best points are
// best, and traces back.
func (v *viterbi) step(dist *[8]float64, best *[8]uint8) (decided int, ok bool) {
	var next [trellisStates]float64
	minMetric := math.Inf(1)
	for t := range trellisStates {
		m := math.Inf(1)
		var from, sub uint8
		for _, br := range trellisInto[t] {
			if c := v.metric[br.prev] + dist[br.subset]; c < m {
				m, from, sub = c, br.prev, br.subset
			}
		}
		next[t] = m
		v.prev[v.pos][t] = from
		v.label[v.pos][t] = best[sub]
		if m < minMetric {
			minMetric = m
		}
	}
	// Keep the metrics small: only their differences matter.
	bestState := 0
	for t := range trellisStates {
		v.metric[t] = next[t] - minMetric
		if v.metric[t] == 0 {
			bestState = t
		}
	}

	// Trace the best path back to the oldest stored symbol.
	p := v.pos
	s := bestState
	for range tracebackDepth - 1 {
		s = int(v.prev[p][s])
		if p--; p < 0 {
			p = tracebackDepth - 1
		}
	}
	decided = int(v.label[p][s])
	if v.pos++; v.pos == tracebackDepth {
		v.pos = 0
	}
	if v.count < tracebackDepth-1 {
		v.count++
		return 0, false
	}
	return decided, true
}
