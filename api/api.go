// Package api is the partner REST API (/api/partner, the contract in the seed document): thin handlers
// that decode with size limits, validate, call the store and encode. Handlers return errors; one place
// (writeError) turns them into the JSON error envelope and status code.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faxseal/faxseal/store"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// Prefix is where the partner API is mounted.
const Prefix = "/api/partner"

// OpenAPI is the OpenAPI 3 document of the partner API, served at Prefix + "/openapi.json".
//
//go:embed openapi.json
var OpenAPI []byte

// Config wires the API to its services.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger // nil: discard
	// RateLimit per partner key (the seed: 60 per minute), shared by every node through the database.
	RateLimit store.RateLimit
	// NumberCoolOff is how long a released number rests before it is handed out again.
	NumberCoolOff time.Duration
	// AllowHTTPWebhooks accepts http:// webhook URLs (development only; production requires https).
	AllowHTTPWebhooks bool
	// InboxPageSize is the number of faxes per inbox page (default 20).
	InboxPageSize int
	// FileURL returns the download link of a received fax's PDF (the inbox's fileUrl); nil leaves
	// fileUrl null. The inbound-pipeline work provides the signed-token link.
	FileURL func(fax store.InboundFax) string
	// OpenFile checks a fileUrl token and returns the fax's PDF, for GET /inbox/{id}/file (which needs
	// no partner key: the token is the credential). It returns an error wrapping ErrFileToken for a bad
	// or expired token and store.ErrNotFound for an unknown or purged fax. nil: the route answers 404.
	OpenFile func(ctx context.Context, faxID, token string) (store.File, error)
	// Webhooks serves the webhook delivery log and replay (GET /webhooks/deliveries, POST
	// /webhooks/deliveries/{eventId}/replay); nil: those routes answer 501.
	Webhooks WebhookLog
	// Routes are partner endpoints of other packages, mounted beside the built-in ones.
	Routes []Route
	// Metrics registers the API's Prometheus collectors; nil registers none.
	Metrics prometheus.Registerer
}

// API is the partner API.
type API struct {
	cfg     Config
	store   *store.Store
	logger  *slog.Logger
	metrics *metrics
}

// New builds the API; Mount adds its routes to a router.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Config.Store is required")
	}
	if cfg.RateLimit.Limit <= 0 || cfg.RateLimit.Period <= 0 {
		cfg.RateLimit = store.RateLimit{Limit: 60, Period: time.Minute}
	}
	if cfg.InboxPageSize <= 0 {
		cfg.InboxPageSize = 20
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, store: cfg.Store, logger: logger, metrics: m}
	seen := map[string]bool{"GET /openapi.json": true, "GET /inbox/{id}/file": true}
	for _, rt := range a.builtinRoutes() {
		seen[rt.Method+" "+rt.Path] = true
	}
	for _, rt := range cfg.Routes {
		op := rt.Method + " " + rt.Path
		switch {
		case rt.Handler == nil || !strings.HasPrefix(rt.Path, "/") || rt.Method == "" || strings.ToUpper(rt.Method) != rt.Method:
			return nil, fmt.Errorf("api: bad route %q", op)
		case seen[op]:
			return nil, fmt.Errorf("api: route %s is already served", op)
		}
		seen[op] = true
	}
	return a, nil
}

// Handler is an authenticated partner endpoint. partnerID is the caller's partner (the key was checked
// and the request charged to its rate limit); a returned *Error becomes the JSON error envelope, any
// other error a logged 500 that reveals nothing.
type Handler func(w http.ResponseWriter, r *http.Request, partnerID string) error

// Route is an endpoint another package adds to the partner API (the send pipeline's /fax, webhook
// deliveries): it gets the same key check, rate limit, request id, logging, metrics and error
// envelope as the built-in ones. Path is below Prefix ("/fax", "/fax/{jobId}"; read variables with
// mux.Vars). Document every added operation in api/openapi.json, the one document of the whole API
// (its test mounts the routes of api/fax and checks both ways).
type Route struct {
	Method  string
	Path    string
	Handler Handler
}

