// Package jobs holds FaxSeal's River workers for the inbound pipeline and webhook delivery:
//
//	received fax (store.InsertReceivedFax, with the OCR job in its transaction)
//	  -> OCR job: render the stored PDF, Tesseract pool, ocr_text/ocr_status
//	     -> fax.received event (always, with ocrStatus failed when OCR failed)
//	     -> extraction job, when the partner has an extractionSchema and a model is configured
//	        -> extractedData/extractStatus -> fax.extracted event
//	every event -> delivery job: signed POST, retried 1, 5, 25 min by River, delivery log rows
//	periodic purge job: file bytes older than the retention are deleted, the fax marked purged
//
// Every follow-up job is inserted in the same transaction as the state change that causes it, so a
// crash never loses or duplicates a step; workers are idempotent against River re-running a job.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/extract"
	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// DefaultRetention is how long received fax files are kept (seed: "Fax files are stored for 30
// days, then purged").
const DefaultRetention = 30 * 24 * time.Hour

// Queue names. OCR has its own queue so its few, CPU-heavy jobs never hold up webhook deliveries.
const (
	QueueOCR         = "ocr"
	QueueExtract     = "extract"
	QueueMaintenance = "maintenance" // the purge
)

// Config wires the pipeline.
type Config struct {
	Store     *store.Store
	OCR       *ocr.Pool          // required: the bounded Tesseract pool
	Extractor *extract.Extractor // nil or disabled: extraction is off (extractStatus "disabled")
	// Deliverer posts the events; its Client must come from webhook.NewGuardedClient.
	Deliverer *webhook.Deliverer
	Links     FileLinks      // the fileUrl of webhook payloads
	Policy    webhook.Policy // zero: webhook.DefaultPolicy()
	// Retention is how long files are kept after reception; 0 means DefaultRetention. Links.TTL
	// defaults to it.
	Retention time.Duration
	// PurgeText also clears the OCR text and extracted data at purge. Off by default: the seed
	// promises only that files are purged, and the inbox stays searchable.
	PurgeText bool
	// PurgeEvery is the interval of the purge job; 0 means hourly.
	PurgeEvery time.Duration
	// OCRWorkers is how many faxes are OCRed at once on this node; 0 means 1 (each fax's pages
	// already run in parallel across the pool).
	OCRWorkers int
	// MaxOCRPages bounds the pages read per fax; 0 means 200.
	MaxOCRPages int
	Now         func() time.Time // the injectable clock; nil means time.Now
	Logger      *slog.Logger
	Metrics     prometheus.Registerer // nil registers no collectors
}

// Pipeline is the configured set of workers.
type Pipeline struct {
	store     *store.Store
	pool      *ocr.Pool
	extractor *extract.Extractor
	deliverer *webhook.Deliverer
	links     FileLinks
	policy    webhook.Policy
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	m         *metrics
}

// New checks cfg and builds the pipeline. The Deliverer's clock is set to cfg.Now.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || cfg.OCR == nil || cfg.Deliverer == nil || cfg.Deliverer.Client == nil {
		return nil, errors.New("jobs: Store, OCR and Deliverer (with a guarded Client) are required")
	}
	if len(cfg.Links.Key) < 32 || cfg.Links.BaseURL == "" {
		return nil, errors.New("jobs: Links needs a 32-byte key and the public base URL")
	}
	p := &Pipeline{store: cfg.Store, pool: cfg.OCR, extractor: cfg.Extractor, links: cfg.Links, policy: cfg.Policy, cfg: cfg,
		now: cfg.Now, log: cfg.Logger}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if len(p.policy.Delays) == 0 {
		p.policy = webhook.DefaultPolicy()
	}
	if p.cfg.Retention <= 0 {
		p.cfg.Retention = DefaultRetention
	}
	if p.links.TTL <= 0 {
		p.links.TTL = p.cfg.Retention
	}
	if p.cfg.PurgeEvery <= 0 {
		p.cfg.PurgeEvery = time.Hour
	}
	if p.cfg.OCRWorkers <= 0 {
		p.cfg.OCRWorkers = 1
	}
	if p.cfg.MaxOCRPages <= 0 {
		p.cfg.MaxOCRPages = 200
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("jobs: metrics: %w", err)
	}
	p.m = m
	d := *cfg.Deliverer
	d.Now = p.now
	if d.Timeout <= 0 {
		d.Timeout = webhook.DefaultTimeout
	}
	p.deliverer = &d
	return p, nil
}

