package send

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Timeout: one attempt is bounded by CallTimeout; the margin covers rendering and the state writes.
// River's rescuer also waits this long before it hands the job of a dead node to another (it
// rescues a running job only after both RescueStuckJobsAfter and this timeout), so a call still in
// progress is never placed twice.
func (w *deliverWorker) Timeout(job *river.Job[DeliverArgs]) time.Duration {
	d := w.s.callTimeout(job.Args.Pages)
	return d + min(5*time.Minute, d)
}

// fax is the row state the worker and Cancel act on, read under the row lock.
type fax struct {
	id, partnerID, userID string
	from, to, trunk       string
	fileID                string
	callbackURL, cbSecret string
	pages, confirmed      int
	held                  int64
	attempts              int
	phase, status         string
	cancelRequested, sent bool
	nextAttempt           *time.Time
}

func lockFax(ctx context.Context, tx *store.Tx, id string) (fax, error) {
	var f fax
	err := tx.QueryRow(ctx, `SELECT s.fax_id, s.partner_id, o.external_user_id, o.from_number, o.to_number, s.trunk,
		s.file_id, coalesce(s.callback_url, ''), coalesce(s.callback_secret, ''), o.pages, s.confirmed, s.held,
		s.attempts, s.phase, o.status, s.cancel_requested, s.sending_sent, s.next_attempt_at
		FROM send_faxes s JOIN outbound_faxes o ON o.id = s.fax_id WHERE s.fax_id = $1 FOR UPDATE OF s, o`, id).
		Scan(&f.id, &f.partnerID, &f.userID, &f.from, &f.to, &f.trunk, &f.fileID, &f.callbackURL, &f.cbSecret,
			&f.pages, &f.confirmed, &f.held, &f.attempts, &f.phase, &f.status, &f.cancelRequested, &f.sent, &f.nextAttempt)
	return f, err
}

// errCanceledByPartner is the cause of the call context when DELETE asked for the fax to stop.
var errCanceledByPartner = errors.New("send: canceled by the partner")

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) (err error) {
	defer func() {
		var snooze *rivertype.JobSnoozeError
		if err != nil && job.Attempt >= job.MaxAttempts && !errors.As(err, &snooze) {
			// River will not run this job again: end the fax rather than leave its credits held.
			if gerr := w.s.giveUp(context.WithoutCancel(ctx), job.Args.FaxID, err); gerr != nil {
				w.s.log.Error("send: could not fail the fax after its last attempt", "fax", job.Args.FaxID, "err", gerr)
			}
		}
	}()
	return w.work(ctx, job)
}

