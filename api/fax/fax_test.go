package fax_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/t30"
	"github.com/faxseal/faxseal/webhook"
)

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

var okT30 = &t30.Result{Code: t30.OK, Pages: 3, Modulation: t30.V17, BitRate: 14400, ECM: true,
	Format: t30.Format{Compression: t30.MMR, Resolution: t30.Fine, Width: t30.WidthA4, ECM: true}, RemoteIdent: "+1 212 555 0001"}

// checkOutbound checks a status callback is the seed's payload, field for field, and signed.
func checkOutbound(t *testing.T, h hook, event, jobID string, pages int, credits int64, reason string) {
	t.Helper()
	want := []string{"creditsUsed", "event", "externalUserId", "jobId", "pages", "status", "timestamp", "toNumber"}
	if reason != "" {
		want = append(want, "failureReason")
		sort.Strings(want)
	}
	if got := keys(h.body); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s payload fields %v, want %v: %s", event, got, want, h.raw)
	}
	status := strings.TrimPrefix(event, "fax.")
	if h.body["event"] != event || h.body["jobId"] != jobID || h.body["status"] != status ||
		h.body["externalUserId"] != user || h.body["pages"] != float64(pages) || h.body["creditsUsed"] != float64(credits) {
		t.Fatalf("payload %s, want %s %s pages %d credits %d", h.raw, event, jobID, pages, credits)
	}
	if reason != "" && h.body["failureReason"] != reason {
		t.Fatalf("failureReason %v, want %s", h.body["failureReason"], reason)
	}
	if _, err := time.Parse(time.RFC3339, h.body["timestamp"].(string)); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	if err := webhook.Verify(secret, h.header.Get("X-Faxseal-Signature"), h.raw, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
}

func TestSendDelivered(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100})
	b.dialer.script(step{answer: true, confirm: 3, outcome: send.OutcomeDelivered, sip: 200, t30: okT30})
	r := b.upload(t, fields(nanpTo), makePDF(3), nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	// The seed's 202, exactly.
	if got := keys(r.body); !reflect.DeepEqual(got, []string{"creditsRemaining", "creditsUsed", "jobId", "pages", "status"}) {
		t.Fatalf("202 fields %v", got)
	}
	id, _ := r.body["jobId"].(string)
	if id == "" || r.body["status"] != "queued" || r.body["pages"] != 3.0 || r.body["creditsUsed"] != 3.0 || r.body["creditsRemaining"] != 97.0 {
		t.Fatalf("202 body %s", r.raw)
	}
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 3, 3, "")
	checkOutbound(t, b.hook(t), webhook.EventFaxDelivered, id, 3, 3, "")

	calls := b.dialer.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.c.To != nanpTo || c.c.CallerID != callerDID || c.c.Trunk != "carrier" || c.pages != 3 || len(c.sent) != 3 {
		t.Fatalf("call %+v pages %d sent %d", c.c, c.pages, len(c.sent))
	}
	for i, p := range c.sent {
		if p.Width != 1728 || p.Height < 2000 {
			t.Fatalf("page %d is %dx%d, want 1728 wide at fine resolution", i+1, p.Width, p.Height)
		}
	}
	g := b.do(t, http.MethodGet, "/fax/"+id, "", nil, nil)
	if g.status != 200 || g.body["status"] != "delivered" || g.body["pagesConfirmed"] != 3.0 || g.body["creditsUsed"] != 3.0 {
		t.Fatalf("GET: %d %s", g.status, g.raw)
	}
	att := g.body["attempts"].([]any)
	a0 := att[0].(map[string]any)
	t30r, _ := a0["t30"].(map[string]any)
	if len(att) != 1 || a0["outcome"] != "delivered" || t30r["code"] != "ok" || t30r["bitRate"] != 14400.0 || t30r["format"] != "MMR fine 1728 ECM" {
		t.Fatalf("attempts %s", g.raw)
	}
	if b.credits(t) != 97 {
		t.Fatalf("balance %d", b.credits(t))
	}
	if l := b.ledger(t, id); len(l) != 1 || l[0].Delta != -3 || l[0].Reason != "fax_hold" {
		t.Fatalf("ledger %+v", l)
	}
	// Usage counts the outbound fax (store.Usage reads outbound_faxes).
	u := b.do(t, http.MethodGet, "/usage?externalUserId="+user, "", nil, nil)
	out, _ := u.body["outbound"].(map[string]any)
	if u.status != 200 || out["total"] != 1.0 || out["delivered"] != 1.0 || out["creditsUsed"] != 3.0 {
		t.Fatalf("usage %s", u.raw)
	}
	if g := b.do(t, http.MethodGet, "/fax/fax_nope", "", nil, nil); g.status != 404 || g.code() != "fax_not_found" {
		t.Fatalf("unknown job: %d %s", g.status, g.raw)
	}
}

