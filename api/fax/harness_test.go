package fax_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/api/fax"
	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/t30"
	"github.com/faxseal/faxseal/webhook"
)

// TestMain restarts the binary with OMP_THREAD_LIMIT=1: the webhook pipeline (jobs.New) needs an
// OCR pool, and package ocr requires it before a pool starts. It also raises the default
// -parallel: these tests mostly wait (on River, on real-time T.30 calls, on River's rescuer), and
// go test's default of GOMAXPROCS would run them two at a time on the 2-core build machine.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" || f.Name == "test.fuzz" }) // fuzz workers: one per core
	if !set {
		flag.Set("test.parallel", "8")
	}
	if err := ocr.ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if url := os.Getenv(envCrashChild); url != "" {
		crashChild(url) // never returns: the parent kills it
	}
	os.Exit(m.Run())
}

const (
	callerDID = "+14155550100"
	user      = "user_42"
	secret    = "whsec_send_test_1"
	nanpTo    = "+12125550001"
	intlTo    = "+442071234567"
)

// step is what the scripted dialer does on one call.
type step struct {
	answer  bool          // report ProgressAnswered
	confirm int           // pages to confirm (reported one by one after encoding each)
	outcome send.Outcome  // the Result's outcome
	sip     int           // final SIP status
	t30     *t30.Result   // the T.30 result (nil before T.30)
	hold    chan struct{} // if set: block until closed or the call is canceled
	panic   bool          // die mid-call after the confirmations (a node crash, as far as the job can tell)
}

// call is what the dialer was asked to do.
type call struct {
	c     send.Call
	pages int
	sent  []*g3.Page // the pages it encoded and decoded, as a receiver would
}

// scriptDialer is the test double of the gateway for the pipeline's own tests (the real gateway
// is tested end to end in e2e_test.go): it codes the pages it "sends" and decodes them back, and
// reports scripted progress and results.
type scriptDialer struct {
	mu     sync.Mutex
	steps  []step
	calls  []call
	dialed chan call
	// beforePanic waits until n confirmations of the fax are recorded.
	beforePanic func(faxID string, n int)
}

func (d *scriptDialer) Dial(ctx context.Context, c send.Call) send.Result {
	d.mu.Lock()
	if len(d.steps) == 0 {
		d.mu.Unlock()
		return send.Result{Outcome: send.OutcomeFailed, Err: fmt.Errorf("test dialer: no step scripted")}
	}
	st := d.steps[0]
	d.steps = d.steps[1:]
	d.mu.Unlock()
	rec := call{c: c, pages: len(c.Pages)}
	res := send.Result{Outcome: st.outcome, SIPStatus: st.sip, T30: st.t30}
	if st.answer {
		res.Transport = "t38"
		c.Progress(send.Progress{Kind: send.ProgressAnswered})
	}
	// "Transmit" each confirmed page through the codec, MMR as in ECM, and keep what a receiver
	// would decode.
	for i := 0; i < st.confirm && i < len(c.Pages); i++ {
		p := c.Pages[i]
		data, err := g3.Encode(p, g3.Options{Compression: g3.MMR, Width: p.Width, Order: g3.LSBFirst})
		if err != nil {
			return send.Result{Outcome: send.OutcomeFailed, Err: err}
		}
		got, _, err := g3.Decode(data, g3.Options{Compression: g3.MMR, Width: p.Width, Height: p.Height, Order: g3.LSBFirst})
		if err != nil {
			return send.Result{Outcome: send.OutcomeFailed, Err: err}
		}
		rec.sent = append(rec.sent, got)
		c.Progress(send.Progress{Kind: send.ProgressPageConfirmed, Page: i})
		res.Confirmed = i + 1
	}
	d.mu.Lock()
	d.calls = append(d.calls, rec)
	d.mu.Unlock()
	if d.dialed != nil {
		d.dialed <- rec
	}
	if st.panic {
		// The confirmations are written asynchronously; a real node dies at some later moment.
		if d.beforePanic != nil {
			d.beforePanic(c.FaxID, st.confirm)
		}
		panic("test dialer: the node died mid-call")
	}
	if st.hold != nil {
		select {
		case <-st.hold:
		case <-ctx.Done():
			res.Outcome = send.OutcomeCanceled
		}
	}
	return res
}

