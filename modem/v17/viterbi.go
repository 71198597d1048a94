package v17

import "math"

// Viterbi decoding of the V.17 trellis code. The decoder keeps, for each of the 8 encoder
// states, the best path into it; branch costs are squared distances from the received point to the
// nearest point of each of the 8 subsets (label & 7).
//
// Survivor paths merge within about five constraint lengths, so decisions are taken tracebackDepth
// symbols back. To keep the cost per symbol low the trace-back runs once every traceBlock symbols and
// releases traceBlock decisions at a time; the decision delay is therefore between tracebackDepth
// and tracebackDepth+traceBlock-1 symbols, which stays inside the 32 symbols of binary ones the
// transmitter sends after the data (the turn-off sequence), so the last data symbol is always decided
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

	metric [trellisStates]int64 // path costs in units of 1/metricScale, see step
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
	var dist [8]int64
	var best [8]uint8
	nearest = v.near.lookup(v.points, z, &dist, &best)
	return nearest, v.step(&dist, &best)
}

// bmin returns the smaller of a and b without a branch (the compiler's min branches, and these
// comparisons are data dependent, so they mispredict). a-b must not overflow: every key and metric
// here is far below 2^62.
func bmin(a, b int64) int64 {
	d := a - b
	return b + d&(d>>63)
}

// Branch costs are squared distances scaled to integers (1/256 of a grid unit squared is far below
// the noise), capped so the path metrics can never overflow: with the renormalisation in step they
// stay within a few branch costs of zero.
const (
	metricScale   = 256
	maxBranchCost = 1 << 12
)

// erase advances the trellis over a lost symbol: every branch costs the same.
func (v *viterbi) erase() []uint8 {
	var dist [8]int64
	var best [8]uint8
	for s := range best {
		best[s] = uint8(s)
	}
	return v.step(&dist, &best)
}

// step runs one add-compare-select over the branch costs dist (per subset) whose best points are
// best, and traces back when a block of decisions is due.
//
// The compare-select is branch-free: each candidate cost is shifted left two bits with the branch
// number in the low bits, so the integer minimum of the four (bmin) gives both the survivor's cost and
// which branch it came from. With data-dependent branches this was a third of the receiver's time.
func (v *viterbi) step(dist *[8]int64, best *[8]uint8) []uint8 {
	if v.pos++; v.pos == survivorRing {
		v.pos = 0
	}
	var next [trellisStates]int64
	m := &v.metric
	prev, label := &v.prev[v.pos], &v.label[v.pos]
	minMetric := int64(1) << 62
	for t := range trellisStates {
		into := &trellisInto[t]
		c0 := (m[into[0].prev&7]+dist[into[0].subset&7])<<2 | 0
		c1 := (m[into[1].prev&7]+dist[into[1].subset&7])<<2 | 1
		c2 := (m[into[2].prev&7]+dist[into[2].subset&7])<<2 | 2
		c3 := (m[into[3].prev&7]+dist[into[3].subset&7])<<2 | 3
		c := bmin(bmin(c0, c1), bmin(c2, c3))
		br := &into[c&3]
		next[t] = c >> 2
		prev[t] = br.prev
		label[t] = best[br.subset&7]
		minMetric = bmin(minMetric, c>>2<<3|int64(t))
	}
	bestState := int(minMetric & 7)
	minMetric >>= 3
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
// There are never more than nearMax of them (TestNearTable checks). Most lists have one or two
// entries, so every list is searched over its first two (a list of one repeats it) without branches,
// and only cells with a longer list (about 1 in 20, mostly outside the constellation) search all
// nearMax. Positions outside the grid use the nearest cell, which is exact for every point the
// equaliser can sensibly deliver and harmless for the rest.
type nearTable struct {
	cand   [][nearMax]uint8 // per cell and subset, padded with the first entry
	long   []bool           // per cell: some subset has more than two candidates
	maxLen int              // longest list before padding
}

const (
	nearLo    = -12 // grid covers [-12, 12) in both axes; the constellations reach ±9
	nearCells = 24
	nearMax   = 4
)

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
		if len(points) == 16<<i {
			return &nearTables[i]
		}
	}
	t := newNearTable(points)
	return &t
}

func newNearTable(points []complex128) nearTable {
	t := nearTable{cand: make([][nearMax]uint8, nearCells*nearCells*8), long: make([]bool, nearCells*nearCells)}
	for cx := range nearCells {
		for cy := range nearCells {
			x0, y0 := float64(nearLo+cx), float64(nearLo+cy)
			for s := range 8 {
				bound := math.Inf(1)
				for l := s; l < len(points); l += 8 {
					bound = math.Min(bound, cellMaxDist2(points[l], x0, y0))
				}
				list := &t.cand[(cx*nearCells+cy)*8+s]
				n := 0
				for l := s; l < len(points); l += 8 {
					if cellMinDist2(points[l], x0, y0) <= bound {
						if n < nearMax {
							list[n] = uint8(l)
						}
						n++
					}
				}
				t.maxLen = max(t.maxLen, n)
				if n > 2 {
					t.long[cx*nearCells+cy] = true
				}
				for k := n; k < nearMax; k++ {
					list[k] = list[0]
				}
			}
		}
	}
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

// lookup fills dist with the scaled squared distance to, and best with the label of, the nearest
// point of each subset, and returns the label of the nearest point overall. Each candidate's key is
// its scaled distance shifted left 8 bits with its label below, so integer minima pick both.
func (t *nearTable) lookup(points []complex128, z complex128, dist *[8]int64, best *[8]uint8) int {
	cx := min(nearCells-1, max(0, int(math.Floor(real(z)))-nearLo))
	cy := min(nearCells-1, max(0, int(math.Floor(imag(z)))-nearLo))
	cell := cx*nearCells + cy
	lists := t.cand[cell*8:][:8]
	width := 2
	if t.long[cell] {
		width = nearMax
	}
	zr, zi := real(z), imag(z)
	overall := int64(1) << 62
	for s := range lists {
		key := int64(1) << 62
		for _, l := range lists[s][:width] {
			p := points[l]
			dr, di := zr-real(p), zi-imag(p)
			d := dr*dr + di*di
			if d > maxBranchCost {
				d = maxBranchCost
			}
			key = bmin(key, int64(d*metricScale)<<8|int64(l))
		}
		dist[s&7], best[s&7] = key>>8, uint8(key)
		overall = bmin(overall, key)
	}
	return int(overall & 0xff)
}
