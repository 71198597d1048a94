package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// DeliverArgs is the River job delivering one webhook event. Each River attempt is one HTTP
// attempt; the worker's NextRetry spaces them per the webhook policy (1, 5, 25 min), and the job's
// MaxAttempts is the policy's, so River's own retry scheduling carries the schedule across nodes and
// restarts.
type DeliverArgs struct {
	EventID string `json:"event_id"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// QueueWebhooks is the queue of webhook deliveries: many at once, since they mostly wait on the network.
const QueueWebhooks = "webhooks"

// Event is a webhook event to record and deliver.
type Event struct {
	PartnerID string
	Name      string // webhook.EventFax...
	SubjectID string // inbound fax id or outbound job id
	URL       string // partner webhookUrl, or the fax's callbackUrl
	Secret    string // partner webhookSecret, or the fax's callbackSecret
	Body      []byte // from webhook.Marshal...
}

// EnqueueEvent records ev and inserts its delivery job in tx, so the event exists if and only if the
// state change it reports commits. An event without a URL is not recorded (the partner has no
// webhook); it returns "" then.
func (p *Pipeline) EnqueueEvent(ctx context.Context, tx *store.Tx, ev Event) (string, error) {
	if ev.URL == "" {
		return "", nil
	}
	if !webhook.Known(ev.Name) {
		return "", fmt.Errorf("jobs: unknown event %q", ev.Name)
	}
	id := "evt_" + rand.Text()
	_, err := tx.Exec(ctx, `INSERT INTO webhook_events (id, partner_id, event, subject_id, url, secret, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, ev.PartnerID, ev.Name, ev.SubjectID, ev.URL, ev.Secret, string(ev.Body), p.now())
	if err != nil {
		return "", fmt.Errorf("jobs: record event: %w", err)
	}
	if err := tx.InsertJob(ctx, DeliverArgs{EventID: id}, p.deliverOpts()); err != nil {
		return "", err
	}
	return id, nil
}

func (p *Pipeline) deliverOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueWebhooks, MaxAttempts: p.policy.MaxAttempts()}
}

// Errors of Replay.
var (
	ErrEventNotFound = errors.New("jobs: no such webhook event")
	ErrEventPending  = errors.New("jobs: webhook event still being delivered")
)