func (d *scriptDialer) script(steps ...step) {
	d.mu.Lock()
	d.steps = append(d.steps, steps...)
	d.mu.Unlock()
}

func (d *scriptDialer) Calls() []call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]call(nil), d.calls...)
}

// hook is one webhook the partner's endpoint got.
type hook struct {
	header http.Header
	body   map[string]any
	raw    []byte
}

type bundle struct {
	st        *store.Store
	svc       *send.Service
	dialer    *scriptDialer
	partnerID string
	key       string
	srv       *httptest.Server
	files     *httptest.Server // the partner's https document server
	hooks     chan hook
	fileBody  func(w http.ResponseWriter, r *http.Request)
	fileMu    sync.Mutex
	client    *store.JobClient
}

type options struct {
	credits       int64
	policy        send.Policy
	allowLoopback bool             // the fileUrl client may fetch from 127.0.0.1 (the test's TLS server)
	dialer        send.Dialer      // nil: the scripted dialer
	now           func() time.Time // the pipeline's clock (page headers); nil: time.Now
	dbURL         string           // a database from storetest.URL shared with another process; "": a new one
	noStart       bool             // create the River client but do not start it (b.start)
	rescueAfter   time.Duration    // River's RescueStuckJobsAfter; 0: River's default
	callTimeout   time.Duration    // send.Config.CallTimeout (which also delays River's rescue)
}

func setup(t *testing.T, o options) *bundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	if o.dbURL != "" {
		var err error
		if st, err = store.Open(ctx, o.dbURL, store.Options{SecretKey: storetest.SecretKey, MaxConns: 8}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
	}
	b := &bundle{st: st, dialer: &scriptDialer{}, hooks: make(chan hook, 64)}

	p, key, err := st.CreatePartner(ctx, store.NewPartner{Name: "Acme", Credits: o.credits, BillingEmail: "billing@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	b.partnerID, b.key = p.ID, key
	if _, _, err := st.ImportDIDs(ctx, []store.DID{{Number: callerDID, Trunk: "carrier"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Provision(ctx, p.ID, user, "415", store.TierPersonal); err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		b.hooks <- hook{header: r.Header.Clone(), body: m, raw: raw}
	}))
	t.Cleanup(receiver.Close)
	u, s := receiver.URL+"/hook", secret
	if err := st.UpdateSettings(ctx, p.ID, store.SettingsPatch{WebhookURL: &u, WebhookSecret: &s}); err != nil {
		t.Fatal(err)
	}

	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	pipe, err := jobs.New(jobs.Config{
		Store: st, OCR: pool,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: true}), Timeout: 5 * time.Second},
		Links:     jobs.FileLinks{Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: "https://fax.example.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var dialer send.Dialer = b.dialer
	if o.dialer != nil {
		dialer = o.dialer
	}
	b.svc, err = send.New(send.Config{Store: st, Events: pipe, Dialer: dialer, Policy: o.policy, Now: o.now, CallTimeout: o.callTimeout,
		CancelPoll: 50 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	pipe.Register(workers)
	if err := b.svc.Register(workers); err != nil {
		t.Fatal(err)
	}
	queues := pipe.Queues()
	for k, v := range b.svc.Queues() {
		queues[k] = v
	}
	cfg := &river.Config{Queues: queues, Workers: workers, Logger: logger,
		FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond}
	if o.rescueAfter > 0 {
		cfg.RescueStuckJobsAfter, cfg.JobTimeout = o.rescueAfter, o.rescueAfter/2
	}
	b.client, err = st.NewJobClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !o.noStart {
		b.start(t)
	}

	b.files = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.fileMu.Lock()
		f := b.fileBody
		b.fileMu.Unlock()
		if f == nil {
			http.NotFound(w, r)
			return
		}
		f(w, r)
	}))
	t.Cleanup(b.files.Close)
	roots := x509.NewCertPool()
	roots.AddCert(b.files.Certificate())
	fetch := webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: o.allowLoopback, TLSConfig: &tls.Config{RootCAs: roots}})
	routes, err := fax.Routes(fax.Config{Service: b.svc, Client: fetch, FetchTimeout: 10 * time.Second, CancelWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Store: st, Routes: routes, AllowHTTPWebhooks: true})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	a.Mount(r)
	b.srv = httptest.NewServer(r)
	t.Cleanup(b.srv.Close)
	b.dialer.beforePanic = func(id string, n int) {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if f, err := b.svc.Fax(context.Background(), b.partnerID, id); err == nil && f.PagesConfirmed >= n {
				return
			}
		}
	}
	return b
}