// giveUp fails a fax whose job has run out of River attempts: the open attempt is closed, the
// confirmed pages are charged and the rest refunded.
func (s *Service) giveUp(ctx context.Context, id string, cause error) error {
	return s.st.WithTx(ctx, func(tx *store.Tx) error {
		f, err := lockFax(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || f.phase == "done" {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE send_attempts SET ended_at = $2, outcome = 'failed', error = $3
			WHERE fax_id = $1 AND ended_at IS NULL`, f.id, s.now(), cause.Error()); err != nil {
			return err
		}
		return s.settle(ctx, tx, f, webhook.FailureFailed)
	})
}

func (w *deliverWorker) work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	var f fax
	var attempt int
	var snooze time.Duration
	proceed := false
	err := s.st.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		f, err = lockFax(ctx, tx, job.Args.FaxID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted with its partner
		}
		if err != nil {
			return err
		}
		if f.phase == "done" {
			return nil // settled already: a duplicate or re-run job
		}
		now := s.now()
		// A call left open means the run that placed it died (node crash, kill): its outcome is
		// unknown beyond the confirmations already written, which stand.
		n, err := tx.Exec(ctx, `UPDATE send_attempts SET ended_at = $2, outcome = 'interrupted',
			error = 'the node running the call stopped before it ended' WHERE fax_id = $1 AND ended_at IS NULL`, f.id, now)
		if err != nil {
			return err
		}
		switch {
		case f.cancelRequested:
			return s.settle(ctx, tx, f, webhook.FailureCanceled)
		case f.confirmed >= f.pages:
			return s.settle(ctx, tx, f, "") // the interrupted call had confirmed every page
		case n > 0 && f.attempts >= s.cfg.Policy.MaxAttempts:
			return s.settle(ctx, tx, f, webhook.FailureFailed)
		case f.phase == "waiting" && f.nextAttempt != nil && f.nextAttempt.After(now.Add(time.Second)):
			snooze = f.nextAttempt.Sub(now) // an early copy of a redial job
			return nil
		}
		attempt = f.attempts + 1
		if _, err := tx.Exec(ctx, `UPDATE send_faxes SET phase = 'dialing', attempts = $2, next_attempt_at = NULL
			WHERE fax_id = $1`, f.id, attempt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO send_attempts (fax_id, number, started_at, first_page) VALUES ($1, $2, $3, $4)`,
			f.id, attempt, now, f.confirmed); err != nil {
			return err
		}
		proceed = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("send: claim %s: %w", job.Args.FaxID, err)
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	if !proceed {
		return nil
	}
	res, err := w.call(ctx, f, attempt)
	if ctx.Err() != nil {
		// Shutting down or timed out: leave the attempt open, so the next run records it as
		// interrupted and resends the unconfirmed pages.
		return ctx.Err()
	}
	var rerr *render.Error
	if err != nil && !errors.As(err, &rerr) {
		return err // the database or the file store: River runs the job again
	}
	// A document the rasteriser cannot render fails the fax (and refunds it): another call would
	// not change that.
	redial, err := s.finish(context.WithoutCancel(ctx), f, attempt, res, err)
	if err != nil {
		return fmt.Errorf("send: record attempt %d of %s: %w", attempt, f.id, err)
	}
	if redial > 0 {
		return river.JobSnooze(redial)
	}
	return nil
}

// call renders the document and dials, writing progress as it comes.
func (w *deliverWorker) call(ctx context.Context, f fax, attempt int) (Result, error) {
	s := w.s
	file, err := s.st.File(ctx, f.fileID)
	if err != nil {
		return Result{}, err
	}
	if file.Data == nil {
		return Result{}, &render.Error{Code: render.CodeFailed, Message: "the document was purged before it could be sent"}
	}
	hdr := &render.Header{Time: s.now(), From: f.from, Name: s.cfg.SenderName, To: f.to}
	doc, err := render.Render(ctx, file.Data, render.Options{Header: hdr, Limits: s.cfg.Limits, Pdftoppm: s.cfg.Pdftoppm})
	if err != nil {
		return Result{}, err
	}
	if doc.Pages() != f.pages {
		return Result{}, &render.Error{Code: render.CodeFailed, Message: fmt.Sprintf("rendered %d pages, %d were billed", doc.Pages(), f.pages)}
	}

	pages := make([]*g3.Page, 0, f.pages-f.confirmed)
	for n := f.confirmed; n < f.pages; n++ {
		p, err := doc.Page(n) // with the header of page n+1 of f.pages
		if err != nil {
			return Result{}, &render.Error{Code: render.CodeFailed, Page: n + 1, Message: err.Error()}
		}
		pages = append(pages, p)
	}
	audioOnly, err := s.audioOnlyAfter(ctx, f.id, attempt) // G.711 after T.38 trouble (dialer.go)
	if err != nil {
		return Result{}, err
	}
	if audioOnly {
		s.log.Info("send: redialling audio-only after T.38 trouble", "fax", f.id, "attempt", attempt)
	}

	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	callCtx, cancelT := context.WithTimeout(callCtx, s.callTimeout(f.pages))
	defer cancelT()

	// Progress: queued by the dialer without blocking, written here in order.
	events := make(chan Progress, 2*f.pages+8)
	drained := make(chan struct{})
	wctx := context.WithoutCancel(ctx)
	go func() {
		defer close(drained)
		for ev := range events {
			if err := s.progress(wctx, f, attempt, ev); err != nil {
				s.log.Error("send: progress not recorded", "fax", f.id, "event", ev.Kind, "err", err)
			}
		}
	}()
	// Cancel requests may arrive at any node: poll the row while the call runs.
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		t := time.NewTicker(s.cfg.CancelPoll)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-callCtx.Done():
				return
			case <-t.C:
				var req bool
				if err := s.st.QueryRow(wctx, `SELECT cancel_requested FROM send_faxes WHERE fax_id = $1`, f.id).Scan(&req); err == nil && req {
					cancel(errCanceledByPartner)
					return
				}
			}
		}
	}()
	var mu sync.Mutex // guards closed: a late Progress from the dialer is dropped, not a panic
	closed := false
	res := s.cfg.Dialer.Dial(callCtx, Call{
		FaxID: f.id, Trunk: f.trunk, To: f.to, CallerID: f.from,
		Pages: pages, AudioOnly: audioOnly,
		Progress: func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			if closed {
				return
			}
			select {
			case events <- p:
			default: // full: Result.Confirmed still carries the count
			}
		},
	})
	mu.Lock()
	closed = true
	mu.Unlock()
	close(stopPoll)
	<-polled
	close(events)
	<-drained
	if errors.Is(context.Cause(callCtx), errCanceledByPartner) {
		res.Outcome = OutcomeCanceled
	}
	return res, nil
}

