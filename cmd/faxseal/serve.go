package main

// serve wires one FaxSeal node: the database (embedded cluster or FAXSEAL_DATABASE_URL), migrations,
// River with its workers, the HTTP server (partner API, health, metrics; the portal mounts on the same
// router) and, in registerComponents, the long-running parts such as the SIP endpoint. Every part runs
// under one context and is stopped in reverse order on SIGINT/SIGTERM.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/extract"
	"github.com/faxseal/faxseal/gateway"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/cluster"
	"github.com/faxseal/faxseal/webhook"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
)

// stdout receives the commands' results (tests capture it).
var stdout io.Writer = os.Stdout

// serving, when set (by tests), is called with the node once it is ready: the end-to-end tests hand
// received faxes to the node's own store, whose hooks queue the pipeline, as the gateway does.
var serving func(n *node)

func init() {
	commands["serve"] = command{summary: "run a FaxSeal node: partner API, SIP gateway, workers (--dev: demo data)", run: runServe}
}

// config is every FAXSEAL_* setting (README "Configuration" documents each; keep the two in step).
type config struct {
	DatabaseURL string        // FAXSEAL_DATABASE_URL: empty starts the embedded cluster in DataDir/pg
	DataDir     string        // FAXSEAL_DATA_DIR
	HTTPAddr    string        // FAXSEAL_HTTP_ADDR
	SIPAddr     string        // FAXSEAL_SIP_ADDR (used by the SIP endpoint)
	SecretKey   []byte        // FAXSEAL_SECRET_KEY, 32 bytes as 64 hex digits or base64
	LogLevel    slog.Level    // FAXSEAL_LOG_LEVEL
	LogFormat   string        // FAXSEAL_LOG_FORMAT: json or text
	RateLimit   int           // FAXSEAL_RATE_LIMIT: requests per minute per partner key
	CoolOff     time.Duration // FAXSEAL_NUMBER_COOLOFF
	Dev         bool          // --dev or FAXSEAL_DEV=1
	// PublicURL (FAXSEAL_PUBLIC_URL) is the origin partners reach this server at, for the fileUrl
	// links of the inbox and webhooks; default http://<HTTPAddr>.
	PublicURL string
	// AllowLoopback (FAXSEAL_WEBHOOK_ALLOW_LOOPBACK; on with --dev) lets webhooks and fileUrl fetches
	// reach 127.0.0.0/8 and ::1, over http too. Private and metadata addresses stay blocked.
	AllowLoopback bool
	Retention     time.Duration // FAXSEAL_RETENTION: how long received fax files are kept
	// SIPConfig (FAXSEAL_CONFIG, --config) is the YAML file of SIP listeners and trunks
	// (testdata/trunks/example.yaml); empty means no trunks (and, in --dev, the loopback trunk).
	SIPConfig string
	// Redial (FAXSEAL_REDIAL_TRIES, FAXSEAL_REDIAL_DELAYS) is the outbound redial policy; zero fields
	// take send.DefaultPolicy's (3 tries, 5 then 10 min apart).
	Redial send.Policy
	// RingTimeout (FAXSEAL_RING_TIMEOUT) bounds the wait for the far end to answer an outbound call;
	// 0 means the gateway's default (60 s).
	RingTimeout time.Duration
}

// maxRedialTries is send.Policy's bound on dial attempts per fax.
const maxRedialTries = 20

