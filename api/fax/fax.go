// Package fax is the partner API's send endpoints (seed "Send API", plus status and cancel beyond
// the seed): POST /fax, GET /fax/{jobId}, DELETE /fax/{jobId}. They are mounted through
// api.Config.Routes and call the send pipeline (package jobs/send); this package only decodes,
// validates and maps errors to the API's envelope.
package fax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/billing"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/render"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// The error codes of these endpoints are api's (api/errors.go: insufficient_credits, no_fax_number,
// ..., and render's not_pdf and pdf_* as renderCodes maps them), so the API keeps its codes in one
// place that the OpenAPI document and README are checked against.

// renderCodes maps package render's document errors to the API's codes. They are the same strings
// (partners see render's codes); the table makes a new render code a test failure here instead of an
// undocumented code on the wire.
var renderCodes = map[string]struct {
	code   string
	status int
}{
	render.CodeNotPDF:       {api.CodeNotPDF, http.StatusBadRequest},
	render.CodeTooLarge:     {api.CodePDFTooLarge, http.StatusRequestEntityTooLarge},
	render.CodeEncrypted:    {api.CodePDFEncrypted, http.StatusUnprocessableEntity},
	render.CodeInvalid:      {api.CodePDFInvalid, http.StatusUnprocessableEntity},
	render.CodeNoPages:      {api.CodePDFNoPages, http.StatusUnprocessableEntity},
	render.CodeTooManyPages: {api.CodePDFTooManyPages, http.StatusUnprocessableEntity},
	render.CodePageTooLarge: {api.CodePDFPageTooLarge, http.StatusUnprocessableEntity},
	// render_timeout and render_failed come from rasterising in the deliver job, never from the
	// submit-time Inspect: here they would be our bug, a logged 500.
}

// Config wires the endpoints.
type Config struct {
	Service *send.Service
	// Client fetches fileUrl; it must come from webhook.NewGuardedClient (SSRF guard).
	Client *http.Client
	// AllowHTTP accepts http:// fileUrl and callbackUrl (development; the guarded client still
	// limits plain http to loopback).
	AllowHTTP bool
	// MaxBytes is the largest PDF (seed: 20 MB); 0 means render.DefaultMaxBytes.
	MaxBytes int64
	// FetchTimeout bounds a fileUrl download; 0 means 60 s.
	FetchTimeout time.Duration
	// CancelWait is how long DELETE waits for a call being dialled to hang up; 0 means 10 s.
	CancelWait time.Duration
}

type handlers struct{ cfg Config }

// Routes returns the endpoints for api.Config.Routes.
func Routes(cfg Config) ([]api.Route, error) {
	if cfg.Service == nil || cfg.Client == nil {
		return nil, errors.New("fax: Service and a guarded Client are required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = render.DefaultMaxBytes
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = time.Minute
	}
	if cfg.CancelWait <= 0 {
		cfg.CancelWait = 10 * time.Second
	}
	h := &handlers{cfg}
	return []api.Route{
		{Method: http.MethodPost, Path: "/fax", Handler: h.post},
		{Method: http.MethodGet, Path: "/fax/{jobId}", Handler: h.get},
		{Method: http.MethodDelete, Path: "/fax/{jobId}", Handler: h.cancel},
	}, nil
}

// request is the decoded form or JSON body.
type request struct {
	ToNumber, ExternalUserID, CallbackURL, CallbackSecret, FileURL string
	PDF                                                            []byte
	hasFile                                                        bool
}

// POST /fax.
func (h *handlers) post(w http.ResponseWriter, r *http.Request, partnerID string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var req request
	switch {
	case err == nil && mt == "multipart/form-data":
		err = h.decodeMultipart(w, r, &req)
	case err == nil && mt == "application/json":
		var body struct {
			ToNumber       string `json:"toNumber"`
			ExternalUserID string `json:"externalUserId"`
			FileURL        string `json:"fileUrl"`
			CallbackURL    string `json:"callbackUrl"`
			CallbackSecret string `json:"callbackSecret"`
		}
		err = api.DecodeJSON(w, r, &body)
		req = request{ToNumber: body.ToNumber, ExternalUserID: body.ExternalUserID, FileURL: body.FileURL,
			CallbackURL: body.CallbackURL, CallbackSecret: body.CallbackSecret}
	default:
		err = api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "",
			"send the fax as multipart/form-data (field file) or application/json (field fileUrl)")
	}
	if err != nil {
		return err
	}
	if err := h.validate(&req); err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && (len(key) > 255 || !printable(key)) {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "Idempotency-Key", "Idempotency-Key must be 1 to 255 printable characters")
	}
	var fp []byte
	if key != "" {
		fp = send.Fingerprint(req.ToNumber, req.ExternalUserID, req.CallbackURL, req.CallbackSecret, req.FileURL, req.PDF)
		body, ok, err := h.cfg.Service.Replay(r.Context(), partnerID, key, fp)
		if err != nil {
			return mapError(err)
		}
		if ok {
			w.Header().Set("Idempotent-Replayed", "true")
			api.WriteJSON(w, http.StatusAccepted, rawJSON(body))
			return nil
		}
	}
	if req.FileURL != "" {
		if req.PDF, err = h.fetch(r.Context(), req.FileURL); err != nil {
			return err
		}
	}
	_, body, err := h.cfg.Service.Submit(r.Context(), send.Request{
		PartnerID: partnerID, ExternalUserID: req.ExternalUserID, ToNumber: req.ToNumber,
		CallbackURL: req.CallbackURL, CallbackSecret: req.CallbackSecret, PDF: req.PDF,
		IdempotencyKey: key, Fingerprint: fp,
	})
	if err != nil {
		return mapError(err)
	}
	api.WriteJSON(w, http.StatusAccepted, rawJSON(body))
	return nil
}

