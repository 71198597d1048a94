package send

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/store"
)

// Request is a validated send request.
type Request struct {
	PartnerID      string
	ExternalUserID string
	ToNumber       string // E.164
	CallbackURL    string // "" means the partner's webhookUrl
	CallbackSecret string // "" means the partner's webhookSecret
	PDF            []byte
	// IdempotencyKey, when set, makes Submit return the first response of the key for
	// IdempotencyWindow; Fingerprint (from Fingerprint) tells a repeat from a reuse.
	IdempotencyKey string
	Fingerprint    []byte
}

// Accepted is the 202 body, exactly the seed's fields.
type Accepted struct {
	JobID            string `json:"jobId"`
	Status           string `json:"status"`
	Pages            int    `json:"pages"`
	CreditsUsed      int64  `json:"creditsUsed"`
	CreditsRemaining int64  `json:"creditsRemaining"`
}

// Fingerprint identifies a request for Idempotency-Key: its fields and, for an upload, the
// document's digest (a fileUrl request is identified by the URL, so a repeat is answered without
// fetching it again).
func Fingerprint(toNumber, externalUserID, callbackURL, callbackSecret, fileURL string, pdf []byte) []byte {
	h := sha256.New()
	for _, f := range []string{toNumber, externalUserID, callbackURL, callbackSecret, fileURL} {
		fmt.Fprintf(h, "%d:%s\x00", len(f), f)
	}
	if fileURL == "" {
		d := sha256.Sum256(pdf)
		h.Write(d[:])
	}
	return h.Sum(nil)
}

// Replay returns the first response of an Idempotency-Key if it was used in the last
// IdempotencyWindow: the body, true; ErrIdempotencyReuse if it came with another request; nil,
// false if the key is new (or expired).
func (s *Service) Replay(ctx context.Context, partnerID, key string, fingerprint []byte) ([]byte, bool, error) {
	var fp []byte
	var body string
	err := s.st.QueryRow(ctx, `SELECT fingerprint, response FROM send_idempotency
		WHERE partner_id = $1 AND key = $2 AND created_at > $3`, partnerID, key, s.now().Add(-IdempotencyWindow)).Scan(&fp, &body)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("send: idempotency lookup: %w", err)
	}
	if !bytes.Equal(fp, fingerprint) {
		return nil, false, ErrIdempotencyReuse
	}
	return []byte(body), true, nil
}

// DeliverArgs is the River job that sends a fax: one dial attempt per run, snoozed between
// attempts for the redial policy's delay.
type DeliverArgs struct {
	FaxID string `json:"fax_id"`
	Pages int    `json:"pages"` // sizes the job's Timeout (Service.callTimeout)
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "send_deliver" }

// deliverOpts: River's own retries cover a node dying or an error writing the state (the attempt
// is then recorded as interrupted and the unconfirmed pages are sent again), not the line's
// failures, which the redial policy handles.
//
// The job is unique by its args: one delivery job per fax, so two nodes can never dial one fax at
// once (the claim would take a live call for a dead one).
func deliverOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueSend, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Submit counts the pages, prices them, and in one transaction holds the credits, stores the PDF
// and inserts the fax with its delivery job. It returns the 202 body and its exact JSON.
//
// Errors: *render.Error for a document that cannot be faxed, ErrNoNumber, ErrUndialable,
// *InsufficientError, ErrIdempotencyReuse.
func (s *Service) Submit(ctx context.Context, req Request) (Accepted, []byte, error) {
	if !store.IsE164(req.ToNumber) {
		return Accepted{}, nil, fmt.Errorf("send: %q is not an E.164 number", req.ToNumber)
	}
	info, err := render.Inspect(req.PDF, s.cfg.Limits)
	if err != nil {
		return Accepted{}, nil, err
	}
	num, err := s.st.ActiveNumber(ctx, req.PartnerID, req.ExternalUserID)
	if errors.Is(err, store.ErrNotFound) {
		return Accepted{}, nil, ErrNoNumber
	}
	if err != nil {
		return Accepted{}, nil, err
	}
	cost, err := s.cfg.Cost(req.ToNumber, info.Pages)
	if err != nil {
		return Accepted{}, nil, fmt.Errorf("%w: %w", ErrUndialable, err) // billing.ErrInvalidNumber or ErrNotServed
	}
	if cost < 0 {
		return Accepted{}, nil, fmt.Errorf("send: negative cost %d", cost)
	}
	acc := Accepted{JobID: "fax_" + rand.Text()[:20], Status: "queued", Pages: info.Pages, CreditsUsed: cost}
	var body []byte
	for attempt := 0; ; attempt++ {
		body, err = s.submitTx(ctx, req, num, info.Pages, &acc)
		if !errors.Is(err, errIdempotencyRacing) {
			break
		}
		// Another request with this key committed first: answer with its response.
		if b, ok, rerr := s.Replay(ctx, req.PartnerID, req.IdempotencyKey, req.Fingerprint); rerr != nil || ok {
			if rerr != nil {
				return Accepted{}, nil, rerr
			}
			err = json.Unmarshal(b, &acc)
			return acc, b, err
		}
		if attempt == 2 {
			return Accepted{}, nil, errors.New("send: idempotency key contended")
		}
	}
	if err != nil {
		return Accepted{}, nil, err
	}
	return acc, body, nil
}