// progress records one call event.
func (s *Service) progress(ctx context.Context, f fax, attempt int, ev Progress) error {
	switch ev.Kind {
	case ProgressPageConfirmed:
		page := f.confirmed + ev.Page + 1 // pages of the fax confirmed up to this one
		if _, err := s.st.Exec(ctx, `UPDATE send_faxes SET confirmed = greatest(confirmed, least($2::int, $3::int)) WHERE fax_id = $1`,
			f.id, page, f.pages); err != nil {
			return err
		}
		_, err := s.st.Exec(ctx, `UPDATE send_attempts SET confirmed = greatest(confirmed, $3) WHERE fax_id = $1 AND number = $2`,
			f.id, attempt, ev.Page+1)
		return err
	case ProgressAnswered:
		return s.st.WithTx(ctx, func(tx *store.Tx) error {
			cur, err := lockFax(ctx, tx, f.id)
			if err != nil || cur.phase != "dialing" {
				return err // settled or canceled meanwhile
			}
			if _, err := tx.Exec(ctx, `UPDATE send_faxes SET phase = 'sending', sending_sent = true WHERE fax_id = $1`, f.id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE outbound_faxes SET status = 'sending', updated_at = $2 WHERE id = $1`, f.id, s.now()); err != nil {
				return err
			}
			if cur.sent {
				return nil // fax.sending went out on an earlier attempt
			}
			return s.event(ctx, tx, cur, webhook.EventFaxSending, "", cur.held)
		})
	}
	return nil
}

// finish records the attempt's end and either schedules the redial or settles.
// The redial is the same River job snoozed for the policy's delay (River does not count a snooze
// as a job attempt); it returns the delay, 0 when the fax was settled.
func (s *Service) finish(ctx context.Context, f0 fax, attempt int, res Result, callErr error) (time.Duration, error) {
	var redial time.Duration
	err := s.st.WithTx(ctx, func(tx *store.Tx) error {
		f, err := lockFax(ctx, tx, f0.id)
		if err != nil {
			return err
		}
		outcome := res.Outcome
		if callErr != nil {
			outcome = OutcomeFailed
			res.Err = callErr
		}
		if outcome == OutcomeInvalid {
			outcome = OutcomeFailed
		}
		confirmed := min(f.pages, max(f.confirmed, f0.confirmed+res.Confirmed))
		var t30Code, t30Detail, modulation, format, ident, errText any
		var bitRate, ecm any
		if r := res.T30; r != nil {
			t30Code, t30Detail, ident = r.Code.String(), nullable(r.Detail), nullable(r.RemoteIdent)
			if r.BitRate > 0 {
				modulation, bitRate, ecm, format = r.Modulation.String(), r.BitRate, r.ECM, r.Format.String()
			}
		}
		if res.Err != nil {
			errText = res.Err.Error()
		}
		var sipStatus any
		if res.SIPStatus != 0 {
			sipStatus = res.SIPStatus
		}
		if _, err := tx.Exec(ctx, `UPDATE send_attempts SET ended_at = $3, outcome = $4, confirmed = greatest(confirmed, $5),
			sip_status = $6, sip_phrase = $7, transport = $8, t30_code = $9, t30_detail = $10, modulation = $11,
			bit_rate = $12, ecm = $13, format = $14, remote_ident = $15, error = $16
			WHERE fax_id = $1 AND number = $2`, f.id, attempt, s.now(), outcome.String(), confirmed-f0.confirmed,
			sipStatus, nullable(res.SIPPhrase), nullable(res.Transport), t30Code, t30Detail, modulation, bitRate, ecm,
			format, ident, errText); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE send_faxes SET confirmed = $2 WHERE fax_id = $1`, f.id, confirmed); err != nil {
			return err
		}
		f.confirmed = confirmed
		s.log.Info("send: attempt ended", "fax", f.id, "attempt", attempt, "outcome", outcome.String(),
			"confirmed", confirmed, "pages", f.pages, "sip_status", res.SIPStatus, "transport", res.Transport, "err", errText)
		if f.phase == "done" {
			return nil
		}
		switch {
		case confirmed >= f.pages:
			// Every page confirmed is a delivered fax, even if the call then ended badly (a lost DCN).
			return s.settle(ctx, tx, f, "")
		case f.cancelRequested || outcome == OutcomeCanceled:
			return s.settle(ctx, tx, f, webhook.FailureCanceled)
		case outcome == OutcomeDelivered:
			// The dialer says delivered but not every page was confirmed: trust the confirmations.
			outcome = OutcomeFailed
		}
		if delay, ok := s.cfg.Policy.retry(attempt, Result{Outcome: outcome, T30: res.T30}); ok && callErr == nil {
			due := s.now().Add(delay)
			if _, err := tx.Exec(ctx, `UPDATE send_faxes SET phase = 'waiting', next_attempt_at = $2 WHERE fax_id = $1`, f.id, due); err != nil {
				return err
			}
			redial = max(delay, time.Millisecond) // a zero delay still redials
			return nil
		}
		return s.settle(ctx, tx, f, outcome.String())
	})
	if err != nil {
		return 0, err
	}
	return redial, nil
}

// settle ends the fax: it charges the confirmed pages, refunds the rest of the hold, sets the final
// status and queues fax.delivered or fax.failed, all in tx. reason "" means delivered. The
// settled_at guard, under the row lock, makes a second settle of the same fax do nothing.
func (s *Service) settle(ctx context.Context, tx *store.Tx, f fax, reason string) error {
	var charge int64
	if f.pages > 0 {
		charge = f.held * int64(min(f.confirmed, f.pages)) / int64(f.pages)
	}
	refund := f.held - charge
	n, err := tx.Exec(ctx, `UPDATE send_faxes SET phase = 'done', settled_at = $2, charged = $3, refunded = $4,
		next_attempt_at = NULL WHERE fax_id = $1 AND settled_at IS NULL`, f.id, s.now(), charge, refund)
	if err != nil || n == 0 {
		return err
	}
	if refund > 0 {
		if _, err := tx.AdjustCredits(ctx, f.partnerID, refund, "fax_refund", f.id); err != nil {
			return fmt.Errorf("send: refund %s: %w", f.id, err)
		}
	}
	s.log.Info("send: settled", "fax", f.id, "reason", reason, "charged", charge, "refunded", refund)
	status, event := "delivered", webhook.EventFaxDelivered
	if reason != "" {
		status, event = "failed", webhook.EventFaxFailed
	}
	if _, err := tx.Exec(ctx, `UPDATE outbound_faxes SET status = $2, failure_reason = $3, credits_used = $4, updated_at = $5
		WHERE id = $1`, f.id, status, nullable(reason), charge, s.now()); err != nil {
		return err
	}
	return s.event(ctx, tx, f, event, reason, charge)
}

func (s *Service) event(ctx context.Context, tx *store.Tx, f fax, name, reason string, credits int64) error {
	_, err := s.cfg.Events.EnqueueOutbound(ctx, tx, jobs.OutboundEvent{
		PartnerID: f.partnerID, CallbackURL: f.callbackURL, CallbackSecret: f.cbSecret,
		Payload: webhook.Outbound{Event: name, JobID: f.id, ToNumber: f.to, ExternalUserID: f.userID,
			Pages: f.pages, CreditsUsed: int(credits), Timestamp: s.now(), FailureReason: reason},
	})
	return err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
