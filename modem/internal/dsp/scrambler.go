package dsp

// Scrambler is a self-synchronising scrambler/descrambler with polynomial 1 + x^-a + x^-b:
// V.29 and V.17 use 1 + x^-18 + x^-23 (V.29 §4, V.17 §5), V.27ter and V.29's training segment 3 use
// 1 + x^-6 + x^-7. With Guard set it adds V.27ter's guard against repetitive patterns (V.27ter §2.5):
// a run of 33 line bits each equal to at least one of the bits 8, 9 and 12 places back inverts the
// next scrambler output, so a periodic pattern cannot starve the receiver's timing and equaliser.
//
// A Scrambler holds the line (scrambled) bit history, so one type serves both directions; the
// descrambler resynchronises by itself after at most b bits of errors (brief §3.5 item 9).
type Scrambler struct {
	Reg   uint32
	a, b  uint
	Guard bool
	count int
}

// NewScrambler returns a scrambler for 1 + x^-a + x^-b with an all-zero register.
func NewScrambler(a, b uint) Scrambler { return Scrambler{a: a, b: b} }

// NewV27Scrambler returns the V.27ter scrambler (1 + x^-6 + x^-7 with the pattern guard).
func NewV27Scrambler() Scrambler { return Scrambler{a: 6, b: 7, Guard: true} }

// Scramble maps one data bit to one line bit.
func (s *Scrambler) Scramble(bit int) int {
	out := (bit ^ int(s.Reg>>(s.a-1)) ^ int(s.Reg>>(s.b-1))) & 1
	if s.Guard {
		out = s.guard(out)
	}
	s.Reg = s.Reg<<1 | uint32(out)
	return out
}

// Descramble maps one line bit back to the data bit.
func (s *Scrambler) Descramble(line int) int {
	line &= 1
	out := (line ^ int(s.Reg>>(s.a-1)) ^ int(s.Reg>>(s.b-1))) & 1
	if s.Guard {
		if s.count >= 33 {
			out ^= 1
			s.count = 0
		} else {
			s.track(line)
		}
	}
	s.Reg = s.Reg<<1 | uint32(line)
	return out
}

// guard applies V.27ter's inversion on the transmit side.
func (s *Scrambler) guard(out int) int {
	if s.count >= 33 {
		s.count = 0
		return out ^ 1
	}
	s.track(out)
	return out
}

// track counts line bits that match the bits 8, 9 and 12 places back in at least one position.
func (s *Scrambler) track(line int) {
	r := int(s.Reg)
	if ((r>>7)^line)&((r>>8)^line)&((r>>11)^line)&1 != 0 {
		s.count = 0
	} else {
		s.count++
	}
}

// Reset clears the register and the guard counter.
func (s *Scrambler) Reset() {
	s.Reg = 0
	s.count = 0
}
