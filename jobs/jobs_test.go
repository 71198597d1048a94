package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/faxseal/faxseal/extract"
	"github.com/faxseal/faxseal/extract/extracttest"
	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/webhook"
)

// TestMain restarts the binary with OMP_THREAD_LIMIT=1 (see package ocr) before the OCR pool starts.
func TestMain(m *testing.M) {
	if err := ocr.ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// clock is the injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a partner's webhook endpoint on 127.0.0.1: it answers status() and reports each request.
type receiver struct {
	srv    *httptest.Server
	hits   chan hit
	mu     sync.Mutex
	status int
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{hits: make(chan hit, 64), status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		r.hits <- hit{req.Header.Clone(), b}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) { r.mu.Lock(); r.status = s; r.mu.Unlock() }

func (r *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-r.hits:
		return h
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook within 60 s")
		return hit{}
	}
}

func (r *receiver) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case h := <-r.hits:
		t.Fatalf("unexpected webhook %s", h.body)
	case <-time.After(within):
	}
}

// fastRetry makes River retry OCR and extraction jobs at once in tests (deliveries use their own NextRetry).
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(10 * time.Millisecond) }

type bundle struct {
	reg    *prometheus.Registry
	st     *store.Store
	pipe   *Pipeline
	client *store.JobClient
	clock  *clock
	mu     sync.Mutex
	kinds  map[string]chan *river.Event // River's job events, by job kind
}

func (b *bundle) kind(k string) chan *river.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.kinds[k]
	if !ok {
		c = make(chan *river.Event, 256)
		b.kinds[k] = c
	}
	return c
}

const secret = "whsec_test_4f1c"

var linkKey = []byte("0123456789abcdef0123456789abcdef")

// setup runs the pipeline on a real database and River client. extractor may be nil (extraction off).
func setup(t *testing.T, start time.Time, extractor *extract.Extractor) *bundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t) // migrated with this package's set too: importing jobs registers it
	pool, err := ocr.NewPool(ocr.Options{Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	clk := &clock{t: start}
	reg := prometheus.NewRegistry()
	pipe, err := New(Config{
		Metrics: reg,
		Store:   st, OCR: pool, Extractor: extractor,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: true}), Timeout: 2 * time.Second},
		Links:     FileLinks{Key: linkKey, BaseURL: "https://fax.example.test"},
		Now:       clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	pipe.Register(workers)
	client, err := st.NewJobClient(&river.Config{
		Queues: pipe.Queues(), Workers: workers, PeriodicJobs: pipe.PeriodicJobs(),
		RetryPolicy: fastRetry{}, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	t.Cleanup(cancel)
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client.Stop(ctx)
	})
	st.OnReceivedFax(pipe.OnReceivedFax)
	b := &bundle{reg: reg, st: st, pipe: pipe, client: client, clock: clk, kinds: map[string]chan *river.Event{}}
	go func() {
		for ev := range events {
			b.kind(ev.Job.Kind) <- ev
		}
	}()
	return b
}

