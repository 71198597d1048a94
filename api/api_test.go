package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/gorilla/mux"
)

// env is one API server on a real HTTP listener and a real database.
type env struct {
	t     *testing.T
	store *store.Store
	url   string
}

func newServer(t *testing.T, s *store.Store, cfg api.Config) string {
	t.Helper()
	cfg.Store = s
	a, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	a.Mount(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL + api.Prefix
}

func setup(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	s := storetest.New(t)
	e := &env{t: t, store: s, url: newServer(t, s, api.Config{NumberCoolOff: time.Hour, FileURL: func(f store.InboundFax) string {
		return "https://faxseal.test/api/partner/inbox/" + f.ID + "/file?token=t"
	}})}
	return e
}

func (e *env) partner(name string, credits int64) (store.Partner, string) {
	e.t.Helper()
	p, key, err := e.store.CreatePartner(context.Background(), store.NewPartner{Name: name, Credits: credits})
	if err != nil {
		e.t.Fatal(err)
	}
	return p, key
}

func (e *env) dids(numbers ...string) {
	e.t.Helper()
	var d []store.DID
	for _, n := range numbers {
		d = append(d, store.DID{Number: n, Trunk: "t1"})
	}
	if _, _, err := e.store.ImportDIDs(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request; body is sent verbatim as application/json unless it is nil.
func (e *env) do(method, path, key, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-Partner-Key", key)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) response {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s %s: Content-Type %q, body %s", req.Method, req.URL.Path, ct, b)
	}
	if err := json.Unmarshal(b, &r.body); err != nil {
		e.t.Fatalf("%s %s: body is not a JSON object: %v: %s", req.Method, req.URL.Path, err, b)
	}
	return r
}

// wantJSON checks status and that the body equals want (a JSON literal) exactly.
func (r response) wantJSON(t *testing.T, status int, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if r.status != status || !reflect.DeepEqual(r.body, w) {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.raw, status, want)
	}
}

// wantError checks the error envelope: status, code and (if given) param.
func (r response) wantError(t *testing.T, status int, code, param string) {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if r.status != status || !ok || e["code"] != code || e["message"] == "" {
		t.Fatalf("got %d %s, want %d with code %s", r.status, r.raw, status, code)
	}
	if param != "" && e["param"] != param {
		t.Fatalf("got param %v in %s, want %s", e["param"], r.raw, param)
	}
	if len(r.body) != 1 {
		t.Fatalf("error envelope has extra members: %s", r.raw)
	}
}

func TestAuthentication(t *testing.T) {
	e := setup(t)
	p, key := e.partner("Acme", 0)
	e.do("GET", "/inbox?externalUserId=u", "", "").wantError(t, 401, api.CodeMissingAPIKey, "")
	e.do("GET", "/inbox?externalUserId=u", "sk_partner_nope", "").wantError(t, 401, api.CodeInvalidAPIKey, "")
	e.do("GET", "/inbox?externalUserId=u", key[:len(key)-1], "").wantError(t, 401, api.CodeInvalidAPIKey, "")
	e.do("GET", "/inbox?externalUserId=u", strings.Repeat("k", 5000), "").wantError(t, 401, api.CodeInvalidAPIKey, "")
	r := e.do("GET", "/inbox?externalUserId=u", key, "")
	if r.status != 200 {
		t.Fatalf("valid key: %d %s", r.status, r.raw)
	}
	if err := e.store.SetSuspended(context.Background(), p.ID, true); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/inbox?externalUserId=u", key, "").wantError(t, 403, api.CodePartnerSuspended, "")
}

