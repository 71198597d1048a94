package sip

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadNumber is returned for a user part that is not a telephone number.
var ErrBadNumber = errors.New("sip: not a telephone number")

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stripVisual removes RFC 3966 visual separators (§5.1.1: "-", ".", "(", ")") and spaces.
func stripVisual(s string) string {
	if !strings.ContainsAny(s, "-.() ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '-', '.', '(', ')', ' ':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Normalize turns the user part of a Request-URI/To/From received on this trunk into E.164 with a
// leading "+" (ITU-T E.164 §6: at most 15 digits). It understands "+CC…", "00CC…", bare
// international digits on e164 trunks, and national numbers (with or without the national
// prefix) on national trunks. A ";phone-context" or other parameters must already be removed.
func (t *Trunk) Normalize(user string) (string, error) {
	s := stripVisual(user)
	if t.TechPrefix != "" {
		s = strings.TrimPrefix(s, t.TechPrefix)
	}
	var digits string
	switch {
	case strings.HasPrefix(s, "+"):
		digits = s[1:]
	case strings.HasPrefix(s, "00"):
		digits = s[2:]
	case t.NumberFormat == NumberFormatNational:
		n := s
		if t.NationalPfx != "" && strings.HasPrefix(n, t.NationalPfx) && len(n) > len(t.NationalPfx)+6 {
			n = n[len(t.NationalPfx):]
		}
		// NANP trunks often send 1NXXNXXXXXX even in "national" mode (sip.md §5, whitesky).
		if t.CountryCode != "" && strings.HasPrefix(n, t.CountryCode) && len(n) == len(t.CountryCode)+10 && t.CountryCode == "1" {
			n = n[1:]
		}
		digits = t.CountryCode + n
	default:
		digits = s
	}
	if !allDigits(digits) || len(digits) < 3 || len(digits) > 15 {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, user)
	}
	return "+" + digits, nil
}

// Format writes an E.164 number ("+15551234567") the way this trunk wants it in an outbound
// Request-URI/To/From: unchanged for e164 trunks; for national trunks, numbers in the trunk's own
// country lose "+CC" and gain the national prefix, others stay E.164 (Telnyx: cross-border only
// E.164). The tech prefix is added by the caller for the Request-URI only.
func (t *Trunk) Format(e164 string) (string, error) {
	if !strings.HasPrefix(e164, "+") || !allDigits(e164[1:]) || len(e164) < 4 || len(e164) > 16 {
		return "", fmt.Errorf("%w: %q is not E.164", ErrBadNumber, e164)
	}
	if t.NumberFormat == NumberFormatNational && strings.HasPrefix(e164[1:], t.CountryCode) {
		return t.NationalPfx + e164[1+len(t.CountryCode):], nil
	}
	return e164, nil
}
