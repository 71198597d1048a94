package webhook

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestSignKnownAnswer(t *testing.T) {
	// Computed independently: printf '1700000000.{"event":"fax.received"}' | openssl dgst -sha256 -hmac whsec_test
	got := Sign("whsec_test", time.Unix(1700000000, 0), []byte(`{"event":"fax.received"}`))
	want := "t=1700000000,v1=4f1fccd05603c33d2bbff71a91b467eb461a238adc1a55bf5c7400ad66956735"
	if got != want {
		t.Fatalf("Sign = %s\nwant  %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"event":"fax.received","ocrText":"Zoë — naïve"}`)
	sig := Sign("s3cret", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", "s3cret", sig, body, now, nil},
		{"valid within tolerance", "s3cret", sig, body, now.Add(4 * time.Minute), nil},
		{"expired", "s3cret", sig, body, now.Add(6 * time.Minute), ErrSignatureExpired},
		{"future", "s3cret", sig, body, now.Add(-6 * time.Minute), ErrSignatureExpired},
		{"wrong secret", "other", sig, body, now, ErrSignatureMismatch},
		{"tampered body", "s3cret", sig, append([]byte(" "), body...), now, ErrSignatureMismatch},
		{"tampered timestamp", "s3cret", strings.Replace(sig, "t=1700000000", "t=1700000001", 1), body, now, ErrSignatureMismatch},
		{"empty", "s3cret", "", body, now, ErrSignatureFormat},
		{"no v1", "s3cret", "t=1700000000", body, now, ErrSignatureFormat},
		{"swapped", "s3cret", "v1=00,t=1700000000", body, now, ErrSignatureFormat},
		{"not hex", "s3cret", "t=1700000000,v1=zz", body, now, ErrSignatureFormat},
		{"bad time", "s3cret", "t=abc,v1=00", body, now, ErrSignatureFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("s", "t=1700000000,v1=4f1fccd05603c33d2bbff71a91b467eb461a238adc1a55bf5c7400ad66956735", []byte(`{"event":"fax.received"}`), int64(1700000000))
	f.Add("", ",", []byte{}, int64(0))
	f.Add("k", "t=-1,v1=", []byte{0xff}, int64(-1))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte, unix int64) {
		// Property 1: arbitrary headers never panic, and anything accepted re-signs to the same MAC.
		if Verify(secret, header, body, time.Unix(unix, 0), 0) == nil {
			ts, _, _ := strings.Cut(strings.TrimPrefix(header, "t="), ",")
			if !strings.EqualFold(strings.SplitN(header, ",v1=", 2)[1], mac(secret, ts, body)) {
				t.Fatalf("accepted %q, which is not the MAC of the body", header)
			}
		}
		// Property 2: what Sign produces always verifies, and never for another body.
		sig := Sign(secret, time.Unix(unix, 0), body)
		if err := Verify(secret, sig, body, time.Unix(unix, 0), time.Minute); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if Verify(secret, sig, append(body, 'x'), time.Unix(unix, 0), 0) == nil {
			t.Fatal("signature accepted for another body")
		}
	})
}

// startNodeReceiver runs testdata/verify-server.mjs (the seed's verification snippet behind a
// node:http server) with the given secret and returns its URL.
func startNodeReceiver(t *testing.T, secret string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: cannot run the seed's verification snippet")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "testdata/verify-server.mjs")
	cmd.Env = append(os.Environ(), "FAXSEAL_WEBHOOK_SECRET="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("node receiver printed no port: %v", sc.Err())
	}
	return "http://127.0.0.1:" + strings.TrimSpace(sc.Text()) + "/webhook"
}

// TestNodeSnippetAcceptsSignature proves the seed's Node.js snippet accepts FaxSeal's signature byte
// for byte, including a body with non-ASCII text and JSON escapes, and rejects a wrong secret.
func TestNodeSnippetAcceptsSignature(t *testing.T) {
	const secret = "whsec_9f2c41aa"
	url := startNodeReceiver(t, secret)
	body, err := MarshalExtracted(Extracted{
		FaxID: "fx_1", ExternalUserID: "user_42", FromNumber: "+15125551234",
		FileURL:   "https://faxseal.example/api/partner/inbox/fx_1/file?token=a&b",
		OCRText:   "PATIENT: Zoë Smith — DOB 1980-03-15 <ok> \"quoted\"\n\tline 2",
		Extracted: json.RawMessage(`{"patient_name":"Zoë Smith","medications":["Metformin 500mg"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := &Deliverer{Client: NewGuardedClient(GuardOptions{AllowLoopback: true})}

	a := d.Deliver(context.Background(), Delivery{URL: url, Secret: secret, EventID: "evt_1", Event: EventFaxExtracted, Body: body, Attempt: 1})
	if !a.Delivered || a.StatusCode != http.StatusOK {
		t.Fatalf("node snippet refused our signature: %+v", a)
	}
	var reply struct {
		OK      bool   `json:"ok"`
		Event   string `json:"event"`
		EventID string `json:"eventId"`
	}
	if err := json.Unmarshal([]byte(a.Response), &reply); err != nil || !reply.OK || reply.Event != EventFaxExtracted || reply.EventID != "evt_1" {
		t.Fatalf("receiver reply %q (%v)", a.Response, err)
	}

	a = d.Deliver(context.Background(), Delivery{URL: url, Secret: "whsec_wrong", EventID: "evt_2", Event: EventFaxExtracted, Body: body, Attempt: 1})
	if a.Delivered || a.StatusCode != http.StatusUnauthorized {
		t.Fatalf("node snippet accepted a signature made with the wrong secret: %+v", a)
	}
}

func BenchmarkSign(b *testing.B) {
	body := make([]byte, 4096) // a fax.received body with a page of OCR text
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Sign("whsec_9f2c41aa", time.Unix(1700000000, 0), body)
	}
}
