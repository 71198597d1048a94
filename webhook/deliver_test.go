package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeClock is the injectable clock: tests move it by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// recorded is what a receiver saw of one request.
type recorded struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP endpoint on 127.0.0.1 that answers with the next status of its script
// (the last one repeats) and records every request.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []recorded
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, recorded{r.Header.Clone(), body})
	status := rc.statuses[min(len(rc.got), len(rc.statuses))-1]
	rc.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, `{"n":`+strconv.Itoa(len(rc.got))+`}`)
}

func (rc *receiver) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.got...)
}

func devClient() *http.Client { return NewGuardedClient(GuardOptions{AllowLoopback: true}) }

// TestRetrySchedule500 drives an event through the whole schedule against an endpoint that always
// answers 500: attempts at t0, t0+1m, t0+6m, t0+31m, then failed; the same event id each time and a
// signature timestamped by the injected clock.
func TestRetrySchedule500(t *testing.T) {
	rc := &receiver{statuses: []int{500}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	t0 := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	d := &Deliverer{Client: devClient(), Now: clock.Now}
	p := DefaultPolicy()
	body := []byte(`{"event":"fax.received","faxId":"fx_9"}`)

	var attempts []Attempt
	for n := 1; ; n++ {
		a := d.Deliver(context.Background(), Delivery{URL: srv.URL, Secret: "k", EventID: "evt_9", Event: EventFaxReceived, Body: body, Attempt: n})
		attempts = append(attempts, a)
		if a.Delivered || a.StatusCode != 500 || !strings.Contains(a.Error, "500") {
			t.Fatalf("attempt %d: %+v", n, a)
		}
		next, ok := p.Next(n, a.At)
		if !ok {
			break
		}
		clock.Set(next)
	}

	wantAt := []time.Time{t0, t0.Add(time.Minute), t0.Add(6 * time.Minute), t0.Add(31 * time.Minute)}
	if len(attempts) != len(wantAt) || p.MaxAttempts() != 4 {
		t.Fatalf("%d attempts (MaxAttempts %d), want 4", len(attempts), p.MaxAttempts())
	}
	got := rc.requests()
	for i, a := range attempts {
		if !a.At.Equal(wantAt[i]) || a.Number != i+1 {
			t.Errorf("attempt %d at %v, want %v", a.Number, a.At, wantAt[i])
		}
		h := got[i].header
		if h.Get(EventIDHeader) != "evt_9" || h.Get(EventHeader) != EventFaxReceived || h.Get(AttemptHeader) != strconv.Itoa(i+1) {
			t.Errorf("request %d headers %v", i, h)
		}
		if err := Verify("k", h.Get(SignatureHeader), got[i].body, wantAt[i], time.Second); err != nil {
			t.Errorf("request %d signature: %v", i, err)
		}
		if !bytes.Equal(got[i].body, body) {
			t.Errorf("request %d body %q", i, got[i].body)
		}
	}
}

func TestRetryThenDelivered(t *testing.T) {
	rc := &receiver{statuses: []int{503, 500, 204}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	d := &Deliverer{Client: devClient()}
	for n := 1; n <= 3; n++ {
		a := d.Deliver(context.Background(), Delivery{URL: srv.URL, Secret: "k", EventID: "e", Event: EventFaxDelivered, Body: []byte(`{}`), Attempt: n})
		if want := n == 3; a.Delivered != want {
			t.Fatalf("attempt %d delivered=%v (%+v)", n, a.Delivered, a)
		}
		if n == 3 && (a.StatusCode != 204 || a.Error != "") {
			t.Fatalf("attempt 3: %+v", a)
		}
	}
}

func TestPolicyNext(t *testing.T) {
	p := DefaultPolicy()
	at := time.Unix(0, 0)
	for _, tt := range []struct {
		n    int
		want time.Duration
		ok   bool
	}{{0, 0, false}, {1, time.Minute, true}, {2, 5 * time.Minute, true}, {3, 25 * time.Minute, true}, {4, 0, false}, {5, 0, false}} {
		due, ok := p.Next(tt.n, at)
		if ok != tt.ok || (ok && due.Sub(at) != tt.want) {
			t.Errorf("Next(%d) = %v, %v; want +%v, %v", tt.n, due.Sub(at), ok, tt.want, tt.ok)
		}
	}
}

// TestDeliverTimeout: an endpoint that never answers costs one timeout, reported as such.
func TestDeliverTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	const timeout = 300 * time.Millisecond
	d := &Deliverer{Client: devClient(), Timeout: timeout}
	a := d.Deliver(context.Background(), Delivery{URL: srv.URL, Secret: "k", EventID: "e", Event: EventFaxSending, Body: []byte(`{}`), Attempt: 1})
	if a.Delivered || a.StatusCode != 0 || !strings.Contains(a.Error, "no response within 300ms") {
		t.Fatalf("%+v", a)
	}
	if a.Latency < timeout {
		t.Fatalf("latency %v shorter than the timeout", a.Latency)
	}
}

func TestDefaultTimeoutIsSeeds(t *testing.T) {
	if DefaultTimeout != 10*time.Second {
		t.Fatalf("DefaultTimeout = %v, the seed says 10 seconds", DefaultTimeout)
	}
}

// TestSeedPayloads round-trips the seed's example payloads through our types: same keys, same values.
func TestSeedPayloads(t *testing.T) {
	for _, tt := range []struct {
		file    string
		marshal func([]byte) ([]byte, error)
	}{
		{"testdata/seed-fax-extracted.json", func(b []byte) ([]byte, error) {
			var p Extracted
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			return MarshalExtracted(p)
		}},
		{"testdata/seed-fax-delivered.json", func(b []byte) ([]byte, error) {
			var p Outbound
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			p.Status = "" // derived from the event
			return MarshalOutbound(p)
		}},
	} {
		seed, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := tt.marshal(seed)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		var a, b any
		json.Unmarshal(seed, &a)
		json.Unmarshal(ours, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s:\nseed %v\nours %v", tt.file, a, b)
		}
	}
}

func TestOutboundFailed(t *testing.T) {
	ts := time.Date(2026, 4, 18, 14, 25, 0, 123, time.FixedZone("x", 3600))
	b, err := MarshalOutbound(Outbound{Event: EventFaxFailed, JobID: "j", ToNumber: "+12125550001", ExternalUserID: "u", Pages: 1, Timestamp: ts, FailureReason: FailureNoAnswer})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["status"] != "failed" || m["failureReason"] != "no-answer" || m["timestamp"] != "2026-04-18T13:25:00Z" {
		t.Fatalf("%s", b)
	}
	for _, bad := range []Outbound{
		{Event: EventFaxFailed},
		{Event: EventFaxFailed, FailureReason: "lost"},
		{Event: EventFaxDelivered, FailureReason: FailureBusy},
		{Event: EventFaxReceived},
	} {
		if _, err := MarshalOutbound(bad); err == nil {
			t.Errorf("MarshalOutbound(%+v) accepted", bad)
		}
	}
	if _, err := MarshalExtracted(Extracted{Extracted: json.RawMessage(`[1]`)}); err == nil {
		t.Error("MarshalExtracted accepted an array")
	}
}

func TestReceivedPayload(t *testing.T) {
	b, err := MarshalReceived(Received{FaxID: "f", ExternalUserID: "u", FromNumber: "+1", ToNumber: "+2", Pages: 2, FileURL: "https://x/f", OCRStatus: "failed", ReceivedAt: time.Date(2026, 4, 18, 14, 22, 0, 5, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":"fax.received","faxId":"f","externalUserId":"u","fromNumber":"+1","toNumber":"+2","pages":2,"fileUrl":"https://x/f","ocrText":"","ocrStatus":"failed","receivedAt":"2026-04-18T14:22:00Z"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	for _, e := range []string{EventFaxReceived, EventFaxExtracted, EventFaxSending, EventFaxDelivered, EventFaxFailed} {
		if !Known(e) {
			t.Errorf("Known(%q) = false", e)
		}
	}
	if Known("fax.lost") {
		t.Error("Known(fax.lost)")
	}
}

// TestResponseLogText: whatever an endpoint answers, the logged start of the body is valid UTF-8
// without NUL (it goes into a PostgreSQL text column) and at most maxResponseLog bytes.
func TestResponseLogText(t *testing.T) {
	body := append([]byte("\xff\xfe\x00ok "), bytes.Repeat([]byte("é"), maxResponseLog)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write(body)
	}))
	defer srv.Close()
	a := (&Deliverer{Client: devClient()}).Deliver(context.Background(), Delivery{URL: srv.URL, Secret: "k", EventID: "e", Event: EventFaxReceived, Body: []byte(`{}`), Attempt: 1})
	if a.StatusCode != http.StatusBadGateway || !utf8.ValidString(a.Response) || strings.ContainsRune(a.Response, 0) ||
		!strings.HasPrefix(a.Response, "\uFFFDok é") || len(a.Response) > maxResponseLog+3 {
		t.Fatalf("response log %q (%d bytes)", a.Response, len(a.Response))
	}
}
