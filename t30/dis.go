package t30

import (
	"errors"
	"fmt"
	"strings"
)

// Bits is the FIF of a DIS, DTC or DCS frame, LSB-first: bit n (numbered
// from 1 as in T.30 Table 2) is octet (n-1)/8, mask 1<<((n-1)%8). Every 8th
// bit (24, 32, 40, ...) is an extension bit: 1 means another octet follows
// (T.30 §5.3.6.2.1).
type Bits []byte

// Bit reports bit n (1-based); bits beyond the field are 0.
func (b Bits) Bit(n int) bool {
	if n < 1 {
		return false
	}
	i := (n - 1) / 8
	return i < len(b) && b[i]&(1<<uint((n-1)%8)) != 0
}

// Set sets or clears bit n (1-based), growing the field as needed.
func (b *Bits) Set(n int, v bool) {
	if n < 1 {
		return
	}
	i := (n - 1) / 8
	for len(*b) <= i {
		*b = append(*b, 0)
	}
	m := byte(1) << uint((n-1)%8)
	if v {
		(*b)[i] |= m
	} else {
		(*b)[i] &^= m
	}
}

// finish trims trailing zero octets beyond the 3-octet minimum and sets the
// extension bits so each remaining octet is announced by its predecessor
// (spandsp builds the same shape: prune, then extend).
func (b *Bits) finish() {
	for i := 2; i < len(*b); i++ {
		(*b)[i] &^= 0x80
	}
	n := len(*b)
	for n > 3 && (*b)[n-1] == 0 {
		n--
	}
	*b = (*b)[:n]
	for i := 2; i < n-1; i++ {
		(*b)[i] |= 0x80
	}
}

// T.30 Table 2 bit numbers used by this package.
const (
	bitT37            = 1
	bitT38            = 3
	bitV8             = 6
	bitECM64Preferred = 7
	bitReadyToSend    = 9
	bitReceive        = 10
	bitRate1          = 11 // bits 11-14 select modems (DIS) or the rate (DCS)
	bitFine           = 15
	bitMR             = 16
	bitWidth1         = 17
	bitWidth2         = 18
	bitLength1        = 19
	bitLength2        = 20
	bitScan1          = 21
	bitUncompressed   = 26
	bitECM            = 27
	bitFrame64        = 28
	bitMMR            = 31
	bitSuperfine      = 41
	bitR300           = 42
	bitR16            = 43
	bitInch           = 44
	bitMetric         = 45
	bitScanHalves     = 46
)

// ErrShortDIS reports a DIS/DTC/DCS FIF shorter than the 3 mandatory octets
// (T.30 §5.3.6.2.1).
var ErrShortDIS = errors.New("t30: DIS/DTC/DCS information field shorter than 3 octets")

// Capabilities are the decoded fields of a DIS or DTC (T.30 Table 2).
type Capabilities struct {
	// ReadyToTransmit (bit 9): the station has a document to send (polling).
	ReadyToTransmit bool
	// CanReceive (bit 10).
	CanReceive bool
	// V27ter, V29, V17: modems offered (bits 11-14). V.27ter 2400 is always
	// available as the mandatory fallback (code 0000).
	V27ter, V29, V17 bool
	// Fine (bit 15), Superfine (bit 41).
	Fine, Superfine bool
	// MR (bit 16), MMR (bit 31; only with ECM).
	MR, MMR bool
	// ECM (bit 27); ECM64Preferred (bit 7).
	ECM, ECM64Preferred bool
	// MaxWidth in pixels: WidthA4, WidthB4 or WidthA3 (bits 17-18).
	MaxWidth int
	// Length (bits 19-20): 0 A4, 1 A4+B4, 2 unlimited.
	Length int
	// ScanCode is the raw minimum scan line time code (bits 21-23).
	ScanCode int
	// ScanHalvesSuperfine (bit 46): the superfine minimum is half the fine one.
	ScanHalvesSuperfine bool
	// Metric, Inch preferences (bits 45, 44).
	Metric, Inch bool
	// Raw is the parsed field, for bits without an accessor.
	Raw Bits
}

