package send

import (
	"context"
	"errors"
	"time"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// Fax is an outbound fax as GET /api/partner/fax/{jobId} shows it.
type Fax struct {
	JobID          string     `json:"jobId"`
	Status         string     `json:"status"` // queued | sending | delivered | failed
	FailureReason  string     `json:"failureReason,omitempty"`
	ToNumber       string     `json:"toNumber"`
	FromNumber     string     `json:"fromNumber"`
	ExternalUserID string     `json:"externalUserId"`
	Pages          int        `json:"pages"`
	PagesConfirmed int        `json:"pagesConfirmed"`
	CreditsUsed    int64      `json:"creditsUsed"` // held while in flight, charged once final
	CreditsHeld    int64      `json:"creditsHeld"`
	CreditsRefund  int64      `json:"creditsRefunded"`
	CancelPending  bool       `json:"cancelRequested"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	Attempts       []Attempt  `json:"attempts"`
}

// Attempt is one dial attempt with its diagnostics.
type Attempt struct {
	Number         int        `json:"attempt"`
	StartedAt      time.Time  `json:"startedAt"`
	EndedAt        *time.Time `json:"endedAt"`
	Outcome        string     `json:"outcome,omitempty"` // delivered | busy | no-answer | failed | canceled | interrupted
	FirstPage      int        `json:"firstPage"`         // 1-based page the call started with
	PagesConfirmed int        `json:"pagesConfirmed"`
	SIPStatus      *int       `json:"sipStatus"`
	SIPPhrase      string     `json:"sipPhrase,omitempty"`
	Transport      string     `json:"transport,omitempty"`
	T30            *T30Report `json:"t30"`
	Error          string     `json:"error,omitempty"`
}

// T30Report is the T.30 diagnostics of a call.
type T30Report struct {
	Code        string `json:"code"`             // t30.Code names: ok, training-failed, ...
	Detail      string `json:"detail,omitempty"` // e.g. "3 × EOP without response"
	Modulation  string `json:"modulation,omitempty"`
	BitRate     int    `json:"bitRate,omitempty"`
	ECM         bool   `json:"ecm"`
	Format      string `json:"format,omitempty"` // e.g. "MMR fine 1728 ECM"
	RemoteIdent string `json:"remoteIdent,omitempty"`
}

// Fax returns one of the partner's outbound faxes; ErrNotFound if there is none.
func (s *Service) Fax(ctx context.Context, partnerID, id string) (Fax, error) {
	var f Fax
	var reason *string
	var charged, refunded *int64
	err := s.st.QueryRow(ctx, `SELECT o.id, o.status, o.failure_reason, o.to_number, o.from_number, o.external_user_id,
		o.pages, s.confirmed, o.credits_used, s.held, s.charged, s.refunded, s.cancel_requested AND s.phase <> 'done',
		s.next_attempt_at, o.created_at, o.updated_at
		FROM outbound_faxes o JOIN send_faxes s ON s.fax_id = o.id WHERE o.id = $1 AND o.partner_id = $2`, id, partnerID).
		Scan(&f.JobID, &f.Status, &reason, &f.ToNumber, &f.FromNumber, &f.ExternalUserID, &f.Pages, &f.PagesConfirmed,
			&f.CreditsUsed, &f.CreditsHeld, &charged, &refunded, &f.CancelPending, &f.NextAttemptAt, &f.CreatedAt, &f.UpdatedAt)
	if errors.Is(err, store.ErrNotFound) {
		return Fax{}, ErrNotFound
	}
	if err != nil {
		return Fax{}, err
	}
	if reason != nil {
		f.FailureReason = *reason
	}
	if refunded != nil {
		f.CreditsRefund = *refunded
	}
	f.Attempts = []Attempt{}
	err = s.st.Query(ctx, `SELECT number, started_at, ended_at, coalesce(outcome, ''), first_page, confirmed, sip_status,
		coalesce(sip_phrase, ''), coalesce(transport, ''), t30_code, coalesce(t30_detail, ''), coalesce(modulation, ''),
		coalesce(bit_rate, 0), coalesce(ecm, false), coalesce(format, ''), coalesce(remote_ident, ''), coalesce(error, '')
		FROM send_attempts WHERE fax_id = $1 ORDER BY number`, []any{id}, func(r store.Row) error {
		var a Attempt
		var code *string
		var t T30Report
		if err := r.Scan(&a.Number, &a.StartedAt, &a.EndedAt, &a.Outcome, &a.FirstPage, &a.PagesConfirmed, &a.SIPStatus,
			&a.SIPPhrase, &a.Transport, &code, &t.Detail, &t.Modulation, &t.BitRate, &t.ECM, &t.Format, &t.RemoteIdent,
			&a.Error); err != nil {
			return err
		}
		a.FirstPage++
		if code != nil {
			t.Code = *code
			a.T30 = &t
		}
		f.Attempts = append(f.Attempts, a)
		return nil
	})
	return f, err
}

// Cancel stops a fax that is queued, waiting to redial or dialing (beyond the seed): it ends as
// failed/canceled and the unconfirmed pages are refunded. A queued or waiting fax is settled at
// once; a call being dialled is told to hang up (on whichever node places it) and Cancel waits up
// to wait for it to settle. ErrNotCancelable once T.30 is running or the fax is final.
func (s *Service) Cancel(ctx context.Context, partnerID, id string, wait time.Duration) (Fax, error) {
	err := s.st.WithTx(ctx, func(tx *store.Tx) error {
		var owner string
		if err := tx.QueryRow(ctx, `SELECT partner_id FROM outbound_faxes WHERE id = $1`, id).Scan(&owner); err != nil || owner != partnerID {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		f, err := lockFax(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		switch f.phase {
		case "queued", "waiting":
			return s.settle(ctx, tx, f, webhook.FailureCanceled)
		case "dialing":
			_, err := tx.Exec(ctx, `UPDATE send_faxes SET cancel_requested = true WHERE fax_id = $1`, id)
			return err
		}
		return ErrNotCancelable
	})
	if err != nil {
		return Fax{}, err
	}
	deadline := time.Now().Add(wait)
	for {
		f, err := s.Fax(ctx, partnerID, id)
		if err != nil || !f.CancelPending || !time.Now().Before(deadline) {
			return f, err
		}
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