// partner creates a partner with a number for user_42 and the given webhook URL and schema.
func (b *bundle) partner(t *testing.T, did, webhookURL string, schema json.RawMessage) store.Partner {
	t.Helper()
	ctx := context.Background()
	p, _, err := b.st.CreatePartner(ctx, store.NewPartner{Name: "Clinic " + did})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.st.ImportDIDs(ctx, []store.DID{{Number: did, Trunk: "loop"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.Provision(ctx, p.ID, "user_42", did[2:5], store.TierPersonal); err != nil {
		t.Fatal(err)
	}
	s := secret
	if err := b.st.UpdateSettings(ctx, p.ID, store.SettingsPatch{WebhookURL: &webhookURL, WebhookSecret: &s, ExtractionSchema: schema}); err != nil {
		t.Fatal(err)
	}
	p, err = b.st.Partner(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (b *bundle) receive(t *testing.T, to string, pdf []byte, at time.Time) store.InboundFax {
	t.Helper()
	fax, err := b.st.InsertReceivedFax(context.Background(), store.ReceivedFax{
		FromNumber: "+15125551234", ToNumber: to, Pages: 1, ReceivedAt: at, PDF: pdf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fax
}

// waitJob waits for River to report a job of kind finished (completed, or failed for a retry).
func (b *bundle) waitJob(t *testing.T, kind string) *river.Event {
	t.Helper()
	select {
	case ev := <-b.kind(kind):
		return ev
	case <-time.After(60 * time.Second):
		t.Fatalf("no %s job finished within 60 s", kind)
		return nil
	}
}

// metric sums the counter series of name whose label has value ("" matches all), as /metrics shows them.
func (b *bundle) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	families, err := b.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() == label && l.GetValue() == value)
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func (b *bundle) fax(t *testing.T, partnerID, id string) store.InboundFax {
	t.Helper()
	f, err := b.st.InboundFax(context.Background(), partnerID, id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readSchema(t *testing.T) json.RawMessage {
	t.Helper()
	return json.RawMessage(`{"type":"patient_referral","fields":[{"name":"patient_name","type":"string"},
		{"name":"dob","type":"date"},{"name":"diagnosis","type":"string"},{"name":"medications","type":"array"},
		{"name":"referring_npi","type":"string"}]}`)
}

// checkSigned verifies a delivery as a partner would, and returns its payload.
func checkSigned(t *testing.T, h hit, event string, at time.Time) map[string]any {
	t.Helper()
	if err := webhook.Verify(secret, h.header.Get(webhook.SignatureHeader), h.body, at, time.Second); err != nil {
		t.Fatalf("%s signature: %v", event, err)
	}
	if h.header.Get(webhook.EventHeader) != event || !strings.HasPrefix(h.header.Get(webhook.EventIDHeader), "evt_") {
		t.Fatalf("headers %v", h.header)
	}
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil || m["event"] != event {
		t.Fatalf("payload %s: %v", h.body, err)
	}
	return m
}

// faxPDF is what the gateway stores for a received fax: testdata/referral.pdf sent at standard
// resolution, coded T.4 MH, wrapped by g3 as a /CCITTFaxDecode PDF.
func faxPDF(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/referral.pdf")
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := ocr.RasterizePDF(context.Background(), src, g3.ResX, g3.ResStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	page := g3.Page(rendered[0])
	coded, err := g3.EncodePages([]*g3.Page{&page}, g3.Options{Compression: g3.MH, Order: g3.MSBFirst})
	if err != nil {
		t.Fatal(err)
	}
	var pdf bytes.Buffer
	if err := g3.WritePDF(&pdf, coded); err != nil {
		t.Fatal(err)
	}
	return pdf.Bytes()
}

// TestInboundPipeline: a received fax is OCRed, fires a signed fax.received, is extracted, fires a
// signed fax.extracted, is searchable by a word on its page, downloadable by token, and purged after
// 30 days.
func TestInboundPipeline(t *testing.T) {
	ai := extracttest.NewServer(t, extracttest.Good)
	t0 := time.Now().UTC().Truncate(time.Second)
	b := setup(t, t0, extract.New(extract.Config{BaseURL: ai.BaseURL(), APIKey: ai.Key, Backoff: time.Millisecond}))
	rcv := newReceiver(t, http.StatusOK)
	p := b.partner(t, "+15125550100", rcv.srv.URL+"/hook", readSchema(t))
	pdf := faxPDF(t)
	fax := b.receive(t, "+15125550100", pdf, t0)

	// fax.received, after OCR.
	got := checkSigned(t, rcv.next(t), webhook.EventFaxReceived, t0)
	if got["faxId"] != fax.ID || got["externalUserId"] != "user_42" || got["fromNumber"] != "+15125551234" ||
		got["toNumber"] != "+15125550100" || got["ocrStatus"] != "done" || got["pages"] != 1.0 {
		t.Fatalf("fax.received %v", got)
	}
	ocrText, _ := got["ocrText"].(string)
	if !strings.Contains(ocrText, "Jane Smith") || !strings.Contains(ocrText, "Metformin") {
		t.Fatalf("ocrText %q", ocrText)
	}
	fileURL, _ := got["fileUrl"].(string)
	prefix := "https://fax.example.test/api/partner/inbox/" + fax.ID + "/file?token="
	if !strings.HasPrefix(fileURL, prefix) {
		t.Fatalf("fileUrl %q", fileURL)
	}
	token := strings.TrimPrefix(fileURL, prefix)

	// fax.extracted, after extraction, with the seed's fields.
	ex := checkSigned(t, rcv.next(t), webhook.EventFaxExtracted, t0)
	wantExtracted := map[string]any{"patient_name": "Jane Smith", "dob": "1980-03-15", "diagnosis": "Type 2 Diabetes",
		"medications": []any{"Metformin 500mg", "Lisinopril 10mg"}, "referring_npi": "1234567890"}
	if !reflect.DeepEqual(ex["extracted"], wantExtracted) || ex["faxId"] != fax.ID || ex["fileUrl"] != fileURL || ex["ocrText"] != ocrText {
		t.Fatalf("fax.extracted %v", ex)
	}
	keys := make([]string, 0, len(ex))
	for k := range ex {
		keys = append(keys, k)
	}
	if len(keys) != 7 {
		t.Fatalf("fax.extracted keys %v, want the seed's seven", keys)
	}
	if reqs := ai.Requests(); len(reqs) != 1 || reqs[0].Model != extract.DefaultModel {
		t.Fatalf("model requests %+v", reqs)
	}

	f := b.fax(t, p.ID, fax.ID)
	if f.OCRStatus != "done" || f.ExtractStatus != "done" || f.OCRText != ocrText {
		t.Fatalf("inbox row %+v", f)
	}
	var stored map[string]any
	json.Unmarshal(f.ExtractedData, &stored)
	if !reflect.DeepEqual(stored, wantExtracted) {
		t.Fatalf("extractedData %s", f.ExtractedData)
	}

	// Searchable by a word on the page.
	ctx := context.Background()
	for q, want := range map[string]int{"metformin": 1, `"jane smith"`: 1, "cardiology": 0} {
		page, err := b.st.Inbox(ctx, p.ID, store.InboxQuery{ExternalUserID: "user_42", Q: q, Page: 1, PageSize: 10})
		if err != nil || page.Total != want {
			t.Errorf("q=%s: %d results (%v), want %d", q, page.Total, err, want)
		}
	}

	// The delivery log: two events, one 200 attempt each.
	for range 2 {
		if ev := b.waitJob(t, DeliverArgs{}.Kind()); ev.Kind != river.EventKindJobCompleted {
			t.Fatalf("delivery job %s", ev.Kind)
		}
	}
	recs, err := b.pipe.Deliveries(ctx, p.ID, DeliveryQuery{SubjectID: fax.ID})
	if err != nil || len(recs) != 2 {
		t.Fatalf("deliveries %v %+v", err, recs)
	}
	for _, r := range recs {
		if r.Status != "delivered" || len(r.Attempts) != 1 || *r.Attempts[0].StatusCode != 200 || r.Attempts[0].Error != "" || r.DeliveredAt == nil {
			t.Errorf("delivery %+v", r)
		}
	}

	// Downloadable by token, without the partner key.
	file, err := b.pipe.Links().Open(ctx, b.st, fax.ID, token, t0.Add(29*24*time.Hour))
	if err != nil || string(file.Data) != string(pdf) || file.ContentType != "application/pdf" {
		t.Fatalf("open by token: %v", err)
	}
	if _, err := b.pipe.Links().Open(ctx, b.st, "fax_other", token, t0); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token for another fax: %v", err)
	}

	// Purged after 30 days, by the River job: the file is gone, the row and its text stay.
	b.clock.Set(t0.Add(30*24*time.Hour + time.Minute))
	if err := b.st.WithTx(ctx, func(tx *store.Tx) error { return tx.InsertJob(ctx, PurgeArgs{}, nil) }); err != nil {
		t.Fatal(err)
	}
	for {
		ev := b.waitJob(t, PurgeArgs{}.Kind())
		if ev.Kind == river.EventKindJobCompleted && b.fax(t, p.ID, fax.ID).Purged {
			break
		}
	}
	if _, err := b.pipe.Links().Open(ctx, b.st, fax.ID, token, t0.Add(29*24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after purge: %v", err)
	}
	if n := b.metric(t, "faxseal_inbox_purged_total", "", ""); n != 1 {
		t.Errorf("purged metric %v", n)
	}
	if n := b.metric(t, "faxseal_ocr_faxes_total", "source", "pdf"); n != 1 {
		t.Errorf("ocr metric %v", n)
	}
	if file, err := b.st.File(ctx, fax.PDFFileID); err != nil || !file.Purged || file.Data != nil {
		t.Fatalf("file after purge %v %+v", err, file.Purged)
	}
	if page, _ := b.st.Inbox(ctx, p.ID, store.InboxQuery{ExternalUserID: "user_42", Q: "metformin", Page: 1, PageSize: 10}); page.Total != 1 {
		t.Fatal("purge removed the searchable text")
	}
	rcv.none(t, 100*time.Millisecond)
}

// TestWebhookRetrySchedule: an endpoint answering 500 is retried by River at +1, +5 and +25 min of
// the injected clock, then the event is failed; replay delivers it again under the same id.
func TestWebhookRetrySchedule(t *testing.T) {
	// The clock runs ahead of River's real one, so River holds each retry until the test moves it.
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	b := setup(t, t0, nil)
	rcv := newReceiver(t, http.StatusInternalServerError)
	p := b.partner(t, "+14155550100", rcv.srv.URL, nil)
	ctx := context.Background()

	var id string
	err := b.st.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = b.pipe.EnqueueOutbound(ctx, tx, OutboundEvent{PartnerID: p.ID, Payload: webhook.Outbound{
			Event: webhook.EventFaxFailed, JobID: "job_1", ToNumber: "+12125550001", ExternalUserID: "user_42",
			Pages: 3, Timestamp: t0, FailureReason: webhook.FailureBusy}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	at := t0
	for n, delay := range []time.Duration{time.Minute, 5 * time.Minute, 25 * time.Minute, 0} {
		h := rcv.next(t)
		if h.header.Get(webhook.EventIDHeader) != id || h.header.Get(webhook.AttemptHeader) != fmt.Sprint(n+1) {
			t.Fatalf("attempt %d headers %v", n+1, h.header)
		}
		checkSigned(t, h, webhook.EventFaxFailed, at)
		ev := b.waitJob(t, DeliverArgs{}.Kind())
		if delay == 0 {
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("last attempt: job %s, want completed (event failed)", ev.Kind)
			}
			break
		}
		if ev.Kind != river.EventKindJobFailed || !ev.Job.ScheduledAt.Equal(at.Add(delay)) {
			t.Fatalf("attempt %d: job %s, next at %v, want %v", n+1, ev.Kind, ev.Job.ScheduledAt, at.Add(delay))
		}
		var logged time.Time
		if err := b.st.QueryRow(ctx, `SELECT next_attempt_at FROM webhook_events WHERE id = $1`, id).Scan(&logged); err != nil || !logged.Equal(ev.Job.ScheduledAt) {
			t.Fatalf("delivery log says next at %v (%v), River %v", logged, err, ev.Job.ScheduledAt)
		}
		if err := b.pipe.Replay(ctx, p.ID, id); !errors.Is(err, ErrEventPending) {
			t.Fatalf("replay while retries are scheduled: %v", err)
		}
		at = at.Add(delay)
		b.clock.Set(at)
		if _, err := b.client.JobRetry(ctx, ev.Job.ID); err != nil { // time has come: run it now
			t.Fatal(err)
		}
	}

	recs, err := b.pipe.Deliveries(ctx, p.ID, DeliveryQuery{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %+v", err, recs)
	}
	if retries, failed := b.metric(t, "faxseal_webhook_attempts_total", "outcome", "retry"),
		b.metric(t, "faxseal_webhook_attempts_total", "outcome", "failed"); retries != 3 || failed != 1 {
		t.Errorf("metrics: %v retries, %v failed; want 3 and 1", retries, failed)
	}
	r := recs[0]
	wantAt := []time.Time{t0, t0.Add(time.Minute), t0.Add(6 * time.Minute), t0.Add(31 * time.Minute)}
	if r.Status != "failed" || r.EventID != id || r.Event != webhook.EventFaxFailed || len(r.Attempts) != 4 || r.NextAttemptAt != nil {
		t.Fatalf("record %+v", r)
	}
	for i, a := range r.Attempts {
		if a.Number != i+1 || !a.At.Equal(wantAt[i]) || *a.StatusCode != 500 || a.LatencyMS < 0 || !strings.Contains(a.Error, "500") {
			t.Errorf("attempt %+v, want #%d at %v", a, i+1, wantAt[i])
		}
	}

	// Replay: the endpoint is fixed; the same event id arrives as attempt 5 and is delivered.
	rcv.setStatus(http.StatusNoContent)
	if err := b.pipe.Replay(ctx, p.ID, "evt_nope"); !errors.Is(err, ErrEventNotFound) {
		t.Fatalf("replay of an unknown event: %v", err)
	}
	if err := b.pipe.Replay(ctx, p.ID, id); err != nil {
		t.Fatal(err)
	}
	if err := b.pipe.Replay(ctx, "ptn_other", id); !errors.Is(err, ErrEventNotFound) {
		t.Fatalf("replay of another partner's event: %v", err)
	}
	h := rcv.next(t)
	if h.header.Get(webhook.EventIDHeader) != id || h.header.Get(webhook.AttemptHeader) != "5" {
		t.Fatalf("replay headers %v", h.header)
	}
	b.waitJob(t, DeliverArgs{}.Kind())
	recs, _ = b.pipe.Deliveries(ctx, p.ID, DeliveryQuery{})
	if recs[0].Status != "delivered" || len(recs[0].Attempts) != 5 || *recs[0].Attempts[4].StatusCode != 204 {
		t.Fatalf("after replay %+v", recs[0])
	}

	// A fax's callbackUrl and callbackSecret override the partner's webhook.
	callback := newReceiver(t, http.StatusOK)
	err = b.st.WithTx(ctx, func(tx *store.Tx) error {
		_, err := b.pipe.EnqueueOutbound(ctx, tx, OutboundEvent{PartnerID: p.ID, CallbackURL: callback.srv.URL + "/status",
			CallbackSecret: "whsec_per_fax", Payload: webhook.Outbound{Event: webhook.EventFaxSending, JobID: "job_2",
				ToNumber: "+12125550001", ExternalUserID: "user_42", Pages: 1, CreditsUsed: 1, Timestamp: t0}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h = callback.next(t)
	if err := webhook.Verify("whsec_per_fax", h.header.Get(webhook.SignatureHeader), h.body, b.clock.Now(), time.Second); err != nil {
		t.Fatalf("callback signature: %v", err)
	}
	var cb map[string]any
	json.Unmarshal(h.body, &cb)
	if cb["event"] != "fax.sending" || cb["status"] != "sending" || cb["jobId"] != "job_2" {
		t.Fatalf("callback %s", h.body)
	}
	b.waitJob(t, DeliverArgs{}.Kind())
	if js, _ := json.Marshal(recs[0]); !strings.Contains(string(js), `"attempt":5,`) || !strings.Contains(string(js), `"statusCode":204`) {
		t.Fatalf("delivery log JSON %s", js)
	}
	rcv.none(t, 0)
}

// TestFailuresDoNotBlockReceived: a fax whose OCR fails still fires fax.received (ocrStatus failed);
// one whose extraction keeps failing fires fax.received and no fax.extracted; a partner without a
// schema gets extractStatus disabled.
func TestFailuresDoNotBlockReceived(t *testing.T) {
	ai := extracttest.NewServer(t, extracttest.Malformed)
	t0 := time.Now().UTC().Truncate(time.Second)
	b := setup(t, t0, extract.New(extract.Config{BaseURL: ai.BaseURL(), APIKey: ai.Key, Backoff: time.Millisecond}))
	withSchema := newReceiver(t, http.StatusOK)
	noSchema := newReceiver(t, http.StatusOK)
	p1 := b.partner(t, "+13125550100", withSchema.srv.URL, readSchema(t))
	p2 := b.partner(t, "+13125550101", noSchema.srv.URL, nil)
	pdf, err := os.ReadFile("testdata/referral.pdf")
	if err != nil {
		t.Fatal(err)
	}

	broken := b.receive(t, "+13125550100", []byte("%PDF-1.4 truncated"), t0)
	got := checkSigned(t, withSchema.next(t), webhook.EventFaxReceived, t0)
	if got["faxId"] != broken.ID || got["ocrStatus"] != "failed" || got["ocrText"] != "" {
		t.Fatalf("fax.received for a broken PDF %v", got)
	}
	if f := b.fax(t, p1.ID, broken.ID); f.OCRStatus != "failed" || f.ExtractStatus != "failed" {
		t.Fatalf("broken fax %+v", f)
	}

	good := b.receive(t, "+13125550100", pdf, t0)
	plain := b.receive(t, "+13125550101", pdf, t0)
	got = checkSigned(t, withSchema.next(t), webhook.EventFaxReceived, t0)
	if got["faxId"] != good.ID || got["ocrStatus"] != "done" {
		t.Fatalf("fax.received %v", got)
	}
	got = checkSigned(t, noSchema.next(t), webhook.EventFaxReceived, t0)
	if got["faxId"] != plain.ID || got["ocrStatus"] != "done" {
		t.Fatalf("fax.received %v", got)
	}
	for {
		ev := b.waitJob(t, ExtractArgs{}.Kind())
		if ev.Kind == river.EventKindJobCompleted {
			break
		}
	}
	if f := b.fax(t, p1.ID, good.ID); f.ExtractStatus != "failed" || f.ExtractedData != nil {
		t.Fatalf("extraction with a malformed model: %+v", f)
	}
	if f := b.fax(t, p2.ID, plain.ID); f.ExtractStatus != "disabled" {
		t.Fatalf("no schema: %+v", f)
	}
	if n := len(ai.Requests()); n != 6 { // 3 attempts inside each of the 2 River attempts
		t.Errorf("%d model requests, want 6", n)
	}
	withSchema.none(t, 200*time.Millisecond)
	noSchema.none(t, 0)
}

// TestTIFFPages: when the gateway stores the received pages as TIFF Class F, OCR reads the decoded
// bitmaps (here standard resolution, T.4 MR K=2) rather than rendering the PDF.
func TestTIFFPages(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	b := setup(t, t0, nil)
	rcv := newReceiver(t, http.StatusOK)
	b.partner(t, "+16175550100", rcv.srv.URL, nil)
	pdf, err := os.ReadFile("testdata/referral.pdf")
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := ocr.RasterizePDF(context.Background(), pdf, g3.ResX, g3.ResStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	page := g3.Page(rendered[0])
	coded, err := g3.EncodePages([]*g3.Page{&page}, g3.Options{Compression: g3.MR, K: 2, Order: g3.MSBFirst})
	if err != nil {
		t.Fatal(err)
	}
	var tiff bytes.Buffer
	if err := g3.WriteTIFF(&tiff, coded); err != nil {
		t.Fatal(err)
	}
	// The PDF is unreadable, so only the TIFF can produce the text.
	fax, err := b.st.InsertReceivedFax(context.Background(), store.ReceivedFax{
		FromNumber: "+15125551234", ToNumber: "+16175550100", Pages: 1, ReceivedAt: t0,
		PDF: []byte("%PDF-1.4 unreadable"), TIFF: tiff.Bytes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := checkSigned(t, rcv.next(t), webhook.EventFaxReceived, t0)
	text, _ := got["ocrText"].(string)
	if got["faxId"] != fax.ID || got["ocrStatus"] != "done" || !strings.Contains(text, "Jane Smith") || !strings.Contains(text, "1234567890") {
		t.Fatalf("fax.received from TIFF pages: %v", got)
	}
}

// TestBlockedEndpoint: a partner webhook pointing at the cloud metadata address is refused at dial
// time by the guarded client, and the refusal is what the delivery log shows.
func TestBlockedEndpoint(t *testing.T) {
	t0 := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	b := setup(t, t0, nil)
	p := b.partner(t, "+12065550100", "https://169.254.169.254/latest/meta-data/", nil)
	ctx := context.Background()
	err := b.st.WithTx(ctx, func(tx *store.Tx) error {
		_, err := b.pipe.EnqueueOutbound(ctx, tx, OutboundEvent{PartnerID: p.ID, Payload: webhook.Outbound{
			Event: webhook.EventFaxDelivered, JobID: "job_9", ToNumber: "+12125550001", ExternalUserID: "user_42", Pages: 1, Timestamp: t0}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev := b.waitJob(t, DeliverArgs{}.Kind()); ev.Kind != river.EventKindJobFailed {
		t.Fatalf("job %s", ev.Kind)
	}
	recs, err := b.pipe.Deliveries(ctx, p.ID, DeliveryQuery{SubjectID: "job_9"})
	if err != nil || len(recs) != 1 || len(recs[0].Attempts) != 1 {
		t.Fatalf("%v %+v", err, recs)
	}
	a := recs[0].Attempts[0]
	if a.StatusCode != nil || !strings.Contains(a.Error, "blocked: cloud metadata service") || recs[0].Status != "pending" {
		t.Fatalf("attempt %+v", a)
	}
}