// rawJSON is a body written as it was stored (the first response of an Idempotency-Key).
type rawJSON []byte

func (b rawJSON) MarshalJSON() ([]byte, error) { return b, nil }

// maxField bounds a text field of the form; the longest legitimate one is a callbackUrl.
const maxField = 4096

func (h *handlers) decodeMultipart(w http.ResponseWriter, r *http.Request, req *request) error {
	// The whole body may be the PDF plus the form's few small fields.
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "", "malformed multipart body: %v", err)
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err, h.cfg.MaxBytes)
		}
		name := part.FormName()
		if seen[name] {
			return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, name, "%s is given twice", name)
		}
		seen[name] = true
		if name == "file" {
			// Size-capped while streaming: one byte over the limit is enough to refuse.
			data, err := io.ReadAll(io.LimitReader(part, h.cfg.MaxBytes+1))
			if err != nil {
				return bodyError(err, h.cfg.MaxBytes)
			}
			if int64(len(data)) > h.cfg.MaxBytes {
				return tooLarge(h.cfg.MaxBytes)
			}
			req.PDF, req.hasFile = data, true
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			return bodyError(err, h.cfg.MaxBytes)
		}
		if len(b) > maxField {
			return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, name, "%s is longer than %d bytes", name, maxField)
		}
		v := string(b)
		switch name {
		case "toNumber":
			req.ToNumber = v
		case "externalUserId":
			req.ExternalUserID = v
		case "callbackUrl":
			req.CallbackURL = v
		case "callbackSecret":
			req.CallbackSecret = v
		default: // fileUrl included: a form carries the file itself
			return api.Errorf(http.StatusBadRequest, api.CodeUnknownField, name, "unknown field %q", name)
		}
	}
}

func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "", "could not read the body: %v", err)
}

func tooLarge(limit int64) error {
	return api.Errorf(http.StatusRequestEntityTooLarge, api.CodePDFTooLarge, "file", "the PDF is larger than %d MB", limit>>20)
}

func (h *handlers) validate(req *request) error {
	req.ToNumber = strings.TrimSpace(req.ToNumber)
	switch {
	case req.ToNumber == "":
		return api.Errorf(http.StatusBadRequest, api.CodeMissingParameter, "toNumber", "toNumber is required")
	case !store.IsE164(req.ToNumber):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "toNumber", "toNumber must be in E.164 format, such as +12125550001")
	}
	id := req.ExternalUserID
	switch {
	case id == "":
		return api.Errorf(http.StatusBadRequest, api.CodeMissingParameter, "externalUserId", "externalUserId is required")
	case len(id) > 255 || !utf8.ValidString(id) || !printable(id):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "externalUserId", "externalUserId must be at most 255 printable characters of UTF-8")
	}
	switch {
	case req.hasFile && req.FileURL != "":
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "fileUrl", "send either file or fileUrl, not both")
	case !req.hasFile && req.FileURL == "":
		return api.Errorf(http.StatusBadRequest, api.CodeMissingParameter, "file", "a PDF is required: file (multipart upload) or fileUrl (an https URL)")
	case req.hasFile && len(req.PDF) == 0:
		return api.Errorf(http.StatusBadRequest, api.CodeNotPDF, "file", "the file is empty; send a PDF")
	}
	if req.FileURL != "" {
		if err := h.checkURL(req.FileURL, "fileUrl"); err != nil {
			return err
		}
	}
	if req.CallbackURL != "" {
		if err := h.checkURL(req.CallbackURL, "callbackUrl"); err != nil {
			return err
		}
	}
	if s := req.CallbackSecret; s != "" && (len(s) < 8 || len(s) > 256) {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "callbackSecret", "callbackSecret must be 8 to 256 characters")
	}
	return nil
}