// Replay delivers a delivered or failed event again (the API's replay endpoint) with a fresh retry
// schedule. The event id stays the same, so receivers that de-duplicate see a repeat. A pending event
// is refused (ErrEventPending): its own retries are still scheduled, and two delivery jobs for one
// event would race.
func (p *Pipeline) Replay(ctx context.Context, partnerID, eventID string) error {
	return p.store.WithTx(ctx, func(tx *store.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM webhook_events WHERE id = $1 AND partner_id = $2 FOR UPDATE`,
			eventID, partnerID).Scan(&status)
		if errors.Is(err, store.ErrNotFound) {
			return ErrEventNotFound
		}
		if err != nil {
			return fmt.Errorf("jobs: replay: %w", err)
		}
		if status == "pending" {
			return ErrEventPending
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_events SET status = 'pending', next_attempt_at = $2 WHERE id = $1`,
			eventID, p.now()); err != nil {
			return fmt.Errorf("jobs: replay: %w", err)
		}
		return tx.InsertJob(ctx, DeliverArgs{EventID: eventID}, p.deliverOpts())
	})
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	p   *Pipeline
	due sync.Map // job ID -> the retry time Work logged, for NextRetry to hand to River
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	p := w.p
	var ev webhook.Delivery
	var status string
	var attempts int
	var waiting bool
	// waiting: an event about the same fax recorded before this one (its fax.received, or its
	// fax.sending) is still being delivered.
	err := p.store.QueryRow(ctx, `SELECT e.url, e.secret, e.event, e.body, e.status, e.attempts,
		EXISTS (SELECT 1 FROM webhook_events r WHERE r.subject_id = e.subject_id AND r.partner_id = e.partner_id
			AND r.status = 'pending' AND r.seq < e.seq)
		FROM webhook_events e WHERE e.id = $1`,
		job.Args.EventID).Scan(&ev.URL, &ev.Secret, &ev.Event, &ev.Body, &status, &attempts, &waiting)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the partner was deleted with its events
	}
	if err != nil {
		return err
	}
	if status != "pending" {
		return nil // delivered or failed already (a duplicate job)
	}
	if waiting {
		// The seed promises "fax.received fires first; fax.extracted fires after" (and a fax.sending
		// that follows its fax.delivered would mislead too), but each event has its own job. Snoozing does not count as an attempt (River keeps
		// job.Attempt), so the 1/5/25 min schedule of this event starts only once it is sent.
		return river.JobSnooze(orderSnooze(job.Metadata))
	}
	ev.EventID, ev.Attempt = job.Args.EventID, attempts+1
	a := p.deliverer.Deliver(ctx, ev)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: not the endpoint's failure; River runs the job again
	}

	last := !a.Delivered && job.Attempt >= job.MaxAttempts
	status, next := "pending", any(nil)
	switch {
	case a.Delivered:
		status = "delivered"
	case last:
		status = "failed"
	default:
		// The retry is due a policy delay after this attempt started, by the injectable clock.
		if due, ok := p.policy.Next(job.Attempt, a.At); ok {
			next = due
			w.due.Store(job.ID, due)
		}
	}
	var code, errText, response any
	if a.StatusCode != 0 {
		code = a.StatusCode
	}
	if a.Error != "" {
		errText = a.Error
	}
	if a.Response != "" {
		response = a.Response
	}
	// The attempt number is taken under the row lock of the UPDATE, so even two runs racing on one
	// event (a River rescue) log distinct attempts.
	err = p.store.WithTx(ctx, func(tx *store.Tx) error {
		var number int
		err := tx.QueryRow(ctx, `UPDATE webhook_events SET attempts = attempts + 1, last_attempt_at = $2::timestamptz,
			status = $3::text, next_attempt_at = $4::timestamptz,
			delivered_at = CASE WHEN $3::text = 'delivered' THEN $2::timestamptz END
			WHERE id = $1 RETURNING attempts`, ev.EventID, a.At, status, next).Scan(&number)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO webhook_attempts (event_id, number, attempted_at, status_code, latency_ms, error, response)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, ev.EventID, number, a.At, code, a.Latency.Milliseconds(), errText, response)
		return err
	})
	if err != nil {
		w.due.Delete(job.ID)
		return fmt.Errorf("jobs: record delivery attempt: %w", err)
	}
	outcome := status
	if status == "pending" {
		outcome = "retry"
	}
	p.m.deliveries.WithLabelValues(ev.Event, outcome).Inc()
	p.m.latency.Observe(a.Latency.Seconds())
	if status != "pending" {
		return nil
	}
	return errors.New(a.Error) // River schedules the retry at NextRetry
}

// orderSnooze is how long an event waits before looking at the earlier one again: short at
// first (the usual case is a delivery in flight, well under the 10 s timeout), doubling per snooze up
// to a minute while the earlier one sits in its retry schedule (up to 31 min).
func orderSnooze(metadata []byte) time.Duration {
	var m struct {
		Snoozes int `json:"snoozes"` // River's count of this job's snoozes
	}
	_ = json.Unmarshal(metadata, &m) // no metadata: the first snooze
	d := orderSnoozeMin << min(max(m.Snoozes, 0), 8)
	return min(d, orderSnoozeMax)
}

const (
	orderSnoozeMin = 250 * time.Millisecond
	orderSnoozeMax = time.Minute
)

// NextRetry hands River the retry time Work logged as next_attempt_at, so the delivery log and the
// job agree. Without one (the log write failed) it follows the policy from now.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	if due, ok := w.due.LoadAndDelete(job.ID); ok {
		return due.(time.Time)
	}
	due, ok := w.p.policy.Next(job.Attempt, w.p.now())
	if !ok {
		return time.Time{} // River's default policy
	}
	return due
}

// Timeout bounds one attempt: the delivery timeout plus time to write the log.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.p.deliverer.Timeout + 30*time.Second
}

