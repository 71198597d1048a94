package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names sent with every delivery. HTTP header names are case-insensitive; the seed's
// verification snippet reads "x-faxseal-signature".
const (
	SignatureHeader = "X-Faxseal-Signature" // t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<rawBody>")>
	EventIDHeader   = "X-Faxseal-Event-Id"  // stable per event across retries: receivers de-duplicate on it
	EventHeader     = "X-Faxseal-Event"     // the event name, so receivers can route before parsing
	AttemptHeader   = "X-Faxseal-Attempt"   // 1 for the first delivery, 2.. for retries
)

// Errors returned by Verify.
var (
	ErrSignatureFormat   = errors.New("webhook: malformed signature header")
	ErrSignatureMismatch = errors.New("webhook: signature mismatch")
	ErrSignatureExpired  = errors.New("webhook: signature timestamp outside tolerance")
)

// Sign returns the x-faxseal-signature header value for body signed at t: "t=<unix seconds>,v1=<hex>"
// where hex is the lowercase HMAC-SHA256 of "<t>.<body>" keyed with secret (seed, "Securing your
// endpoint"). The order t then v1, and nothing else in the header, is what the seed's snippet relies
// on: it splits on the first comma and strips the "t=" and "v1=" prefixes by length.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a signature header the way a receiver should: the HMAC must match and, when
// tolerance > 0, t must be within tolerance of now (replay protection the seed's snippet leaves out).
// It is the Go counterpart of the seed's Node.js snippet, used by FaxSeal's own tests and by Go
// receivers.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	tPart, v1Part, ok := strings.Cut(header, ",")
	if !ok || !strings.HasPrefix(tPart, "t=") || !strings.HasPrefix(v1Part, "v1=") {
		return ErrSignatureFormat
	}
	ts := tPart[len("t="):]
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrSignatureFormat, ts)
	}
	got, err := hex.DecodeString(v1Part[len("v1="):])
	if err != nil {
		return fmt.Errorf("%w: v1 is not hex", ErrSignatureFormat)
	}
	want, _ := hex.DecodeString(mac(secret, ts, body))
	if !hmac.Equal(got, want) {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(unix, 0))
		if d < -tolerance || d > tolerance {
			return ErrSignatureExpired
		}
	}
	return nil
}
