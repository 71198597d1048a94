package v17

// Training sequence (ITU-T V.17 synchronizing signals: long train and resync, i.e. short), in
// symbols at 2400 baud:
//
//	TEP (optional): 480 symbols of unmodulated carrier (point A) then 48 of silence,
//	    ≈200 ms + 20 ms of talker echo protection.
//	segment 1: 256 symbols alternating A, B (ABAB...), starting with A.
//	segment 2: scrambled binary ones sent as dibits on the 4-point set: 2976 symbols in the long
//	    training, 38 in the short one.
//	segment 3: 64 symbols of the scrambled bridge pattern, differentially encoded on the 4-point set
//	    (long training only).
//	segment 4: 48 symbols of scrambled binary ones through the trellis encoder at the data rate.
//
// After the data, the turn-off sequence is 32 symbols of scrambled ones followed by 48 symbols of
// silence so the last data symbol leaves the receiver's filters and Viterbi decoder.
const (
	tepCarrierSymbols = 480
	tepSilenceSymbols = 48
	seg1Symbols       = 256
	seg2LongSymbols   = 2976
	seg2ShortSymbols  = 38
	seg3Symbols       = 64
	seg4Symbols       = 48
	shutdownOnes      = 32
	shutdownSilence   = 48
)

// scramblerSeed is the scrambler register at the start of every training sequence. V.17 leaves the
// initial state open, but a receiver trained from a locally generated copy of segment 2 (as spandsp's
// is) must start from the same state, so FaxSeal uses spandsp's value for interoperability.
const scramblerSeed = 0x2ECDD5

// bridgeWord is the 16-bit pattern that segment 3 repeats into the scrambler, least significant bit
// first (V.17 Table 3 note: 1000 1000 1000 0000 read from the right).
const bridgeWord = 0x8880

// seg2Point maps a segment 2 dibit (first bit in the high position) to its point's index in abcd:
// 00 -> C, 01 -> D, 10 -> B, 11 -> A.
var seg2Point = [4]uint8{2, 3, 1, 0}

// bridgeStep maps a segment 3 dibit to the number of 90° steps the point advances from the last one:
// 00 -> +90°, 01 -> 0°, 10 -> +180°, 11 -> +270°.
var bridgeStep = [4]uint8{1, 0, 2, 3}

// firstDiff is the differential encoder's previous Y2Y1 at the start of segment 4: 1 after a long
// training, 0 after a short one (the receiver does not depend on it: segment 4 carries only ones).
func firstDiff(short bool) int {
	if short {
		return 0
	}
	return 1
}

// scrambler is V.17's self-synchronising scrambler, 1 + x^-18 + x^-23 (V.17 scrambler), holding the
// line bits sent (or received) so far. It is dsp.Scrambler with the taps fixed, so the per-bit work
// inlines to a few shifts: with 6 bits a symbol the generic one's calls were a visible share of both
// directions' time.
type scrambler uint32

// scramble maps one data bit to one line bit.
func (s *scrambler) scramble(bit int) int {
	out := (bit ^ int(*s>>17) ^ int(*s>>22)) & 1
	*s = *s<<1 | scrambler(out)
	return out
}

// descramble maps one line bit back to the data bit.
func (s *scrambler) descramble(line int) int {
	line &= 1
	out := (line ^ int(*s>>17) ^ int(*s>>22)) & 1
	*s = *s<<1 | scrambler(line)
	return out
}

// descrambleWord descrambles n ≤ 6 line bits at once (bit i of q is the i-th received) and returns
// the data bits in the same order. The taps are 18 and 23 bits back, so no output depends on a bit
// of the same word: the word's tap bits are register bits 17-i and 22-i, gathered by one XOR and a
// bit reversal (TestDescrambleWord checks it against descramble).
func (s *scrambler) descrambleWord(q, n int) int {
	mask := 1<<n - 1
	q &= mask
	x := uint32(*s) ^ uint32(*s)>>5 // bit j: register bits j and j+5
	out := (q ^ int(reverse6[x>>12&63])) & mask
	*s = *s<<n | scrambler(reverse6[q]>>(6-n))
	return out
}

// reverse6 reverses the order of 6 bits; built once at start-up, read only.
var reverse6 = func() (t [64]uint8) {
	for v := range t {
		for i := range 6 {
			t[v] |= uint8(v>>i&1) << (5 - i)
		}
	}
	return t
}()