// ParseDIS decodes a DIS or DTC FIF. Longer fields than this package knows
// are accepted and unknown bits ignored (TSB-85 MRGN06). An extension bit
// that announces a missing octet is tolerated: the field simply ends.
func ParseDIS(fif []byte) (Capabilities, error) {
	if len(fif) < 3 {
		return Capabilities{}, ErrShortDIS
	}
	b := Bits(fif)
	c := Capabilities{
		ReadyToTransmit:     b.Bit(bitReadyToSend),
		CanReceive:          b.Bit(bitReceive),
		Fine:                b.Bit(bitFine),
		MR:                  b.Bit(bitMR),
		ECM:                 b.Bit(bitECM),
		ECM64Preferred:      b.Bit(bitECM64Preferred),
		MMR:                 b.Bit(bitMMR),
		ScanCode:            scanCode(b),
		Superfine:           extended(b, bitSuperfine),
		ScanHalvesSuperfine: extended(b, bitScanHalves),
		Metric:              extended(b, bitMetric),
		Inch:                extended(b, bitInch),
		Raw:                 b,
	}
	// Bits 11-14 (T.30 Table 2 note 4): 0000 V.27ter fallback, 0100
	// V.27ter, 1000 V.29, 1100 V.27ter+V.29, 1101 adds V.17. Other codes
	// (V.33, reserved) are read bit by bit, which errs on the side of the
	// modems both codes share.
	c.V29 = b.Bit(11)
	c.V27ter = b.Bit(12)
	c.V17 = b.Bit(14) && c.V29 && c.V27ter
	switch {
	case b.Bit(bitWidth2):
		c.MaxWidth = WidthA3
	case b.Bit(bitWidth1):
		c.MaxWidth = WidthB4
	default:
		c.MaxWidth = WidthA4
	}
	switch {
	case b.Bit(bitLength2):
		c.Length = 2
	case b.Bit(bitLength1):
		c.Length = 1
	}
	if !c.ECM {
		// T.30 Table 2: T.6 coding and the frame size preference only
		// exist with ECM.
		c.MMR, c.ECM64Preferred = false, false
	}
	if !c.Superfine {
		c.ScanHalvesSuperfine = false
	}
	return c, nil
}

// extended reads a bit past octet 3 only if the extension chain reaches it.
func extended(b Bits, n int) bool {
	octet := (n - 1) / 8
	for i := 2; i < octet; i++ {
		if i >= len(b) || b[i]&0x80 == 0 {
			return false
		}
	}
	return b.Bit(n)
}

func scanCode(b Bits) int {
	c := 0
	if b.Bit(bitScan1) {
		c |= 1
	}
	if b.Bit(bitScan1 + 1) {
		c |= 2
	}
	if b.Bit(bitScan1 + 2) {
		c |= 4
	}
	return c
}

// MinScanTime returns the minimum scan line time in milliseconds the DIS
// asks for at resolution r (T.30 Table 2 bits 21-23 and 46).
func (c Capabilities) MinScanTime(r Resolution) int {
	std := [8]int{20, 5, 10, 20, 40, 40, 10, 0}
	fine := [8]int{20, 5, 10, 10, 40, 20, 5, 0}
	code := c.ScanCode & 7
	switch r {
	case Fine:
		return fine[code]
	case Superfine:
		if c.ScanHalvesSuperfine {
			return fine[code] / 2
		}
		return fine[code]
	}
	return std[code]
}

