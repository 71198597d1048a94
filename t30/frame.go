package t30

import (
	"errors"
	"fmt"
	"strings"
)

// FCF is a T.30 facsimile control field value in the LSB-first convention
// (T.30 §5.3.6; brief §2.2), with the X bit cleared. For the frames that have
// no X bit (DIS, CSI, NSF and their polling twins DTC, CIG, NSC, and PWD/SEP)
// the first transmitted bit is part of the code and kept.
type FCF uint8

// The T.30 frames (T.30 §5.3.6.1, Table 1; T.4 Annex A for FCD/RCP).
const (
	FCFDIS    FCF = 0x80
	FCFCSI    FCF = 0x40
	FCFNSF    FCF = 0x20
	FCFDTC    FCF = 0x81
	FCFCIG    FCF = 0x41
	FCFNSC    FCF = 0x21
	FCFPWD    FCF = 0xC1 // polling password
	FCFSEP    FCF = 0xA1
	FCFDCS    FCF = 0x82
	FCFTSI    FCF = 0x42
	FCFNSS    FCF = 0x22
	FCFSUB    FCF = 0xC2
	FCFSID    FCF = 0xA2
	FCFCFR    FCF = 0x84
	FCFFTT    FCF = 0x44
	FCFCTC    FCF = 0x12
	FCFCTR    FCF = 0xC4
	FCFMPS    FCF = 0x4E
	FCFEOP    FCF = 0x2E
	FCFEOM    FCF = 0x8E
	FCFPRIMPS FCF = 0x5E
	FCFPRIEOP FCF = 0x3E
	FCFPRIEOM FCF = 0x9E
	FCFPPS    FCF = 0xBE
	FCFEOR    FCF = 0xCE
	FCFRR     FCF = 0x6E
	FCFMCF    FCF = 0x8C
	FCFRTP    FCF = 0xCC
	FCFRTN    FCF = 0x4C
	FCFPIP    FCF = 0xAC
	FCFPIN    FCF = 0x2C
	FCFPPR    FCF = 0xBC
	FCFRNR    FCF = 0xEC
	FCFERR    FCF = 0x1C
	FCFDCN    FCF = 0xFA
	FCFCRP    FCF = 0x1A
	FCFFNV    FCF = 0xCA
	FCFFCD    FCF = 0x06
	FCFRCP    FCF = 0x86
	// FCFNull is the PPS/EOR second FCF meaning "more blocks of this page
	// follow" (T.30 §A.4.2).
	FCFNull FCF = 0x00
)

var fcfNames = map[FCF]string{
	FCFDIS: "DIS", FCFCSI: "CSI", FCFNSF: "NSF", FCFDTC: "DTC", FCFCIG: "CIG", FCFNSC: "NSC",
	FCFPWD: "PWD", FCFSEP: "SEP", FCFDCS: "DCS", FCFTSI: "TSI", FCFNSS: "NSS", FCFSUB: "SUB",
	FCFSID: "SID", FCFCFR: "CFR", FCFFTT: "FTT", FCFCTC: "CTC", FCFCTR: "CTR", FCFMPS: "MPS",
	FCFEOP: "EOP", FCFEOM: "EOM", FCFPRIMPS: "PRI-MPS", FCFPRIEOP: "PRI-EOP", FCFPRIEOM: "PRI-EOM",
	FCFPPS: "PPS", FCFEOR: "EOR", FCFRR: "RR", FCFMCF: "MCF", FCFRTP: "RTP", FCFRTN: "RTN",
	FCFPIP: "PIP", FCFPIN: "PIN", FCFPPR: "PPR", FCFRNR: "RNR", FCFERR: "ERR", FCFDCN: "DCN",
	FCFCRP: "CRP", FCFFNV: "FNV", FCFFCD: "FCD", FCFRCP: "RCP", FCFNull: "NULL",
}

// String returns the T.30 mnemonic, e.g. "DCS", or "FCF(0xNN)".
func (f FCF) String() string {
	if n, ok := fcfNames[f]; ok {
		return n
	}
	return fmt.Sprintf("FCF(%#02x)", uint8(f))
}

