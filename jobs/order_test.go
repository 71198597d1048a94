package jobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// orderedReceiver is a webhook endpoint that logs which event entered first, holds fax.received for
// slow before answering it, and answers every request status().
type orderedReceiver struct {
	srv    *httptest.Server
	slow   time.Duration
	hits   chan hit
	mu     sync.Mutex
	status int
	log    []string // "enter <event>" and "leave <event>", in the order they happened
}

func newOrderedReceiver(t *testing.T, status int, slow time.Duration) *orderedReceiver {
	r := &orderedReceiver{hits: make(chan hit, 64), status: status, slow: slow}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		event := req.Header.Get(webhook.EventHeader)
		r.record("enter " + event)
		if event == webhook.EventFaxReceived {
			time.Sleep(r.slow)
		}
		r.mu.Lock()
		status := r.status
		r.mu.Unlock()
		r.record("leave " + event)
		w.WriteHeader(status)
		r.hits <- hit{req.Header.Clone(), b}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *orderedReceiver) record(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }

func (r *orderedReceiver) entries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func (r *orderedReceiver) next(t *testing.T, event string, attempt int) {
	t.Helper()
	select {
	case h := <-r.hits:
		if h.header.Get(webhook.EventHeader) != event || h.header.Get(webhook.AttemptHeader) != fmt.Sprint(attempt) {
			t.Fatalf("got %s attempt %s, want %s attempt %d (log %v)", h.header.Get(webhook.EventHeader),
				h.header.Get(webhook.AttemptHeader), event, attempt, r.entries())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no %s within 60 s", event)
	}
}

// enqueuePair records a fax's fax.received and fax.extracted in one transaction, the way the OCR
// and extraction workers can leave them: both delivery jobs ready at once.
func enqueuePair(t *testing.T, b *bundle, partnerID, faxID, url string) (received, extracted string) {
	t.Helper()
	ctx := context.Background()
	err := b.st.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if received, err = b.pipe.EnqueueEvent(ctx, tx, Event{PartnerID: partnerID, Name: webhook.EventFaxReceived, SubjectID: faxID,
			URL: url, Secret: secret, Body: []byte(`{"event":"fax.received"}`)}); err != nil {
			return err
		}
		extracted, err = b.pipe.EnqueueEvent(ctx, tx, Event{PartnerID: partnerID, Name: webhook.EventFaxExtracted, SubjectID: faxID,
			URL: url, Secret: secret, Body: []byte(`{"event":"fax.extracted"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return received, extracted
}

// TestExtractedAfterReceived forces the race the seed rules out ("fax.received fires first;
// fax.extracted fires after"): both deliveries are ready together and the endpoint is slow to take
// fax.received, so without ordering fax.extracted would arrive first.
func TestExtractedAfterReceived(t *testing.T) {
	b := setup(t, time.Now().UTC(), nil)
	rcv := newOrderedReceiver(t, http.StatusOK, 1500*time.Millisecond)
	p := b.partner(t, "+13125550100", rcv.srv.URL, nil)
	enqueuePair(t, b, p.ID, "fax_slow", rcv.srv.URL)

	rcv.next(t, webhook.EventFaxReceived, 1)
	rcv.next(t, webhook.EventFaxExtracted, 1)
	want := []string{"enter fax.received", "leave fax.received", "enter fax.extracted", "leave fax.extracted"}
	if got := rcv.entries(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("arrival order %v, want %v", got, want)
	}

	// Another fax's events are not held back by this one's: with no fax.received of its own pending,
	// a fax.extracted goes at once.
	err := b.st.WithTx(context.Background(), func(tx *store.Tx) error {
		_, err := b.pipe.EnqueueEvent(context.Background(), tx, Event{PartnerID: p.ID, Name: webhook.EventFaxExtracted,
			SubjectID: "fax_other", URL: rcv.srv.URL, Secret: secret, Body: []byte(`{"event":"fax.extracted"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rcv.next(t, webhook.EventFaxExtracted, 1)
}

// TestExtractedWaitsForFailedReceived: while fax.received goes through its whole retry schedule (+1,
// +5, +25 min of the injected clock) fax.extracted is held; once fax.received is finally failed,
// fax.extracted goes as its own attempt 1 and starts its own schedule at +1 min — the snoozes spent
// waiting are not attempts.
func TestExtractedWaitsForFailedReceived(t *testing.T) {
	// The clock runs ahead of River's real one, so River holds each retry until the test moves it.
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	b := setup(t, t0, nil)
	rcv := newOrderedReceiver(t, http.StatusInternalServerError, 0)
	p := b.partner(t, "+13125550101", rcv.srv.URL, nil)
	ctx := context.Background()
	_, extracted := enqueuePair(t, b, p.ID, "fax_down", rcv.srv.URL)

	at := t0
	for n, delay := range []time.Duration{time.Minute, 5 * time.Minute, 25 * time.Minute, 0} {
		rcv.next(t, webhook.EventFaxReceived, n+1)
		ev := b.waitJob(t, DeliverArgs{}.Kind())
		if delay == 0 {
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("last attempt: job %s, want completed (event failed)", ev.Kind)
			}
			break
		}
		if ev.Kind != river.EventKindJobFailed || !ev.Job.ScheduledAt.Equal(at.Add(delay)) {
			t.Fatalf("attempt %d: job %s, next at %v, want %v", n+1, ev.Kind, ev.Job.ScheduledAt, at.Add(delay))
		}
		if n == 0 {
			// Held across several of its snoozes while fax.received waits for its retry.
			select {
			case h := <-rcv.hits:
				t.Fatalf("%s delivered while fax.received is pending", h.header.Get(webhook.EventHeader))
			case <-time.After(time.Second):
			}
		}
		at = at.Add(delay)
		b.clock.Set(at)
		if _, err := b.client.JobRetry(ctx, ev.Job.ID); err != nil {
			t.Fatal(err)
		}
	}

	rcv.next(t, webhook.EventFaxExtracted, 1)
	ev := b.waitJob(t, DeliverArgs{}.Kind())
	if ev.Kind != river.EventKindJobFailed || ev.Job.Attempt != 1 || !ev.Job.ScheduledAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("fax.extracted job %s attempt %d next at %v, want failed attempt 1 next at %v",
			ev.Kind, ev.Job.Attempt, ev.Job.ScheduledAt, at.Add(time.Minute))
	}
	var status string
	var attempts int
	if err := b.st.QueryRow(ctx, `SELECT status, attempts FROM webhook_events WHERE id = $1`, extracted).Scan(&status, &attempts); err != nil ||
		status != "pending" || attempts != 1 {
		t.Fatalf("fax.extracted log: %s, %d attempts (%v)", status, attempts, err)
	}
}

func TestOrderSnooze(t *testing.T) {
	for _, c := range []struct {
		meta string
		want time.Duration
	}{
		{``, orderSnoozeMin},
		{`{}`, orderSnoozeMin},
		{`{"snoozes":1}`, 2 * orderSnoozeMin},
		{`{"snoozes":3}`, 8 * orderSnoozeMin},
		{`{"snoozes":-4}`, orderSnoozeMin},
		{`{"snoozes":400}`, orderSnoozeMax},
	} {
		if got := orderSnooze([]byte(c.meta)); got != c.want {
			t.Errorf("orderSnooze(%s) = %v, want %v", c.meta, got, c.want)
		}
	}
}
