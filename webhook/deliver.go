package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout is the seed's webhook delivery timeout ("Limits & best practices": 10 seconds).
const DefaultTimeout = 10 * time.Second

// Delivery is one event to one endpoint. The same EventID goes with every attempt of the event.
type Delivery struct {
	URL     string // partner webhookUrl, or the fax's callbackUrl override
	Secret  string // partner webhookSecret, or the fax's callbackSecret
	EventID string
	Event   string // one of the Event* names
	Body    []byte // the JSON payload, signed as is
	Attempt int    // 1 for the first try
}

// Attempt is the record of one delivery attempt, as the delivery log keeps it.
type Attempt struct {
	Number     int
	At         time.Time // when the attempt started, by the Deliverer's clock
	StatusCode int       // 0 when no response arrived
	Latency    time.Duration
	Delivered  bool   // a 2xx response
	Error      string // why it was not delivered; "" when delivered
	Response   string // the start of the response body, for the log (at most maxResponseLog bytes)
}

const maxResponseLog = 512

// Deliverer posts signed events. The zero value is not usable: Client must be a guarded client
// (NewGuardedClient), so that partner URLs cannot reach internal addresses.
type Deliverer struct {
	Client    *http.Client
	Now       func() time.Time // the clock for the signature timestamp and Attempt.At; nil means time.Now
	Timeout   time.Duration    // per attempt; 0 means DefaultTimeout
	UserAgent string           // "" means "FaxSeal-Webhook/1"
}

// Deliver makes one attempt: POST the body with the signature, event and event-id headers, wait at
// most the timeout, and report the outcome. A 2xx status is delivered (seed: "Respond 2xx
// quickly"); anything else, a timeout or a refused destination is an undelivered attempt, and the
// retry Policy decides what follows. Deliver does not follow the outcome with anything itself.
func (d *Deliverer) Deliver(ctx context.Context, del Delivery) Attempt {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	at := now()
	rec := Attempt{Number: del.Attempt, At: at}
	if d.Client == nil {
		rec.Error = "webhook: Deliverer has no client"
		return rec
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(del.Body))
	if err != nil {
		rec.Error = fmt.Sprintf("webhook: bad url: %v", err)
		return rec
	}
	ua := d.UserAgent
	if ua == "" {
		ua = "FaxSeal-Webhook/1"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	req.Header.Set(SignatureHeader, Sign(del.Secret, at, del.Body))
	req.Header.Set(EventIDHeader, del.EventID)
	req.Header.Set(EventHeader, del.Event)
	req.Header.Set(AttemptHeader, strconv.Itoa(del.Attempt))

	start := time.Now() // latency is a measurement, always on the monotonic clock
	resp, err := d.Client.Do(req)
	if err != nil {
		rec.Latency = time.Since(start)
		rec.Error = describe(err, ctx, timeout)
		return rec
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseLog))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	resp.Body.Close()
	rec.Latency = time.Since(start)
	rec.StatusCode = resp.StatusCode
	rec.Response = logText(head)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		rec.Delivered = true
	} else {
		rec.Error = fmt.Sprintf("webhook: endpoint answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return rec
}

// logText makes a response body fit for a text log: valid UTF-8 (a body cut at maxResponseLog may
// end inside a character, and endpoints may answer binary) and no NUL, which PostgreSQL text refuses.
func logText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}

func describe(err error, ctx context.Context, timeout time.Duration) string {
	var b *BlockedError
	switch {
	case errors.As(err, &b):
		return b.Error()
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("webhook: no response within %v", timeout)
	}
	return err.Error()
}

// Policy is the retry schedule: Delays[i] is the wait after the (i+1)-th failed attempt.
type Policy struct {
	Delays []time.Duration
}

// DefaultPolicy is the seed's schedule: retries after 1 min, 5 min and 25 min, then the delivery is
// failed. That is four attempts in all: the first plus "up to 3 retry attempts".
func DefaultPolicy() Policy {
	return Policy{Delays: []time.Duration{time.Minute, 5 * time.Minute, 25 * time.Minute}}
}

// MaxAttempts is the number of attempts before a delivery is failed.
func (p Policy) MaxAttempts() int { return len(p.Delays) + 1 }

// Next says when attempt number+1 is due, after attempt number (1-based) failed at failedAt. ok is
// false when number was the last attempt: the delivery is then failed.
func (p Policy) Next(number int, failedAt time.Time) (due time.Time, ok bool) {
	if number < 1 || number > len(p.Delays) {
		return time.Time{}, false
	}
	return failedAt.Add(p.Delays[number-1]), true
}
