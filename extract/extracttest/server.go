// Package extracttest runs an OpenAI-compatible chat-completions endpoint for tests of code that uses
// package extract: a real HTTP server on 127.0.0.1 whose "model" is a small rule-based reader, with a
// script of behaviours (good, malformed, schema-violating, slow, errors) to exercise the client.
package extracttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is an OpenAI-compatible chat-completions endpoint. Its "model" reads, for each property of
// the requested JSON Schema, a "<name>: <value>" line of the user message (underscores read as
// spaces, case ignored) and types the value as the schema says. Each request takes the next
// behaviour of the script (the last repeats), so tests can make it answer badly, slowly or not at all.
type Server struct {
	Key    string // the API key it accepts as a Bearer token
	mu     sync.Mutex
	script []string
	reqs   []Request
	srv    *httptest.Server
}

// Request is what the server recorded of one chat-completions request.
type Request struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// Behaviours of the script.
const (
	Good      = "good"      // the rule-based answer
	Fenced    = "fenced"    // the good answer inside a Markdown code fence
	Malformed = "malformed" // not JSON
	Violating = "violating" // JSON of the wrong types
	Extra     = "extra"     // the good answer plus a field outside the schema
	Slow      = "slow"      // no answer until the client gives up
	Error500  = "500"
	Error401  = "401"
	Truncated = "truncated" // finish_reason length
)

// NewServer starts a server following script (at least one behaviour), closed when t ends.
func NewServer(t testing.TB, script ...string) *Server {
	if len(script) == 0 {
		script = []string{Good}
	}
	cs := &Server{Key: "sk-test-1", script: script}
	cs.srv = httptest.NewServer(http.HandlerFunc(cs.serve))
	t.Cleanup(cs.srv.Close)
	return cs
}

// BaseURL is the API root to configure (FAXSEAL_OPENAI_BASE_URL), ending in /v1.
func (cs *Server) BaseURL() string { return cs.srv.URL + "/v1" }

// Requests returns the requests received so far.
func (cs *Server) Requests() []Request {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]Request(nil), cs.reqs...)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, msg, typ)
}

func (cs *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		apiError(w, http.StatusNotFound, "invalid_request_error", "unknown route "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+cs.Key {
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided")
		return
	}
	var req Request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	cs.mu.Lock()
	cs.reqs = append(cs.reqs, req)
	behaviour := cs.script[min(len(cs.reqs), len(cs.script))-1]
	cs.mu.Unlock()

	if req.ResponseFormat.Type != "json_schema" || len(req.Messages) != 2 || req.Messages[1].Role != "user" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "want json_schema and a system+user prompt")
		return
	}
	var schema struct {
		Properties map[string]struct {
			Type []string `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &schema); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "bad schema: "+err.Error())
		return
	}

	finish := "stop"
	var content string
	switch behaviour {
	case Slow:
		<-r.Context().Done() // the client's timeout ends this request
		return
	case Error500:
		apiError(w, http.StatusInternalServerError, "server_error", "The server had an error while processing your request.")
		return
	case Error401:
		apiError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided")
		return
	case Malformed:
		content = `{"patient_name": "Jane Smith", "dob": `
	case Violating:
		doc := map[string]any{}
		for name := range schema.Properties {
			doc[name] = 42 // a number wherever strings and arrays are expected
		}
		b, _ := json.Marshal(doc)
		content = string(b)
	case Truncated:
		content, finish = `{"patient_name": "Jane`, "length"
	default:
		doc := readFields(req.Messages[1].Content, schema.Properties)
		if behaviour == Extra {
			doc["confidence"] = "high"
		}
		b, _ := json.Marshal(doc)
		content = string(b)
		if behaviour == Fenced {
			content = "```json\n" + content + "\n```"
		}
	}
	resp := map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": finish,
			"message": map[string]any{"role": "assistant", "content": content},
		}},
		"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// readFields is the test model: "<name>: <value>" lines, typed by the schema.
func readFields(text string, props map[string]struct {
	Type []string `json:"type"`
}) map[string]any {
	doc := map[string]any{}
	for name, p := range props {
		label := strings.ReplaceAll(name, "_", " ")
		re := regexp.MustCompile(`(?im)^\s*` + regexp.QuoteMeta(label) + `\s*:\s*(.+?)\s*$`)
		m := re.FindStringSubmatch(text)
		if m == nil {
			doc[name] = nil
			continue
		}
		switch p.Type[0] {
		case "array":
			var items []string
			for _, it := range strings.Split(m[1], ",") {
				items = append(items, strings.TrimSpace(it))
			}
			doc[name] = items
		case "number":
			var f float64
			fmt.Sscan(m[1], &f)
			doc[name] = f
		case "boolean":
			doc[name] = strings.EqualFold(m[1], "yes") || strings.EqualFold(m[1], "true")
		default:
			doc[name] = m[1]
		}
	}
	return doc
}
