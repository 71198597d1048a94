package jobs_test

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/extract"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// Example shows how a node wires the inbound pipeline (what `faxseal serve` does). It is compiled,
// not run: it needs a database.
func Example() {
	ctx := context.Background()
	// First thing in the process: OpenMP must see OMP_THREAD_LIMIT=1 when libtesseract loads.
	if err := ocr.ReexecSingleThreaded(); err != nil {
		panic(err)
	}
	dbURL, serverSecret, dev := os.Getenv("FAXSEAL_DATABASE_URL"), make([]byte, 32), false

	st, err := store.Open(ctx, dbURL, store.Options{SecretKey: serverSecret})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil { // includes jobs' tables: importing jobs registers them
		panic(err)
	}

	pool, err := ocr.NewPool(ocr.Options{}) // one client per core
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	extractor := extract.New(extract.ConfigFromEnv(os.Getenv)) // disabled when FAXSEAL_OPENAI_* are unset
	pipe, err := jobs.New(jobs.Config{
		Store:     st,
		OCR:       pool,
		Extractor: extractor,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: dev})},
		Links:     jobs.FileLinks{Key: jobs.FileLinkKey(serverSecret), BaseURL: "https://fax.example.com"},
		Logger:    slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	st.OnReceivedFax(pipe.OnReceivedFax) // before the gateway delivers faxes

	workers := river.NewWorkers()
	pipe.Register(workers)
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	maps.Copy(queues, pipe.Queues())
	client, err := st.NewJobClient(&river.Config{Queues: queues, Workers: workers, PeriodicJobs: pipe.PeriodicJobs()})
	if err != nil {
		panic(err)
	}
	if err := client.Start(ctx); err != nil {
		panic(err)
	}
	defer client.Stop(context.Background())

	// The API's inbox fileUrl and file route:
	fileURL := func(f store.InboundFax) string { return pipe.Links().URL(f.ID, f.ReceivedAt) }
	_ = fileURL
	_, _ = pipe.Links().Open(ctx, st, "fax_id", "token", time.Now()) // store.ErrNotFound -> 404
}