// parseDelays reads FAXSEAL_REDIAL_DELAYS: comma-separated durations, the wait after the first
// failed try, after the second, ...; the last repeats when there are more tries than delays.
func parseDelays(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if d < 0 || d > 24*time.Hour {
			return nil, fmt.Errorf("delay %v must be 0 to 24h", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// loadConfig reads the environment, then lets flags on fs override it; serve adds the listener and
// --dev flags, the other commands only --data-dir.
func loadConfig(fs *flag.FlagSet, args []string, serve bool) (*config, error) {
	c := &config{
		DatabaseURL: os.Getenv("FAXSEAL_DATABASE_URL"),
		DataDir:     envOr("FAXSEAL_DATA_DIR", "./data"),
		HTTPAddr:    envOr("FAXSEAL_HTTP_ADDR", "127.0.0.1:8080"),
		SIPAddr:     envOr("FAXSEAL_SIP_ADDR", "0.0.0.0:5060"),
		LogFormat:   os.Getenv("FAXSEAL_LOG_FORMAT"),
		RateLimit:   60,
		CoolOff:     30 * 24 * time.Hour,
		PublicURL:   os.Getenv("FAXSEAL_PUBLIC_URL"),
		SIPConfig:   os.Getenv("FAXSEAL_CONFIG"),
		Retention:   jobs.DefaultRetention,
	}
	var errs []error
	if v := os.Getenv("FAXSEAL_DEV"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, wrapEnv("FAXSEAL_DEV", err))
		c.Dev = b
	}
	if v := os.Getenv("FAXSEAL_LOG_LEVEL"); v != "" {
		errs = append(errs, wrapEnv("FAXSEAL_LOG_LEVEL", c.LogLevel.UnmarshalText([]byte(v))))
	}
	if v := os.Getenv("FAXSEAL_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && n < 1 {
			err = errors.New("must be at least 1")
		}
		errs = append(errs, wrapEnv("FAXSEAL_RATE_LIMIT", err))
		c.RateLimit = n
	}
	if v := os.Getenv("FAXSEAL_NUMBER_COOLOFF"); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = errors.New("must not be negative")
		}
		errs = append(errs, wrapEnv("FAXSEAL_NUMBER_COOLOFF", err))
		c.CoolOff = d
	}
	if v := os.Getenv("FAXSEAL_WEBHOOK_ALLOW_LOOPBACK"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, wrapEnv("FAXSEAL_WEBHOOK_ALLOW_LOOPBACK", err))
		c.AllowLoopback = b
	}
	if v := os.Getenv("FAXSEAL_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil && d < time.Hour {
			err = errors.New("must be at least 1h")
		}
		errs = append(errs, wrapEnv("FAXSEAL_RETENTION", err))
		c.Retention = d
	}
	if v := os.Getenv("FAXSEAL_REDIAL_TRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil && (n < 1 || n > maxRedialTries) {
			err = fmt.Errorf("must be 1 to %d (dial attempts in all, the first included)", maxRedialTries)
		}
		errs = append(errs, wrapEnv("FAXSEAL_REDIAL_TRIES", err))
		c.Redial.MaxAttempts = n
	}
	if v := os.Getenv("FAXSEAL_REDIAL_DELAYS"); v != "" {
		d, err := parseDelays(v)
		errs = append(errs, wrapEnv("FAXSEAL_REDIAL_DELAYS", err))
		c.Redial.Delays = d
	}
	if v := os.Getenv("FAXSEAL_RING_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil && (d < 5*time.Second || d > 5*time.Minute) {
			err = errors.New("must be 5s to 5m")
		}
		errs = append(errs, wrapEnv("FAXSEAL_RING_TIMEOUT", err))
		c.RingTimeout = d
	}
	if v := os.Getenv("FAXSEAL_SECRET_KEY"); v != "" {
		k, err := parseSecretKey(v)
		errs = append(errs, wrapEnv("FAXSEAL_SECRET_KEY", err))
		c.SecretKey = k
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if serve {
		fs.BoolVar(&c.Dev, "dev", c.Dev, "development mode: embedded database, demo partner and DIDs, text logs, http webhooks allowed")
		fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address (FAXSEAL_HTTP_ADDR)")
		fs.StringVar(&c.SIPAddr, "sip-addr", c.SIPAddr, "SIP listen address, UDP and TCP, when the config file has no listen section (FAXSEAL_SIP_ADDR)")
		fs.StringVar(&c.SIPConfig, "config", c.SIPConfig, "YAML file of SIP listeners and trunks (FAXSEAL_CONFIG)")
	}
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory for the embedded database and generated secrets (FAXSEAL_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if c.Dev || !serve {
			c.LogFormat = "text"
		}
	}
	if !serve && os.Getenv("FAXSEAL_LOG_LEVEL") == "" {
		c.LogLevel = slog.LevelWarn // operator tools print their result, not progress
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return nil, fmt.Errorf("FAXSEAL_LOG_FORMAT: %q is not json or text", c.LogFormat)
	}
	if c.Dev {
		c.AllowLoopback = true
	}
	if serve {
		u, err := publicURL(c.PublicURL, c.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("FAXSEAL_PUBLIC_URL: %w", err)
		}
		c.PublicURL = u
	}
	return c, nil
}

