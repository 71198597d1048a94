package v17

import "math"

// Viterbi decoding of the V.17 trellis code (§2.4). The decoder keeps, for each of the 8 encoder
// states, the best path into it; branch costs are squared distances from the received point to the
// nearest point of each of the 8 subsets (label & 7).
//
// Survivor paths merge within about five constraint lengths, so decisions are taken tracebackDepth
// symbols back. To keep the cost per symbol low the trace-back runs once every traceBlock symbols and
// releases traceBlock decisions at a time; the decision delay is therefore between tracebackDepth
// and tracebackDepth+traceBlock-1 symbols, which stays inside the 32 symbols of binary ones the
// transmitter sends after the data (V.17 §2.5.2 turn-off), so the last data symbol is always decided
// before the carrier goes.
const (
	tracebackDepth = 20
	traceBlock     = 8
	survivorRing   = tracebackDepth + traceBlock
)

// viterbi is the maximum-likelihood decoder for one constellation. It never allocates after
// newViterbi.
type viterbi struct {
	points []complex128 // constellation, by label
	near   *nearTable

	metric [trellisStates]float64
	// Survivors, a ring: for each state, the state it came from and the label it decided.
	prev  [survivorRing][trellisStates]uint8
	label [survivorRing][trellisStates]uint8
	pos   int // ring index of the newest symbol
	n     int // symbols since reset
	out   [traceBlock]uint8
}

func newViterbi(points []complex128) *viterbi {
	v := &viterbi{points: points, near: nearTableFor(points)}
	v.reset()
	return v
}

// reset starts a new code sequence. The transmitter's encoder starts segment 4 in state 0, but all
// states start equal so a symbol of misalignment costs nothing more than a few segment 4 errors.
func (v *viterbi) reset() {
	clear(v.metric[:])
	v.pos = survivorRing - 1
	v.n = 0
}

// decode takes one received symbol. It returns the label of the nearest point (the immediate hard
// decision, for carrier and equaliser tracking) and the labels decided by this symbol, oldest first:
// none, or traceBlock of them. The slice is only valid until the next call.
func (v *viterbi) decode(z complex128) (nearest int, decided []uint8) {
	var dist [8]float64
	var best [8]uint8
	nearest = v.near.lookup(v.points, z, &dist, &best)
	return nearest, v.step(&dist, &best)
}

// erase advances the trellis over a lost symbol: every branch costs the same.
func (v *viterbi) erase() []uint8 {
	var dist [8]float64
	var best [8]uint8
	for s := range best {
		best[s] = uint8(s)
	}
	return v.step(&dist, &best)
}

// step runs one add-compare-select over the branch costs dist (per subset) whose best points are
// best, and traces back when a block of decisions is due.
func (v *viterbi) step(dist *[8]float64, best *[8]uint8) []uint8 {
	if v.pos++; v.pos == survivorRing {
		v.pos = 0
	}
	var next [trellisStates]float64
	m := &v.metric
	prev, label := &v.prev[v.pos], &v.label[v.pos]
	minMetric := math.Inf(1)
	bestState := 0
	for t := range trellisStates {
		into := &trellisInto[t]
		b0, b1, b2, b3 := &into[0], &into[1], &into[2], &into[3]
		c0 := m[b0.prev&7] + dist[b0.subset&7]
		c1 := m[b1.prev&7] + dist[b1.subset&7]
		c2 := m[b2.prev&7] + dist[b2.subset&7]
		c3 := m[b3.prev&7] + dist[b3.subset&7]
		// Two rounds of pairwise compare-select.
		if c1 < c0 {
			c0, b0 = c1, b1
		}
		if c3 < c2 {
			c2, b2 = c3, b3
		}
		if c2 < c0 {
			c0, b0 = c2, b2
		}
		next[t] = c0
		prev[t] = b0.prev
		label[t] = best[b0.subset&7]
		if c0 < minMetric {
			minMetric, bestState = c0, t
		}
	}
	// Keep the metrics small: only their differences matter.
	for t := range trellisStates {
		m[t] = next[t] - minMetric
	}
	v.n++
	// The first block is due when the oldest symbol is tracebackDepth+traceBlock-2 back.
	if k := v.n - (tracebackDepth + traceBlock - 1); k < 0 || k%traceBlock != 0 {
		return nil
	}
	// Trace the best path back tracebackDepth-1 symbols, then collect the traceBlock decisions
	// before that, newest last.
	p, s := v.pos, bestState
	for range tracebackDepth - 1 {
		s = int(v.prev[p][s])
		if p--; p < 0 {
			p = survivorRing - 1
		}
	}
	for i := traceBlock - 1; i >= 0; i-- {
		v.out[i] = v.label[p][s]
		s = int(v.prev[p][s])
		if p--; p < 0 {
			p = survivorRing - 1
		}
	}
	return v.out[:]
}

