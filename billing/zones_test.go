// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

package billing

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md from the rate table")

func TestCost(t *testing.T) {
	for _, tc := range []struct {
		to    string
		pages int
		cost  int64
		zone  string
		err   error
	}{
		{"+12125550001", 3, 3, "nanp", nil},   // New York
		{"+14155550123", 1, 1, "nanp", nil},   // San Francisco
		{"+16135550100", 10, 10, "nanp", nil}, // Ottawa, Canada
		{"+17875550100", 2, 2, "nanp", nil},   // Puerto Rico
		{"+18005550100", 1, 1, "nanp", nil},   // toll-free
		{"+18765550100", 2, 6, "intl-2", nil}, // Jamaica: NANP but international
		{"+18095550100", 1, 3, "intl-2", nil}, // Dominican Republic
		{"+19005550100", 1, 0, "blocked", ErrNotServed},
		{"+442071838750", 4, 8, "intl-1", nil},  // London
		{"+4930123456", 1, 2, "intl-1", nil},    // Berlin
		{"+35315550100", 1, 2, "intl-1", nil},   // Dublin: +353, not +35
		{"+35621234567", 1, 3, "intl-2", nil},   // Malta: +356 falls to Europe
		{"+420212345678", 2, 6, "intl-2", nil},  // Czechia: +42 falls to +4
		{"+5215512345678", 1, 2, "intl-1", nil}, // Mexico mobile
		{"+5511912345678", 1, 3, "intl-2", nil}, // Brazil
		{"+61212345678", 5, 10, "intl-1", nil},  // Sydney
		{"+6791234567", 1, 5, "intl-3", nil},    // Fiji
		{"+74951234567", 1, 3, "intl-2", nil},   // Moscow
		{"+81312345678", 1, 2, "intl-1", nil},   // Tokyo
		{"+861012345678", 1, 3, "intl-2", nil},  // Beijing
		{"+85212345678", 1, 2, "intl-1", nil},   // Hong Kong
		{"+911123456789", 1, 3, "intl-2", nil},  // New Delhi
		{"+97221234567", 1, 2, "intl-1", nil},   // Jerusalem
		{"+971412345678", 1, 3, "intl-2", nil},  // Dubai
		{"+27211234567", 2, 10, "intl-3", nil},  // Cape Town
		{"+2348012345678", 1, 5, "intl-3", nil}, // Nigeria
		{"+870772123456", 1, 0, "blocked", ErrNotServed},
		{"+881612345678", 1, 0, "blocked", ErrNotServed},
		{"+97912345678", 1, 0, "blocked", ErrNotServed},
		{"12125550001", 1, 0, "", ErrInvalidNumber},   // no +
		{"+1212555000", 1, 0, "", ErrInvalidNumber},   // NANP too short
		{"+121255500011", 1, 0, "", ErrInvalidNumber}, // NANP too long
		{"+11125550001", 1, 0, "", ErrInvalidNumber},  // NPA starting 1
		{"+12121550001", 1, 0, "", ErrInvalidNumber},  // NXX starting 1
		{"+0442071838750", 1, 0, "", ErrInvalidNumber},
		{"+44 20 7183 8750", 1, 0, "", ErrInvalidNumber},
		{"+1234567890123456", 1, 0, "", ErrInvalidNumber}, // 16 digits
		{"", 1, 0, "", ErrInvalidNumber},
		{"+12125550001", 0, 0, "", ErrPages},
		{"+12125550001", -1, 0, "", ErrPages},
		{"+12125550001", MaxPages + 1, 0, "", ErrPages},
	} {
		cost, zone, err := DefaultTable().Cost(tc.to, tc.pages)
		if !errors.Is(err, tc.err) || cost != tc.cost || zone.ID != tc.zone {
			t.Errorf("Cost(%q, %d) = %d, %q, %v; want %d, %q, %v", tc.to, tc.pages, cost, zone.ID, err, tc.cost, tc.zone, tc.err)
		}
		if c, err := Cost(tc.to, tc.pages); c != tc.cost || !errors.Is(err, tc.err) {
			t.Errorf("package Cost(%q, %d) = %d, %v", tc.to, tc.pages, c, err)
		}
	}
}

// Every number has a zone: for each first digit, the shortest valid number is priced or
// refused as not served, never left without a rate.
func TestEveryNumberHasAZone(t *testing.T) {
	for d := '2'; d <= '9'; d++ {
		for _, n := range []string{"+" + string(d) + "123456", "+" + string(d) + "99999999999999"} {
			p, err := DefaultTable().Lookup(n)
			if err != nil && !errors.Is(err, ErrNotServed) {
				t.Errorf("%s: %v", n, err)
			}
			if p.Zone.ID == "" {
				t.Errorf("%s: no zone", n)
			}
		}
	}
}

func TestNewRateTableRejects(t *testing.T) {
	base := func() []Prefix { return append([]Prefix(nil), DefaultPrefixes...) }
	for name, ps := range map[string][]Prefix{
		"duplicate": append(base(), Prefix{"44", ZoneIntl2, "again"}),
		"missing zone 5": func() []Prefix {
			var out []Prefix
			for _, p := range base() {
				if p.Digits != "5" {
					out = append(out, p)
				}
			}
			return out
		}(),
		"not digits":    append(base(), Prefix{"4a", ZoneIntl2, ""}),
		"leading zero":  append(base(), Prefix{"04", ZoneIntl2, ""}),
		"negative rate": append(base(), Prefix{"999", Zone{ID: "x", Rate: -1}, ""}),
		"no zone":       append(base(), Prefix{"999", Zone{}, ""}),
	} {
		if _, err := NewRateTable(ps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The documentation shows the table the code has: README.md in full, doc.go's zone list.
func TestDocumentationCurrent(t *testing.T) {
	md := DefaultTable().Markdown()
	readme := "# Dialing zones\n\nGenerated from `DefaultPrefixes` in zones.go by `go test ./billing -run Documentation -update`;\n" +
		"see the package documentation (doc.go) for why the zones are drawn as they are.\n\n" + md
	if *update {
		if err := os.WriteFile("README.md", []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("README.md")
	if err != nil || string(got) != readme {
		t.Errorf("README.md is not current (go test ./billing -run Documentation -update): %v", err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	zones := md[:strings.Index(md, "\n\n")]
	for _, line := range strings.Split(zones, "\n") {
		if !strings.Contains(string(doc), "//\t"+line+"\n") {
			t.Errorf("doc.go lacks the zone line %q", line)
		}
	}
}

// FuzzCost: any string and page count either prices at rate x pages of a served zone or fails
// with one of the package's errors; valid numbers always have a zone.
func FuzzCost(f *testing.F) {
	for _, s := range []string{"+12125550001", "+18765550100", "+442071838750", "+870772123456", "+0", "", "+1"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, to string, pages int) {
		cost, zone, err := DefaultTable().Cost(to, pages)
		switch {
		case err == nil:
			if !ValidNumber(to) || zone.Rate < 1 || cost != zone.Rate*int64(pages) {
				t.Fatalf("Cost(%q, %d) = %d, %+v", to, pages, cost, zone)
			}
		case errors.Is(err, ErrNotServed):
			if zone.Rate != 0 || zone.ID == "" {
				t.Fatalf("not served with zone %+v", zone)
			}
		case errors.Is(err, ErrInvalidNumber):
			if ValidNumber(to) {
				t.Fatalf("%q valid but refused", to)
			}
		case errors.Is(err, ErrPages):
		default:
			t.Fatalf("error %v", err)
		}
	})
}
