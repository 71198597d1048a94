// Package hdlc implements the HDLC framing T.30 uses for its control frames over V.21 and for ECM
// frames over the fast modems (T.30 §5.3, ISO/IEC 13239): flags 0x7E, zero-bit insertion after five
// ones, a 16-bit FCS (CRC-16/X.25) and aborts (seven or more ones).
//
// Bits are handled LSB first: bit 0 of every octet is the first on the line, the convention of the
// whole modem stack and of t30 (brief §0, §2.2).
package hdlc

// FCS (T.30 §5.3.7, ITU-T V.42 §8.1.1.6.1): CRC-16 with generator x^16+x^12+x^5+1 processed LSB
// first (reflected polynomial 0x8408), preset to all ones, transmitted complemented, low octet first.
// Running the CRC over data and FCS together leaves the fixed residue 0xF0B8.
const (
	crcInit    = 0xFFFF
	crcResidue = 0xF0B8
)

// crcTable is the byte-wise table for the reflected polynomial; filled once at init and read only.
var crcTable [256]uint16

func init() {
	for i := range crcTable {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		crcTable[i] = c
	}
}

func crcUpdate(crc uint16, b byte) uint16 { return crc>>8 ^ crcTable[byte(crc)^b] }

// FCS returns the frame check sequence of data, as the 16-bit value whose low octet goes first.
func FCS(data []byte) uint16 {
	crc := uint16(crcInit)
	for _, b := range data {
		crc = crcUpdate(crc, b)
	}
	return ^crc
}

// AppendFCS appends the two FCS octets of data (low octet first) to dst.
func AppendFCS(dst, data []byte) []byte {
	f := FCS(data)
	return append(dst, byte(f), byte(f>>8))
}

// CheckFCS reports whether frame (data followed by its two FCS octets) has a valid FCS.
func CheckFCS(frame []byte) bool {
	if len(frame) < 2 {
		return false
	}
	crc := uint16(crcInit)
	for _, b := range frame {
		crc = crcUpdate(crc, b)
	}
	return crc == crcResidue
}