// Known reports whether f is a frame this package recognises.
func (f FCF) Known() bool {
	_, ok := fcfNames[f]
	return ok && f != FCFNull
}

// base maps the procedure-interrupt variants to the plain post-message
// command (brief §2.10: PRI-* treated as base commands, we implement no
// operator interrupts).
func (f FCF) base() FCF {
	switch f {
	case FCFPRIMPS:
		return FCFMPS
	case FCFPRIEOP:
		return FCFEOP
	case FCFPRIEOM:
		return FCFEOM
	}
	return f
}

// hasXBit reports whether the first transmitted bit of the FCF is the X bit.
// The initial identification frames and their polling twins carry a fixed
// first bit instead (T.30 §5.3.6.1: DIS 00000001, DTC 10000001, ...).
func hasXBit(raw uint8) bool {
	switch raw & 0xFE {
	case 0x80, 0x40, 0x20, 0xC0, 0xA0:
		return false
	}
	return true
}

// Address and control octets, LSB-first (T.30 §5.3.4, §5.3.5).
const (
	hdlcAddress      = 0xFF
	hdlcControl      = 0x03
	hdlcControlFinal = 0x13
)

// Frame parse errors.
var (
	ErrShortFrame = errors.New("t30: frame shorter than address, control and FCF")
	ErrAddress    = errors.New("t30: frame address is not 0xFF")
	ErrControl    = errors.New("t30: frame control field is neither 0x03 nor 0x13")
)

// Frame is a decoded T.30 HDLC frame (without FCS).
type Frame struct {
	FCF FCF
	// X is the X bit of the FCF (T.30 §5.3.6.1 note: 1 when sent by the
	// station that received a valid DIS).
	X bool
	// Final is the control field's final bit: the last frame of a command
	// or response.
	Final bool
	// FIF is the facsimile information field after the FCF (for PPS and EOR
	// it starts with the second FCF). It aliases the parsed buffer.
	FIF []byte
}

// ParseFrame decodes b, an HDLC frame in LSB-first order without its FCS.
// Unknown FCF values are not an error (the caller ignores them, T.30
// §5.3.6.1.7); malformed framing is.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < 3 {
		return Frame{}, ErrShortFrame
	}
	if b[0] != hdlcAddress {
		return Frame{}, ErrAddress
	}
	var f Frame
	switch b[1] {
	case hdlcControl:
	case hdlcControlFinal:
		f.Final = true
	default:
		return Frame{}, ErrControl
	}
	raw := b[2]
	if hasXBit(raw) {
		f.X = raw&1 != 0
		raw &^= 1
	}
	f.FCF = FCF(raw)
	f.FIF = b[3:]
	return f, nil
}

// AppendFrame appends the octets of a frame (no FCS) to dst.
func AppendFrame(dst []byte, fcf FCF, x, final bool, fif ...byte) []byte {
	ctl := byte(hdlcControl)
	if final {
		ctl = hdlcControlFinal
	}
	raw := uint8(fcf)
	if x && hasXBit(raw) {
		raw |= 1
	}
	dst = append(dst, hdlcAddress, ctl, raw)
	return append(dst, fif...)
}

// identLength is the FIF length of CSI/TSI/CIG (T.30 §5.3.6.2.4).
const identLength = 20

// EncodeIdent returns the 20-octet FIF of a CSI/TSI/CIG frame for id. T.30
// §5.3.6.2.4 sends the digits last-first, padded with spaces; characters
// outside the printable ASCII range are replaced by spaces and the identity
// is cut to 20 characters.
func EncodeIdent(id string) []byte {
	fif := make([]byte, identLength)
	for i := range fif {
		fif[i] = ' '
	}
	n := 0
	for i := 0; i < len(id) && n < identLength; i++ {
		c := id[i]
		if c < 0x20 || c > 0x7E {
			c = ' '
		}
		fif[identLength-1-n] = c
		n++
	}
	return fif
}

