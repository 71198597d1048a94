package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxseal/faxseal/extract/extracttest"
	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/webhook"
)

// TestMain restarts the test binary with OMP_THREAD_LIMIT=1 (package ocr, "Threads"), as runServe
// does for the real binary: runServe's own re-exec would otherwise replace the test process.
func TestMain(m *testing.M) {
	if err := ocr.ReexecSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// delivery is one webhook request the partner's endpoint got.
type delivery struct {
	header http.Header
	body   []byte
}

// hookReceiver is a partner's webhook endpoint: a real HTTP server on 127.0.0.1.
// While a gate is set, each request is reported and then held until the gate closes.
type hookReceiver struct {
	srv  *httptest.Server
	hits chan delivery
	mu   sync.Mutex
	gate chan struct{}
	// early holds deliveries that arrived before the one a test waited for.
	early []delivery
}

func (r *hookReceiver) hold() (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := make(chan struct{})
	r.gate = g
	return func() { close(g) }
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{hits: make(chan delivery, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.hits <- delivery{req.Header.Clone(), b}
		r.mu.Lock()
		g := r.gate
		r.mu.Unlock()
		if g != nil {
			<-g
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next waits for one delivery of event. Deliveries of different events run concurrently, so one
// queued later can arrive first: the ones of other events are kept for later calls — except a
// fax.extracted ahead of fax.received, which the delivery worker holds back (jobs.orderSnooze).
func (r *hookReceiver) next(t *testing.T, event string) (delivery, map[string]any) {
	t.Helper()
	for i, d := range r.early {
		if d.header.Get(webhook.EventHeader) == event {
			r.early = append(r.early[:i], r.early[i+1:]...)
			var m map[string]any
			json.Unmarshal(d.body, &m)
			return d, m
		}
	}
	deadline := time.After(90 * time.Second)
	for {
		select {
		case d := <-r.hits:
			if got := d.header.Get(webhook.EventHeader); got != event {
				if event == webhook.EventFaxReceived && got == webhook.EventFaxExtracted {
					t.Fatalf("fax.extracted arrived before fax.received (the seed: fax.received fires first)")
				}
				r.early = append(r.early, d)
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(d.body, &m); err != nil || m["event"] != event {
				t.Fatalf("%s payload %s: %v", event, d.body, err)
			}
			return d, m
		case <-deadline:
			t.Fatalf("no %s webhook within 90 s", event)
			return delivery{}, nil
		}
	}
}

// receivedFax is what the gateway stores for a received fax: testdata/serve/referral.pdf sent at
// standard resolution, as a /CCITTFaxDecode PDF (MH) and a TIFF Class F (MR).
func receivedFax(t *testing.T) (pdf, tiff []byte) {
	t.Helper()
	src, err := os.ReadFile("testdata/serve/referral.pdf")
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := ocr.RasterizePDF(context.Background(), src, g3.ResX, g3.ResStandard, 0)
	if err != nil {
		t.Fatal(err)
	}
	page := g3.Page(rendered[0])
	for _, c := range []struct {
		comp  g3.Compression
		write func(io.Writer, []g3.CodedPage) error
		dst   *[]byte
	}{{g3.MH, g3.WritePDF, &pdf}, {g3.MR, g3.WriteTIFF, &tiff}} {
		coded, err := g3.EncodePages([]*g3.Page{&page}, g3.Options{Compression: c.comp, K: 2, Order: g3.MSBFirst})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := c.write(&b, coded); err != nil {
			t.Fatal(err)
		}
		*c.dst = b.Bytes()
	}
	return pdf, tiff
}

// partnerAPI calls the partner API of a running node with a key.
type partnerAPI struct {
	t    *testing.T
	base string
	key  string
}

func (p partnerAPI) do(method, path, body string) (int, map[string]any) {
	p.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, p.base+"/api/partner"+path, rd)
	req.Header.Set("X-Partner-Key", p.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

// The inbound pipeline end to end on a running `faxseal serve` (no --dev: the loopback switch and the
// OpenAI settings come from the environment, as an operator sets them): a fax handed to the node's
// store as the gateway does is OCRed, fires a correctly signed fax.received and, with the
// OpenAI-compatible test server configured, fax.extracted; the inbox row has the OCR text and a
// fileUrl that serves the PDF without the key; the delivery log lists both events and replay
// delivers one again under the same event id.
func TestServeInboundPipeline(t *testing.T) {
	ai := extracttest.NewServer(t, extracttest.Good)
	t.Setenv("FAXSEAL_LOG_LEVEL", "warn")
	t.Setenv("FAXSEAL_DATABASE_URL", storetest.URL(t))
	t.Setenv("FAXSEAL_SECRET_KEY", hex.EncodeToString(storetest.SecretKey))
	t.Setenv("FAXSEAL_DATA_DIR", t.TempDir())
	t.Setenv("FAXSEAL_WEBHOOK_ALLOW_LOOPBACK", "true")
	t.Setenv("FAXSEAL_OPENAI_BASE_URL", ai.BaseURL())
	t.Setenv("FAXSEAL_OPENAI_API_KEY", ai.Key)
	t.Setenv("FAXSEAL_PUBLIC_URL", "")
	nodes := make(chan *node, 1)
	serving = func(n *node) { nodes <- n }
	t.Cleanup(func() { serving = nil })
	captureStdout(t)
	base, _ := startServe(t)
	n := <-nodes
	ctx := context.Background()

	_, key, err := n.store.CreatePartner(ctx, store.NewPartner{Name: "Acme Health"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.store.ImportDIDs(ctx, []store.DID{{Number: "+15125550100", Trunk: "carrier"}}); err != nil {
		t.Fatal(err)
	}
	api := partnerAPI{t: t, base: base, key: key}
	rcv := newHookReceiver(t)
	const secret = "whsec_e2e_1b7d"
	if code, m := api.do("POST", "/numbers", `{"externalUserId":"user_42","areaCode":"512"}`); code != 200 || m["faxNumber"] != "+15125550100" {
		t.Fatalf("provision: %d %v", code, m)
	}
	settings := fmt.Sprintf(`{"webhookUrl":%q,"webhookSecret":%q,"extractionSchema":{"type":"patient_referral","fields":[
		{"name":"patient_name","type":"string"},{"name":"dob","type":"date"},{"name":"diagnosis","type":"string"},
		{"name":"medications","type":"array"},{"name":"referring_npi","type":"string"}]}}`, rcv.srv.URL+"/faxseal", secret)
	if code, m := api.do("PATCH", "/settings", settings); code != 200 {
		t.Fatalf("settings: %d %v", code, m)
	}

	pdf, tiff := receivedFax(t)
	receivedAt := time.Now().UTC().Truncate(time.Second)
	fax, err := n.store.InsertReceivedFax(ctx, store.ReceivedFax{FromNumber: "+15125551234", ToNumber: "+15125550100",
		Pages: 1, ReceivedAt: receivedAt, PDF: pdf, TIFF: tiff})
	if err != nil {
		t.Fatal(err)
	}

	// fax.received, signed with the partner's secret as the seed's snippet checks it.
	d, got := rcv.next(t, webhook.EventFaxReceived)
	if err := webhook.Verify(secret, d.header.Get("x-faxseal-signature"), d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("fax.received signature: %v", err)
	}
	receivedID := d.header.Get(webhook.EventIDHeader)
	ocrText, _ := got["ocrText"].(string)
	fileURL, _ := got["fileUrl"].(string)
	if got["faxId"] != fax.ID || got["externalUserId"] != "user_42" || got["fromNumber"] != "+15125551234" ||
		got["ocrStatus"] != "done" || !strings.Contains(ocrText, "Jane Smith") || !strings.Contains(ocrText, "Metformin") ||
		!strings.HasPrefix(receivedID, "evt_") || d.header.Get(webhook.AttemptHeader) != "1" {
		t.Fatalf("fax.received %v %v", got, d.header)
	}
	// The link points at this node (FAXSEAL_PUBLIC_URL's default) and serves the PDF without the key.
	if !strings.HasPrefix(fileURL, base+"/api/partner/inbox/"+fax.ID+"/file?token=") {
		t.Fatalf("fileUrl %q, want it under %s", fileURL, base)
	}
	res, err := http.Get(fileURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(b, pdf) || res.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("GET fileUrl: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(b))
	}
	u, _ := url.Parse(fileURL)
	token := u.Query().Get("token")
	for path, want := range map[string]int{
		"/api/partner/inbox/" + fax.ID + "/file?token=" + token[:len(token)-2] + "AA": 403, // forged
		"/api/partner/inbox/fax_other/file?token=" + token:                            403, // bound to its fax
		"/api/partner/inbox/" + fax.ID + "/file":                                      403,
	} {
		if code, body, _ := get(t, base+path, ""); code != want || !strings.Contains(body, `"invalid_file_token"`) {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}

	// fax.extracted, from the OpenAI-compatible test server, after fax.received.
	d, ex := rcv.next(t, webhook.EventFaxExtracted)
	if err := webhook.Verify(secret, d.header.Get(webhook.SignatureHeader), d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("fax.extracted signature: %v", err)
	}
	want := map[string]any{"patient_name": "Jane Smith", "dob": "1980-03-15", "diagnosis": "Type 2 Diabetes",
		"medications": []any{"Metformin 500mg", "Lisinopril 10mg"}, "referring_npi": "1234567890"}
	if !reflect.DeepEqual(ex["extracted"], want) || ex["faxId"] != fax.ID || ex["fileUrl"] != fileURL || ex["ocrText"] != ocrText {
		t.Fatalf("fax.extracted %v", ex)
	}

	// The inbox row: OCR text, extracted data, the same link; searchable by a word on the page.
	code, inbox := api.do("GET", "/inbox?externalUserId=user_42&q=metformin", "")
	faxes, _ := inbox["faxes"].([]any)
	if code != 200 || len(faxes) != 1 {
		t.Fatalf("inbox: %d %v", code, inbox)
	}
	row := faxes[0].(map[string]any)
	if row["id"] != fax.ID || row["ocrText"] != ocrText || row["ocrStatus"] != "done" || row["extractStatus"] != "done" ||
		!reflect.DeepEqual(row["extractedData"], want) || row["fileUrl"] != fileURL || row["receivedAt"] != receivedAt.Format(time.RFC3339) {
		t.Fatalf("inbox row %v", row)
	}

	// The delivery log, then a replay of fax.received under the same event id.
	var deliveries []any
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, m := api.do("GET", "/webhooks/deliveries?subjectId="+fax.ID, "")
		deliveries, _ = m["deliveries"].([]any)
		done := code == 200 && len(deliveries) == 2
		for _, x := range deliveries {
			done = done && x.(map[string]any)["status"] == "delivered"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %d %v", code, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, x := range deliveries {
		rec := x.(map[string]any)
		attempts, _ := rec["attempts"].([]any)
		if len(attempts) != 1 || attempts[0].(map[string]any)["statusCode"] != 200.0 || rec["url"] != rcv.srv.URL+"/faxseal" {
			t.Errorf("delivery %v", rec)
		}
	}
	release := rcv.hold()
	if code, m := api.do("POST", "/webhooks/deliveries/"+receivedID+"/replay", ""); code != 202 || m["eventId"] != receivedID {
		t.Fatalf("replay: %d %v", code, m)
	}
	d, again := rcv.next(t, webhook.EventFaxReceived)
	// The receiver has not answered yet, so the event is still pending: a second replay is refused.
	code, m := api.do("POST", "/webhooks/deliveries/"+receivedID+"/replay", "")
	release()
	if code != 409 || !strings.Contains(fmt.Sprint(m), "event_pending") {
		t.Fatalf("replay while pending: %d %v", code, m)
	}
	if d.header.Get(webhook.EventIDHeader) != receivedID || again["faxId"] != fax.ID || d.header.Get(webhook.AttemptHeader) != "2" {
		t.Fatalf("replayed delivery %v %v", d.header, again)
	}
	if err := webhook.Verify(secret, d.header.Get(webhook.SignatureHeader), d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("replayed signature: %v", err)
	}
	if code, m := api.do("POST", "/webhooks/deliveries/evt_NOSUCHEVENT/replay", ""); code != 404 || !strings.Contains(fmt.Sprint(m), "event_not_found") {
		t.Fatalf("replay of an unknown event: %d %v", code, m)
	}
	if code, m := api.do("GET", "/webhooks/deliveries?limit=0", ""); code != 400 {
		t.Fatalf("limit=0: %d %v", code, m)
	}
	// Another partner sees none of it.
	_, otherKey, err := n.store.CreatePartner(ctx, store.NewPartner{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	other := partnerAPI{t: t, base: base, key: otherKey}
	if code, m := other.do("GET", "/webhooks/deliveries", ""); code != 200 || len(m["deliveries"].([]any)) != 0 {
		t.Fatalf("other partner's log: %d %v", code, m)
	}
	if code, _ := other.do("POST", "/webhooks/deliveries/"+receivedID+"/replay", ""); code != 404 {
		t.Fatalf("other partner replays our event: %d", code)
	}
}

// collect reads n webhooks, keyed by event name, checking each signature. It returns what arrived
// by the deadline.
func (r *hookReceiver) collect(t *testing.T, secret string, n int, within time.Duration) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	deadline := time.After(within)
	for len(got) < n {
		select {
		case d := <-r.hits:
			if err := webhook.Verify(secret, d.header.Get(webhook.SignatureHeader), d.body, time.Now(), 5*time.Minute); err != nil {
				t.Fatalf("%s signature: %v", d.header.Get(webhook.EventHeader), err)
			}
			var m map[string]any
			if err := json.Unmarshal(d.body, &m); err != nil {
				t.Fatalf("payload %s: %v", d.body, err)
			}
			ev, _ := m["event"].(string)
			if _, dup := got[ev]; dup {
				t.Fatalf("%s twice: %s", ev, d.body)
			}
			got[ev] = m
		case <-deadline:
			return got
		}
	}
	return got
}

// `faxseal serve --dev` end to end over the loopback trunk: one demo user sends a PDF to another
// through POST /fax; the node renders it, dials its own SIP listener on 127.0.0.1, sends it over
// T.38 with T.30, answers the call, stores the received fax and OCRs it. The partner gets fax.sending,
// fax.delivered and fax.received (signed), the recipient's inbox has the fax with the sender's number
// and the page's words, and one credit was charged.
func TestServeDevLoopbackFax(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-time fax call")
	}
	t.Setenv("FAXSEAL_LOG_LEVEL", envOr("TEST_LOG_LEVEL", "warn"))
	t.Setenv("FAXSEAL_DATABASE_URL", storetest.URL(t))
	t.Setenv("FAXSEAL_SECRET_KEY", hex.EncodeToString(storetest.SecretKey))
	t.Setenv("FAXSEAL_DATA_DIR", t.TempDir())
	t.Setenv("FAXSEAL_PUBLIC_URL", "")
	t.Setenv("FAXSEAL_OPENAI_BASE_URL", "")
	t.Setenv("FAXSEAL_OPENAI_API_KEY", "")
	out := captureStdout(t)
	base, _ := startServe(t, "--dev")
	m := keyPattern.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no demo key printed:\n%s", out.String())
	}
	api := partnerAPI{t: t, base: base, key: m[1]}
	rcv := newHookReceiver(t)
	const secret = "whsec_dev_loop"
	if code, m := api.do("PATCH", "/settings", fmt.Sprintf(`{"webhookUrl":%q,"webhookSecret":%q}`, rcv.srv.URL+"/hook", secret)); code != 200 {
		t.Fatalf("settings: %d %v", code, m)
	}
	numbers := map[string]string{}
	for user, area := range map[string]string{"alice": "415", "bob": "212"} {
		code, m := api.do("POST", "/numbers", fmt.Sprintf(`{"externalUserId":%q,"areaCode":%q}`, user, area))
		if code != 200 {
			t.Fatalf("provision %s: %d %v", user, code, m)
		}
		numbers[user] = m["faxNumber"].(string)
	}

	pdf, err := os.ReadFile("testdata/serve/referral.pdf")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("toNumber", numbers["bob"])
	mw.WriteField("externalUserId", "alice")
	fw, _ := mw.CreateFormFile("file", "referral.pdf")
	fw.Write(pdf)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/partner/fax", &body)
	req.Header.Set("X-Partner-Key", api.key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var accepted map[string]any
	if json.Unmarshal(b, &accepted); res.StatusCode != 202 || accepted["status"] != "queued" || accepted["pages"] != 1.0 ||
		accepted["creditsUsed"] != 1.0 || accepted["creditsRemaining"] != 99.0 {
		t.Fatalf("POST /fax: %d %s", res.StatusCode, b)
	}
	jobID := accepted["jobId"].(string)

	got := rcv.collect(t, secret, 3, 2*time.Minute)
	if len(got) < 3 {
		_, status := api.do("GET", "/fax/"+jobID, "")
		t.Fatalf("webhooks after 2 min: %v\nthe fax: %v", got, status)
	}
	sending, delivered, received := got[webhook.EventFaxSending], got[webhook.EventFaxDelivered], got[webhook.EventFaxReceived]
	if sending["jobId"] != jobID || delivered["jobId"] != jobID || delivered["status"] != "delivered" ||
		delivered["creditsUsed"] != 1.0 || delivered["toNumber"] != numbers["bob"] || delivered["externalUserId"] != "alice" {
		t.Fatalf("outbound webhooks: %v", got)
	}
	ocrText, _ := received["ocrText"].(string)
	if received["externalUserId"] != "bob" || received["fromNumber"] != numbers["alice"] || received["toNumber"] != numbers["bob"] ||
		received["pages"] != 1.0 || received["ocrStatus"] != "done" || !strings.Contains(ocrText, "Jane Smith") {
		t.Fatalf("fax.received: %v", received)
	}

	code, inbox := api.do("GET", "/inbox?externalUserId=bob&q=metformin", "")
	if faxes, _ := inbox["faxes"].([]any); code != 200 || len(faxes) != 1 || faxes[0].(map[string]any)["id"] != received["faxId"] {
		t.Fatalf("bob's inbox: %d %v", code, inbox)
	}
	if code, status := api.do("GET", "/fax/"+jobID, ""); code != 200 || status["status"] != "delivered" {
		t.Fatalf("GET /fax/%s: %d %v", jobID, code, status)
	}
	if code, credits := api.do("GET", "/credits", ""); code != 200 || credits["credits"] != 99.0 {
		t.Fatalf("credits after one page: %d %v", code, credits)
	}
}
