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

// bmin returns the smaller of a and b without a branch: these comparisons are data dependent, so a
// branch would mispredict. Go's builtin integer min compiles to a compare and conditional move on
// amd64 (checked in the disassembly; an arithmetic-shift form took twice the instructions).
func bmin(a, b int64) int64 { return min(a, b) }

// Branch costs are squared distances scaled to integers (1/256 of a grid unit squared is far below
// the noise), capped so the path metrics can never overflow: with the renormalisation in step (once
// per trace-back block) they stay within a few dozen branch costs of zero.
const (
	metricScale   = 256
	maxBranchCost = 1 << 12
)

// acs returns the smallest of four candidate path costs, shifted left two bits, with the index of the
// one chosen in the low two bits.
func acs(c0, c1, c2, c3 int64) int64 {
	return bmin(bmin(c0<<2, c1<<2|1), bmin(c2<<2|2, c3<<2|3))
}

// intoSubset is the subset of branch br into state t, as step writes them out (trellisInto's
// subsets; TestTrellisUnrolled).
var intoSubset = [trellisStates][4]uint8{
	{0, 6, 2, 4}, {6, 0, 4, 2}, {2, 4, 0, 6}, {4, 2, 6, 0},
	{1, 3, 7, 5}, {5, 7, 3, 1}, {7, 5, 1, 3}, {3, 1, 5, 7},
}

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
//
// The trellis is written out (trellisInto, checked by TestTrellisUnrolled): state t's four branches
// come from states 2·br + t/4 (br = 0..3), with the subsets listed in intoSubset. Constant indices
// leave only the arithmetic: a loop over trellisInto cost twice as much.
func (v *viterbi) step(dist *[8]int64, best *[8]uint8) []uint8 {
	if v.pos++; v.pos == survivorRing {
		v.pos = 0
	}
	m := &v.metric
	m0, m1, m2, m3, m4, m5, m6, m7 := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
	d0, d1, d2, d3, d4, d5, d6, d7 := dist[0], dist[1], dist[2], dist[3], dist[4], dist[5], dist[6], dist[7]
	next := [trellisStates]int64{
		acs(m0+d0, m2+d6, m4+d2, m6+d4),
		acs(m0+d6, m2+d0, m4+d4, m6+d2),
		acs(m0+d2, m2+d4, m4+d0, m6+d6),
		acs(m0+d4, m2+d2, m4+d6, m6+d0),
		acs(m1+d1, m3+d3, m5+d7, m7+d5),
		acs(m1+d5, m3+d7, m5+d3, m7+d1),
		acs(m1+d7, m3+d5, m5+d1, m7+d3),
		acs(m1+d3, m3+d1, m5+d5, m7+d7),
	}
	prev, label := &v.prev[v.pos], &v.label[v.pos]
	for t, c := range next {
		br := c & 3
		prev[t] = uint8(2*br) | uint8(t>>2)
		label[t] = best[intoSubset[t][br]&7]
		m[t] = c >> 2
	}
	v.n++
	// The first block is due when the oldest symbol is tracebackDepth+traceBlock-2 back.
	if k := v.n - (tracebackDepth + traceBlock - 1); k < 0 || k%traceBlock != 0 {
		return nil
	}
	// The best state starts the trace-back. Only the metrics' differences matter, so they are
	// renormalised here too, once a block: between two blocks they grow by at most traceBlock
	// capped branch costs, far inside the 2^60 the packing allows.
	minMetric := int64(1) << 62
	for t := range trellisStates {
		minMetric = bmin(minMetric, m[t]<<3|int64(t))
	}
	bestState := int(minMetric & 7)
	minMetric >>= 3
	for t := range trellisStates {
		m[t] -= minMetric
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
	lat    *latticeTable    // the faster search, for the 14400 constellation
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
	t.lat = newLatticeTable(points)
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
	if t.lat != nil {
		return t.lookupLattice(points, z, dist, best)
	}
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

// The 14400 bit/s constellation lies on the grid points with x+y odd, and each of its 8 subsets is
// one coset of 4Z² (every point of subset s has the same x mod 4 and y mod 4, and no two subsets the
// same pair; newLatticeTable checks this and returns nil otherwise, as for the other rates, whose
// subsets are cosets of coarser or rotated lattices). The nearest point of the whole coset is then
// found per axis: along x, the nearest value ≡ r (mod 4) to x is among floor(x)-1 .. floor(x)+2, which
// hold each residue once, so four squared distances per axis serve all 8 subsets. If that coset
// point is a constellation point it is the subset's nearest; if it lies outside the constellation
// (received points beyond the edge) the cell's candidate list decides, as for the other rates.
// TestNearTable compares both paths with an exhaustive search.
type latticeTable struct {
	rx, ry [8]int                           // the residues (mod 4) of subset s
	label  [latticeSpan * latticeSpan]uint8 // label of the grid point, latticeNone if not in the constellation
}

const (
	latticeQ    = 16 // distance resolution per axis: latticeQ² must be metricScale
	latticeOff  = 14 // grid points -14..13 on both axes
	latticeSpan = 2 * latticeOff
	latticeNone = 0xff
)

// The 14400 search's squared distances are in units of 1/latticeQ², the metric's unit.
var _ = [1]struct{}{}[latticeQ*latticeQ-metricScale]

func newLatticeTable(points []complex128) *latticeTable {
	t := &latticeTable{}
	for i := range t.label {
		t.label[i] = latticeNone
	}
	seen := [8]bool{}
	for l, p := range points {
		x, y := int(real(p)), int(imag(p))
		if float64(x) != real(p) || float64(y) != imag(p) || x < -latticeOff || x >= latticeOff || y < -latticeOff || y >= latticeOff {
			return nil
		}
		s := l & 7
		if !seen[s] {
			seen[s] = true
			t.rx[s], t.ry[s] = x&3, y&3
		} else if t.rx[s] != x&3 || t.ry[s] != y&3 {
			return nil
		}
		t.label[(x+latticeOff)*latticeSpan+y+latticeOff] = uint8(l)
	}
	for s := range 8 {
		for u := range s {
			if t.rx[s] == t.rx[u] && t.ry[s] == t.ry[u] {
				return nil // two subsets share a coset of 4Z² (12000: all points have odd x and y)
			}
		}
	}
	return t
}

// lookupLattice is lookup for constellations with a latticeTable.
func (t *nearTable) lookupLattice(points []complex128, z complex128, dist *[8]int64, best *[8]uint8) int {
	lat := t.lat
	// Clamp far-off points to the grid. Then no distance can exceed maxBranchCost (the points
	// reach ±9, the clamped z ±13: at most 2·22² = 968), so none needs capping.
	zr, zi := real(z), imag(z)
	if zr < -latticeOff+1 {
		zr = -latticeOff + 1
	} else if zr > latticeOff-2.01 {
		zr = latticeOff - 2.01
	}
	if zi < -latticeOff+1 {
		zi = -latticeOff + 1
	} else if zi > latticeOff-2.01 {
		zi = latticeOff - 2.01
	}
	fx, fy := int(zr+latticeOff)-latticeOff, int(zi+latticeOff)-latticeOff // floors
	// Squared distances to floor-1 .. floor+2 along each axis, with the offset from the floor
	// rounded to 1/16 so they are integers in the metric's unit (1/256 of a grid unit squared):
	// the choice of point per subset is exact, its cost off by at most ~0.07 grid units² near the
	// point, and z's quantisation noise (rms 0.018 per axis) is 0.4 % of the noise at 24 dB SNR.
	const q = latticeQ
	dx := int64((zr-float64(fx))*q + 0.5)
	dy := int64((zi-float64(fy))*q + 0.5)
	ddx := [4]int64{(dx + q) * (dx + q), dx * dx, (dx - q) * (dx - q), (dx - 2*q) * (dx - 2*q)}
	ddy := [4]int64{(dy + q) * (dy + q), dy * dy, (dy - q) * (dy - q), (dy - 2*q) * (dy - 2*q)}
	overall := int64(1) << 62
	for s := range 8 {
		kx, ky := (lat.rx[s]-fx+1)&3, (lat.ry[s]-fy+1)&3
		gx, gy := fx-1+kx+latticeOff, fy-1+ky+latticeOff
		l := lat.label[gx*latticeSpan+gy]
		var key int64
		if l != latticeNone {
			key = (ddx[kx]+ddy[ky])<<8 | int64(l)
		} else {
			key = t.subsetNearest(points, zr, zi, fx, fy, s)
		}
		dist[s], best[s] = key>>8, uint8(key)
		overall = bmin(overall, key)
	}
	return int(overall & 0xff)
}

// subsetNearest searches the candidate list of subset s in the cell holding (zr, zi), whose floors
// are fx, fy, returning the key lookup uses (z is clamped, so no distance needs capping).
func (t *nearTable) subsetNearest(points []complex128, zr, zi float64, fx, fy, s int) int64 {
	cx := min(nearCells-1, max(0, fx-nearLo))
	cy := min(nearCells-1, max(0, fy-nearLo))
	cell := cx*nearCells + cy
	list := t.cand[cell*8+s][:]
	if !t.long[cell] {
		list = list[:2]
	}
	key := int64(1) << 62
	for _, l := range list {
		p := points[l]
		dr, di := zr-real(p), zi-imag(p)
		key = bmin(key, int64((dr*dr+di*di)*metricScale)<<8|int64(l))
	}
	return key
}
