package api

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// decodeJSON on any body: never a panic, every failure a 4xx *Error, every success a JSON object whose
// fields all exist in the target.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"externalUserId":"user_42","areaCode":"415","tier":"personal"}`, `{}`, `[]`, `{"x":1}`, `{"areaCode":415}`,
		`{"externalUserId":"a"} {}`, `{"externalUserId":`, `null`, `"str"`, `{"tier":null}`, "\xff\xfe", `{"a":"\u0000"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/partner/numbers", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var req struct {
			ExternalUserID string `json:"externalUserId"`
			AreaCode       string `json:"areaCode"`
			Tier           string `json:"tier"`
		}
		err := DecodeJSON(httptest.NewRecorder(), r, &req)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
				t.Fatalf("body %q: error %v is not a 4xx API error", body, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &m); err != nil {
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		for k := range m {
			switch strings.ToLower(k) { // encoding/json matches field names case-insensitively
			case "externaluserid", "areacode", "tier":
			default:
				t.Fatalf("accepted unknown field %q", k)
			}
		}
	})
}

// usagePeriod on any from/to: never a panic, failures are 400s naming from or to, successes are
// ordered periods of at most a year.
func FuzzUsagePeriod(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"2026-04-01", ""}, {"", "2026-04-30"}, {"2026-04-01", "2026-04-30"},
		{"2026-04-01T00:00:00Z", "2026-04-01T23:00:00+02:00"}, {"2026-13-01", ""}, {"2026-04-10", "2026-04-01"}, {"x", "y"}} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		a, b, err := usagePeriod(from, to, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || (e.Param != "from" && e.Param != "to") {
				t.Fatalf("%q %q: %v", from, to, err)
			}
			return
		}
		if b.Before(a) || b.Sub(a) > 367*24*time.Hour {
			t.Fatalf("%q %q: period %v .. %v", from, to, a, b)
		}
	})
}