// publicURL checks FAXSEAL_PUBLIC_URL (an origin: scheme and host, no path, since the API's routes
// are absolute), or makes the default from the HTTP listen address, with an unspecified host
// (":8080", "0.0.0.0:8080") read as 127.0.0.1.
func publicURL(v, httpAddr string) (string, error) {
	if v == "" {
		host, port, err := net.SplitHostPort(httpAddr)
		if err != nil {
			return "", fmt.Errorf("no public URL and the HTTP address %q is not host:port", httpAddr)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		return "http://" + net.JoinHostPort(host, port), nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must be an http(s) origin such as https://fax.example.com", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

// newFlagSet is a subcommand's flag set: errors are returned, not fatal.
func newFlagSet(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func wrapEnv(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}

func parseSecretKey(s string) ([]byte, error) {
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("must be 32 bytes written as 64 hex digits or base64 (openssl rand -hex 32)")
}

func (c *config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// minLevel drops records below its level: River reports job counts at info level every few seconds,
// which drowns the node's own log unless FAXSEAL_LOG_LEVEL asks for more.
type minLevel struct {
	slog.Handler
	level slog.Level
}

// riverLogLevel is warn, or everything when the node logs at debug level.
func riverLogLevel(node slog.Level) slog.Level {
	if node <= slog.LevelDebug {
		return node
	}
	return max(node, slog.LevelWarn)
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.level}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.level} }

// database is an open, migrated store and what must be stopped after it.
type database struct {
	store   *store.Store
	cluster *cluster.Cluster // nil with FAXSEAL_DATABASE_URL
	key     []byte           // the server secret (FAXSEAL_SECRET_KEY or DataDir/secret.key)
}

// openDatabase opens FAXSEAL_DATABASE_URL or starts (or joins) the embedded cluster in DataDir/pg, and
// migrates. The secret key comes from FAXSEAL_SECRET_KEY, else from DataDir/secret.key, which is
// created when the database is embedded or in --dev (a server on a shared database must be given the
// same key on every node).
func openDatabase(ctx context.Context, c *config, logger *slog.Logger) (*database, error) {
	db := &database{}
	url := c.DatabaseURL
	if url == "" {
		if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
			return nil, err
		}
		cl, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(c.DataDir, "pg"),
			Log: func(f string, a ...any) { logger.Info(fmt.Sprintf(f, a...)) }})
		if err != nil {
			return nil, err
		}
		db.cluster = cl
		if err := cl.EnsureDatabase(ctx, "faxseal"); err != nil {
			db.close(logger)
			return nil, err
		}
		url = cl.URL("faxseal")
	}
	key := c.SecretKey
	if key == nil {
		var err error
		if key, err = dataDirSecretKey(c, c.DatabaseURL == "" || c.Dev); err != nil {
			db.close(logger)
			return nil, err
		}
	}
	s, err := store.Open(ctx, url, store.Options{SecretKey: key, Logger: logger})
	if err != nil {
		db.close(logger)
		return nil, err
	}
	db.store, db.key = s, key
	if err := s.Migrate(ctx); err != nil {
		db.close(logger)
		return nil, err
	}
	return db, nil
}

