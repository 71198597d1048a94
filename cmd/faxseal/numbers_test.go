package main

import (
	"strings"
	"testing"

	"github.com/faxseal/faxseal/store"
)

func TestParseDIDs(t *testing.T) {
	dids, err := parseDIDs(strings.NewReader("\ufeffNumber, Trunk, Tier\n+14155550100,a,personal\n\n+12125550100, b ,\n+447911123456,intl,Business\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dids) != 3 || dids[0].Tier != "personal" || dids[1].Trunk != "b" || dids[1].Tier != "" || dids[2].Tier != "business" {
		t.Fatalf("parsed %+v", dids)
	}
	if dids, err := parseDIDs(strings.NewReader("trunk,number\nt,+13125550100\n")); err != nil || dids[0].Number != "+13125550100" {
		t.Fatalf("columns in another order: %v %+v", err, dids)
	}
	for name, tc := range map[string]struct{ csv, want string }{
		"empty":          {"", "empty file"},
		"no number":      {"trunk\nt\n", "no number column"},
		"no trunk":       {"number\n+14155550100\n", "no trunk column"},
		"unknown column": {"number,trunk,city\n", `unknown column "city"`},
		"duplicate col":  {"number,trunk,number\n", "appears twice"},
		"header only":    {"number,trunk\n", "no numbers"},
		"not e164":       {"number,trunk\n4155550100,t\n", "line 2"},
		"bad tier":       {"number,trunk,tier\n+14155550100,t,gold\n", `tier "gold"`},
		"empty trunk":    {"number,trunk\n+14155550100,\n", "trunk is empty"},
		"repeated":       {"number,trunk\n+14155550100,t\n+14155550100,t\n", "already on line 2"},
		"short row":      {"number,trunk\n+14155550100\n", "1 fields"},
		"bad area code":  {"number,trunk\n+19995550100,t\n", "area code 999"},
		"quotes":         {"number,trunk\n\"+1415,t\n", "quote"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseDIDs(strings.NewReader(tc.csv))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// Every problem is reported, with its line.
	_, err = parseDIDs(strings.NewReader("number,trunk\nbad,t\n+14155550100,t\nworse,t\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("want both bad lines reported: %v", err)
	}
}

// parseDIDs on any input: never a panic; what it accepts is a non-empty list of distinct E.164
// numbers with a trunk and a valid tier.
func FuzzParseDIDs(f *testing.F) {
	for _, s := range []string{
		"number,trunk,tier\n+14155550100,a,personal\n+12125550100,b,\n",
		"trunk,number\nt,+13125550100\n", "number,trunk\n", "", "number,trunk\n\"+1415,t\n",
		"number,trunk,tier\n+14155550100,t,gold\n", "\ufeffNumber,Trunk\n+16045550100,x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		dids, err := parseDIDs(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(dids) == 0 {
			t.Fatal("success with no numbers")
		}
		seen := map[string]bool{}
		for _, d := range dids {
			if !store.IsE164(d.Number) || d.Trunk == "" || seen[d.Number] ||
				(d.Tier != "" && d.Tier != "any" && !store.Tier(d.Tier).Valid()) {
				t.Fatalf("accepted %+v from %q", d, in)
			}
			seen[d.Number] = true
		}
	})
}
