package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvBaseURL = "FAXSEAL_OPENAI_BASE_URL" // e.g. http://127.0.0.1:11434/v1 (Ollama), https://RES.openai.azure.com/openai/v1
	EnvAPIKey  = "FAXSEAL_OPENAI_API_KEY"
	EnvModel   = "FAXSEAL_OPENAI_MODEL"
)

// DefaultModel is the seed's model ("FaxSeal runs GPT-4o-mini over OCR text").
const DefaultModel = "gpt-4o-mini"

const (
	defaultBaseURL     = "https://api.openai.com/v1"
	defaultTimeout     = 60 * time.Second
	defaultMaxAttempts = 3
	defaultBackoff     = 2 * time.Second
	// maxOCRChars bounds the prompt: a long fax's text is cut rather than refused, since the fields
	// a partner wants (names, dates, identifiers) are nearly always on the first pages.
	maxOCRChars = 60000
)

// Config says which model to ask. Extraction is off when neither BaseURL nor APIKey is set.
type Config struct {
	BaseURL     string        // OpenAI-compatible API root, ending in /v1; "" means OpenAI's
	APIKey      string        // sent as a Bearer token; may be empty for local servers
	Model       string        // "" means DefaultModel
	Timeout     time.Duration // per attempt; 0 means 60 s
	MaxAttempts int           // 0 means 3
	Backoff     time.Duration // wait before the 2nd attempt, doubled for each further one; 0 means 2 s
	HTTPClient  *http.Client  // nil means a plain client (the endpoint is operator-configured, not a partner URL)
}

// ConfigFromEnv reads FAXSEAL_OPENAI_BASE_URL, FAXSEAL_OPENAI_API_KEY and FAXSEAL_OPENAI_MODEL.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		BaseURL: strings.TrimSpace(getenv(EnvBaseURL)),
		APIKey:  strings.TrimSpace(getenv(EnvAPIKey)),
		Model:   strings.TrimSpace(getenv(EnvModel)),
	}
}

// Enabled reports whether a model is configured at all.
func (c Config) Enabled() bool { return c.BaseURL != "" || c.APIKey != "" }

// Status is a fax's extractStatus.
type Status int

const (
	statusInvalid  Status = iota
	StatusPending         // queued, or waiting for OCR
	StatusDone            // extractedData holds a validated answer
	StatusFailed          // every attempt failed; the reason is logged with the fax
	StatusDisabled        // extraction is off: no model configured (FAXSEAL_OPENAI_* unset) or no extractionSchema
)

var statusNames = [...]string{"", "pending", "done", "failed", "disabled"}

func (s Status) String() string {
	if s <= statusInvalid || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// ParseStatus is the inverse of String, for values read back from the store.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if i > 0 && n == s {
			return Status(i), nil
		}
	}
	return statusInvalid, fmt.Errorf("extract: unknown status %q", s)
}

// Errors callers branch on.
var (
	ErrDisabled = errors.New("extract: no model configured (set " + EnvBaseURL + " or " + EnvAPIKey + ")")
	ErrNoText   = errors.New("extract: no OCR text to extract from")
)

// Extractor asks the configured model. It is safe for concurrent use.
type Extractor struct {
	cfg    Config
	client *openai.Client
}

// New returns an Extractor for cfg. A disabled config gives an Extractor whose Status is
// StatusDisabled and whose Extract returns ErrDisabled.
func New(cfg Config) *Extractor {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = defaultBackoff
	}
	e := &Extractor{cfg: cfg}
	if cfg.Enabled() {
		oc := openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
		if oc.BaseURL == "" {
			oc.BaseURL = defaultBaseURL
		}
		if cfg.HTTPClient != nil {
			oc.HTTPClient = cfg.HTTPClient
		}
		e.client = openai.NewClientWithConfig(oc)
	}
	return e
}

// Enabled reports whether a model is configured.
func (e *Extractor) Enabled() bool { return e.client != nil }

// Describe says, for the start-up log and the operator, whether extraction runs and against what.
func (e *Extractor) Describe() string {
	if e.client == nil {
		return "extraction disabled: " + EnvBaseURL + " and " + EnvAPIKey + " are unset (extractStatus will be \"disabled\")"
	}
	base := strings.TrimRight(e.cfg.BaseURL, "/")
	if base == "" {
		base = defaultBaseURL
	}
	return "extraction with model " + e.cfg.Model + " at " + base
}