// DecodeIdent turns a CSI/TSI/CIG FIF back into a string: reversed, trailing
// and leading spaces removed, non-printable octets dropped. Any length is
// accepted (peers send fewer than 20 octets).
func DecodeIdent(fif []byte) string {
	var sb strings.Builder
	for i := len(fif) - 1; i >= 0; i-- {
		c := fif[i]
		if c >= 0x20 && c <= 0x7E {
			sb.WriteByte(c)
		}
	}
	return strings.TrimSpace(sb.String())
}

// PPS describes the FIF of a PPS or EOR frame (T.30 §A.4.2, §5.3.6.1.8).
type PPS struct {
	// PostPage is the second FCF: FCFNull (more blocks), FCFMPS, FCFEOP or
	// FCFEOM (X bit removed, PRI-* mapped to the base command).
	PostPage FCF
	Page     int // page counter, mod 256
	Block    int // block counter, mod 256
	// Frames is the number of frames in the block (the FIF carries Frames-1).
	Frames int
}

// ErrShortPPS reports a PPS/EOR FIF with fewer than 4 octets (EOR: 1).
var ErrShortPPS = errors.New("t30: PPS/EOR information field too short")

// ParsePPS decodes a PPS FIF.
func ParsePPS(fif []byte) (PPS, error) {
	if len(fif) < 4 {
		return PPS{}, ErrShortPPS
	}
	return PPS{
		PostPage: FCF(fif[0] &^ 1).base(),
		Page:     int(fif[1]),
		Block:    int(fif[2]),
		Frames:   int(fif[3]) + 1,
	}, nil
}

// ParsePPR decodes the 32-octet PPR bitmap (T.30 §A.4.3: bit j of octet i
// set means frame 8i+j must be sent again). Shorter maps are padded with
// zeros; it reports false if the FIF is empty.
func ParsePPR(fif []byte) (m [32]byte, ok bool) {
	if len(fif) == 0 {
		return m, false
	}
	copy(m[:], fif)
	return m, true
}

// Describe renders a frame's decoded fields for the trace, e.g.
// "DCS V.17 14400 fine MMR ECM 1728".
func Describe(f Frame) string {
	name := f.FCF.String()
	switch f.FCF {
	case FCFDIS, FCFDTC:
		c, err := ParseDIS(f.FIF)
		if err != nil {
			return name + " (" + err.Error() + ")"
		}
		return name + " " + c.String()
	case FCFDCS:
		d, err := ParseDCS(f.FIF)
		if err != nil {
			return name + " (" + err.Error() + ")"
		}
		return name + " " + d.String()
	case FCFCSI, FCFTSI, FCFCIG:
		return fmt.Sprintf("%s %q", name, DecodeIdent(f.FIF))
	case FCFNSF, FCFNSS, FCFNSC:
		if len(f.FIF) > 0 {
			return fmt.Sprintf("%s country %#02x, %d octets", name, f.FIF[0], len(f.FIF))
		}
	case FCFPPS, FCFEOR:
		if p, err := ParsePPS(f.FIF); err == nil {
			return fmt.Sprintf("%s-%v page %d block %d frames %d", name, p.PostPage, p.Page, p.Block, p.Frames)
		}
		if len(f.FIF) > 0 {
			return fmt.Sprintf("%s-%v", name, FCF(f.FIF[0]&^1).base())
		}
	case FCFPPR:
		if m, ok := ParsePPR(f.FIF); ok {
			n := 0
			for _, b := range m {
				for ; b != 0; b &= b - 1 {
					n++
				}
			}
			return fmt.Sprintf("%s %d frames", name, n)
		}
	case FCFCTC:
		if d, err := ParseDCS(padFIF(f.FIF)); err == nil {
			return fmt.Sprintf("%s %v %d", name, d.Modulation, d.BitRate)
		}
	case FCFFCD:
		if len(f.FIF) > 0 {
			return fmt.Sprintf("%s #%d %d octets", name, f.FIF[0], len(f.FIF)-1)
		}
	}
	return name
}

// padFIF extends a short FIF (CTC carries only 2 DCS octets) to the 3-octet
// minimum so the DCS decoder can read it.
func padFIF(fif []byte) []byte {
	if len(fif) >= 3 {
		return fif
	}
	p := make([]byte, 3)
	copy(p, fif)
	return p
}