// Links returns the file links, for the API's file route.
func (p *Pipeline) Links() FileLinks { return p.links }

// Register adds the workers to a River worker set.
func (p *Pipeline) Register(workers *river.Workers) {
	river.AddWorker(workers, &ocrWorker{p: p})
	river.AddWorker(workers, &extractWorker{p: p})
	river.AddWorker(workers, &deliverWorker{p: p})
	river.AddWorker(workers, &purgeWorker{p: p})
}

// Queues is the River queue configuration the workers expect (merge with other queues of serve).
func (p *Pipeline) Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{
		QueueOCR:         {MaxWorkers: p.cfg.OCRWorkers},
		QueueExtract:     {MaxWorkers: 4},
		QueueWebhooks:    {MaxWorkers: 20},
		QueueMaintenance: {MaxWorkers: 1},
	}
}

// PeriodicJobs is the purge job's schedule, for river.Config.PeriodicJobs.
func (p *Pipeline) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(p.cfg.PurgeEvery),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "inbox_purge"})}
}

// OnReceivedFax is the store hook (store.OnReceivedFax) that queues OCR for every received fax in
// the transaction that stores it.
func (p *Pipeline) OnReceivedFax(ctx context.Context, tx *store.Tx, fax store.InboundFax) error {
	return tx.InsertJob(ctx, OCRArgs{FaxID: fax.ID, PartnerID: fax.PartnerID}, nil)
}

// OCRArgs is the River job reading a received fax's pages.
type OCRArgs struct {
	FaxID     string `json:"fax_id"`
	PartnerID string `json:"partner_id"`
}

// Kind is the River job kind.
func (OCRArgs) Kind() string { return "inbound_ocr" }

// InsertOpts puts OCR on its queue; three attempts cover a node dying mid-page.
func (OCRArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueOCR, MaxAttempts: 3}
}

type ocrWorker struct {
	river.WorkerDefaults[OCRArgs]
	p *Pipeline
}

// Timeout: Tesseract takes ~3 s per dense page per core; 200 pages on one core would be 10 min.
func (w *ocrWorker) Timeout(*river.Job[OCRArgs]) time.Duration { return 20 * time.Minute }

// Render resolution of stored PDFs for OCR: fax fine resolution, which reproduces the received
// bitmaps of standard and fine faxes (standard rows doubled) before ocr resamples them.
const renderX, renderY = 204, 196