// Encode builds the FIF for these capabilities (as DIS or DTC).
func (c Capabilities) Encode() []byte {
	var b Bits
	b.Set(24, false) // three mandatory octets
	b.Set(bitReadyToSend, c.ReadyToTransmit)
	b.Set(bitReceive, c.CanReceive)
	if c.V17 {
		b.Set(11, true)
		b.Set(12, true)
		b.Set(14, true)
	} else {
		b.Set(11, c.V29)
		b.Set(12, c.V27ter)
	}
	b.Set(bitFine, c.Fine)
	b.Set(bitMR, c.MR)
	switch c.MaxWidth {
	case WidthB4:
		b.Set(bitWidth1, true)
	case WidthA3:
		b.Set(bitWidth2, true)
	}
	switch c.Length {
	case 1:
		b.Set(bitLength1, true)
	case 2:
		b.Set(bitLength2, true)
	}
	b.Set(bitScan1, c.ScanCode&1 != 0)
	b.Set(bitScan1+1, c.ScanCode&2 != 0)
	b.Set(bitScan1+2, c.ScanCode&4 != 0)
	b.Set(bitECM, c.ECM)
	b.Set(bitECM64Preferred, c.ECM && c.ECM64Preferred)
	b.Set(bitMMR, c.ECM && c.MMR)
	b.Set(bitSuperfine, c.Superfine)
	b.Set(bitScanHalves, c.Superfine && c.ScanHalvesSuperfine)
	b.Set(bitMetric, c.Metric)
	b.Set(bitInch, c.Inch)
	b.Set(48, false) // room for bits 41-47 before pruning
	b.finish()
	return b
}

// String summarises the capabilities for traces.
func (c Capabilities) String() string {
	var p []string
	if c.CanReceive {
		p = append(p, "rx")
	}
	if c.ReadyToTransmit {
		p = append(p, "tx")
	}
	m := "V.27ter(2400)"
	switch {
	case c.V17:
		m = "V.17+V.29+V.27ter"
	case c.V29 && c.V27ter:
		m = "V.29+V.27ter"
	case c.V29:
		m = "V.29"
	case c.V27ter:
		m = "V.27ter"
	}
	p = append(p, m)
	res := "standard"
	if c.Fine {
		res += "+fine"
	}
	if c.Superfine {
		res += "+superfine"
	}
	p = append(p, res)
	comp := "MH"
	if c.MR {
		comp += "+MR"
	}
	if c.MMR {
		comp += "+MMR"
	}
	p = append(p, comp)
	if c.ECM {
		p = append(p, "ECM")
	}
	p = append(p, fmt.Sprintf("width<=%d", c.MaxWidth), fmt.Sprintf("scan %dms", c.MinScanTime(Standard)))
	return strings.Join(p, " ")
}

// Settings are the decoded fields of a DCS: the mode the transmitter chose
// (T.30 Table 2, DCS column).
type Settings struct {
	// Receive (bit 10) must be set in a DCS.
	Receive    bool
	Modulation Modulation
	BitRate    int
	Resolution Resolution
	// Compression: MH, MR (bit 16) or MMR (bit 31).
	Compression Compression
	Width       int
	// Length as in Capabilities.
	Length int
	// MinScanTime in milliseconds (bits 21-23; codes 0, 1, 2, 4, 7 are
	// defined for DCS).
	MinScanTime int
	ECM         bool
	// Frame64 (bit 28): ECM frames carry 64 octets instead of 256.
	Frame64 bool
	Raw     Bits
}

// ErrDCSRate reports DCS rate bits that name no defined rate.
var ErrDCSRate = errors.New("t30: DCS bits 11-14 name no defined modem rate")

// dcsRates maps DCS bits 11-14 (b11 | b12<<1 | b13<<2 | b14<<3) to the
// modem and rate (T.30 Table 2 note 4).
var dcsRates = map[int]struct {
	mod  Modulation
	rate int
}{
	0x0: {V27ter, 2400},
	0x2: {V27ter, 4800},
	0x3: {V29, 7200},
	0x1: {V29, 9600},
	0xB: {V17, 7200},
	0x9: {V17, 9600},
	0xA: {V17, 12000},
	0x8: {V17, 14400},
}

func rateCode(b Bits) int {
	c := 0
	for i := 0; i < 4; i++ {
		if b.Bit(bitRate1 + i) {
			c |= 1 << uint(i)
		}
	}
	return c
}

