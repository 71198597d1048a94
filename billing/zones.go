// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package billing

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/faxseal/faxseal/store"
)

// Errors callers branch on (the API maps ErrInvalidNumber to 400 and ErrNotServed to 422).
var (
	// ErrInvalidNumber reports a destination that is not an E.164 number (+ and 7 to 15 digits,
	// no leading zero), or a +1 number that is not a valid NANP number.
	ErrInvalidNumber = errors.New("billing: not an E.164 fax number")
	// ErrNotServed reports a destination in the blocked zone: satellite, international network
	// and premium-rate codes, which cost far more than any page price and are the targets of
	// toll fraud.
	ErrNotServed = errors.New("billing: destination not served")
	// ErrPages reports a page count below 1 or above MaxPages.
	ErrPages = errors.New("billing: invalid page count")
)

// MaxPages bounds the page count Cost accepts, far above what render accepts, so that rate x
// pages cannot overflow.
const MaxPages = 1 << 20

// A Zone is a dialing zone: destinations charged the same number of credits per page.
type Zone struct {
	// ID is the stable identifier stored with a fax and shown to partners ("nanp", "intl-1").
	ID string
	// Name describes the zone for people.
	Name string
	// Rate is the price in credits per page; 0 means the zone is not served (ErrNotServed).
	Rate int64
}

// The zones of the default table, cheapest first.
var (
	ZoneNANP    = Zone{ID: "nanp", Name: "North America: United States, Canada and US territories", Rate: 1}
	ZoneIntl1   = Zone{ID: "intl-1", Name: "International 1: Western Europe, Australia, New Zealand, Japan, South Korea, Singapore, Hong Kong, Israel, Mexico", Rate: 2}
	ZoneIntl2   = Zone{ID: "intl-2", Name: "International 2: the rest of Europe, Asia, the Middle East, Latin America and the Caribbean (including NANP countries outside the US and Canada)", Rate: 3}
	ZoneIntl3   = Zone{ID: "intl-3", Name: "International 3: world zone 2 (Africa) and the Pacific islands", Rate: 5}
	ZoneBlocked = Zone{ID: "blocked", Name: "Not served: satellite, international networks, premium rate", Rate: 0}
)

// A Prefix assigns the numbers starting with Digits (the country code, or a country code and
// area code for NANP, without the +) to a zone.
type Prefix struct {
	Digits  string
	Zone    Zone
	Comment string // the country or service, for the documentation
}

