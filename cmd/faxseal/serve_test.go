package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/cluster"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// syncBuffer is stdout for a command running in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func captureStdout(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	old := stdout
	stdout = buf
	t.Cleanup(func() { stdout = old })
	return buf
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeSIPAddr is a 127.0.0.1 port free for both UDP and TCP, for the SIP listeners.
func freeSIPAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

// startServe runs `faxseal serve args...` in-process and waits until /readyz answers 200. The returned
// stop cancels it (as SIGTERM does) and waits for it to return. The SIP listeners go on a free
// 127.0.0.1 port unless args name one.
func startServe(t *testing.T, args ...string) (base string, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	if !slices.Contains(args, "--sip-addr") {
		args = append(args, "--sip-addr", freeSIPAddr(t))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, append(args, "--http-addr", addr)) }()
	base = "http://" + addr
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v", err)
		default:
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("serve did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(60 * time.Second):
				t.Error("serve did not stop within 60 s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

func get(t *testing.T, url, key string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("X-Partner-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

var keyPattern = regexp.MustCompile(`X-Partner-Key: (sk_partner_[0-9A-Za-z]{43})`)

// serve on an existing database (FAXSEAL_DATABASE_URL): health, readiness, metrics, the dev seed, the
// API behind the real listener, and a clean stop.
func TestServeWithDatabaseURL(t *testing.T) {
	t.Setenv("FAXSEAL_LOG_LEVEL", "warn")
	t.Setenv("FAXSEAL_DATABASE_URL", storetest.URL(t))
	t.Setenv("FAXSEAL_SECRET_KEY", hex.EncodeToString(storetest.SecretKey))
	t.Setenv("FAXSEAL_DATA_DIR", t.TempDir())
	out := captureStdout(t)
	base, stop := startServe(t, "--dev")

	m := keyPattern.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no demo key printed:\n%s", out.String())
	}
	key := m[1]
	if code, body, _ := get(t, base+"/healthz", ""); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	code, body, hdr := get(t, base+"/api/partner/credits", key)
	if code != 200 || !strings.Contains(body, `"credits":100`) || hdr.Get("X-RateLimit-Limit") != "60" {
		t.Fatalf("credits with the demo key: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", base+"/api/partner/numbers", strings.NewReader(`{"externalUserId":"user_42","areaCode":"415"}`))
	req.Header.Set("X-Partner-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"faxNumber":"+14155550100"`) {
		t.Fatalf("provision from the demo inventory: %d %s", res.StatusCode, b)
	}
	if code, body, _ := get(t, base+"/metrics", ""); code != 200 ||
		!strings.Contains(body, `faxseal_api_requests_total{method="POST",route="/api/partner/numbers",status="200"} 1`) ||
		!strings.Contains(body, "go_goroutines") || !strings.Contains(body, `faxseal_db_connections{state="idle"}`) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	if code, body, _ := get(t, base+"/api/partner/openapi.json", ""); code != 200 || !strings.Contains(body, `"openapi"`) {
		t.Fatalf("openapi.json: %d", code)
	}
	// River is running: the periodic monthly-fee job ran on start (RunOnStart).
	st, err := store.Open(context.Background(), os.Getenv("FAXSEAL_DATABASE_URL"), store.Options{SecretKey: storetest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state string
		err := st.QueryRow(context.Background(), `SELECT state FROM river_job WHERE kind = 'number_monthly_fees' ORDER BY id LIMIT 1`).Scan(&state)
		if err == nil && state == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("periodic job not completed by River: state %q, %v", state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A second start seeds nothing new and prints the same key.
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v on stop", err)
	}
	out2 := captureStdout(t)
	_, stop2 := startServe(t, "--dev")
	if m2 := keyPattern.FindStringSubmatch(out2.String()); m2 == nil || m2[1] != key {
		t.Fatalf("restart printed another key:\n%s", out2.String())
	}
	var partners int
	if err := st.QueryRow(context.Background(), `SELECT count(*) FROM partners`).Scan(&partners); err != nil || partners != 1 {
		t.Fatalf("%d partners after a restart (%v)", partners, err)
	}
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

// serve with no database URL starts its own cluster in the data directory (as the postgres user when
// root), migrates and serves; partner create, numbers import and migrate join that running cluster, as
// the README's walk-through does; serve stops the cluster on exit, and a tool run on its own starts
// and stops it again.
func TestServeEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	t.Setenv("FAXSEAL_LOG_LEVEL", "warn")
	t.Setenv("FAXSEAL_DATABASE_URL", "")
	t.Setenv("FAXSEAL_SECRET_KEY", "")
	dir := worldSearchableTempDir(t)
	t.Setenv("FAXSEAL_DATA_DIR", dir)
	captureStdout(t)
	base, stop := startServe(t)
	if code, _, _ := get(t, base+"/api/partner/credits", ""); code != 401 {
		t.Fatalf("no key: %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatalf("no generated secret key: %v", err)
	}

	out := captureStdout(t)
	if err := runPartner(context.Background(), []string{"create", "--name", "Acme Health", "--credits", "25", "--email", "billing@acme.example"}); err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID, Name, Key, BillingEmail string
		Credits                     int64
	}
	if err := json.Unmarshal([]byte(out.String()), &created); err != nil {
		t.Fatalf("partner create output is not JSON: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(created.ID, "ptn_") || !keyPattern.MatchString("X-Partner-Key: "+created.Key) ||
		created.Credits != 25 || created.Name != "Acme Health" || created.BillingEmail != "billing@acme.example" {
		t.Fatalf("partner create printed %+v", created)
	}
	out = captureStdout(t)
	if err := runNumbers(context.Background(), []string{"import", "../../testdata/numbers-example.csv"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 6 numbers (6 new, 0 updated)") {
		t.Fatalf("numbers import printed %q", out.String())
	}
	// The running server sees the new partner's key and the imported numbers, with their city.
	req, _ := http.NewRequest("POST", base+"/api/partner/numbers", strings.NewReader(`{"externalUserId":"u1","areaCode":"305","tier":"business"}`))
	req.Header.Set("X-Partner-Key", created.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != `{"faxNumber":"+13055550110","city":"Miami","state":"FL","tier":"business","webhookConfigured":false}`+"\n" {
		t.Fatalf("provision an imported number: %d %s", res.StatusCode, b)
	}
	// Suspending the partner locks its key out (403) at once; resuming lets it back in.
	out = captureStdout(t)
	if err := runPartner(context.Background(), []string{"suspend", "--id", created.ID}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := get(t, base+"/api/partner/credits", created.Key); code != 403 || !strings.Contains(body, "partner_suspended") {
		t.Fatalf("suspended partner: %d %s", code, body)
	}
	if err := runPartner(context.Background(), []string{"resume", "--id", created.ID}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(t, base+"/api/partner/credits", created.Key); code != 200 {
		t.Fatalf("resumed partner: %d", code)
	}
	if err := runPartner(context.Background(), []string{"suspend", "--id", "ptn_nobody"}); err == nil {
		t.Fatal("suspending an unknown partner succeeded")
	}
	if !strings.Contains(out.String(), "partner "+created.ID+" is suspended") {
		t.Fatalf("suspend printed %q", out.String())
	}
	// The tools left the server's cluster running.
	if code, body, _ := get(t, base+"/readyz", ""); code != 200 {
		t.Fatalf("readyz after the tools ran: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pid := filepath.Join(dir, "pg", "postmaster.pid")
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Fatalf("the cluster is still running after serve returned (postmaster.pid: %v)", err)
	}
	// On its own, a tool starts the cluster and stops it again.
	if err := runMigrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Fatalf("migrate left the cluster running (postmaster.pid: %v)", err)
	}
	// A cluster orphaned by a killed server is stopped by the next process that leaves it idle.
	if _, err := cluster.Start(context.Background(), cluster.Options{Dir: filepath.Join(dir, "pg")}); err != nil {
		t.Fatal(err)
	}
	if err := runMigrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Fatalf("an orphaned cluster was left running (postmaster.pid: %v)", err)
	}
}

// worldSearchableTempDir is a temp dir the postgres user can reach when the test runs as root
// (t.TempDir's parents are 0700).
func worldSearchableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "faxseal-serve-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestLoadConfig(t *testing.T) {
	t.Setenv("FAXSEAL_RATE_LIMIT", "120")
	t.Setenv("FAXSEAL_NUMBER_COOLOFF", "2h")
	t.Setenv("FAXSEAL_LOG_LEVEL", "debug")
	t.Setenv("FAXSEAL_HTTP_ADDR", "127.0.0.1:9000")
	t.Setenv("FAXSEAL_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("FAXSEAL_REDIAL_TRIES", "5")
	t.Setenv("FAXSEAL_REDIAL_DELAYS", "2m, 10m,30m")
	t.Setenv("FAXSEAL_RING_TIMEOUT", "45s")
	fs := newFlagSet("serve")
	c, err := loadConfig(fs, []string{"--http-addr", "127.0.0.1:9001", "--dev"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 120 || c.CoolOff != 2*time.Hour || c.HTTPAddr != "127.0.0.1:9001" || !c.Dev ||
		c.LogFormat != "text" || len(c.SecretKey) != 32 || c.SIPAddr != "0.0.0.0:5060" || c.DataDir != "./data" {
		t.Fatalf("config %+v", c)
	}
	if c.Redial.MaxAttempts != 5 || !reflect.DeepEqual(c.Redial.Delays, []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute}) ||
		c.RingTimeout != 45*time.Second {
		t.Fatalf("redial %+v, ring timeout %v", c.Redial, c.RingTimeout)
	}
	for name, bad := range map[string]string{
		"FAXSEAL_RATE_LIMIT": "0", "FAXSEAL_NUMBER_COOLOFF": "soon", "FAXSEAL_LOG_LEVEL": "loud",
		"FAXSEAL_SECRET_KEY": "short", "FAXSEAL_LOG_FORMAT": "xml", "FAXSEAL_DEV": "maybe",
		"FAXSEAL_REDIAL_TRIES": "21", "FAXSEAL_REDIAL_DELAYS": "5m,,10m", "FAXSEAL_RING_TIMEOUT": "1s",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, bad)
			if _, err := loadConfig(newFlagSet("serve"), nil, true); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%s: %v", name, bad, err)
			}
		})
	}
}

// Every partner route serve mounts, including routes other packages add through api.Config.Routes in
// registerHTTP (the send pipeline's), is in the OpenAPI document serve serves, and that document
// resolves every reference.
func TestServedRoutesAreDocumented(t *testing.T) {
	n := &node{cfg: &config{RateLimit: 60, PublicURL: "http://127.0.0.1:8080"}, logger: slog.New(slog.DiscardHandler),
		store: storetest.New(t), router: mux.NewRouter(), registry: prometheus.NewRegistry(), secret: storetest.SecretKey}
	closeInbound, err := newInbound(n)
	if err != nil {
		t.Fatal(err)
	}
	defer closeInbound()
	if err := newSend(n, nil); err != nil {
		t.Fatal(err)
	}
	if err := registerHTTP(n); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	n.router.ServeHTTP(rec, httptest.NewRequest("GET", api.Prefix+"/openapi.json", nil))
	served := rec.Body.Bytes()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(served, &doc); err != nil || rec.Code != 200 {
		t.Fatalf("openapi.json: %d %v", rec.Code, err)
	}
	var whole any
	json.Unmarshal(served, &whole)
	refs := regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(served), -1)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs in the served document", len(refs))
	}
	for _, ref := range refs {
		node := whole
		for _, part := range strings.Split(ref[1], "/") {
			m, _ := node.(map[string]any)
			node = m[part]
		}
		if node == nil {
			t.Errorf("$ref #/%s does not resolve in the served document", ref[1])
		}
	}
	count := 0
	n.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err1 := route.GetPathTemplate()
		methods, err2 := route.GetMethods()
		if err1 != nil || err2 != nil || !strings.HasPrefix(tpl, api.Prefix+"/") {
			return nil
		}
		for _, m := range methods {
			count++
			if _, ok := doc.Paths[strings.TrimPrefix(tpl, api.Prefix)][strings.ToLower(m)]; !ok {
				t.Errorf("serve mounts %s %s, which api/openapi.json does not document", m, tpl)
			}
		}
		return nil
	})
	if count < 15 {
		t.Fatalf("only %d partner routes mounted", count)
	}
	for _, op := range []string{"POST /fax", "GET /fax/{jobId}", "DELETE /fax/{jobId}", "GET /webhooks/deliveries"} {
		m, p, _ := strings.Cut(op, " ")
		if _, ok := doc.Paths[p][strings.ToLower(m)]; !ok {
			t.Errorf("%s is not in the served document", op)
		}
	}
}

// docker-compose.yml gives every faxseal node FAXSEAL_PUBLIC_URL (the same one) and FAXSEAL_CONFIG,
// and the SIP configuration each node writes there at start parses, with media port ranges that
// do not overlap and are published; the redial and ring settings are ones serve accepts.
func TestComposeNodes(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	// Compose's ${VAR:-default} interpolation, with the defaults.
	interpolate := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	publicURL, nodes := "", 0
	var ranges [][2]int
	for name, svc := range compose.Services {
		if !strings.HasPrefix(name, "faxseal") {
			continue
		}
		nodes++
		env := map[string]string{}
		for k, v := range svc.Environment {
			env[k] = interpolate.ReplaceAllString(v, "$1")
		}
		if env["FAXSEAL_PUBLIC_URL"] == "" || env["FAXSEAL_CONFIG"] == "" {
			t.Fatalf("%s: FAXSEAL_PUBLIC_URL %q, FAXSEAL_CONFIG %q", name, env["FAXSEAL_PUBLIC_URL"], env["FAXSEAL_CONFIG"])
		}
		if publicURL != "" && env["FAXSEAL_PUBLIC_URL"] != publicURL {
			t.Errorf("%s: FAXSEAL_PUBLIC_URL %s, another node has %s", name, env["FAXSEAL_PUBLIC_URL"], publicURL)
		}
		publicURL = env["FAXSEAL_PUBLIC_URL"]
		cfg, err := sip.ParseConfig([]byte(env["FAXSEAL_SIP_YAML"]))
		if err != nil {
			t.Fatalf("%s: the SIP config it writes to FAXSEAL_CONFIG: %v", name, err)
		}
		lo, hi := cfg.Media.PortMin, cfg.Media.PortMax
		for _, r := range ranges {
			if lo <= r[1] && r[0] <= hi {
				t.Errorf("%s: media ports %d-%d overlap another node's %d-%d", name, lo, hi, r[0], r[1])
			}
		}
		ranges = append(ranges, [2]int{lo, hi})
		if want := fmt.Sprintf("%d-%d:%d-%d/udp", lo, hi, lo, hi); !slices.Contains(svc.Ports, want) {
			t.Errorf("%s: media ports not published as %s: %v", name, want, svc.Ports)
		}
		for k, v := range env {
			if strings.HasPrefix(k, "FAXSEAL_REDIAL_") || k == "FAXSEAL_RING_TIMEOUT" {
				t.Setenv(k, v)
			}
		}
		if _, err := loadConfig(newFlagSet("serve"), nil, true); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if nodes < 2 {
		t.Fatalf("%d faxseal nodes in docker-compose.yml", nodes)
	}
}