func (db *database) close(logger *slog.Logger) {
	own := ""
	if db.store != nil {
		own = db.store.ApplicationName()
		db.store.Close()
	}
	if db.cluster != nil {
		// The caller's context is usually cancelled by now (that is why we are stopping). The last
		// process out stops the cluster; one used by another process (a server, while a tool runs)
		// stays up.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if stopped, err := db.cluster.StopIfIdle(ctx, own); err != nil {
			logger.Error("stopping PostgreSQL", "err", err)
		} else if stopped {
			logger.Info("PostgreSQL stopped")
		} else {
			logger.Info("PostgreSQL left running for its other clients")
		}
	}
}

func dataDirSecretKey(c *config, create bool) ([]byte, error) {
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := parseSecretKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if !create {
		return nil, errors.New("FAXSEAL_SECRET_KEY is not set: give every node the same 32-byte key (openssl rand -hex 32)")
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write their own key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return dataDirSecretKey(c, false)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, err
	}
	return k, nil
}

// component is a long-running part of the node started after the database and River, stopped before
// them. start must return once the component is running; stop must return once it has let go of
// everything (sockets, goroutines).
type component struct {
	name  string
	start func(ctx context.Context) error
	stop  func(ctx context.Context) error
}

// node is what the wiring functions below receive.
type node struct {
	cfg      *config
	logger   *slog.Logger
	store    *store.Store
	router   *mux.Router
	registry *prometheus.Registry
	secret   []byte         // the server secret; file-link keys are derived from it
	inbound  *jobs.Pipeline // OCR, extraction, webhooks, retention; set by newInbound

	gateway    *gateway.Gateway // the SIP endpoint and fax calls; set by newGateway
	sipReady   chan struct{}    // closed once the gateway's listeners are bound
	send       *send.Service    // the outbound pipeline; set by newSend
	sendRoutes []api.Route      // POST /fax, GET and DELETE /fax/{jobId}
}

// newInbound builds the inbound pipeline (issue 6): the bounded Tesseract pool, the extractor
// (off unless FAXSEAL_OPENAI_* are set), webhook delivery through the SSRF-guarded client, the
// signed file links and the retention purge. It also registers the received-fax hook that queues
// OCR in the transaction storing each fax, so it must run before anything can deliver a fax. The
// returned close releases the Tesseract clients (after River has stopped).
func newInbound(n *node) (close func(), err error) {
	pool, err := ocr.NewPool(ocr.Options{})
	if err != nil {
		return nil, err
	}
	extractor := extract.New(extract.ConfigFromEnv(os.Getenv))
	pipe, err := jobs.New(jobs.Config{
		Store:     n.store,
		OCR:       pool,
		Extractor: extractor,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: n.cfg.AllowLoopback})},
		Links:     jobs.FileLinks{Key: jobs.FileLinkKey(n.secret), BaseURL: n.cfg.PublicURL},
		Retention: n.cfg.Retention,
		Logger:    n.logger.With("component", "inbound"),
		Metrics:   n.registry,
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	n.store.OnReceivedFax(pipe.OnReceivedFax)
	n.inbound = pipe
	n.logger.Info("inbound pipeline", "ocr_clients", pool.Size(), "extraction", extractor.Describe(),
		"public_url", n.cfg.PublicURL, "retention", n.cfg.Retention.String(), "webhooks_to_loopback", n.cfg.AllowLoopback)
	return func() { pool.Close() }, nil
}

// registerWorkers adds every River worker, its queues and the periodic jobs. Later work (the inbound
// pipeline's OCR, extraction and webhooks; sending; retention) registers here, and so do the
// store.OnReceivedFax hooks that enqueue their jobs in the received fax's transaction: this runs
// before any component (the SIP gateway) can deliver a fax.
func registerWorkers(n *node, workers *river.Workers) (map[string]river.QueueConfig, []*river.PeriodicJob, error) {
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	river.AddWorker(workers, &store.NumberFeesWorker{Store: n.store})
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return store.NumberFeesArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "number_monthly_fees"}),
	}
	if p := n.inbound; p != nil {
		p.Register(workers)
		maps.Copy(queues, p.Queues())
		periodic = append(periodic, p.PeriodicJobs()...)
	}
	if n.send != nil {
		if err := n.send.Register(workers); err != nil {
			return nil, nil, err
		}
		maps.Copy(queues, n.send.Queues())
	}
	return queues, periodic, nil
}