// DefaultPrefixes is the built-in table. The longest matching prefix decides, and every number
// matches one of the one-digit world-zone entries at least (ITU-T E.164 Annex: country codes are
// grouped by their first digit), so a new or unlisted country code gets its region's rate.
var DefaultPrefixes = []Prefix{
	// World zone 1: the North American Numbering Plan.
	{"1", ZoneNANP, "NANP: United States, Canada, Puerto Rico, US Virgin Islands, Guam, Northern Mariana Islands, American Samoa"},
	{"1900", ZoneBlocked, "NANP premium rate (900)"},
	{"1242", ZoneIntl2, "Bahamas"}, {"1246", ZoneIntl2, "Barbados"}, {"1264", ZoneIntl2, "Anguilla"},
	{"1268", ZoneIntl2, "Antigua and Barbuda"}, {"1284", ZoneIntl2, "British Virgin Islands"},
	{"1345", ZoneIntl2, "Cayman Islands"}, {"1441", ZoneIntl2, "Bermuda"}, {"1473", ZoneIntl2, "Grenada"},
	{"1649", ZoneIntl2, "Turks and Caicos Islands"}, {"1658", ZoneIntl2, "Jamaica"}, {"1876", ZoneIntl2, "Jamaica"},
	{"1664", ZoneIntl2, "Montserrat"}, {"1721", ZoneIntl2, "Sint Maarten"}, {"1758", ZoneIntl2, "Saint Lucia"},
	{"1767", ZoneIntl2, "Dominica"}, {"1784", ZoneIntl2, "Saint Vincent and the Grenadines"},
	{"1809", ZoneIntl2, "Dominican Republic"}, {"1829", ZoneIntl2, "Dominican Republic"}, {"1849", ZoneIntl2, "Dominican Republic"},
	{"1868", ZoneIntl2, "Trinidad and Tobago"}, {"1869", ZoneIntl2, "Saint Kitts and Nevis"},

	// World zone 2: Africa (and a few Atlantic islands).
	{"2", ZoneIntl3, "Africa; also Aruba, Faroe Islands, Greenland, Saint Helena (29x)"},

	// World zones 3 and 4: Europe.
	{"3", ZoneIntl2, "Europe"}, {"4", ZoneIntl2, "Europe"},
	{"30", ZoneIntl1, "Greece"}, {"31", ZoneIntl1, "Netherlands"}, {"32", ZoneIntl1, "Belgium"},
	{"33", ZoneIntl1, "France"}, {"34", ZoneIntl1, "Spain"}, {"351", ZoneIntl1, "Portugal"},
	{"352", ZoneIntl1, "Luxembourg"}, {"353", ZoneIntl1, "Ireland"}, {"354", ZoneIntl1, "Iceland"},
	{"358", ZoneIntl1, "Finland"}, {"39", ZoneIntl1, "Italy"}, {"41", ZoneIntl1, "Switzerland"},
	{"43", ZoneIntl1, "Austria"}, {"44", ZoneIntl1, "United Kingdom"}, {"45", ZoneIntl1, "Denmark"},
	{"46", ZoneIntl1, "Sweden"}, {"47", ZoneIntl1, "Norway"}, {"49", ZoneIntl1, "Germany"},

	// World zone 5: Mexico, Central and South America.
	{"5", ZoneIntl2, "Latin America"}, {"52", ZoneIntl1, "Mexico"},

	// World zone 6: South-East Asia and Oceania.
	{"6", ZoneIntl2, "South-East Asia and Oceania"},
	{"61", ZoneIntl1, "Australia"}, {"64", ZoneIntl1, "New Zealand"}, {"65", ZoneIntl1, "Singapore"},
	{"67", ZoneIntl3, "Timor-Leste, Brunei, Pacific islands (670-679)"}, {"68", ZoneIntl3, "Pacific islands (680-689)"},
	{"69", ZoneIntl3, "Pacific islands (690-692)"},

	// World zone 7: Russia and Kazakhstan.
	{"7", ZoneIntl2, "Russia, Kazakhstan"},

	// World zone 8: East Asia and international services.
	{"8", ZoneIntl2, "East Asia"},
	{"81", ZoneIntl1, "Japan"}, {"82", ZoneIntl1, "South Korea"}, {"852", ZoneIntl1, "Hong Kong"},
	{"800", ZoneBlocked, "International freephone (UIFN)"}, {"808", ZoneBlocked, "International shared cost"},
	{"870", ZoneBlocked, "Inmarsat"}, {"878", ZoneBlocked, "Universal personal telecommunications"},
	{"881", ZoneBlocked, "Global mobile satellite"}, {"882", ZoneBlocked, "International networks"},
	{"883", ZoneBlocked, "International networks"}, {"888", ZoneBlocked, "OCHA"},

	// World zone 9: West, Central and South Asia, the Middle East.
	{"9", ZoneIntl2, "Asia and the Middle East"}, {"972", ZoneIntl1, "Israel"},
	{"979", ZoneBlocked, "International premium rate"}, {"991", ZoneBlocked, "International telecommunications public correspondence service trial"},
}

// A RateTable finds the zone of a number by the longest matching prefix.
type RateTable struct {
	byPrefix map[string]Prefix
	longest  int
}

// NewRateTable builds a table from prefixes. Every one-digit prefix 1-9 must be present, so that
// every E.164 number has a zone, and no prefix may appear twice.
func NewRateTable(prefixes []Prefix) (*RateTable, error) {
	t := &RateTable{byPrefix: make(map[string]Prefix, len(prefixes))}
	for _, p := range prefixes {
		if p.Digits == "" || strings.Trim(p.Digits, "0123456789") != "" || p.Digits[0] == '0' || len(p.Digits) > 7 {
			return nil, fmt.Errorf("billing: prefix %q: want 1-7 digits, no leading zero", p.Digits)
		}
		if p.Zone.ID == "" || p.Zone.Rate < 0 {
			return nil, fmt.Errorf("billing: prefix %s: zone %+v", p.Digits, p.Zone)
		}
		if _, dup := t.byPrefix[p.Digits]; dup {
			return nil, fmt.Errorf("billing: prefix %s listed twice", p.Digits)
		}
		t.byPrefix[p.Digits] = p
		t.longest = max(t.longest, len(p.Digits))
	}
	for d := '1'; d <= '9'; d++ {
		if _, ok := t.byPrefix[string(d)]; !ok {
			return nil, fmt.Errorf("billing: no prefix %c: numbers of world zone %c would have no rate", d, d)
		}
	}
	return t, nil
}