func (a *API) builtinRoutes() []Route {
	return []Route{
		{http.MethodPost, "/numbers", a.provisionNumber},
		{http.MethodGet, "/numbers", a.lookupNumber},
		{http.MethodDelete, "/numbers", a.releaseNumber},
		{http.MethodGet, "/settings", a.getSettings},
		{http.MethodPatch, "/settings", a.patchSettings},
		{http.MethodGet, "/credits", a.getCredits},
		{http.MethodPost, "/credits", a.createCheckout},
		{http.MethodGet, "/inbox", a.listInbox},
		{http.MethodGet, "/usage", a.getUsage},
		{http.MethodGet, "/webhooks/deliveries", a.listDeliveries},
		{http.MethodPost, "/webhooks/deliveries/{eventId}/replay", a.replayDelivery},
	}
}

// Mount adds the partner API under Prefix to root. Routes not under Prefix are left to root.
func (a *API) Mount(root *mux.Router) {
	r := root.PathPrefix(Prefix).Subrouter()
	r.Use(a.observe)
	r.HandleFunc("/openapi.json", a.serveOpenAPI).Methods(http.MethodGet)
	r.HandleFunc("/inbox/{id}/file", a.serveFile).Methods(http.MethodGet) // token, not key
	for _, rt := range append(a.builtinRoutes(), a.cfg.Routes...) {
		r.Handle(rt.Path, a.auth(rt.Handler)).Methods(rt.Method)
	}
	// Everything else under Prefix gets the JSON envelope: 405 (with Allow) for a known path and another
	// method, 404 otherwise. A last catch-all route does this rather than mux's NotFoundHandler and
	// MethodNotAllowedHandler, because gorilla/mux v1.8 answers 404 for a method mismatch on a subrouter
	// that has a NotFoundHandler.
	allowed := map[string][]string{}
	r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err1 := route.GetPathTemplate()
		methods, err2 := route.GetMethods()
		if err1 == nil && err2 == nil {
			allowed[tpl] = append(allowed[tpl], methods...)
		}
		return nil
	})
	r.PathPrefix("/").Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods, ok := allowed[r.URL.Path]
		for tpl, m := range allowed { // templated paths ({id}) match by shape
			if !ok && strings.Contains(tpl, "{") && sameShape(tpl, r.URL.Path) {
				methods, ok = m, true
			}
		}
		if ok {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			a.writeError(w, r, Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "%s is not allowed on %s; use %s",
				r.Method, r.URL.Path, strings.Join(methods, ", ")))
			return
		}
		a.writeError(w, r, Errorf(http.StatusNotFound, CodeNotFound, "", "no endpoint %s %s", r.Method, r.URL.Path))
	}))
}