func (h *handlers) checkURL(v, param string) error {
	u, err := url.Parse(v)
	if len(v) > 2048 || err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, param, "%s must be an absolute https URL without credentials", param)
	}
	if u.Scheme != "https" && !(h.cfg.AllowHTTP && u.Scheme == "http") {
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, param, "%s must use https", param)
	}
	return nil
}

func printable(s string) bool {
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// fetch downloads fileUrl through the guarded client, refusing it once it passes MaxBytes.
func (h *handlers) fetch(ctx context.Context, raw string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "fileUrl", "fileUrl is not a valid URL")
	}
	req.Header.Set("Accept", "application/pdf")
	req.Header.Set("User-Agent", "FaxSeal-Fetch/1")
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		var be *webhook.BlockedError
		if errors.As(err, &be) {
			return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeFileURLBlocked, "fileUrl", "fileUrl is not fetchable: %s", be.Reason)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeFileFetchFailed, "fileUrl", "fileUrl did not answer within %v", h.cfg.FetchTimeout)
		}
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeFileFetchFailed, "fileUrl", "fileUrl could not be fetched: %s", fetchReason(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeFileFetchFailed, "fileUrl", "fileUrl answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if resp.ContentLength > h.cfg.MaxBytes {
		return nil, tooLarge(h.cfg.MaxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, h.cfg.MaxBytes+1))
	if err != nil {
		return nil, api.Errorf(http.StatusUnprocessableEntity, api.CodeFileFetchFailed, "fileUrl", "fileUrl download failed: %s", fetchReason(err))
	}
	if int64(len(data)) > h.cfg.MaxBytes {
		return nil, tooLarge(h.cfg.MaxBytes)
	}
	return data, nil
}

// fetchReason says why without echoing internal detail at length.
func fetchReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func mapError(err error) error {
	var ie *send.InsufficientError
	var re *render.Error
	switch {
	case errors.As(err, &ie):
		return api.Errorf(http.StatusPaymentRequired, api.CodeInsufficientCredits, "", "this fax costs %d credits and the balance is %d; top up via POST /api/partner/credits", ie.Cost, ie.Balance)
	case errors.Is(err, send.ErrNoNumber):
		return api.Errorf(http.StatusUnprocessableEntity, api.CodeNoFaxNumber, "externalUserId", "the user has no provisioned fax number; provision one with POST /api/partner/numbers")
	case errors.Is(err, billing.ErrInvalidNumber):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidParameter, "toNumber", "toNumber is not a dialable fax number (E.164, and a valid NANP number after +1)")
	case errors.Is(err, send.ErrUndialable):
		return api.Errorf(http.StatusUnprocessableEntity, api.CodeUnsupportedDestination, "toNumber", "faxes to this destination are not served (satellite, international network and premium-rate numbers)")
	case errors.Is(err, send.ErrIdempotencyReuse):
		return api.Errorf(http.StatusConflict, api.CodeIdempotencyKeyReused, "Idempotency-Key", "this Idempotency-Key was used in the last 24 hours with a different request")
	case errors.As(err, &re):
		c, ok := renderCodes[re.Code]
		if !ok {
			return fmt.Errorf("fax: unexpected document error at submit: %w", err)
		}
		return api.Errorf(c.status, c.code, "file", "%s", strings.TrimPrefix(re.Message, "render: "))
	}
	return err
}

// GET /fax/{jobId}.
func (h *handlers) get(w http.ResponseWriter, r *http.Request, partnerID string) error {
	f, err := h.cfg.Service.Fax(r.Context(), partnerID, mux.Vars(r)["jobId"])
	if errors.Is(err, send.ErrNotFound) {
		return notFound(mux.Vars(r)["jobId"])
	}
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, f)
	return nil
}

// DELETE /fax/{jobId}: 200 with the final fax, or 202 while the call being dialled hangs up.
func (h *handlers) cancel(w http.ResponseWriter, r *http.Request, partnerID string) error {
	id := mux.Vars(r)["jobId"]
	f, err := h.cfg.Service.Cancel(r.Context(), partnerID, id, h.cfg.CancelWait)
	switch {
	case errors.Is(err, send.ErrNotFound):
		return notFound(id)
	case errors.Is(err, send.ErrNotCancelable):
		return api.Errorf(http.StatusConflict, api.CodeFaxNotCancelable, "", "fax %s can no longer be canceled: it is being transmitted or has ended", id)
	case err != nil:
		return err
	}
	status := http.StatusOK
	if f.CancelPending {
		status = http.StatusAccepted
	}
	api.WriteJSON(w, status, f)
	return nil
}

func notFound(id string) error {
	return api.Errorf(http.StatusNotFound, api.CodeFaxNotFound, "jobId", "%s", fmt.Sprintf("no outbound fax %q", id))
}