func (w *ocrWorker) Work(ctx context.Context, job *river.Job[OCRArgs]) error {
	p := w.p
	fax, err := p.store.InboundFax(ctx, job.Args.PartnerID, job.Args.FaxID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted with its partner
	}
	if err != nil {
		return err
	}
	if fax.OCRStatus != "pending" {
		return nil // done by an earlier run of this job
	}
	start := time.Now()
	text, source, ocrErr := w.read(ctx, fax)
	if ocrErr != nil {
		// Shutting down is not the fax's fault: leave it to River to run again (here or on another
		// node). Otherwise retry, and settle as failed on the last attempt.
		if ctx.Err() != nil || errors.Is(ocrErr, ocr.ErrClosed) || job.Attempt < job.MaxAttempts {
			return ocrErr
		}
		p.log.Error("ocr failed", "fax", fax.ID, "err", ocrErr)
		p.m.ocrPages.WithLabelValues(source, "failed").Inc()
	} else {
		p.m.ocrPages.WithLabelValues(source, "done").Inc()
		p.m.ocrSeconds.Observe(time.Since(start).Seconds())
	}
	partner, err := p.store.Partner(ctx, fax.PartnerID)
	if err != nil {
		return err
	}
	return p.store.WithTx(ctx, func(tx *store.Tx) error {
		fax.OCRStatus, fax.OCRText = "done", text
		if ocrErr != nil {
			fax.OCRStatus, fax.OCRText = "failed", ""
		}
		n, err := tx.Exec(ctx, `UPDATE inbound_faxes SET ocr_text = nullif($2, ''), ocr_status = $3
			WHERE id = $1 AND ocr_status = 'pending'`, fax.ID, fax.OCRText, fax.OCRStatus)
		if err != nil || n == 0 {
			return err // n == 0: another run finished first
		}
		// Extraction follows OCR, or is settled now: disabled without schema or model, failed
		// without text to read.
		switch {
		case len(partner.ExtractionSchema) == 0 || p.extractor == nil || !p.extractor.Enabled():
			err = p.setExtractStatus(ctx, tx, fax.ID, extract.StatusDisabled)
		case ocrErr != nil || fax.OCRText == "":
			err = p.setExtractStatus(ctx, tx, fax.ID, extract.StatusFailed)
		default:
			err = tx.InsertJob(ctx, ExtractArgs{FaxID: fax.ID, PartnerID: fax.PartnerID}, nil)
		}
		if err != nil {
			return err
		}
		body, err := webhook.MarshalReceived(webhook.Received{
			FaxID: fax.ID, ExternalUserID: fax.ExternalUserID, FromNumber: fax.FromNumber, ToNumber: fax.ToNumber,
			Pages: fax.Pages, FileURL: p.links.URL(fax.ID, fax.ReceivedAt), OCRText: fax.OCRText,
			OCRStatus: fax.OCRStatus, ReceivedAt: fax.ReceivedAt,
		})
		if err != nil {
			return err
		}
		_, err = p.EnqueueEvent(ctx, tx, Event{PartnerID: fax.PartnerID, Name: webhook.EventFaxReceived, SubjectID: fax.ID,
			URL: partner.WebhookURL, Secret: partner.WebhookSecret, Body: body})
		return err
	})
}

// read OCRs the fax's pages: decoded from the stored TIFF when there is one (the received bitmaps,
// bit for bit), otherwise rendered from the stored PDF.
// It also says which it read ("tiff" or "pdf"), for the metrics.
func (w *ocrWorker) read(ctx context.Context, fax store.InboundFax) (text, source string, err error) {
	source = "tiff"
	pages, err := w.tiffPages(ctx, fax)
	if err != nil {
		w.p.log.Warn("ocr: reading the PDF instead of the TIFF", "fax", fax.ID, "err", err)
	}
	if len(pages) == 0 {
		source = "pdf"
		if pages, err = w.pdfPages(ctx, fax); err != nil {
			return "", source, err
		}
	}
	texts, err := w.p.pool.Pages(ctx, pages)
	if err != nil {
		return "", source, err
	}
	return ocr.Join(texts), source, nil
}

func (w *ocrWorker) tiffPages(ctx context.Context, fax store.InboundFax) ([]ocr.Page, error) {
	if fax.TIFFFileID == "" {
		return nil, nil
	}
	f, err := w.p.store.File(ctx, fax.TIFFFileID)
	if err != nil || f.Data == nil {
		return nil, fmt.Errorf("jobs: fax %s TIFF: %w", fax.ID, errors.Join(err, errPurged(f)))
	}
	decoded, err := g3.ReadTIFF(f.Data)
	if err != nil {
		return nil, err
	}
	pages := make([]ocr.Page, 0, min(len(decoded), w.p.cfg.MaxOCRPages))
	for _, d := range decoded[:min(len(decoded), w.p.cfg.MaxOCRPages)] {
		pg := ocr.FromG3(d)
		if pg.XRes == 0 || pg.YRes == 0 { // no resolution tags: T.4's fine resolution is the usual
			pg.XRes, pg.YRes = g3.ResX, g3.ResFine
		}
		pages = append(pages, pg)
	}
	return pages, nil
}