// registerHTTP mounts every HTTP surface on the node's router. The portal (api/portal) mounts here
// too, beside the partner API; partner endpoints of other packages go in api.Config.Routes, and the
// inbound pipeline's signed file links in api.Config.FileURL and OpenFile.
func registerHTTP(n *node) error {
	cfg := api.Config{
		Store:         n.store,
		Logger:        n.logger,
		RateLimit:     store.RateLimit{Limit: n.cfg.RateLimit, Period: time.Minute},
		NumberCoolOff: n.cfg.CoolOff,
		// http:// webhook URLs only where the guarded client may reach loopback, the one place it
		// lets plain http go.
		AllowHTTPWebhooks: n.cfg.AllowLoopback,
		Metrics:           n.registry,
	}
	if p := n.inbound; p != nil {
		links := p.Links()
		cfg.FileURL = func(f store.InboundFax) string { return links.URL(f.ID, f.ReceivedAt) }
		cfg.OpenFile = func(ctx context.Context, faxID, token string) (store.File, error) {
			f, err := links.Open(ctx, n.store, faxID, token, time.Now())
			if errors.Is(err, jobs.ErrTokenInvalid) || errors.Is(err, jobs.ErrTokenExpired) {
				return f, fmt.Errorf("%w: %w", api.ErrFileToken, err)
			}
			return f, err
		}
		cfg.Webhooks = p
	}
	if n.sendRoutes != nil {
		cfg.Routes = append(cfg.Routes, n.sendRoutes...)
	}
	a, err := api.New(cfg)
	if err != nil {
		return err
	}
	a.Mount(n.router)
	return nil
}

// registerComponents lists the long-running parts besides HTTP and River, in start order. The SIP
// endpoint (sip/, gateway/) is started here, listening on n.cfg.SIPAddr, with the same context as
// everything else. The gateway (tier 1) cannot import store: adapt n.store.RouteNumber (ErrNotFound
// -> SIP 404, ErrPartnerSuspended -> 480) and n.store.InsertReceivedFax to its interfaces here.
func registerComponents(n *node) []component {
	var comps []component
	if g := n.gateway; g != nil {
		comps = append(comps, component{name: "SIP gateway",
			start: func(ctx context.Context) error {
				if err := g.Start(ctx); err != nil {
					return err
				}
				close(n.sipReady)
				ep := g.Endpoint()
				n.logger.Info("SIP gateway listening", "udp", ep.Addr("udp"), "tcp", ep.Addr("tcp"))
				return nil
			},
			stop: func(context.Context) error { return g.Close() },
		})
	}
	return comps
}