// defaultTable is built from DefaultPrefixes at start; a bad built-in table is a bug.
var defaultTable = func() *RateTable {
	t, err := NewRateTable(DefaultPrefixes)
	if err != nil {
		panic(err)
	}
	return t
}()

// DefaultTable returns the built-in table.
func DefaultTable() *RateTable { return defaultTable }

// ValidNumber reports whether to is a dialable E.164 number: store.IsE164 (+, 7 to 15 digits, no
// leading zero), and for +1 the NANP form +1 NPA NXX XXXX with NPA and NXX starting 2-9.
func ValidNumber(to string) bool {
	if !store.IsE164(to) {
		return false
	}
	if strings.HasPrefix(to, "+1") {
		return len(to) == 12 && to[2] >= '2' && to[5] >= '2'
	}
	return true
}

// Lookup returns the zone and the matching prefix of an E.164 number. A number in the blocked
// zone is returned with its zone and ErrNotServed.
func (t *RateTable) Lookup(to string) (Prefix, error) {
	if !ValidNumber(to) {
		return Prefix{}, fmt.Errorf("%w: %q", ErrInvalidNumber, to)
	}
	digits := to[1:]
	for n := min(t.longest, len(digits)); n > 0; n-- {
		if p, ok := t.byPrefix[digits[:n]]; ok {
			if p.Zone.Rate == 0 {
				return p, fmt.Errorf("%w: %s (+%s, %s)", ErrNotServed, to, p.Digits, p.Comment)
			}
			return p, nil
		}
	}
	// Unreachable with a table NewRateTable accepted: every first digit has a prefix.
	return Prefix{}, fmt.Errorf("%w: %q has no zone", ErrNotServed, to)
}

// Cost returns the credits a fax of pages pages to to costs, rate x pages, and its zone.
func (t *RateTable) Cost(to string, pages int) (int64, Zone, error) {
	if pages < 1 || pages > MaxPages {
		return 0, Zone{}, fmt.Errorf("%w: %d", ErrPages, pages)
	}
	p, err := t.Lookup(to)
	if err != nil {
		return 0, p.Zone, err
	}
	return p.Zone.Rate * int64(pages), p.Zone, nil
}

// Cost is DefaultTable().Cost without the zone: the credits a fax of pages pages to the E.164
// number to costs.
func Cost(to string, pages int) (int64, error) {
	c, _, err := defaultTable.Cost(to, pages)
	return c, err
}

// Markdown renders the table as the Markdown of the package documentation: one table of the
// zones and their rates, one of the prefixes that are not the one-digit defaults.
func (t *RateTable) Markdown() string {
	zones := map[string]Zone{}
	var rows []Prefix
	for _, p := range t.byPrefix {
		zones[p.Zone.ID] = p.Zone
		rows = append(rows, p)
	}
	zs := make([]Zone, 0, len(zones))
	for _, z := range zones {
		zs = append(zs, z)
	}
	sort.Slice(zs, func(i, j int) bool {
		ri, rj := zs[i].Rate, zs[j].Rate
		if ri == 0 || rj == 0 { // not served last
			return ri != 0
		}
		return ri < rj || ri == rj && zs[i].ID < zs[j].ID
	})
	var b strings.Builder
	b.WriteString("| zone | credits per page | destinations |\n|---|---|---|\n")
	for _, z := range zs {
		rate := fmt.Sprint(z.Rate)
		if z.Rate == 0 {
			rate = "not served"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", z.ID, rate, z.Name)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Digits < rows[j].Digits })
	b.WriteString("\n| prefix | zone | destination |\n|---|---|---|\n")
	for _, p := range rows {
		fmt.Fprintf(&b, "| +%s | `%s` | %s |\n", p.Digits, p.Zone.ID, p.Comment)
	}
	return b.String()
}
