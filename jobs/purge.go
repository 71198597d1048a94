package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/faxseal/faxseal/store"
)

// PurgeArgs is the periodic retention job.
type PurgeArgs struct{}

// Kind is the River job kind.
func (PurgeArgs) Kind() string { return "inbox_purge" }

// InsertOpts: one purge at a time across nodes is enough; a periodic job that finds another
// pending is skipped.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	p *Pipeline
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.p.Purge(ctx)
	return err
}

// purgeBatch bounds one transaction, so a first purge after a long outage does not hold locks on
// thousands of rows at once.
const purgeBatch = 500

// Purge deletes the files of faxes received more than the retention ago and marks the faxes purged
// (the inbox then shows them without a fileUrl that works: the file route answers 404). Metadata,
// OCR text and extracted data stay, so the inbox remains searchable, unless PurgeText is set. It
// returns how many faxes it purged.
func (p *Pipeline) Purge(ctx context.Context) (int, error) {
	now := p.now()
	cutoff := now.Add(-p.cfg.Retention)
	total := 0
	for {
		var n int64
		err := p.store.WithTx(ctx, func(tx *store.Tx) error {
			var ids []string
			err := tx.Query(ctx, `SELECT id FROM inbound_faxes WHERE received_at < $1 AND purged_at IS NULL
				ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED`, []any{cutoff, purgeBatch}, func(r store.Row) error {
				var id string
				if err := r.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
				return nil
			})
			if err != nil || len(ids) == 0 {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE files SET data = NULL, purged_at = $2
				WHERE purged_at IS NULL AND id IN (SELECT pdf_file_id FROM inbound_faxes WHERE id = ANY($1)
				                                   UNION SELECT tiff_file_id FROM inbound_faxes WHERE id = ANY($1))`, ids, now); err != nil {
				return err
			}
			n, err = tx.Exec(ctx, `UPDATE inbound_faxes SET purged_at = $2,
				ocr_text = CASE WHEN $3 THEN NULL ELSE ocr_text END,
				extracted_data = CASE WHEN $3 THEN NULL ELSE extracted_data END
				WHERE id = ANY($1)`, ids, now, p.cfg.PurgeText)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("jobs: purge: %w", err)
		}
		total += int(n)
		p.m.purged.Add(float64(n))
		if n < purgeBatch {
			return total, nil
		}
	}
}

// Retention is the configured file retention.
func (p *Pipeline) Retention() time.Duration { return p.cfg.Retention }
