package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error: the HTTP status and the stable, machine-readable code partners branch on.
// Every error response has the one envelope {"error": {"code", "message", "param"?, "requestId"}}.
// The codes are listed in README ("Error codes") and in the OpenAPI document; never rename one.
type Error struct {
	Status  int
	Code    string
	Message string
	Param   string // the request field or query parameter at fault, when there is one
}

func (e *Error) Error() string { return fmt.Sprintf("api: %d %s: %s", e.Status, e.Code, e.Message) }

// Stable error codes.
const (
	CodeMissingAPIKey      = "missing_api_key"        // 401: no X-Partner-Key header
	CodeInvalidAPIKey      = "invalid_api_key"        // 401: the key is unknown or revoked
	CodePartnerSuspended   = "partner_suspended"      // 403: the partner account is suspended
	CodeRateLimited        = "rate_limited"           // 429: over 60 requests/minute for this key
	CodeInvalidJSON        = "invalid_json"           // 400: the body is not one JSON object
	CodeUnknownField       = "unknown_field"          // 400: the body has a field this endpoint does not take
	CodeInvalidParameter   = "invalid_parameter"      // 400: a field or query parameter has a wrong type or value
	CodeMissingParameter   = "missing_parameter"      // 400: a required field or query parameter is absent
	CodeBodyTooLarge       = "body_too_large"         // 413
	CodeUnsupportedMedia   = "unsupported_media_type" // 415: the body is not application/json
	CodeNotFound           = "not_found"              // 404: no such endpoint
	CodeMethodNotAllowed   = "method_not_allowed"     // 405
	CodeNumberExists       = "number_exists"          // 409: the user already has an active number
	CodeUnknownAreaCode    = "unknown_area_code"      // 422: not a NANP geographic area code
	CodeNoNumbersAvailable = "no_numbers_available"   // 404: no free number in that area code and tier
	CodeNumberNotFound     = "number_not_found"       // 404: the user has no active number
	CodeNotImplemented     = "not_implemented"        // 501: the endpoint exists in the contract but not yet here
	CodeInvalidFileToken   = "invalid_file_token"     // 403: a fileUrl token that is missing, forged or expired
	CodeFileNotFound       = "file_not_found"         // 404: no such fax file, or it was purged
	CodeEventNotFound      = "event_not_found"        // 404: no such webhook event for this partner
	CodeEventPending       = "event_pending"          // 409: the webhook event is still being delivered
	CodeInternal           = "internal_error"         // 500: a bug or an outage on our side

	// The send endpoints (api/fax, POST /fax and /fax/{jobId}).
	CodeInsufficientCredits    = "insufficient_credits"    // 402: the balance does not cover the fax
	CodeNoFaxNumber            = "no_fax_number"           // 422: externalUserId has no active number
	CodeUnsupportedDestination = "unsupported_destination" // 422: no dialing zone serves toNumber
	CodeFileURLBlocked         = "file_url_blocked"        // 422: fileUrl points at a private, loopback or metadata address
	CodeFileFetchFailed        = "file_fetch_failed"       // 422: fileUrl could not be downloaded
	CodeIdempotencyKeyReused   = "idempotency_key_reused"  // 409: the Idempotency-Key came with another request
	CodeFaxNotFound            = "fax_not_found"           // 404: no such jobId for this partner
	CodeFaxNotCancelable       = "fax_not_cancelable"      // 409: T.30 is running, or the fax is final

	// The document checks of POST /fax: package render's codes, which the API passes on unchanged
	// (api/fax maps each one; its test fails on a render code missing here).
	CodeNotPDF          = "not_pdf"            // 400: the file is not a PDF (no %PDF- header)
	CodePDFTooLarge     = "pdf_too_large"      // 413: the PDF is larger than 20 MB
	CodePDFEncrypted    = "pdf_encrypted"      // 422: the PDF needs a password to open
	CodePDFInvalid      = "pdf_invalid"        // 422: the PDF is damaged or not parseable
	CodePDFNoPages      = "pdf_no_pages"       // 422: the PDF has no pages
	CodePDFTooManyPages = "pdf_too_many_pages" // 422: the PDF has more than 100 pages
	CodePDFPageTooLarge = "pdf_page_too_large" // 422: a page is too long to fax once fitted to the page width
)

// Errorf makes an API error: the HTTP status, a stable code (one of the Code constants, or a new one
// added to them, README and openapi.json), the field or parameter at fault ("" if none), a message.
func Errorf(status int, code, param, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Param     string `json:"param,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// writeError maps any error to the envelope: *Error as it is, anything else as a logged 500 that
// reveals nothing internal.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		a.logger.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", requestID(r))
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; quote the request id when reporting it"}
	}
	WriteJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Param: e.Param, RequestID: requestID(r)}})
}

// WriteJSON writes v as the JSON response body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal_error","message":"response encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