func TestRequestID(t *testing.T) {
	e := setup(t)
	req, _ := http.NewRequest("GET", e.url+"/credits", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	r := e.send(req)
	if r.header.Get("X-Request-Id") != "abc-123" || r.body["error"].(map[string]any)["requestId"] != "abc-123" {
		t.Fatalf("request id not echoed: %v %s", r.header, r.raw)
	}
	r = e.do("GET", "/credits", "", "")
	if !strings.HasPrefix(r.header.Get("X-Request-Id"), "req_") {
		t.Fatalf("no request id made: %v", r.header)
	}
}

func TestRateLimit(t *testing.T) {
	e := setup(t)
	_, key := e.partner("Busy", 0)
	_, other := e.partner("Quiet", 0)
	// The budget refills at one request per second while we spend it, so count instead of expecting
	// exact figures: at least the burst of 60, at most one more per second elapsed.
	start := time.Now()
	ok, last := 0, response{}
	for range 200 {
		last = e.do("GET", "/credits", key, "")
		if last.status != 200 {
			break
		}
		if ok == 0 && last.header.Get("X-RateLimit-Remaining") != "59" {
			t.Fatalf("first request: remaining %q, want 59", last.header.Get("X-RateLimit-Remaining"))
		}
		if last.header.Get("X-RateLimit-Limit") != "60" {
			t.Fatalf("limit header %q", last.header.Get("X-RateLimit-Limit"))
		}
		ok++
	}
	elapsed := time.Since(start)
	if ok < 60 || ok > 60+int(elapsed.Seconds())+1 {
		t.Fatalf("%d requests allowed in %v before the 429, want 60 plus one per second", ok, elapsed)
	}
	last.wantError(t, 429, api.CodeRateLimited, "")
	ra, err := strconv.Atoi(last.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q: want 1-2 s (one request is refilled each second)", last.header.Get("Retry-After"))
	}
	reset, _ := strconv.ParseInt(last.header.Get("X-RateLimit-Reset"), 10, 64)
	if d := time.Until(time.Unix(reset, 0)); d < 50*time.Second || d > 62*time.Second {
		t.Fatalf("X-RateLimit-Reset %d is %v away", reset, d)
	}
	if last.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("remaining on 429: %q", last.header.Get("X-RateLimit-Remaining"))
	}
	// Another partner's key has its own budget.
	if r := e.do("GET", "/credits", other, ""); r.status != 200 {
		t.Fatalf("other key limited: %d", r.status)
	}
}

