package jobs

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFileLinks(t *testing.T) {
	l := FileLinks{Key: FileLinkKey([]byte("server secret of at least 32 bytes!!")), BaseURL: "https://fax.example.test/"}
	rx := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	u, err := url.Parse(l.URL("fax_abc", rx))
	if err != nil || u.Path != "/api/partner/inbox/fax_abc/file" || u.Host != "fax.example.test" {
		t.Fatalf("URL %v %v", u, err)
	}
	tok := u.Query().Get("token")
	for _, tt := range []struct {
		name  string
		fax   string
		token string
		at    time.Time
		want  error
	}{
		{"fresh", "fax_abc", tok, rx, nil},
		{"day 29", "fax_abc", tok, rx.Add(29 * 24 * time.Hour), nil},
		{"day 30", "fax_abc", tok, rx.Add(30 * 24 * time.Hour), ErrTokenExpired},
		{"other fax", "fax_abd", tok, rx, ErrTokenInvalid},
		{"tampered mac", "fax_abc", tok[:len(tok)-1] + flip(tok[len(tok)-1]), rx, ErrTokenInvalid},
		{"extended expiry", "fax_abc", extend(tok), rx.Add(31 * 24 * time.Hour), ErrTokenInvalid},
		{"another key", "fax_abc", FileLinks{Key: []byte("another key, also 32 bytes long!!")}.Token("fax_abc", rx.Add(time.Hour)), rx, ErrTokenInvalid},
		{"not base64", "fax_abc", "***", rx, ErrTokenInvalid},
		{"short", "fax_abc", tok[:10], rx, ErrTokenInvalid},
		{"empty", "fax_abc", "", rx, ErrTokenInvalid},
	} {
		if err := l.Verify(tt.fax, tt.token, tt.at); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := (FileLinks{Key: []byte("short")}).Verify("fax_abc", tok, rx); err == nil {
		t.Error("a short key verified")
	}
	if strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not URL-safe", tok)
	}
}

// extend moves a token's clear expiry about 36 hours later, keeping its MAC.
func extend(tok string) string {
	b, _ := base64.RawURLEncoding.DecodeString(tok)
	b[5]++ // +2^16 s per step of byte 5: about 18 h; twice is enough to pass day 31
	b[5]++
	return base64.RawURLEncoding.EncodeToString(b)
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func FuzzFileToken(f *testing.F) {
	l := FileLinks{Key: []byte("0123456789abcdef0123456789abcdef")}
	f.Add("fax_1", l.Token("fax_1", time.Unix(1800000000, 0)), int64(1700000000))
	f.Add("", "", int64(0))
	f.Fuzz(func(t *testing.T, fax, token string, now int64) {
		// Property: only tokens this key made for this fax verify, and Token always verifies before expiry.
		if l.Verify(fax, token, time.Unix(now, 0)) == nil && token != l.Token(fax, tokenExpiry(t, token)) {
			t.Fatalf("accepted a token Token did not make: %q", token)
		}
		exp := time.Unix(now, 0).Add(time.Hour)
		if err := l.Verify(fax, l.Token(fax, exp), time.Unix(now, 0)); err != nil {
			t.Fatalf("own token rejected: %v", err)
		}
	})
}

func tokenExpiry(t *testing.T, token string) time.Time {
	b, _ := base64Decode(token)
	var e int64
	for _, c := range b[:8] {
		e = e<<8 | int64(c)
	}
	return time.Unix(e, 0)
}

func base64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