func runServe(ctx context.Context, args []string) error {
	// Before anything else: OpenMP reads OMP_THREAD_LIMIT when libtesseract loads, so the process
	// restarts itself with it set unless it already has it (package ocr, "Threads").
	if err := ocr.ReexecSingleThreaded(); err != nil {
		return err
	}
	fs := newFlagSet("serve")
	cfg, err := loadConfig(fs, args, true)
	if err != nil {
		return err
	}
	logger := cfg.logger()
	slog.SetDefault(logger)

	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		db.store.PoolCollector())
	n := &node{cfg: cfg, logger: logger, store: db.store, router: mux.NewRouter(), registry: registry, secret: db.key}

	if cfg.Dev {
		if err := seedDev(ctx, n); err != nil {
			return fmt.Errorf("seeding demo data: %w", err)
		}
	}

	closeInbound, err := newInbound(n)
	if err != nil {
		return fmt.Errorf("inbound pipeline: %w", err)
	}
	defer closeInbound() // after River's stop below: its OCR jobs hold Tesseract clients

	if n.gateway, err = newGateway(n); err != nil {
		return err
	}
	n.sipReady = make(chan struct{})
	dialer := readyDialer{Dialer: send.GatewayDialer{Gateway: n.gateway, RingTimeout: n.cfg.RingTimeout}, ready: n.sipReady}
	if err := newSend(n, dialer); err != nil {
		return fmt.Errorf("send pipeline: %w", err)
	}

	workers := river.NewWorkers()
	queues, periodic, err := registerWorkers(n, workers)
	if err != nil {
		return err
	}
	jobs, err := db.store.NewJobClient(&river.Config{
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       slog.New(minLevel{logger.Handler(), riverLogLevel(cfg.LogLevel)}).With("component", "river"),
	})
	if err != nil {
		return err
	}
	if err := jobs.Start(ctx); err != nil {
		return fmt.Errorf("starting River: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := jobs.Stop(stopCtx); err != nil {
			logger.Error("stopping River", "err", err)
		}
	}()

	var ready atomic.Bool
	n.router.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}).Methods(http.MethodGet)
	n.router.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if !ready.Load() {
			http.Error(w, "not ready: starting or stopping", http.StatusServiceUnavailable)
			return
		}
		if err := db.store.Ping(pctx); err != nil {
			http.Error(w, "not ready: database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}).Methods(http.MethodGet)
	n.router.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	if err := registerHTTP(n); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP listener: %w", err)
	}
	srv := &http.Server{
		Handler:           n.router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // fax uploads are up to 20 MB
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()

	comps := registerComponents(n)
	var started []component
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := started[i].stop(stopCtx); err != nil {
				logger.Error("stopping "+started[i].name, "err", err)
			}
			cancel()
		}
	}()
	for _, c := range comps {
		if err := c.start(ctx); err != nil {
			srv.Close()
			return fmt.Errorf("starting %s: %w", c.name, err)
		}
		started = append(started, c)
	}

	ready.Store(true)
	if serving != nil {
		serving(n)
	}
	logger.Info("faxseal serving", "http", "http://"+ln.Addr().String(), "dev", cfg.Dev)
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		return fmt.Errorf("HTTP server: %w", err)
	}
	ready.Store(false)
	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Error("HTTP shutdown", "err", err)
	}
	return nil
}

// The demo inventory of --dev: numbers in the 555-01XX block, which NANP reserves for fiction, so
// they can never reach a real subscriber.
var devDIDs = []string{
	"+14155550100", "+14155550101", "+14155550102", "+14155550103",
	"+12125550100", "+12125550101",
	"+15125550100", "+15125550101",
	"+13125550100", "+16045550100",
}

const devPartnerName = "FaxSeal Demo"

// seedDev makes sure the demo partner and the demo DIDs exist (idempotent across restarts) and prints
// the demo partner's key.
func seedDev(ctx context.Context, n *node) error {
	dids := make([]store.DID, len(devDIDs))
	for i, d := range devDIDs {
		dids[i] = store.DID{Number: d, Trunk: devTrunk}
	}
	if _, _, err := n.store.ImportDIDs(ctx, dids); err != nil {
		return err
	}
	var id string
	err := n.store.QueryRow(ctx, `SELECT id FROM partners WHERE name = $1 ORDER BY created_at LIMIT 1`, devPartnerName).Scan(&id)
	var key string
	switch {
	case errors.Is(err, store.ErrNotFound):
		p, k, err := n.store.CreatePartner(ctx, store.NewPartner{Name: devPartnerName, Credits: 100, BillingEmail: "demo@example.com"})
		if err != nil {
			return err
		}
		id, key = p.ID, k
	case err != nil:
		return err
	default:
		keys, err := n.store.RevealKeys(ctx, id)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("demo partner %s has no active key", id)
		}
		key = keys[0].Key
	}
	n.logger.Info("demo partner ready", "partner", id, "dids", len(devDIDs))
	fmt.Fprintf(stdout, "\nFaxSeal dev mode: demo partner %q (%s)\n  X-Partner-Key: %s\n  demo DIDs: %s\n\n",
		devPartnerName, id, key, strings.Join(devDIDs, " "))
	return nil
}