func (s *Service) submitTx(ctx context.Context, req Request, num store.Number, pages int, acc *Accepted) ([]byte, error) {
	var body []byte
	err := s.st.WithTx(ctx, func(tx *store.Tx) error {
		fileID, err := tx.InsertFile(ctx, req.PartnerID, "application/pdf", req.PDF)
		if err != nil {
			return err
		}
		var balance int64
		if acc.CreditsUsed > 0 {
			balance, err = tx.AdjustCredits(ctx, req.PartnerID, -acc.CreditsUsed, "fax_hold", acc.JobID)
			if errors.Is(err, store.ErrInsufficientFunds) {
				var have int64
				if qerr := tx.QueryRow(ctx, `SELECT credits FROM partners WHERE id = $1`, req.PartnerID).Scan(&have); qerr != nil {
					return qerr
				}
				return &InsufficientError{Cost: acc.CreditsUsed, Balance: have}
			}
			if err != nil {
				return err
			}
		} else if err := tx.QueryRow(ctx, `SELECT credits FROM partners WHERE id = $1`, req.PartnerID).Scan(&balance); err != nil {
			return err
		}
		acc.CreditsRemaining = balance
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO outbound_faxes (id, partner_id, external_user_id, from_number, to_number,
			pages, credits_used, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $8)`,
			acc.JobID, req.PartnerID, req.ExternalUserID, num.Number, req.ToNumber, pages, acc.CreditsUsed, now); err != nil {
			return fmt.Errorf("send: insert fax: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO send_faxes (fax_id, partner_id, number_id, trunk, file_id, callback_url,
			callback_secret, rate, held) VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9)`,
			acc.JobID, req.PartnerID, num.ID, num.Trunk, fileID, req.CallbackURL, req.CallbackSecret,
			acc.CreditsUsed/int64(pages), acc.CreditsUsed); err != nil {
			return fmt.Errorf("send: insert fax: %w", err)
		}
		if err := tx.InsertJob(ctx, DeliverArgs{FaxID: acc.JobID, Pages: pages}, deliverOpts()); err != nil {
			return err
		}
		// Only the hold that crosses the threshold records a warning, not every fax sent below it.
		if balance < LowBalanceThreshold && balance+acc.CreditsUsed >= LowBalanceThreshold {
			if _, err := tx.Exec(ctx, `INSERT INTO low_balance_notifications (partner_id, balance, billing_email, reference)
				SELECT id, $2, billing_email, $3 FROM partners WHERE id = $1`, req.PartnerID, balance, acc.JobID); err != nil {
				return fmt.Errorf("send: low-balance notification: %w", err)
			}
		}
		if body, err = json.Marshal(acc); err != nil {
			return err
		}
		if req.IdempotencyKey == "" {
			return nil
		}
		// An expired use of the key gives way; a live one makes this request a repeat or a reuse.
		if _, err := tx.Exec(ctx, `DELETE FROM send_idempotency WHERE partner_id = $1 AND key = $2 AND created_at <= $3`,
			req.PartnerID, req.IdempotencyKey, now.Add(-IdempotencyWindow)); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `INSERT INTO send_idempotency (partner_id, key, fingerprint, fax_id, response, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, key) DO NOTHING`,
			req.PartnerID, req.IdempotencyKey, req.Fingerprint, acc.JobID, string(body), now)
		if err != nil {
			return fmt.Errorf("send: idempotency: %w", err)
		}
		if n == 0 {
			return errIdempotencyRacing // rolls back the hold and the fax
		}
		return nil
	})
	return body, err
}
