// Package g711 converts between 16-bit linear PCM and ITU-T G.711 µ-law and A-law, the two codecs a
// fax call over RTP uses (PT 0 PCMU, PT 8 PCMA; 8000 samples/s, 160 samples per 20 ms packet — fax
// brief §3.1).
//
// Decoding uses 256-entry tables; encoding uses tables indexed by the top 14 (µ-law) or 13 (A-law)
// bits of the linear sample, the resolution G.711 itself quantises from, so every conversion is one
// lookup. The tables are built once at package initialisation from the G.711 segment rules and only
// read afterwards.
package g711

import "fmt"

// FrameSamples is the number of samples in one 20 ms packet at 8 kHz.
const FrameSamples = 160

// Law selects the companding law.
type Law int

const (
	LawInvalid Law = iota
	MuLaw          // G.711 µ-law (North America, Japan), RTP payload type 0
	ALaw           // G.711 A-law (rest of the world), RTP payload type 8
)

func (l Law) String() string {
	switch l {
	case MuLaw:
		return "mu-law"
	case ALaw:
		return "A-law"
	}
	return fmt.Sprintf("g711.Law(%d)", int(l))
}

// PayloadType returns the static RTP payload type (RFC 3551), or -1 for an invalid law.
func (l Law) PayloadType() int {
	switch l {
	case MuLaw:
		return 0
	case ALaw:
		return 8
	}
	return -1
}

// Silence returns the code for a zero sample (µ-law 0xFF, A-law 0xD5): what an idle RTP stream
// carries when we have nothing to send (brief §3.1: never stop RTP while idle).
func (l Law) Silence() byte {
	if l == ALaw {
		return 0xD5
	}
	return 0xFF
}

var (
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawEncode [1 << 14]byte // indexed by sample>>2 (two's complement, 14 bits)
	alawEncode [1 << 13]byte // indexed by sample>>3 (13 bits)
)

func init() {
	for i := range 256 {
		ulawDecode[i] = ulawToLinear(byte(i))
		alawDecode[i] = alawToLinear(byte(i))
	}
	for i := range ulawEncode {
		s := int16(i << 2) // the 14-bit index as the top bits of a 16-bit sample
		ulawEncode[i] = linearToULaw(s)
	}
	for i := range alawEncode {
		s := int16(i << 3)
		alawEncode[i] = linearToALaw(s)
	}
}

// MuLawToLinear decodes one µ-law code.
func MuLawToLinear(b byte) int16 { return ulawDecode[b] }

// ALawToLinear decodes one A-law code.
func ALawToLinear(b byte) int16 { return alawDecode[b] }

// LinearToMuLaw encodes one sample as µ-law.
func LinearToMuLaw(s int16) byte { return ulawEncode[uint16(s)>>2] }

// LinearToALaw encodes one sample as A-law.
func LinearToALaw(s int16) byte { return alawEncode[uint16(s)>>3] }

// Encode companding len(src) samples into dst[:len(src)] and returns that slice; dst must be at least
// as long as src. An invalid law encodes as µ-law.
func (l Law) Encode(dst []byte, src []int16) []byte {
	dst = dst[:len(src)]
	if l == ALaw {
		for i, s := range src {
			dst[i] = alawEncode[uint16(s)>>3]
		}
		return dst
	}
	for i, s := range src {
		dst[i] = ulawEncode[uint16(s)>>2]
	}
	return dst
}

// Decode expands len(src) codes into dst[:len(src)] and returns that slice; dst must be at least as
// long as src. An invalid law decodes as µ-law.
func (l Law) Decode(dst []int16, src []byte) []int16 {
	dst = dst[:len(src)]
	t := &ulawDecode
	if l == ALaw {
		t = &alawDecode
	}
	for i, b := range src {
		dst[i] = t[b]
	}
	return dst
}

// The reference conversions below follow G.711 Tables 1a/1b (µ-law) and 2a/2b (A-law) directly;
// they only build the tables.

const ulawBias = 0x84 // 132: µ-law encodes |x|+33 (in 14-bit units), i.e. +132 on the 16-bit scale

func linearToULaw(s int16) byte {
	x := int(s) >> 2 // 14-bit
	mask := byte(0xFF)
	if x < 0 {
		x = -x - 1
		mask = 0x7F
	}
	x += ulawBias >> 2 // 33
	if x > 0x1FFF {
		x = 0x1FFF
	}
	seg := 0
	for v := x >> 6; v != 0; v >>= 1 {
		seg++
	}
	// seg 0 covers 33..63 (x>>6 == 0 means x < 64)
	code := byte(seg<<4) | byte((x>>(seg+1))&0x0F)
	return code ^ mask
}

func ulawToLinear(b byte) int16 {
	b = ^b
	seg := int(b>>4) & 7
	x := ((int(b&0x0F) << 3) + ulawBias) << seg
	x -= ulawBias
	if b&0x80 != 0 {
		return int16(-x)
	}
	return int16(x)
}

func linearToALaw(s int16) byte {
	x := int(s) >> 3 // 13-bit
	mask := byte(0xD5)
	if x < 0 {
		x = -x - 1
		mask = 0x55
	}
	var code byte
	if x < 32 {
		code = byte(x >> 1)
	} else {
		seg := 1
		for v := x >> 6; v != 0; v >>= 1 {
			seg++
		}
		if seg > 7 {
			code = 0x7F
		} else {
			code = byte(seg<<4) | byte((x>>seg)&0x0F)
		}
	}
	return code ^ mask
}

func alawToLinear(b byte) int16 {
	b ^= 0x55
	seg := int(b>>4) & 7
	m := int(b & 0x0F)
	var x int
	if seg == 0 {
		x = (m << 4) + 8
	} else {
		x = ((m << 4) + 0x108) << (seg - 1)
	}
	if b&0x80 == 0 {
		return int16(-x)
	}
	return int16(x)
}