func (w *ocrWorker) pdfPages(ctx context.Context, fax store.InboundFax) ([]ocr.Page, error) {
	f, err := w.p.store.File(ctx, fax.PDFFileID)
	if err != nil || f.Data == nil {
		return nil, fmt.Errorf("jobs: fax %s PDF: %w", fax.ID, errors.Join(err, errPurged(f)))
	}
	return ocr.RasterizePDF(ctx, f.Data, renderX, renderY, w.p.cfg.MaxOCRPages)
}

func errPurged(f store.File) error {
	if f.ID != "" && f.Data == nil {
		return errors.New("file purged")
	}
	return nil
}

func (p *Pipeline) setExtractStatus(ctx context.Context, tx *store.Tx, faxID string, s extract.Status) error {
	p.m.extracts.WithLabelValues(s.String()).Inc()
	return setExtractStatus(ctx, tx, faxID, s)
}

func setExtractStatus(ctx context.Context, tx *store.Tx, faxID string, s extract.Status) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_faxes SET extract_status = $2 WHERE id = $1`, faxID, s.String())
	return err
}

// ExtractArgs is the River job asking the model for the partner's fields.
type ExtractArgs struct {
	FaxID     string `json:"fax_id"`
	PartnerID string `json:"partner_id"`
}

// Kind is the River job kind.
func (ExtractArgs) Kind() string { return "inbound_extract" }

// InsertOpts: the extractor retries inside one attempt with backoff; a second River attempt covers a
// node dying mid-request.
func (ExtractArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueExtract, MaxAttempts: 2}
}

type extractWorker struct {
	river.WorkerDefaults[ExtractArgs]
	p *Pipeline
}

// Timeout covers the extractor's attempts (each bounded by its own timeout) and backoffs.
func (w *extractWorker) Timeout(*river.Job[ExtractArgs]) time.Duration { return 10 * time.Minute }

func (w *extractWorker) Work(ctx context.Context, job *river.Job[ExtractArgs]) error {
	p := w.p
	fax, err := p.store.InboundFax(ctx, job.Args.PartnerID, job.Args.FaxID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if fax.ExtractStatus != "pending" {
		return nil
	}
	partner, err := p.store.Partner(ctx, fax.PartnerID)
	if err != nil {
		return err
	}
	finish := func(s extract.Status) error {
		return p.store.WithTx(ctx, func(tx *store.Tx) error { return p.setExtractStatus(ctx, tx, fax.ID, s) })
	}
	if len(partner.ExtractionSchema) == 0 || p.extractor == nil || !p.extractor.Enabled() {
		return finish(extract.StatusDisabled) // schema removed, or model unconfigured, since OCR
	}
	schema, err := extract.ParseSchema(partner.ExtractionSchema)
	if err != nil {
		p.log.Error("extraction schema invalid", "partner", partner.ID, "err", err)
		return finish(extract.StatusFailed)
	}
	res, err := p.extractor.Extract(ctx, schema, fax.OCRText)
	if err != nil {
		if ctx.Err() != nil || (job.Attempt < job.MaxAttempts && !errors.Is(err, extract.ErrNoText)) {
			return err
		}
		p.log.Error("extraction failed", "fax", fax.ID, "err", err)
		return finish(extract.StatusFailed)
	}
	return p.store.WithTx(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE inbound_faxes SET extracted_data = $2::jsonb, extract_status = 'done'
			WHERE id = $1 AND extract_status = 'pending'`, fax.ID, string(res.Data))
		if err != nil || n == 0 {
			return err
		}
		p.m.extracts.WithLabelValues(extract.StatusDone.String()).Inc()
		body, err := webhook.MarshalExtracted(webhook.Extracted{
			FaxID: fax.ID, ExternalUserID: fax.ExternalUserID, FromNumber: fax.FromNumber,
			FileURL: p.links.URL(fax.ID, fax.ReceivedAt), OCRText: fax.OCRText, Extracted: json.RawMessage(res.Data),
		})
		if err != nil {
			return err
		}
		_, err = p.EnqueueEvent(ctx, tx, Event{PartnerID: fax.PartnerID, Name: webhook.EventFaxExtracted, SubjectID: fax.ID,
			URL: partner.WebhookURL, Secret: partner.WebhookSecret, Body: body})
		return err
	})
}