// DeliveryRecord is one event with its attempts, shaped for GET /api/partner/webhooks/deliveries.
type DeliveryRecord struct {
	EventID       string          `json:"eventId"`
	Event         string          `json:"event"`
	SubjectID     string          `json:"subjectId"` // the inbound fax id or the outbound job id
	URL           string          `json:"url"`
	Status        string          `json:"status"` // pending, delivered, failed
	CreatedAt     time.Time       `json:"createdAt"`
	NextAttemptAt *time.Time      `json:"nextAttemptAt"` // while pending
	DeliveredAt   *time.Time      `json:"deliveredAt"`
	Attempts      []AttemptRecord `json:"attempts"`
}

// AttemptRecord is one row of the delivery log.
type AttemptRecord struct {
	Number     int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"statusCode"` // null when no response arrived
	LatencyMS  int64     `json:"latencyMs"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"` // the start of the endpoint's answer
}

// DeliveryQuery selects a page of the delivery log, newest first.
type DeliveryQuery struct {
	SubjectID string // only this fax's (or job's) events, when set
	Limit     int    // 1..200; 0 means 50
}

// Deliveries reads a partner's delivery log.
func (p *Pipeline) Deliveries(ctx context.Context, partnerID string, q DeliveryQuery) ([]DeliveryRecord, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	recs := []DeliveryRecord{}
	index := map[string]int{}
	err := p.store.Query(ctx, `SELECT id, event, subject_id, url, status, created_at, next_attempt_at, delivered_at
		FROM webhook_events WHERE partner_id = $1 AND ($2 = '' OR subject_id = $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, []any{partnerID, q.SubjectID, limit}, func(r store.Row) error {
		d := DeliveryRecord{Attempts: []AttemptRecord{}}
		if err := r.Scan(&d.EventID, &d.Event, &d.SubjectID, &d.URL, &d.Status, &d.CreatedAt, &d.NextAttemptAt, &d.DeliveredAt); err != nil {
			return err
		}
		index[d.EventID] = len(recs)
		recs = append(recs, d)
		return nil
	})
	if err != nil || len(recs) == 0 {
		return recs, err
	}
	ids := make([]string, len(recs))
	for i, d := range recs {
		ids[i] = d.EventID
	}
	err = p.store.Query(ctx, `SELECT event_id, number, attempted_at, status_code, latency_ms, coalesce(error, ''),
		coalesce(response, '') FROM webhook_attempts WHERE event_id = ANY($1) ORDER BY event_id, number`,
		[]any{ids}, func(r store.Row) error {
			var id string
			var a AttemptRecord
			if err := r.Scan(&id, &a.Number, &a.At, &a.StatusCode, &a.LatencyMS, &a.Error, &a.Response); err != nil {
				return err
			}
			recs[index[id]].Attempts = append(recs[index[id]].Attempts, a)
			return nil
		})
	return recs, err
}

// OutboundEvent is an outbound status change to report (fax.sending, fax.delivered, fax.failed).
type OutboundEvent struct {
	PartnerID      string
	CallbackURL    string // the fax's callbackUrl; "" means the partner's webhookUrl
	CallbackSecret string // the fax's callbackSecret; "" means the partner's webhookSecret
	Payload        webhook.Outbound
}

// EnqueueOutbound records an outbound status callback in tx (the transaction of the status change)
// and queues its delivery. It returns "" when there is nowhere to send it.
func (p *Pipeline) EnqueueOutbound(ctx context.Context, tx *store.Tx, ev OutboundEvent) (string, error) {
	body, err := webhook.MarshalOutbound(ev.Payload)
	if err != nil {
		return "", err
	}
	url, secret := ev.CallbackURL, ev.CallbackSecret
	if url == "" || secret == "" {
		var pURL, pSecret string
		if err := tx.QueryRow(ctx, `SELECT coalesce(webhook_url, ''), coalesce(webhook_secret, '') FROM partners WHERE id = $1`,
			ev.PartnerID).Scan(&pURL, &pSecret); err != nil {
			return "", fmt.Errorf("jobs: partner webhook: %w", err)
		}
		if url == "" {
			url = pURL
		}
		if secret == "" {
			secret = pSecret
		}
	}
	return p.EnqueueEvent(ctx, tx, Event{PartnerID: ev.PartnerID, Name: ev.Payload.Event, SubjectID: ev.Payload.JobID,
		URL: url, Secret: secret, Body: body})
}