// sameShape reports whether path matches a route template segment by segment ({x} matches any one).
func sameShape(tpl, path string) bool {
	ts, ps := strings.Split(tpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if !strings.HasPrefix(ts[i], "{") && ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// ErrFileToken is wrapped by OpenFile's error for a fileUrl token that is malformed, forged or expired.
var ErrFileToken = errors.New("api: invalid or expired file token")

// GET /inbox/{id}/file?token=: the received fax as PDF, authorised by the signed token in its fileUrl.
// A missing, forged or expired token is 403 (the request carries a credential that does not grant
// this file; 401 would ask for an HTTP authentication scheme that this route does not use), an
// unknown or purged fax 404.
func (a *API) serveFile(w http.ResponseWriter, r *http.Request) {
	id, token := mux.Vars(r)["id"], r.URL.Query().Get("token")
	if a.cfg.OpenFile == nil {
		a.writeError(w, r, Errorf(http.StatusNotFound, CodeFileNotFound, "", "fax files are not served by this server"))
		return
	}
	if token == "" {
		a.writeError(w, r, Errorf(http.StatusForbidden, CodeInvalidFileToken, "token", "the token query parameter is required; use the fileUrl from the inbox"))
		return
	}
	f, err := a.cfg.OpenFile(r.Context(), id, token)
	switch {
	case errors.Is(err, ErrFileToken):
		a.writeError(w, r, Errorf(http.StatusForbidden, CodeInvalidFileToken, "token", "this file link is invalid or has expired; fetch a fresh fileUrl from the inbox"))
		return
	case errors.Is(err, store.ErrNotFound):
		a.writeError(w, r, Errorf(http.StatusNotFound, CodeFileNotFound, "", "no file for fax %s (it may have been purged after the retention period)", id))
		return
	case err != nil:
		a.writeError(w, r, err)
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/pdf"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Content-Disposition", `inline; filename="`+sanitizeFilename(id)+`.pdf"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(f.Data)
	}
}

func sanitizeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(OpenAPI)
}

// auth authenticates X-Partner-Key and charges the request to the key's rate limit (one UPDATE shared
// by all nodes), sets the X-RateLimit-* headers, then runs h.
func (a *API) auth(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Partner-Key")
		if key == "" {
			a.writeError(w, r, Errorf(http.StatusUnauthorized, CodeMissingAPIKey, "", "send your partner key in the X-Partner-Key header"))
			return
		}
		if len(key) > 200 {
			a.writeError(w, r, Errorf(http.StatusUnauthorized, CodeInvalidAPIKey, "", "unknown partner key"))
			return
		}
		auth, rl, err := a.store.Authenticate(r.Context(), key, a.cfg.RateLimit)
		if errors.Is(err, store.ErrUnknownKey) {
			a.writeError(w, r, Errorf(http.StatusUnauthorized, CodeInvalidAPIKey, "", "unknown partner key"))
			return
		}
		if err != nil && !errors.Is(err, store.ErrPartnerSuspended) {
			a.writeError(w, r, err)
			return
		}
		setPartner(r, auth.PartnerID)
		hdr := w.Header()
		hdr.Set("X-RateLimit-Limit", strconv.Itoa(rl.Limit))
		hdr.Set("X-RateLimit-Remaining", strconv.Itoa(rl.Remaining))
		hdr.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(rl.Reset), 10))
		if !rl.Allowed {
			secs := int64((rl.RetryAfter + time.Second - 1) / time.Second)
			hdr.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			a.metrics.rateLimited.Inc()
			a.writeError(w, r, Errorf(http.StatusTooManyRequests, CodeRateLimited, "",
				"rate limit of %d requests per %v exceeded; retry after %d s", rl.Limit, a.cfg.RateLimit.Period, max(secs, 1)))
			return
		}
		if errors.Is(err, store.ErrPartnerSuspended) {
			a.writeError(w, r, Errorf(http.StatusForbidden, CodePartnerSuspended, "", "this partner account is suspended"))
			return
		}
		if err := h(w, r, auth.PartnerID); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxInfo
)

// requestInfo is filled in as the request goes down the chain and read by observe for the access log.
type requestInfo struct{ partnerID string }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// observe gives every request an id (X-Request-Id, echoed or made), then logs it and counts it.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		info := &requestInfo{}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxRequestID, id), ctxInfo, info)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				a.logger.ErrorContext(ctx, "panic in handler", "panic", p, "path", r.URL.Path, "request_id", id)
				if !rec.wrote {
					a.writeError(rec, r, Errorf(http.StatusInternalServerError, CodeInternal, "", "internal error; quote the request id when reporting it"))
				}
			}
			route := "unmatched"
			if cr := mux.CurrentRoute(r); cr != nil {
				if tpl, err := cr.GetPathTemplate(); err == nil {
					route = tpl
				}
			}
			d := time.Since(start)
			a.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
			a.metrics.duration.WithLabelValues(r.Method, route).Observe(d.Seconds())
			a.logger.InfoContext(ctx, "http request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration_ms", float64(d.Microseconds())/1000, "partner", info.partnerID, "request_id", id)
		}()
		next.ServeHTTP(rec, r)
	})
}

func setPartner(r *http.Request, id string) {
	if info, ok := r.Context().Value(ctxInfo).(*requestInfo); ok {
		info.partnerID = id
	}
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxRequestID).(string)
	return id
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faxseal_api_requests_total", Help: "Partner API requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "faxseal_api_request_duration_seconds", Help: "Partner API request latency.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faxseal_api_rate_limited_total", Help: "Partner API requests refused with 429.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
