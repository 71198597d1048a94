package send

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/webhook"
)

// TestMain: the webhook pipeline's OCR pool needs OMP_THREAD_LIMIT=1 (package ocr).
func TestMain(m *testing.M) {
	if err := ocr.ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// onePage is a one-page PDF (ISO 32000-1 §7.5) with a valid cross-reference table.
func onePage() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
	}
	out := "%PDF-1.4\n"
	var offs []int
	for i, o := range objs {
		offs = append(offs, len(out))
		out += fmt.Sprintf("%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := len(out)
	out += fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		out += fmt.Sprintf("%010d 00000 n \n", o)
	}
	out += fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(out)
}

type noDial struct{}

func (noDial) Dial(context.Context, Call) Result {
	return Result{Outcome: OutcomeFailed, Err: fmt.Errorf("not expected to dial")}
}

func newService(t *testing.T) (*Service, *store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	p, _, err := st.CreatePartner(ctx, store.NewPartner{Name: "Acme", Credits: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ImportDIDs(ctx, []store.DID{{Number: "+14155550100", Trunk: "carrier"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Provision(ctx, p.ID, "user_42", "415", store.TierPersonal); err != nil {
		t.Fatal(err)
	}
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	pipe, err := jobs.New(jobs.Config{Store: st, OCR: pool,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{})},
		Links:     jobs.FileLinks{Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: "https://fax.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	// Jobs are inserted by an insert-only client that knows the kinds; nothing works them here.
	workers := river.NewWorkers()
	pipe.Register(workers)
	s, err := New(Config{Store: st, Events: pipe, Dialer: noDial{}})
	if err != nil {
		t.Fatal(err)
	}
	s.Register(workers)
	if _, err := st.NewJobClient(&river.Config{Workers: workers}); err != nil {
		t.Fatal(err)
	}
	return s, st, p.ID
}

// When the last River attempt of a fax's job fails (here: its document row is gone), the fax is
// failed and refunded rather than left holding credits.
func TestLastAttemptFailsAndRefunds(t *testing.T) {
	s, st, partner := newService(t)
	ctx := context.Background()
	acc, _, err := s.Submit(ctx, Request{PartnerID: partner, ExternalUserID: "user_42", ToNumber: "+12125550001", PDF: onePage()})
	if err != nil {
		t.Fatal(err)
	}
	if acc.CreditsRemaining != 19 {
		t.Fatalf("accepted %+v", acc)
	}
	if _, err := st.Exec(ctx, `ALTER TABLE send_faxes DROP CONSTRAINT send_faxes_file_id_fkey`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Exec(ctx, `DELETE FROM files`); err != nil {
		t.Fatal(err)
	}
	w := &deliverWorker{s: s}
	job := func(attempt int) *river.Job[DeliverArgs] {
		return &river.Job[DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 5}, Args: DeliverArgs{FaxID: acc.JobID}}
	}
	if err := w.Work(ctx, job(1)); err == nil {
		t.Fatal("a missing document did not fail the run")
	}
	if f, _ := s.Fax(ctx, partner, acc.JobID); f.Status != "queued" {
		t.Fatalf("after a retryable failure: %+v", f)
	}
	if err := w.Work(ctx, job(5)); err == nil {
		t.Fatal("the last run did not report its error")
	}
	f, err := s.Fax(ctx, partner, acc.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != "failed" || f.FailureReason != "failed" || f.CreditsRefund != 1 || len(f.Attempts) != 2 || f.Attempts[1].EndedAt == nil {
		t.Fatalf("fax %+v", f)
	}
	if p, _ := st.Partner(ctx, partner); p.Credits != 20 {
		t.Fatalf("balance %d, want 20", p.Credits)
	}
	// And a later run changes nothing.
	if err := w.Work(ctx, job(5)); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Partner(ctx, partner); p.Credits != 20 {
		t.Fatalf("balance %d after a rerun", p.Credits)
	}
	var events int
	st.QueryRow(ctx, `SELECT count(*) FROM webhook_events`).Scan(&events)
	if events != 0 {
		t.Fatalf("%d events without a webhook URL", events) // the partner has none set
	}
}
