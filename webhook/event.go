// Package webhook builds, signs and delivers the partner webhook events of the FaxSeal partner API
// (seed "Webhook events" and "Securing your endpoint"), and provides the SSRF-guarded HTTP client that
// every outbound request made on a partner's behalf must use.
//
// One delivery attempt is one call to Deliverer.Deliver; the retry schedule (Policy) says when the next
// attempt is due. Queueing the attempts (River jobs, delivery log rows) is the caller's business, so this
// package holds no goroutines, timers or state between attempts.
package webhook

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event names, exactly as the seed's event table lists them.
const (
	EventFaxReceived  = "fax.received"  // inbound: OCR complete (or failed)
	EventFaxExtracted = "fax.extracted" // inbound: AI extraction complete
	EventFaxSending   = "fax.sending"   // outbound: job accepted by carrier
	EventFaxDelivered = "fax.delivered" // outbound: carrier confirmed delivery
	EventFaxFailed    = "fax.failed"    // outbound: delivery failed after all retries
)

// Known reports whether name is one of the five events of the seed.
func Known(name string) bool {
	switch name {
	case EventFaxReceived, EventFaxExtracted, EventFaxSending, EventFaxDelivered, EventFaxFailed:
		return true
	}
	return false
}

// Received is the fax.received payload. The seed shows no body for this event; it is the
// fax.extracted payload without "extracted", plus the inbox fields a receiver needs before
// extraction finishes (toNumber, pages, ocrStatus, receivedAt). ocrStatus is "failed" when OCR
// failed: the event still goes out (issue 6), with an empty ocrText.
type Received struct {
	Event          string    `json:"event"` // always EventFaxReceived
	FaxID          string    `json:"faxId"`
	ExternalUserID string    `json:"externalUserId"`
	FromNumber     string    `json:"fromNumber"`
	ToNumber       string    `json:"toNumber"`
	Pages          int       `json:"pages"`
	FileURL        string    `json:"fileUrl"`
	OCRText        string    `json:"ocrText"`
	OCRStatus      string    `json:"ocrStatus"`
	ReceivedAt     time.Time `json:"receivedAt"`
}

// Extracted is the fax.extracted payload, field for field as the seed's example.
type Extracted struct {
	Event          string          `json:"event"` // always EventFaxExtracted
	FaxID          string          `json:"faxId"`
	ExternalUserID string          `json:"externalUserId"`
	FromNumber     string          `json:"fromNumber"`
	FileURL        string          `json:"fileUrl"`
	OCRText        string          `json:"ocrText"`
	Extracted      json.RawMessage `json:"extracted"` // a JSON object validated by package extract
}

// Outbound is the outbound status callback payload of the seed (fax.sending, fax.delivered,
// fax.failed). FailureReason is only present on fax.failed.
type Outbound struct {
	Event          string    `json:"event"`
	JobID          string    `json:"jobId"`
	Status         string    `json:"status"` // sending | delivered | failed
	ToNumber       string    `json:"toNumber"`
	ExternalUserID string    `json:"externalUserId"`
	Pages          int       `json:"pages"`
	CreditsUsed    int       `json:"creditsUsed"`
	Timestamp      time.Time `json:"timestamp"`
	FailureReason  string    `json:"failureReason,omitempty"` // busy | no-answer | failed | canceled
}

// seedTime renders times as the seed's examples do: UTC, whole seconds ("2026-04-18T14:25:00Z").
func seedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// Failure reasons of fax.failed, as the seed lists them.
const (
	FailureBusy     = "busy"
	FailureNoAnswer = "no-answer"
	FailureFailed   = "failed"
	FailureCanceled = "canceled"
)

// MarshalReceived encodes a fax.received body, setting the event name.
func MarshalReceived(p Received) ([]byte, error) {
	p.Event = EventFaxReceived
	p.ReceivedAt = seedTime(p.ReceivedAt)
	return json.Marshal(p)
}

// MarshalExtracted encodes a fax.extracted body, setting the event name. Extracted must be a JSON
// object (the seed's example is one); nil encodes as {}.
func MarshalExtracted(p Extracted) ([]byte, error) {
	p.Event = EventFaxExtracted
	if len(p.Extracted) == 0 {
		p.Extracted = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p.Extracted, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("webhook: extracted must be a JSON object")
	}
	return json.Marshal(p)
}

// MarshalOutbound encodes an outbound status callback. The event must be fax.sending,
// fax.delivered or fax.failed, and only fax.failed carries a failure reason. Status is set from the
// event (the seed pairs fax.delivered with "delivered").
func MarshalOutbound(p Outbound) ([]byte, error) {
	switch p.Event {
	case EventFaxSending, EventFaxDelivered:
		if p.FailureReason != "" {
			return nil, fmt.Errorf("webhook: %s carries no failureReason", p.Event)
		}
	case EventFaxFailed:
		switch p.FailureReason {
		case FailureBusy, FailureNoAnswer, FailureFailed, FailureCanceled:
		default:
			return nil, fmt.Errorf("webhook: fax.failed needs a failureReason (busy|no-answer|failed|canceled), got %q", p.FailureReason)
		}
	default:
		return nil, fmt.Errorf("webhook: %q is not an outbound event", p.Event)
	}
	p.Status = p.Event[len("fax."):]
	p.Timestamp = seedTime(p.Timestamp)
	return json.Marshal(p)
}