// ParseDCS decodes a DCS FIF (also the first octets of a CTC FIF).
func ParseDCS(fif []byte) (Settings, error) {
	if len(fif) < 3 {
		return Settings{}, ErrShortDIS
	}
	b := Bits(fif)
	r, ok := dcsRates[rateCode(b)]
	if !ok {
		return Settings{}, ErrDCSRate
	}
	s := Settings{
		Receive:    b.Bit(bitReceive),
		Modulation: r.mod,
		BitRate:    r.rate,
		ECM:        b.Bit(bitECM),
		Frame64:    b.Bit(bitFrame64) && b.Bit(bitECM),
		Raw:        b,
	}
	switch {
	case extended(b, bitSuperfine):
		s.Resolution = Superfine
	case b.Bit(bitFine):
		s.Resolution = Fine
	default:
		s.Resolution = Standard
	}
	switch {
	case b.Bit(bitMMR):
		s.Compression = MMR
	case b.Bit(bitMR):
		s.Compression = MR
	default:
		s.Compression = MH
	}
	switch {
	case b.Bit(bitWidth2):
		s.Width = WidthA3
	case b.Bit(bitWidth1):
		s.Width = WidthB4
	default:
		s.Width = WidthA4
	}
	switch {
	case b.Bit(bitLength2):
		s.Length = 2
	case b.Bit(bitLength1):
		s.Length = 1
	}
	s.MinScanTime = [8]int{20, 5, 10, 20, 40, 40, 10, 0}[scanCode(b)]
	return s, nil
}

// Encode builds the DCS FIF.
func (s Settings) Encode() []byte {
	var b Bits
	b.Set(24, false)
	b.Set(bitReceive, s.Receive)
	code := 0
	for c, r := range dcsRates {
		if r.mod == s.Modulation && r.rate == s.BitRate {
			code = c
		}
	}
	for i := 0; i < 4; i++ {
		b.Set(bitRate1+i, code&(1<<uint(i)) != 0)
	}
	switch s.Resolution {
	case Fine:
		b.Set(bitFine, true)
	case Superfine:
		b.Set(bitSuperfine, true)
	}
	switch s.Compression {
	case MR:
		b.Set(bitMR, true)
	case MMR:
		b.Set(bitMMR, true)
	}
	switch s.Width {
	case WidthB4:
		b.Set(bitWidth1, true)
	case WidthA3:
		b.Set(bitWidth2, true)
	}
	switch s.Length {
	case 1:
		b.Set(bitLength1, true)
	case 2:
		b.Set(bitLength2, true)
	}
	sc := dcsScanCode(s.MinScanTime)
	b.Set(bitScan1, sc&1 != 0)
	b.Set(bitScan1+1, sc&2 != 0)
	b.Set(bitScan1+2, sc&4 != 0)
	b.Set(bitECM, s.ECM)
	b.Set(bitFrame64, s.ECM && s.Frame64)
	b.Set(48, false)
	b.finish()
	return b
}

// dcsScanCode returns the DCS code (bits 21-23) of the shortest defined
// minimum scan line time that is at least ms: a superfine minimum of 2.5 ms
// (half of 5) is sent as 5 ms, never as a shorter time the receiver cannot
// take.
func dcsScanCode(ms int) int {
	switch {
	case ms <= 0:
		return 7
	case ms <= 5:
		return 1
	case ms <= 10:
		return 2
	case ms <= 20:
		return 0
	}
	return 4
}

// String summarises the settings, e.g. "V.17 14400 fine MMR 1728 ECM".
func (s Settings) String() string {
	str := fmt.Sprintf("%v %d %v %v %d", s.Modulation, s.BitRate, s.Resolution, s.Compression, s.Width)
	if s.ECM {
		str += " ECM"
		if s.Frame64 {
			str += "64"
		}
	} else {
		str += fmt.Sprintf(" scan %dms", s.MinScanTime)
	}
	return str
}
