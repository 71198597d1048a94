// Package send is the outbound fax pipeline behind POST /api/partner/fax:
//
//	Submit: count the pages (render.Inspect), price them (zone rate x pages), and in one transaction
//	        hold the credits in the ledger, store the PDF, insert the fax row and its River job
//	deliver job: render the PDF (render.Render, header line per page), dial through the Dialer,
//	        queued -> sending (fax.sending, once the far end answers and T.30 starts)
//	        -> delivered (fax.delivered) | failed (fax.failed with failureReason)
//	        redial per Policy: busy/no-answer with back-off; a T.30 failure mid-document resends only
//	        the pages not yet confirmed
//	settle: charge the MCF-confirmed pages, refund the rest of the hold, exactly once per fax
//
// Every state change and the webhook event that reports it commit together (jobs.EnqueueOutbound in
// the same transaction), and settlement is keyed on the fax (send_faxes.settled_at), so a job that
// runs twice, or a node that dies mid-call, never charges twice.
//
// The dialing is behind the Dialer interface, which the gateway satisfies (cmd/faxseal adapts it).
package send

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/billing"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic("send: embedded migrations: " + err.Error())
	}
	store.RegisterMigrations(store.MigrationSet{Name: "send", FS: sub})
}

// QueueSend is the River queue of dial jobs. Its MaxWorkers bounds the calls a node places at once.
const QueueSend = "send"

// LowBalanceThreshold: a hold that takes the balance from at least this to below it records a
// low-balance notification (seed: "Low-balance warning sent automatically below 10 credits").
const LowBalanceThreshold = 10

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// Events records outbound status callbacks in the caller's transaction; *jobs.Pipeline is one.
type Events interface {
	EnqueueOutbound(ctx context.Context, tx *store.Tx, ev jobs.OutboundEvent) (string, error)
}

// CostFunc prices a fax: credits for pages pages to the E.164 number to (the dialing-zone rate x
// pages). An error means the destination cannot be dialled.
type CostFunc func(to string, pages int) (int64, error)

// Config wires the pipeline.
type Config struct {
	Store  *store.Store
	Events Events   // required: the webhook pipeline
	Dialer Dialer   // required for the worker; Submit works without one
	Cost   CostFunc // nil means billing.Cost (the default zone table)
	Policy Policy   // zero fields take DefaultPolicy's
	// Limits bound the documents accepted and rendered (render's defaults: 20 MiB, 100 pages).
	Limits render.Limits
	// Pdftoppm is the rasteriser (render.Options.Pdftoppm); "" means pdftoppm in PATH.
	Pdftoppm string
	// SenderName is printed in the page header after the caller ID (optional).
	SenderName string
	// Workers is how many faxes this node sends at once (the send queue's MaxWorkers); 0 means 4.
	Workers int
	// CancelPoll is how often a running call checks for a cancel request from any node; 0 means 500 ms.
	CancelPoll time.Duration
	// CallTimeout bounds one dial attempt, ringing and T.30 included. 0 means a budget by the fax's
	// length: 2 minutes plus 3 per page (a dense fine page takes about 1 minute at 9600 bit/s and
	// 4 at 2400). It also bounds how long a fax whose node died waits before another node resumes
	// it (River rescues a running job only after its Timeout).
	CallTimeout time.Duration
	Now         func() time.Time // nil means time.Now
	Logger      *slog.Logger
}

// callTimeout is the budget of one attempt of a fax of pages pages.
func (s *Service) callTimeout(pages int) time.Duration {
	if s.cfg.CallTimeout > 0 {
		return s.cfg.CallTimeout
	}
	return 2*time.Minute + time.Duration(max(pages, 1))*3*time.Minute
}

// Service is the configured pipeline: Submit, Fax, Cancel for the API, and the River worker.
type Service struct {
	cfg Config
	st  *store.Store
	now func() time.Time
	log *slog.Logger
}

// New checks cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Events == nil {
		return nil, errors.New("send: Store and Events are required")
	}
	if cfg.Cost == nil {
		cfg.Cost = billing.Cost
	}
	cfg.Policy = cfg.Policy.withDefaults()
	if err := cfg.Policy.check(); err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.CancelPoll <= 0 {
		cfg.CancelPoll = 500 * time.Millisecond
	}
	s := &Service{cfg: cfg, st: cfg.Store, now: cfg.Now, log: cfg.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Register adds the delivery worker to a River worker set. It needs Config.Dialer.
func (s *Service) Register(workers *river.Workers) error {
	if s.cfg.Dialer == nil {
		return errors.New("send: Config.Dialer is required to run the worker")
	}
	river.AddWorker(workers, &deliverWorker{s: s})
	return nil
}

// Queues is the River queue configuration the worker expects (merge with serve's other queues).
func (s *Service) Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{QueueSend: {MaxWorkers: s.cfg.Workers}}
}

// Errors callers branch on (the API maps them to status codes).
var (
	ErrNoNumber          = errors.New("send: the user has no active fax number")
	ErrInsufficient      = errors.New("send: insufficient credits")
	ErrIdempotencyReuse  = errors.New("send: Idempotency-Key reused with another request")
	ErrNotFound          = errors.New("send: no such fax")
	ErrNotCancelable     = errors.New("send: the fax can no longer be canceled")
	ErrUndialable        = errors.New("send: destination cannot be dialled")
	errIdempotencyRacing = errors.New("send: idempotency key inserted concurrently")
)

// InsufficientError is ErrInsufficient with the figures.
type InsufficientError struct {
	Cost, Balance int64
}

func (e *InsufficientError) Error() string {
	return fmt.Sprintf("send: the fax costs %d credits, the balance is %d", e.Cost, e.Balance)
}

// Is makes errors.Is(err, ErrInsufficient) true.
func (e *InsufficientError) Is(target error) bool { return target == ErrInsufficient }
