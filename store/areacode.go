package store

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// nanpCSV is the NANP (North American Numbering Plan, country code +1) geographic area codes of the
// United States and Canada with the main city and the state or province each serves. Columns: npa, city,
// state, country. Overlays share their parent's city.
//
//go:embed nanp_area_codes.csv
var nanpCSV string

// AreaCode is one NANP area code.
type AreaCode struct {
	NPA     string
	City    string
	State   string // USPS state or Canada Post province abbreviation
	Country string // US or CA
}

var (
	areaCodesOnce sync.Once
	areaCodes     map[string]AreaCode
	areaCodesErr  error
)

func loadAreaCodes() {
	r := csv.NewReader(strings.NewReader(nanpCSV))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		areaCodesErr = fmt.Errorf("store: area code table: %w", err)
		return
	}
	m := make(map[string]AreaCode, len(rows))
	for i, row := range rows {
		if i == 0 {
			continue // header
		}
		if len(row) != 4 {
			areaCodesErr = fmt.Errorf("store: area code table line %d: %d columns", i+1, len(row))
			return
		}
		m[row[0]] = AreaCode{NPA: row[0], City: row[1], State: row[2], Country: row[3]}
	}
	areaCodes = m
}

// LookupAreaCode returns the table entry for a three-digit NANP area code.
func LookupAreaCode(npa string) (AreaCode, bool) {
	areaCodesOnce.Do(loadAreaCodes)
	if areaCodesErr != nil {
		return AreaCode{}, false
	}
	ac, ok := areaCodes[npa]
	return ac, ok
}

// AreaCodes returns the whole table (for tests and tools).
func AreaCodes() (map[string]AreaCode, error) {
	areaCodesOnce.Do(loadAreaCodes)
	return areaCodes, areaCodesErr
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// IsE164 reports whether s is an E.164 number in +CC... form (ITU-T E.164: at most 15 digits).
func IsE164(s string) bool { return e164.MatchString(s) }

// NANPAreaCode returns the area code of a +1 number of the right length, or "".
func NANPAreaCode(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		return e164[2:5]
	}
	return ""
}

// NormalizeNumber turns the forms phone numbers arrive in (E.164, "1 (415) 555-0123", a 10-digit NANP
// number) into E.164; ok is false if it is not a phone number.
func NormalizeNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var digits strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", false
		}
	}
	d := digits.String()
	var out string
	switch {
	case plus:
		out = "+" + d
	case len(d) == 10:
		out = "+1" + d
	case len(d) == 11 && d[0] == '1':
		out = "+" + d
	default:
		out = "+" + d
	}
	return out, IsE164(out)
}