// start runs the River client (the workers) until the test ends.
func (b *bundle) start(t *testing.T) {
	t.Helper()
	if err := b.client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		b.client.Stop(ctx)
	})
}

func (b *bundle) serveFile(f func(w http.ResponseWriter, r *http.Request)) {
	b.fileMu.Lock()
	b.fileBody = f
	b.fileMu.Unlock()
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (b *bundle) do(t *testing.T, method, path, contentType string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+api.Prefix+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Partner-Key", b.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &out.body)
	return out
}

// upload POSTs /fax as multipart/form-data with fields and the PDF as "file" (nil: no file part).
func (b *bundle) upload(t *testing.T, fields map[string]string, pdf []byte, hdr map[string]string) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if pdf != nil {
		fw, _ := mw.CreateFormFile("file", "doc.pdf")
		fw.Write(pdf)
	}
	mw.Close()
	return b.do(t, http.MethodPost, "/fax", mw.FormDataContentType(), &buf, hdr)
}

func (b *bundle) sendJSON(t *testing.T, v any, hdr map[string]string) response {
	t.Helper()
	raw, _ := json.Marshal(v)
	return b.do(t, http.MethodPost, "/fax", "application/json", bytes.NewReader(raw), hdr)
}

func fields(to string) map[string]string {
	return map[string]string{"toNumber": to, "externalUserId": user}
}

// hook waits for the next webhook.
func (b *bundle) hook(t *testing.T) hook {
	t.Helper()
	select {
	case h := <-b.hooks:
		return h
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook within 30 s")
		return hook{}
	}
}

func (b *bundle) noHook(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case h := <-b.hooks:
		t.Fatalf("unexpected webhook %s", h.raw)
	case <-time.After(within):
	}
}

func (b *bundle) credits(t *testing.T) int64 {
	t.Helper()
	p, err := b.st.Partner(context.Background(), b.partnerID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Credits
}

// ledger returns the partner's ledger entries about one fax, oldest first.
func (b *bundle) ledger(t *testing.T, faxID string) []store.LedgerEntry {
	t.Helper()
	all, err := b.st.Ledger(context.Background(), b.partnerID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.LedgerEntry
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Reference == faxID {
			out = append(out, all[i])
		}
	}
	return out
}

// status polls GET /fax/{id} until cond holds.
func (b *bundle) waitFax(t *testing.T, id string, cond func(send.Fax) bool) send.Fax {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := b.svc.Fax(context.Background(), b.partnerID, id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("fax %s: condition not met within 30 s: %+v", id, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func final(f send.Fax) bool { return f.Status == "delivered" || f.Status == "failed" }

// makePDF writes a PDF of n US Letter pages, each with one line of text (ISO 32000-1 §7.5: header,
// objects, cross-reference table, trailer).
func makePDF(n int) []byte {
	var objs []string
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	add("<< /Type /Catalog /Pages 2 0 R >>")
	add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	var kids []string
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("BT /F1 24 Tf 72 700 Td (FaxSeal test page %d of %d) Tj ET", i+1, n)
		cs := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
		pg := add(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>", cs, font))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func encryptPDF(t *testing.T, pdf []byte) []byte {
	t.Helper()
	pdfapi.DisableConfigDir()
	var out bytes.Buffer
	if err := pdfapi.Encrypt(bytes.NewReader(pdf), &out, model.NewAESConfiguration("user-pw", "owner-pw", 256)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