// Two API servers on one database share each key's limit: no per-node counters.
func TestRateLimitSharedByNodes(t *testing.T) {
	t.Parallel()
	u := storetest.URL(t)
	ctx := context.Background()
	var urls []string
	var first *store.Store
	for range 2 {
		s, err := store.Open(ctx, u, store.Options{SecretKey: storetest.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if first == nil {
			first = s
		}
		// Per hour, so that no request is refilled while the 30 are in flight on a loaded machine.
		urls = append(urls, newServer(t, s, api.Config{RateLimit: store.RateLimit{Limit: 20, Period: time.Hour}}))
	}
	_, key, err := first.CreatePartner(ctx, store.NewPartner{Name: "Two nodes"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", urls[i%2]+"/credits", nil)
			req.Header.Set("X-Partner-Key", key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[200] != 20 || n[429] != 10 {
		t.Fatalf("status counts %v, want 20 OK and 10 limited across both nodes", n)
	}
}

func TestNumbersSeedExamples(t *testing.T) {
	e := setup(t)
	_, key := e.partner("AcmeHealth", 0)
	e.dids("+14155550123", "+14155550124")
	e.do("PATCH", "/settings", key, `{"webhookUrl":"https://acmehealth.com/api/faxseal/webhook"}`).wantJSON(t, 200, `{"ok":true}`)

	e.do("POST", "/numbers", key, `{"externalUserId":"user_42","areaCode":"415","tier":"personal"}`).
		wantJSON(t, 200, `{"faxNumber":"+14155550123","city":"San Francisco","state":"CA","tier":"personal","webhookConfigured":true}`)
	e.do("GET", "/numbers?externalUserId=user_42", key, "").
		wantJSON(t, 200, `{"active":true,"faxNumber":"+14155550123","tier":"personal"}`)
	e.do("POST", "/numbers", key, `{"externalUserId":"user_42","areaCode":"415","tier":"business"}`).
		wantError(t, 409, api.CodeNumberExists, "externalUserId")
	e.do("DELETE", "/numbers?externalUserId=user_42", key, "").wantJSON(t, 200, `{"ok":true}`)
	e.do("GET", "/numbers?externalUserId=user_42", key, "").wantJSON(t, 200, `{"active":false}`)
	e.do("DELETE", "/numbers?externalUserId=user_42", key, "").wantError(t, 404, api.CodeNumberNotFound, "externalUserId")

	// tier defaults to personal; the released number is cooling off, so the next free one is given.
	e.do("POST", "/numbers", key, `{"externalUserId":"user_7","areaCode":"415"}`).
		wantJSON(t, 200, `{"faxNumber":"+14155550124","city":"San Francisco","state":"CA","tier":"personal","webhookConfigured":true}`)
	e.do("POST", "/numbers", key, `{"externalUserId":"user_8","areaCode":"415"}`).
		wantError(t, 404, api.CodeNoNumbersAvailable, "areaCode")

	items, err := e.store.BillableItems(context.Background(), mustPartnerID(t, e, key), time.Now())
	if err != nil || len(items) != 2 || items[0].AmountCents != 250 {
		t.Fatalf("monthly fees recorded: %v %+v", err, items)
	}
}

func mustPartnerID(t *testing.T, e *env, key string) string {
	a, _, err := e.store.Authenticate(context.Background(), key, store.RateLimit{Limit: 1000, Period: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return a.PartnerID
}

func TestMalformedInput(t *testing.T) {
	e := setup(t)
	_, key := e.partner("Strict", 0)
	e.dids("+12125550100")
	big := `{"externalUserId":"` + strings.Repeat("a", 70<<10) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, param              string
	}{
		{"not json", "POST", "/numbers", `externalUserId=user_42`, 400, api.CodeInvalidJSON, ""},
		{"truncated", "POST", "/numbers", `{"externalUserId":"user_42",`, 400, api.CodeInvalidJSON, ""},
		{"array", "POST", "/numbers", `[{"externalUserId":"user_42"}]`, 400, api.CodeInvalidJSON, ""},
		{"trailing", "POST", "/numbers", `{"externalUserId":"u","areaCode":"212"} {}`, 400, api.CodeInvalidJSON, ""},
		{"unknown field", "POST", "/numbers", `{"externalUserId":"u","areaCode":"212","color":"red"}`, 400, api.CodeUnknownField, "color"},
		{"number for string", "POST", "/numbers", `{"externalUserId":"u","areaCode":212}`, 400, api.CodeInvalidParameter, "areaCode"},
		{"object for string", "POST", "/numbers", `{"externalUserId":{"id":1},"areaCode":"212"}`, 400, api.CodeInvalidParameter, "externalUserId"},
		{"missing user", "POST", "/numbers", `{"areaCode":"212"}`, 400, api.CodeMissingParameter, "externalUserId"},
		{"missing area code", "POST", "/numbers", `{"externalUserId":"u"}`, 400, api.CodeMissingParameter, "areaCode"},
		{"bad area code", "POST", "/numbers", `{"externalUserId":"u","areaCode":"41"}`, 400, api.CodeInvalidParameter, "areaCode"},
		{"unassigned area code", "POST", "/numbers", `{"externalUserId":"u","areaCode":"999"}`, 422, api.CodeUnknownAreaCode, "areaCode"},
		{"bad tier", "POST", "/numbers", `{"externalUserId":"u","areaCode":"212","tier":"gold"}`, 400, api.CodeInvalidParameter, "tier"},
		{"control chars", "POST", "/numbers", `{"externalUserId":"u\u0000","areaCode":"212"}`, 400, api.CodeInvalidParameter, "externalUserId"},
		{"too large", "POST", "/numbers", big, 413, api.CodeBodyTooLarge, ""},
		{"empty body", "POST", "/numbers", ` `, 400, api.CodeInvalidJSON, ""},
		{"lookup without user", "GET", "/numbers", "", 400, api.CodeMissingParameter, "externalUserId"},
		{"release without user", "DELETE", "/numbers", "", 400, api.CodeMissingParameter, "externalUserId"},
		{"inbox without user", "GET", "/inbox", "", 400, api.CodeMissingParameter, "externalUserId"},
		{"inbox bad page", "GET", "/inbox?externalUserId=u&page=0", "", 400, api.CodeInvalidParameter, "page"},
		{"inbox page not a number", "GET", "/inbox?externalUserId=u&page=two", "", 400, api.CodeInvalidParameter, "page"},
		{"inbox bad from", "GET", "/inbox?externalUserId=u&from=bob", "", 400, api.CodeInvalidParameter, "from"},
		{"usage bad from", "GET", "/usage?from=April", "", 400, api.CodeInvalidParameter, "from"},
		{"usage reversed", "GET", "/usage?from=2026-04-10&to=2026-04-01", "", 400, api.CodeInvalidParameter, "to"},
		{"settings name is read-only", "PATCH", "/settings", `{"name":"Evil"}`, 400, api.CodeUnknownField, "name"},
		{"settings wrong type", "PATCH", "/settings", `{"billingEmail":42}`, 400, api.CodeInvalidParameter, "billingEmail"},
		{"settings bad email", "PATCH", "/settings", `{"billingEmail":"not-an-email"}`, 400, api.CodeInvalidParameter, "billingEmail"},
		{"settings email with name", "PATCH", "/settings", `{"billingEmail":"Bob <bob@example.com>"}`, 400, api.CodeInvalidParameter, "billingEmail"},
		{"settings http webhook", "PATCH", "/settings", `{"webhookUrl":"http://acme.example/hook"}`, 400, api.CodeInvalidParameter, "webhookUrl"},
		{"settings relative webhook", "PATCH", "/settings", `{"webhookUrl":"/hook"}`, 400, api.CodeInvalidParameter, "webhookUrl"},
		{"settings ftp webhook", "PATCH", "/settings", `{"webhookUrl":"ftp://acme.example/hook"}`, 400, api.CodeInvalidParameter, "webhookUrl"},
		{"settings short secret", "PATCH", "/settings", `{"webhookSecret":"abc"}`, 400, api.CodeInvalidParameter, "webhookSecret"},
		{"schema not object", "PATCH", "/settings", `{"extractionSchema":"patient"}`, 400, api.CodeInvalidParameter, "extractionSchema"},
		{"schema bad type", "PATCH", "/settings", `{"extractionSchema":{"type":"x","fields":[{"name":"a","type":"integer"}]}}`, 400, api.CodeInvalidParameter, "extractionSchema"},
		{"schema no fields", "PATCH", "/settings", `{"extractionSchema":{"type":"x","fields":[]}}`, 400, api.CodeInvalidParameter, "extractionSchema"},
		{"schema no type", "PATCH", "/settings", `{"extractionSchema":{"fields":[{"name":"a","type":"string"}]}}`, 400, api.CodeInvalidParameter, "extractionSchema"},
		{"schema duplicate field", "PATCH", "/settings", `{"extractionSchema":{"type":"x","fields":[{"name":"a","type":"string"},{"name":"a","type":"date"}]}}`, 400, api.CodeInvalidParameter, "extractionSchema"},
		{"schema unknown key", "PATCH", "/settings", `{"extractionSchema":{"type":"x","fields":[{"name":"a","type":"string","x":1}]}}`, 400, api.CodeInvalidParameter, "extractionSchema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do(tc.method, tc.path, key, tc.body).wantError(t, tc.status, tc.code, tc.param)
		})
	}
	// Content type other than JSON.
	req, _ := http.NewRequest("POST", e.url+"/numbers", strings.NewReader(`{"externalUserId":"u","areaCode":"212"}`))
	req.Header.Set("X-Partner-Key", key)
	req.Header.Set("Content-Type", "text/plain")
	e.send(req).wantError(t, 415, api.CodeUnsupportedMedia, "")
	// Nothing above changed anything.
	e.do("GET", "/numbers?externalUserId=u", key, "").wantJSON(t, 200, `{"active":false}`)
}

func TestUnknownRoutes(t *testing.T) {
	e := setup(t)
	_, key := e.partner("Lost", 0)
	e.do("GET", "/nothing", key, "").wantError(t, 404, api.CodeNotFound, "")
	e.do("PUT", "/numbers", key, `{}`).wantError(t, 405, api.CodeMethodNotAllowed, "")
}

func TestSettings(t *testing.T) {
	e := setup(t)
	p, key := e.partner("AcmeHealth", 0)
	r := e.do("GET", "/settings", key, "")
	r.wantJSON(t, 200, fmt.Sprintf(`{"name":"AcmeHealth","webhookUrl":null,"webhookSecret":null,"billingEmail":null,
		"extractionSchema":null,"createdAt":%q}`, p.CreatedAt.UTC().Format(time.RFC3339)))

	e.do("PATCH", "/settings", key, `{"billingEmail":"billing@acmehealth.com","webhookUrl":"https://acmehealth.com/api/faxseal/webhook"}`).
		wantJSON(t, 200, `{"ok":true}`)
	schema := `{"type":"patient_referral","fields":[{"name":"patient_name","type":"string"},{"name":"dob","type":"string"},
		{"name":"diagnosis","type":"string"},{"name":"medications","type":"array"},{"name":"referring_npi","type":"string"}]}`
	e.do("PATCH", "/settings", key, `{"webhookSecret":"whsec_0123456789","extractionSchema":`+schema+`}`).wantJSON(t, 200, `{"ok":true}`)
	e.do("GET", "/settings", key, "").wantJSON(t, 200, fmt.Sprintf(`{"name":"AcmeHealth",
		"webhookUrl":"https://acmehealth.com/api/faxseal/webhook","webhookSecret":"***","billingEmail":"billing@acmehealth.com",
		"extractionSchema":%s,"createdAt":%q}`, schema, p.CreatedAt.UTC().Format(time.RFC3339)))
	got, _ := e.store.Partner(context.Background(), p.ID)
	if got.WebhookSecret != "whsec_0123456789" {
		t.Fatalf("secret stored as %q", got.WebhookSecret)
	}
	// Clearing with null and "", and an empty patch changing nothing.
	e.do("PATCH", "/settings", key, `{}`).wantJSON(t, 200, `{"ok":true}`)
	e.do("PATCH", "/settings", key, `{"webhookUrl":null,"extractionSchema":null,"webhookSecret":""}`).wantJSON(t, 200, `{"ok":true}`)
	e.do("GET", "/settings", key, "").wantJSON(t, 200, fmt.Sprintf(`{"name":"AcmeHealth","webhookUrl":null,"webhookSecret":null,
		"billingEmail":"billing@acmehealth.com","extractionSchema":null,"createdAt":%q}`, p.CreatedAt.UTC().Format(time.RFC3339)))
}

func TestDevAllowsHTTPWebhooks(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	url := newServer(t, s, api.Config{AllowHTTPWebhooks: true})
	_, key, _ := s.CreatePartner(context.Background(), store.NewPartner{Name: "Dev"})
	e := &env{t: t, store: s, url: url}
	e.do("PATCH", "/settings", key, `{"webhookUrl":"http://127.0.0.1:9999/hook"}`).wantJSON(t, 200, `{"ok":true}`)
}

func TestCredits(t *testing.T) {
	e := setup(t)
	_, key := e.partner("Buyer", 97)
	e.do("GET", "/credits", key, "").wantJSON(t, 200, `{
  "credits": 97,
  "bundles": [
    { "id": "partner_100",  "label": "100 credits",   "amountCents": 3900,  "credits": 100  },
    { "id": "partner_500",  "label": "500 credits",   "amountCents": 14900, "credits": 500,  "popular": true },
    { "id": "partner_2000", "label": "2,000 credits", "amountCents": 49900, "credits": 2000 }
  ]
}`)
	e.do("POST", "/credits", key, `{"bundle":"partner_500","successUrl":"https://yourapp.com/billing/success"}`).
		wantError(t, 501, api.CodeNotImplemented, "")
}

func TestInboxAndUsage(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	a, keyA := e.partner("A", 97)
	_, keyB := e.partner("B", 5)
	e.dids("+14155550123", "+14155550124")
	e.do("POST", "/numbers", keyA, `{"externalUserId":"user_42","areaCode":"415"}`)
	e.do("POST", "/numbers", keyB, `{"externalUserId":"user_42","areaCode":"415"}`)
	e.do("GET", "/inbox?externalUserId=user_42", keyA, "").wantJSON(t, 200, `{"faxes":[],"total":0,"page":1,"pages":0}`)

	t0 := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	fax, err := e.store.InsertReceivedFax(ctx, store.ReceivedFax{FromNumber: "+15125551234", ToNumber: "+14155550123",
		Pages: 2, ReceivedAt: t0, PDF: []byte("%PDF-1.4")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Exec(ctx, `UPDATE inbound_faxes SET ocr_text = 'Patient name: Jane Smith...', ocr_status = 'done',
		extracted_data = '{"patient_name":"Jane Smith"}', extract_status = 'done' WHERE id = $1`, fax.ID); err != nil {
		t.Fatal(err)
	}
	// 24 more faxes from another sender, older, to exercise paging.
	for i := range 24 {
		if _, err := e.store.InsertReceivedFax(ctx, store.ReceivedFax{FromNumber: "+13125550000", ToNumber: "+14155550123",
			Pages: 1, ReceivedAt: t0.Add(-time.Duration(i+1) * time.Hour), PDF: []byte("%PDF-1.4")}); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf(`{"faxes":[{"id":%q,"externalUserId":"user_42","fromNumber":"+15125551234","toNumber":"+14155550123",
		"pages":2,"ocrText":"Patient name: Jane Smith...","ocrStatus":"done","extractedData":{"patient_name":"Jane Smith"},
		"extractStatus":"done","fileUrl":"https://faxseal.test/api/partner/inbox/%s/file?token=t","receivedAt":"2026-04-18T14:22:00Z"}],
		"total":1,"page":1,"pages":1}`, fax.ID, fax.ID)
	e.do("GET", "/inbox?externalUserId=user_42&q=jane", keyA, "").wantJSON(t, 200, want)
	e.do("GET", "/inbox?externalUserId=user_42&from=%2B15125551234", keyA, "").wantJSON(t, 200, want)
	e.do("GET", "/inbox?externalUserId=user_42&q=%22jane+smith%22+-diabetes", keyA, "").wantJSON(t, 200, want)
	r := e.do("GET", "/inbox?externalUserId=user_42", keyA, "")
	if r.body["total"] != 25.0 || r.body["pages"] != 2.0 || len(r.body["faxes"].([]any)) != 20 {
		t.Fatalf("page 1: total %v pages %v", r.body["total"], r.body["pages"])
	}
	first := r.body["faxes"].([]any)[0].(map[string]any)
	if first["id"] != fax.ID || first["ocrStatus"] != "done" {
		t.Fatalf("newest first: %v", first)
	}
	r = e.do("GET", "/inbox?externalUserId=user_42&page=2", keyA, "")
	if r.body["page"] != 2.0 || len(r.body["faxes"].([]any)) != 5 {
		t.Fatalf("page 2: %s", r.raw)
	}
	pending := r.body["faxes"].([]any)[0].(map[string]any)
	if pending["ocrText"] != nil || pending["extractedData"] != nil || pending["ocrStatus"] != "pending" {
		t.Fatalf("a fresh fax: %v", pending)
	}
	// Tenant isolation: B's user_42 is another user; B sees none of A's faxes.
	e.do("GET", "/inbox?externalUserId=user_42", keyB, "").wantJSON(t, 200, `{"faxes":[],"total":0,"page":1,"pages":0}`)

	// Usage, the seed's example period, counting real rows.
	if _, err := e.store.Exec(ctx, `INSERT INTO outbound_faxes (id, partner_id, external_user_id, from_number, to_number, pages, credits_used, status, created_at)
		VALUES ('fax_o1', $1, 'user_42', '+14155550123', '+12125550001', 3, 3, 'delivered', '2026-04-10T10:00:00Z'),
		       ('fax_o2', $1, 'user_42', '+14155550123', '+12125550001', 1, 0, 'failed', '2026-04-11T10:00:00Z'),
		       ('fax_o3', $1, 'user_9',  '+14155550124', '+12125550001', 2, 2, 'queued', '2026-04-12T10:00:00Z'),
		       ('fax_o4', $1, 'user_42', '+14155550123', '+12125550001', 2, 2, 'delivered', '2026-05-01T00:00:00Z')`, a.ID); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/usage?externalUserId=user_42&from=2026-04-01", keyA, "").wantJSON(t, 200, `{
		"from": "2026-04-01T00:00:00.000Z", "to": "2026-04-30T23:59:59.999Z", "externalUserId": "user_42",
		"credits": { "remaining": 97 },
		"outbound": { "total": 2, "delivered": 1, "failed": 1, "queued": 0, "sending": 0, "creditsUsed": 3 },
		"inbound": { "total": 25, "pages": 26 }}`)
	e.do("GET", "/usage?from=2026-04-01&to=2026-04-30", keyA, "").wantJSON(t, 200, `{
		"from": "2026-04-01T00:00:00.000Z", "to": "2026-04-30T23:59:59.999Z", "externalUserId": null,
		"credits": { "remaining": 97 },
		"outbound": { "total": 3, "delivered": 1, "failed": 1, "queued": 1, "sending": 0, "creditsUsed": 5 },
		"inbound": { "total": 25, "pages": 26 }}`)
	e.do("GET", "/usage?from=2026-04-01", keyB, "").wantJSON(t, 200, `{
		"from": "2026-04-01T00:00:00.000Z", "to": "2026-04-30T23:59:59.999Z", "externalUserId": null,
		"credits": { "remaining": 5 },
		"outbound": { "total": 0, "delivered": 0, "failed": 0, "queued": 0, "sending": 0, "creditsUsed": 0 },
		"inbound": { "total": 0, "pages": 0 }}`)
	// Default period: this calendar month.
	r = e.do("GET", "/usage", keyA, "")
	now := time.Now().UTC()
	if want := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z"); r.body["from"] != want {
		t.Fatalf("default from %v, want %s", r.body["from"], want)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := setup(t)
	_, keyA := e.partner("A", 0)
	_, keyB := e.partner("B", 0)
	e.dids("+12125550100", "+12125550101")
	e.do("POST", "/numbers", keyA, `{"externalUserId":"alice","areaCode":"212","tier":"business"}`)
	// B cannot see, release or collide with A's user.
	e.do("GET", "/numbers?externalUserId=alice", keyB, "").wantJSON(t, 200, `{"active":false}`)
	e.do("DELETE", "/numbers?externalUserId=alice", keyB, "").wantError(t, 404, api.CodeNumberNotFound, "externalUserId")
	e.do("GET", "/numbers?externalUserId=alice", keyA, "").wantJSON(t, 200, `{"active":true,"faxNumber":"+12125550100","tier":"business"}`)
	e.do("POST", "/numbers", keyB, `{"externalUserId":"alice","areaCode":"212"}`).
		wantJSON(t, 200, `{"faxNumber":"+12125550101","city":"New York","state":"NY","tier":"personal","webhookConfigured":false}`)
	// B's settings change only B.
	e.do("PATCH", "/settings", keyB, `{"billingEmail":"b@b.example","webhookUrl":"https://b.example/hook"}`).wantJSON(t, 200, `{"ok":true}`)
	r := e.do("GET", "/settings", keyA, "")
	if r.body["name"] != "A" || r.body["billingEmail"] != nil || r.body["webhookUrl"] != nil {
		t.Fatalf("A's settings changed by B: %s", r.raw)
	}
	e.do("GET", "/numbers?externalUserId=alice", keyA, "").wantJSON(t, 200, `{"active":true,"faxNumber":"+12125550100","tier":"business"}`)
}

func TestOpenAPIServed(t *testing.T) {
	e := setup(t)
	res, err := http.Get(e.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Equal(b, api.OpenAPI) {
		t.Fatalf("openapi.json: %d, %d bytes", res.StatusCode, len(b))
	}
}

// A route another package adds (as the send pipeline adds /fax) gets the key check, rate limit and
// error envelope of the built-in ones.
func TestExtraRoutes(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	send := func(w http.ResponseWriter, r *http.Request, partnerID string) error {
		var req struct {
			ToNumber string `json:"toNumber"`
		}
		if err := api.DecodeJSON(w, r, &req); err != nil {
			return err
		}
		if !store.IsE164(req.ToNumber) {
			return api.Errorf(400, api.CodeInvalidParameter, "toNumber", "toNumber must be E.164")
		}
		api.WriteJSON(w, 202, map[string]any{"partner": partnerID, "jobId": "job_" + mux.Vars(r)["x"]})
		return nil
	}
	e := &env{t: t, store: s, url: newServer(t, s, api.Config{Routes: []api.Route{{Method: "POST", Path: "/fax/{x}", Handler: send}}})}
	p, key := e.partner("Sender", 0)
	e.do("POST", "/fax/1", "", `{"toNumber":"+12125550001"}`).wantError(t, 401, api.CodeMissingAPIKey, "")
	r := e.do("POST", "/fax/7", key, `{"toNumber":"+12125550001"}`)
	r.wantJSON(t, 202, fmt.Sprintf(`{"partner":%q,"jobId":"job_7"}`, p.ID))
	if r.header.Get("X-RateLimit-Remaining") != "59" {
		t.Fatalf("rate limit headers: %v", r.header)
	}
	e.do("POST", "/fax/7", key, `{"toNumber":"12"}`).wantError(t, 400, api.CodeInvalidParameter, "toNumber")
	e.do("POST", "/fax/7", key, `{"to":"x"}`).wantError(t, 400, api.CodeUnknownField, "to")
	e.do("GET", "/fax/7", key, "").wantError(t, 405, api.CodeMethodNotAllowed, "")

	for _, bad := range []api.Route{
		{Method: "GET", Path: "/numbers", Handler: send}, // already served
		{Method: "post", Path: "/x", Handler: send},
		{Method: "POST", Path: "x", Handler: send},
		{Method: "POST", Path: "/x"},
	} {
		if _, err := api.New(api.Config{Store: s, Routes: []api.Route{bad}}); err == nil {
			t.Errorf("route %s %s accepted", bad.Method, bad.Path)
		}
	}
}