// nearTable finds, for a received point, the nearest constellation point in each of the 8 subsets
// without searching them all: the plane around the constellation is cut into unit cells, and each
// cell lists, per subset, only the points that can be nearest to some position in the cell (those
// whose distance to the cell is no more than the smallest farthest-distance of any subset point).
// Positions outside the grid use the nearest cell, which is exact for every point the equaliser can
// sensibly deliver and harmless for the rest.
type nearTable struct {
	start []uint16 // per cell and subset, offset into cand; one extra entry at the end
	cand  []uint8
}

// The candidate tables of the four constellations, built once at start-up and only read afterwards.
var nearTables = [4]nearTable{
	newNearTable(constellation7200),
	newNearTable(constellation9600),
	newNearTable(constellation12000),
	newNearTable(constellation14400),
}

// nearTableFor returns the shared table for a V.17 constellation, or builds one (tests).
func nearTableFor(points []complex128) *nearTable {
	for i := range nearTables {
		if len(nearTables[i].cand) > 0 && len(points) == 16<<i {
			return &nearTables[i]
		}
	}
	t := newNearTable(points)
	return &t
}

const (
	nearLo    = -12 // grid covers [-12, 12) in both axes; the constellations reach ±9
	nearCells = 24
)

func newNearTable(points []complex128) nearTable {
	var t nearTable
	t.start = make([]uint16, 0, nearCells*nearCells*8+1)
	for cx := range nearCells {
		for cy := range nearCells {
			x0, y0 := float64(nearLo+cx), float64(nearLo+cy)
			for s := range 8 {
				t.start = append(t.start, uint16(len(t.cand)))
				bound := math.Inf(1)
				for l := s; l < len(points); l += 8 {
					bound = math.Min(bound, cellMaxDist2(points[l], x0, y0))
				}
				for l := s; l < len(points); l += 8 {
					if cellMinDist2(points[l], x0, y0) <= bound {
						t.cand = append(t.cand, uint8(l))
					}
				}
			}
		}
	}
	t.start = append(t.start, uint16(len(t.cand)))
	return t
}

// cellMinDist2 and cellMaxDist2 return the squared distance from p to the nearest and farthest
// position of the unit cell with lower corner (x0, y0).
func cellMinDist2(p complex128, x0, y0 float64) float64 {
	dx := math.Max(0, math.Max(x0-real(p), real(p)-(x0+1)))
	dy := math.Max(0, math.Max(y0-imag(p), imag(p)-(y0+1)))
	return dx*dx + dy*dy
}

func cellMaxDist2(p complex128, x0, y0 float64) float64 {
	dx := math.Max(math.Abs(real(p)-x0), math.Abs(real(p)-(x0+1)))
	dy := math.Max(math.Abs(imag(p)-y0), math.Abs(imag(p)-(y0+1)))
	return dx*dx + dy*dy
}

// lookup fills dist and best with the squared distance to, and label of, the nearest point of each
// subset, and returns the label of the nearest point overall.
func (t *nearTable) lookup(points []complex128, z complex128, dist *[8]float64, best *[8]uint8) int {
	cx := min(nearCells-1, max(0, int(math.Floor(real(z)))-nearLo))
	cy := min(nearCells-1, max(0, int(math.Floor(imag(z)))-nearLo))
	base := (cx*nearCells + cy) * 8
	starts := t.start[base : base+9]
	zr, zi := real(z), imag(z)
	nearest, nd := 0, math.Inf(1)
	for s := range 8 {
		cands := t.cand[starts[s]:starts[s+1]]
		b := cands[0] // every list holds at least one point
		p := points[b]
		dr, di := zr-real(p), zi-imag(p)
		d := dr*dr + di*di
		for _, l := range cands[1:] {
			p := points[l]
			dr, di := zr-real(p), zi-imag(p)
			if dd := dr*dr + di*di; dd < d {
				d, b = dd, l
			}
		}
		dist[s&7], best[s&7] = d, b
		if d < nd {
			nd, nearest = d, int(b)
		}
	}
	return nearest
}
