package v17

// Trellis coding (ITU-T V.17 signal element coding; the 8-state non-linear code of V.32bis).
//
// Each symbol carries Q1..Qn data bits. Q1 and Q2 are differentially encoded into Y1, Y2 (Table 1:
// the two-bit number Y2Y1 is the previous one plus Q2Q1, modulo 4), and a systematic, recursive
// 8-state encoder adds the redundant bit Y0. The code is non-linear (it has AND terms) because that
// is what makes it transparent to 90° rotations together with the constellation labelling.
//
// The encoder's state is three delay cells w1, w2, w3; Y0 is the content of w1, so it depends only on
// the state, never on the symbol being sent. With the inputs of the current symbol:
//
//	w1' = w2 ⊕ Y2 ⊕ (w1 · Y1)
//	w2' = w3 ⊕ Y1 ⊕ Y2 ⊕ w1·(w2 ⊕ Y2)
//	w3' = w1
//
// The state is held as w1 | w2<<1 | w3<<2.

// trellisStates is the number of states of the V.17 code.
const trellisStates = 8

// nextState returns the encoder state after a symbol whose differentially encoded bits are y21
// (Y1 | Y2<<1), from state s.
func nextState(s, y21 int) int {
	w1, w2, w3 := s&1, s>>1&1, s>>2&1
	y1, y2 := y21&1, y21>>1&1
	n1 := w2 ^ y2 ^ (w1 & y1)
	n2 := w3 ^ y1 ^ y2 ^ (w1 & (w2 ^ y2))
	n3 := w1
	return n1 | n2<<1 | n3<<2
}

// redundantBit returns Y0 for the symbol sent from state s.
func redundantBit(s int) int { return s & 1 }

// encoder is the V.17 differential and trellis encoder: data bits in, constellation labels out.
type encoder struct {
	diff  int // previous Y2Y1
	state int // convolutional encoder state
}

// reset starts a new transmission: the convolutional encoder starts from state 0 and the
// differential encoder from prevY21 (training segment 4 starts it from a fixed value, see firstDiff).
func (e *encoder) reset(prevY21 int) {
	e.diff = prevY21 & 3
	e.state = 0
}

// encode maps one symbol's data bits q (Q1 in bit 0, Q2 in bit 1, Q3.. above) to a label.
func (e *encoder) encode(q int) int {
	e.diff = (e.diff + q) & 3
	y0 := redundantBit(e.state)
	e.state = nextState(e.state, e.diff)
	return q&^3<<1 | e.diff<<1 | y0
}

// transition is one branch of the trellis: from state prev, with differentially encoded bits y21,
// sending subset y21<<1|Y0(prev).
type transition struct {
	prev   uint8
	subset uint8
}

// trellisInto lists, for each state, the four branches that arrive in it. It is derived from
// nextState once at start-up and only read afterwards.
var trellisInto = func() (into [trellisStates][4]transition) {
	var n [trellisStates]int
	for s := range trellisStates {
		for y21 := range 4 {
			t := nextState(s, y21)
			into[t][n[t]] = transition{prev: uint8(s), subset: uint8(y21<<1 | redundantBit(s))}
			n[t]++
		}
	}
	return into // TestTrellisShape checks every state has exactly four incoming branches
}()