// A T.30 failure mid-document: the redial sends only the unconfirmed pages, and all three are
// charged once delivered.
func TestResendUnconfirmedPages(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100, policy: send.Policy{Delays: []time.Duration{10 * time.Millisecond}}})
	b.dialer.script(
		step{answer: true, confirm: 1, outcome: send.OutcomeFailed, sip: 200, t30: &t30.Result{Code: t30.HungUpMidPage, Detail: "BYE during page 2"}},
		step{answer: true, confirm: 2, outcome: send.OutcomeDelivered, sip: 200, t30: okT30},
	)
	r := b.upload(t, fields(nanpTo), makePDF(3), nil)
	id, _ := r.body["jobId"].(string)
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 3, 3, "")
	checkOutbound(t, b.hook(t), webhook.EventFaxDelivered, id, 3, 3, "")
	calls := b.dialer.Calls()
	if len(calls) != 2 || calls[0].pages != 3 || calls[1].pages != 2 {
		t.Fatalf("calls: %d, pages %v", len(calls), calls)
	}
	f, err := b.svc.Fax(context.Background(), b.partnerID, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Attempts) != 2 || f.Attempts[0].Outcome != "failed" || f.Attempts[0].PagesConfirmed != 1 ||
		f.Attempts[0].T30 == nil || f.Attempts[0].T30.Code != "hung-up-mid-page" || f.Attempts[0].T30.Detail != "BYE during page 2" ||
		f.Attempts[1].FirstPage != 2 || f.Attempts[1].PagesConfirmed != 2 || f.CreditsUsed != 3 {
		t.Fatalf("fax %+v", f)
	}
	b.noHook(t, 200*time.Millisecond) // fax.sending went out once, not per attempt
}

// Settle with partial confirmation: 2 of 3 pages confirmed and no redial left: 2 charged, 1 refunded.
func TestPartialConfirmationRefund(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100, policy: send.Policy{MaxAttempts: 1}})
	b.dialer.script(step{answer: true, confirm: 2, outcome: send.OutcomeFailed, sip: 200,
		t30: &t30.Result{Code: t30.NoResponsePostPage, Detail: "3 × MPS without response"}})
	r := b.upload(t, fields(intlTo), makePDF(3), nil)
	id, _ := r.body["jobId"].(string)
	// The United Kingdom is in zone intl-1, 2 credits a page (billing.DefaultPrefixes).
	if r.body["creditsUsed"] != 6.0 || r.body["creditsRemaining"] != 94.0 {
		t.Fatalf("international rate: %s", r.raw)
	}
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 3, 6, "")
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 3, 4, "failed")
	if b.credits(t) != 96 {
		t.Fatalf("balance %d, want 96", b.credits(t))
	}
	l := b.ledger(t, id)
	if len(l) != 2 || l[0].Delta != -6 || l[1].Delta != 2 || l[1].Reason != "fax_refund" {
		t.Fatalf("ledger %+v", l)
	}
	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	if f.Status != "failed" || f.FailureReason != "failed" || f.PagesConfirmed != 2 || f.CreditsUsed != 4 || f.CreditsRefund != 2 {
		t.Fatalf("fax %+v", f)
	}
}

// Busy and no-answer are redialled with back-off; when the tries run out everything is refunded.
func TestBusyNoAnswerRetriesRefund(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 10, policy: send.Policy{MaxAttempts: 3, Delays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}}})
	b.dialer.script(
		step{outcome: send.OutcomeBusy, sip: 486},
		step{outcome: send.OutcomeNoAnswer, sip: 480},
		step{outcome: send.OutcomeBusy, sip: 486},
	)
	r := b.upload(t, fields(nanpTo), makePDF(2), nil)
	id, _ := r.body["jobId"].(string)
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 2, 0, "busy")
	if len(b.dialer.Calls()) != 3 {
		t.Fatalf("%d calls, want 3", len(b.dialer.Calls()))
	}
	if b.credits(t) != 10 {
		t.Fatalf("balance %d, want the full refund (10)", b.credits(t))
	}
	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	var outcomes []string
	for _, a := range f.Attempts {
		outcomes = append(outcomes, fmt.Sprintf("%s/%d", a.Outcome, *a.SIPStatus))
	}
	if strings.Join(outcomes, " ") != "busy/486 no-answer/480 busy/486" || f.CreditsUsed != 0 || f.CreditsRefund != 2 {
		t.Fatalf("attempts %v fax %+v", outcomes, f)
	}
	// A final no-answer reports no-answer.
	b.dialer.script(step{outcome: send.OutcomeNoAnswer, sip: 408}, step{outcome: send.OutcomeNoAnswer}, step{outcome: send.OutcomeNoAnswer})
	r = b.upload(t, fields(nanpTo), makePDF(1), nil)
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, r.body["jobId"].(string), 1, 0, "no-answer")
	// A SIP failure (404) is final at once.
	b.dialer.script(step{outcome: send.OutcomeFailed, sip: 404})
	r = b.upload(t, fields(nanpTo), makePDF(1), nil)
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, r.body["jobId"].(string), 1, 0, "failed")
	if n := len(b.dialer.Calls()); n != 7 {
		t.Fatalf("%d calls, want 7", n)
	}
	if b.credits(t) != 10 {
		t.Fatalf("balance %d", b.credits(t))
	}
	u := b.do(t, http.MethodGet, "/usage", "", nil, nil)
	out, _ := u.body["outbound"].(map[string]any)
	if out["total"] != 3.0 || out["failed"] != 3.0 || out["creditsUsed"] != 0.0 {
		t.Fatalf("usage %s", u.raw)
	}
}

func TestIntakeErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 2})
	good := makePDF(1)
	// A PDF header with a catalog whose page tree does not exist.
	broken := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	big := make([]byte, 20<<20+1)
	copy(big, good)
	for _, tc := range []struct {
		name   string
		fields map[string]string
		pdf    []byte
		status int
		code   string
	}{
		{"short of credits", fields(nanpTo), makePDF(3), 402, "insufficient_credits"},
		{"no number", map[string]string{"toNumber": nanpTo, "externalUserId": "user_7"}, good, 422, "no_fax_number"},
		{"not E.164", fields("212-555-0001"), good, 400, "invalid_parameter"},
		{"no toNumber", map[string]string{"externalUserId": user}, good, 400, "missing_parameter"},
		{"no file", fields(nanpTo), nil, 400, "missing_parameter"},
		{"not a PDF", fields(nanpTo), []byte("GIF89a this is an image"), 400, "not_pdf"},
		{"broken PDF", fields(nanpTo), broken, 422, "pdf_invalid"},
		{"encrypted PDF", fields(nanpTo), encryptPDF(t, good), 422, "pdf_encrypted"},
		{"over 20 MB", fields(nanpTo), big, 413, "pdf_too_large"},
		{"satellite destination", fields("+881612345678"), good, 422, "unsupported_destination"},
		{"not a NANP number", fields("+11125550001"), good, 400, "invalid_parameter"},
		{"unknown field", map[string]string{"toNumber": nanpTo, "externalUserId": user, "priority": "high"}, good, 400, "unknown_field"},
		{"http callback", map[string]string{"toNumber": nanpTo, "externalUserId": user, "callbackUrl": "ftp://x.test/"}, good, 400, "invalid_parameter"},
	} {
		r := b.upload(t, tc.fields, tc.pdf, nil)
		if r.status != tc.status || r.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.raw, tc.status, tc.code)
		}
	}
	if r := b.do(t, http.MethodPost, "/fax", "text/plain", strings.NewReader("hi"), nil); r.status != 415 {
		t.Errorf("text/plain: %d %s", r.status, r.raw)
	}
	// Nothing was held or queued by any of them.
	if b.credits(t) != 2 {
		t.Fatalf("balance %d", b.credits(t))
	}
	var n int
	if err := b.st.QueryRow(context.Background(), `SELECT count(*) FROM outbound_faxes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d faxes, %v", n, err)
	}
}

func TestFileURL(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100, allowLoopback: true})
	pdf := makePDF(2)
	b.serveFile(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/doc.pdf":
			w.Write(pdf)
		case "/huge.pdf": // streamed without a length: the cap applies while reading
			w.Write(pdf[:100])
			chunk := bytes.Repeat([]byte{' '}, 1<<20)
			for i := 0; i < 21; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	})
	b.dialer.script(step{answer: true, confirm: 2, outcome: send.OutcomeDelivered, t30: okT30})
	body := map[string]any{"toNumber": nanpTo, "externalUserId": user, "fileUrl": b.files.URL + "/doc.pdf",
		"callbackSecret": "whsec_per_fax_1"}
	r := b.sendJSON(t, body, nil)
	if r.status != 202 || r.body["pages"] != 2.0 || r.body["creditsUsed"] != 2.0 {
		t.Fatalf("fileUrl: %d %s", r.status, r.raw)
	}
	h := b.hook(t)
	if err := webhook.Verify("whsec_per_fax_1", h.header.Get("X-Faxseal-Signature"), h.raw, time.Now(), time.Minute); err != nil {
		t.Fatalf("callbackSecret not used: %v", err)
	}
	b.hook(t)
	for _, tc := range []struct {
		url    string
		status int
		code   string
	}{
		{b.files.URL + "/huge.pdf", 413, "pdf_too_large"},
		{b.files.URL + "/missing.pdf", 422, "file_fetch_failed"},
		{"https://169.254.169.254/latest/meta-data.pdf", 422, "file_url_blocked"},
		{"https://10.1.2.3/doc.pdf", 422, "file_url_blocked"},
		{"http://example.com/doc.pdf", 400, "invalid_parameter"},
	} {
		body["fileUrl"] = tc.url
		if r := b.sendJSON(t, body, nil); r.status != tc.status || r.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.url, r.status, r.raw, tc.status, tc.code)
		}
	}
	// Without the loopback allowance (production), the test server itself is an SSRF target.
	prod := setup(t, options{credits: 100})
	body["fileUrl"] = b.files.URL + "/doc.pdf"
	if r := prod.sendJSON(t, body, nil); r.status != 422 || r.code() != "file_url_blocked" {
		t.Errorf("loopback fileUrl: %d %s", r.status, r.raw)
	}
	if r := b.sendJSON(t, map[string]any{"toNumber": nanpTo, "externalUserId": user}, nil); r.status != 400 || r.code() != "missing_parameter" {
		t.Errorf("no fileUrl: %d %s", r.status, r.raw)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100})
	pdf := makePDF(2)
	hdr := map[string]string{"Idempotency-Key": "order-1234"}
	first := b.upload(t, fields(nanpTo), pdf, hdr)
	again := b.upload(t, fields(nanpTo), pdf, hdr)
	if first.status != 202 || again.status != 202 || !bytes.Equal(first.raw, again.raw) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %s / %d %s", first.status, first.raw, again.status, again.raw)
	}
	if r := b.upload(t, fields(intlTo), pdf, hdr); r.status != 409 || r.code() != "idempotency_key_reused" {
		t.Fatalf("other body: %d %s", r.status, r.raw)
	}
	if r := b.upload(t, fields(nanpTo), makePDF(1), hdr); r.status != 409 {
		t.Fatalf("other document: %d %s", r.status, r.raw)
	}
	// Concurrent repeats of a new key: one fax, one hold, one answer.
	var wg sync.WaitGroup
	bodies := make([][]byte, 6)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.upload(t, fields(nanpTo), pdf, map[string]string{"Idempotency-Key": "race-1"})
			if r.status != 202 {
				t.Errorf("concurrent: %d %s", r.status, r.raw)
			}
			bodies[i] = r.raw
		}()
	}
	wg.Wait()
	for _, bb := range bodies[1:] {
		if !bytes.Equal(bb, bodies[0]) {
			t.Fatalf("concurrent answers differ: %s / %s", bb, bodies[0])
		}
	}
	// (The faxes then fail, no dial being scripted, and are refunded: count the holds.)
	var n, holds int
	b.st.QueryRow(context.Background(), `SELECT count(*) FROM outbound_faxes`).Scan(&n)
	b.st.QueryRow(context.Background(), `SELECT count(*) FROM credit_ledger WHERE reason = 'fax_hold'`).Scan(&holds)
	if n != 2 || holds != 2 {
		t.Fatalf("%d faxes, %d holds; want 2 and 2", n, holds)
	}
	// Without a key the same request is another fax.
	if r := b.upload(t, fields(nanpTo), pdf, nil); r.status != 202 || bytes.Equal(r.raw, first.raw) {
		t.Fatalf("no key: %d %s", r.status, r.raw)
	}
}

// Crash safety: the node dies mid-call after two pages were confirmed. River runs the job again;
// the attempt is recorded as interrupted, only page 3 is sent, and the fax is charged once. A
// duplicate job for the settled fax then changes nothing.
func TestCrashMidCallChargesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100})
	b.dialer.script(
		step{answer: true, confirm: 2, panic: true},
		step{answer: true, confirm: 1, outcome: send.OutcomeDelivered, t30: okT30},
	)
	b.dialer.dialed = make(chan call, 4)
	r := b.upload(t, fields(nanpTo), makePDF(3), nil)
	id, _ := r.body["jobId"].(string)
	<-b.dialer.dialed
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 3, 3, "")
	checkOutbound(t, b.hook(t), webhook.EventFaxDelivered, id, 3, 3, "")
	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	if len(f.Attempts) != 2 || f.Attempts[0].Outcome != "interrupted" || f.Attempts[1].FirstPage != 3 || f.CreditsUsed != 3 {
		t.Fatalf("fax %+v", f)
	}
	if c := b.dialer.Calls(); len(c) != 2 || c[1].pages != 1 {
		t.Fatalf("calls %+v", c)
	}
	before := b.ledger(t, id)
	res, err := b.client.Insert(context.Background(), send.DeliverArgs{FaxID: id}, &river.InsertOpts{Queue: send.QueueSend})
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, b, res.Job.ID)
	if after := b.ledger(t, id); !reflect.DeepEqual(after, before) || len(after) != 1 || after[0].Delta != -3 {
		t.Fatalf("ledger changed by a second run: %+v -> %+v", before, after)
	}
	if len(b.dialer.Calls()) != 2 {
		t.Fatal("a settled fax was dialled again")
	}
	b.noHook(t, 200*time.Millisecond)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 100, policy: send.Policy{Delays: []time.Duration{time.Hour}}})
	// Waiting to redial after busy: canceled at once, fully refunded.
	b.dialer.script(step{outcome: send.OutcomeBusy, sip: 486})
	r := b.upload(t, fields(nanpTo), makePDF(2), nil)
	id := r.body["jobId"].(string)
	b.waitFax(t, id, func(f send.Fax) bool { return f.NextAttemptAt != nil })
	d := b.do(t, http.MethodDelete, "/fax/"+id, "", nil, nil)
	if d.status != 200 || d.body["status"] != "failed" || d.body["failureReason"] != "canceled" || d.body["creditsUsed"] != 0.0 {
		t.Fatalf("cancel waiting: %d %s", d.status, d.raw)
	}
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 2, 0, "canceled")
	if b.credits(t) != 100 {
		t.Fatalf("balance %d", b.credits(t))
	}
	if d := b.do(t, http.MethodDelete, "/fax/"+id, "", nil, nil); d.status != 409 || d.code() != "fax_not_cancelable" {
		t.Fatalf("cancel twice: %d %s", d.status, d.raw)
	}

	// Dialing (ringing): the call is hung up and the fax settles as canceled.
	hold := make(chan struct{})
	defer close(hold)
	b.dialer.dialed = make(chan call, 1)
	b.dialer.script(step{outcome: send.OutcomeNoAnswer, hold: hold})
	r = b.upload(t, fields(nanpTo), makePDF(1), nil)
	id = r.body["jobId"].(string)
	<-b.dialer.dialed
	d = b.do(t, http.MethodDelete, "/fax/"+id, "", nil, nil)
	if d.status != 200 || d.body["status"] != "failed" || d.body["failureReason"] != "canceled" {
		t.Fatalf("cancel dialing: %d %s", d.status, d.raw)
	}
	checkOutbound(t, b.hook(t), webhook.EventFaxFailed, id, 1, 0, "canceled")
	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	if len(f.Attempts) != 1 || f.Attempts[0].Outcome != "canceled" || b.credits(t) != 100 {
		t.Fatalf("fax %+v balance %d", f, b.credits(t))
	}
	if d := b.do(t, http.MethodDelete, "/fax/fax_unknown", "", nil, nil); d.status != 404 {
		t.Fatalf("unknown: %d", d.status)
	}
}

// Low balance: the hold that takes the balance below 10 records one notification for the billing email.
func TestLowBalanceNotification(t *testing.T) {
	t.Parallel()
	b := setup(t, options{credits: 12})
	b.dialer.script(step{outcome: send.OutcomeFailed, sip: 404}, step{outcome: send.OutcomeFailed, sip: 404})
	count := func() (n int, email string) {
		b.st.QueryRow(context.Background(), `SELECT count(*), coalesce(max(billing_email), '') FROM low_balance_notifications
			WHERE partner_id = $1 AND balance < 10`, b.partnerID).Scan(&n, &email)
		return
	}
	r := b.upload(t, fields(nanpTo), makePDF(2), nil) // 12 -> 10
	if n, _ := count(); r.status != 202 || n != 0 {
		t.Fatalf("at 10: %d notifications", n)
	}
	b.hook(t)                                        // failed (404), refunded: 12 again
	r = b.upload(t, fields(nanpTo), makePDF(3), nil) // 12 -> 9
	if n, email := count(); r.status != 202 || n != 1 || email != "billing@acme.test" {
		t.Fatalf("below 10: %d notifications to %q", n, email)
	}
	b.hook(t)
}

func waitJob(t *testing.T, b *bundle, id int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := b.client.JobGet(context.Background(), id)
		if err == nil && j.FinalizedAt != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %d not finished", id)
}