// Model is the model name sent with each request.
func (e *Extractor) Model() string { return e.cfg.Model }

// Result is a validated extraction.
type Result struct {
	Data     json.RawMessage // a JSON object with exactly the schema's fields
	Attempts int
}

// Error is a failed extraction: the last attempt's cause and how many attempts were made.
type Error struct {
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("extract: failed after %d attempt(s): %v", e.Attempts, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Extract asks the model for the schema's fields in text. Each attempt is bounded by the configured
// timeout; malformed or schema-violating answers, timeouts, 429 and 5xx are retried with exponential
// backoff, other 4xx (a wrong key or model) are not. The answer is validated with Schema.Check.
func (e *Extractor) Extract(ctx context.Context, s Schema, text string) (Result, error) {
	if e.client == nil {
		return Result{}, ErrDisabled
	}
	if err := s.Validate(); err != nil {
		return Result{}, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return Result{}, ErrNoText
	}
	if len(text) > maxOCRChars {
		text = strings.ToValidUTF8(text[:maxOCRChars], "")
	}
	req := e.request(s, text)

	var last error
	wait := e.cfg.Backoff
	for n := 1; n <= e.cfg.MaxAttempts; n++ {
		if n > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return Result{}, &Error{Attempts: n - 1, Err: ctx.Err()}
			case <-t.C:
			}
			wait *= 2
		}
		data, retry, err := e.attempt(ctx, s, req)
		if err == nil {
			return Result{Data: data, Attempts: n}, nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			return Result{}, &Error{Attempts: n, Err: err}
		}
	}
	return Result{}, &Error{Attempts: e.cfg.MaxAttempts, Err: last}
}

func (e *Extractor) request(s Schema, text string) openai.ChatCompletionRequest {
	var fields strings.Builder
	for _, f := range s.Fields {
		fmt.Fprintf(&fields, "- %s (%s)\n", f.Name, f.Type)
	}
	system := "You extract structured data from the OCR text of a received fax" +
		" (document type: " + s.Type + ").\n" +
		"Answer with one JSON object holding exactly these fields:\n" + fields.String() +
		"Use null for a field the text does not contain; never invent values. Dates are YYYY-MM-DD." +
		" Arrays are lists of strings. The OCR text may contain recognition errors."
	return openai.ChatCompletionRequest{
		Model: e.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: text},
		},
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   s.Name(),
				Schema: s.JSONSchema(),
				Strict: s.strict(),
			},
		},
	}
}

// attempt makes one request; retry says whether another attempt may succeed.
func (e *Extractor) attempt(ctx context.Context, s Schema, req openai.ChatCompletionRequest) (data json.RawMessage, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	resp, err := e.client.CreateChatCompletion(actx, req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, true, fmt.Errorf("extract: no answer within %v", e.cfg.Timeout)
		}
		return nil, retryableStatus(err), err
	}
	if len(resp.Choices) == 0 {
		return nil, true, errors.New("extract: answer has no choices")
	}
	c := resp.Choices[0]
	if c.Message.Refusal != "" {
		return nil, false, fmt.Errorf("extract: model refused: %s", c.Message.Refusal)
	}
	if c.FinishReason == openai.FinishReasonLength {
		return nil, true, errors.New("extract: answer cut off at the token limit")
	}
	data, err = s.Check([]byte(stripFence(c.Message.Content)))
	if err != nil {
		return nil, true, err
	}
	return data, false, nil
}

// retryableStatus: rate limits, conflicts, timeouts and server errors are worth another try; other
// HTTP errors are configuration mistakes. Errors without a status (connection refused, reset) are
// transient.
func retryableStatus(err error) bool {
	code := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		code = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		code = reqErr.HTTPStatusCode
	default:
		return true
	}
	return code == 0 || code == http.StatusRequestTimeout || code == http.StatusConflict ||
		code == http.StatusTooManyRequests || code >= 500
}

// stripFence removes a Markdown code fence some local models put around JSON even when asked for
// structured output.
func stripFence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") {
		return s
	}
	t = strings.TrimPrefix(t, "```")
	t = strings.TrimPrefix(t, "json")
	return strings.TrimSuffix(strings.TrimSpace(t), "```")
}
