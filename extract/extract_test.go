package extract

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/extract/extracttest"
)

func testConfig(cs *extracttest.Server) Config {
	return Config{BaseURL: cs.BaseURL(), APIKey: cs.Key, Model: "test-model", Timeout: 2 * time.Second, Backoff: time.Millisecond}
}

func seedSchema(t testing.TB) Schema {
	t.Helper()
	raw, err := os.ReadFile("testdata/seed-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSchema(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const referral = `REFERRAL
Patient name: Jane Smith
DOB: 1980-03-15
Diagnosis: Type 2 Diabetes
Medications: Metformin 500mg, Lisinopril 10mg
Referring NPI: 1234567890
`

func TestParseSchema(t *testing.T) {
	s := seedSchema(t)
	if s.Type != "patient_referral" || len(s.Fields) != 5 || s.Fields[3] != (Field{"medications", TypeArray}) {
		t.Fatalf("%+v", s)
	}
	for _, bad := range []string{
		`{"type":"x","fields":[]}`,
		`{"type":"x","fields":[{"name":"a","type":"integer"}]}`,
		`{"type":"x","fields":[{"name":"a","type":"string"},{"name":"a","type":"number"}]}`,
		`{"type":"x","fields":[{"name":"a b","type":"string"}]}`,
		`{"type":"x","fields":[{"name":"","type":"string"}]}`,
		`{"type":"x","fields":[{"name":"a","type":"string","extra":1}]}`,
		`{"type":"x","fields":[{"name":"a","type":"string"}]} {}`,
		`[1,2]`,
		``,
	} {
		if _, err := ParseSchema([]byte(bad)); !errors.Is(err, ErrSchema) {
			t.Errorf("ParseSchema(%s) = %v, want ErrSchema", bad, err)
		}
	}
}

func TestJSONSchema(t *testing.T) {
	s := Schema{Type: "order form!", Fields: []Field{{"n", TypeNumber}, {"ok", TypeBoolean}, {"when", TypeDate}, {"items", TypeArray}, {"who", TypeString}}}
	var js struct {
		Type                 string                    `json:"type"`
		Properties           map[string]map[string]any `json:"properties"`
		Required             []string                  `json:"required"`
		AdditionalProperties bool                      `json:"additionalProperties"`
	}
	if err := json.Unmarshal(s.JSONSchema(), &js); err != nil {
		t.Fatal(err)
	}
	if js.Type != "object" || js.AdditionalProperties || !reflect.DeepEqual(js.Required, []string{"n", "ok", "when", "items", "who"}) {
		t.Fatalf("%s", s.JSONSchema())
	}
	want := map[string]string{"n": "number", "ok": "boolean", "when": "string", "items": "array", "who": "string"}
	for name, typ := range want {
		types := js.Properties[name]["type"].([]any)
		if types[0] != typ || types[1] != "null" {
			t.Errorf("%s: type %v", name, types)
		}
	}
	if js.Properties["when"]["format"] != "date" || js.Properties["items"]["items"].(map[string]any)["type"] != "string" {
		t.Errorf("%s", s.JSONSchema())
	}
	if s.Name() != "orderform" || !s.strict() {
		t.Errorf("Name %q strict %v", s.Name(), s.strict())
	}
	if (Schema{Fields: []Field{{"o", TypeObject}}}).strict() {
		t.Error("an object field cannot be strict")
	}
}

func TestCheck(t *testing.T) {
	s := Schema{Type: "t", Fields: []Field{{"s", TypeString}, {"n", TypeNumber}, {"b", TypeBoolean}, {"a", TypeArray}, {"o", TypeObject}, {"d", TypeDate}}}
	good := `{"d":"2026-04-18","s":"x","n":1.5e3,"b":true,"a":["p","q"],"o":{"k":[1]}}`
	out, err := s.Check([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"s":"x","n":1.5e3,"b":true,"a":["p","q"],"o":{"k":[1]},"d":"2026-04-18"}` {
		t.Fatalf("Check = %s", out)
	}
	if _, err := s.Check([]byte(`{"s":null,"n":null,"b":null,"a":null,"o":null,"d":null}`)); err != nil {
		t.Fatalf("nulls: %v", err)
	}
	for _, tt := range []struct{ doc, field string }{
		{`{"s":1,"n":1,"b":true,"a":[],"o":{},"d":"2026-01-01"}`, "s"},
		{`{"s":"x","n":"1","b":true,"a":[],"o":{},"d":"2026-01-01"}`, "n"},
		{`{"s":"x","n":1,"b":"yes","a":[],"o":{},"d":"2026-01-01"}`, "b"},
		{`{"s":"x","n":1,"b":true,"a":"p","o":{},"d":"2026-01-01"}`, "a"},
		{`{"s":"x","n":1,"b":true,"a":["p",2],"o":{},"d":"2026-01-01"}`, "a"},
		{`{"s":"x","n":1,"b":true,"a":[],"o":[],"d":"2026-01-01"}`, "o"},
		{`{"s":"x","n":1,"b":true,"a":[],"o":{},"d":"15/03/1980"}`, "d"},
		{`{"s":"x","n":1,"b":true,"a":[],"o":{},"d":"2026-02-30"}`, "d"},
		{`{"n":1,"b":true,"a":[],"o":{},"d":"2026-01-01"}`, "s"},
		{`{"s":"x","n":1,"b":true,"a":[],"o":{},"d":"2026-01-01","z":0}`, "z"},
		{`[]`, ""},
		{`null`, ""},
		{`{"s":"x"`, ""},
		{`{"s":"x","n":1,"b":true,"a":[],"o":{},"d":"2026-01-01"} {}`, ""},
	} {
		_, err := s.Check([]byte(tt.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("Check(%s) = %v, want a ValidationError on %q", tt.doc, err, tt.field)
		}
	}
}

func TestExtract(t *testing.T) {
	cs := extracttest.NewServer(t, extracttest.Good)
	res, err := New(testConfig(cs)).Extract(context.Background(), seedSchema(t), referral)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(res.Data, &got)
	want := map[string]any{
		"patient_name": "Jane Smith", "dob": "1980-03-15", "diagnosis": "Type 2 Diabetes",
		"medications": []any{"Metformin 500mg", "Lisinopril 10mg"}, "referring_npi": "1234567890",
	}
	if !reflect.DeepEqual(got, want) || res.Attempts != 1 {
		t.Fatalf("got %v (attempts %d)\nwant %v", got, res.Attempts, want)
	}
	reqs := cs.Requests()
	if len(reqs) != 1 || reqs[0].Model != "test-model" || reqs[0].ResponseFormat.JSONSchema.Name != "patient_referral" ||
		!reqs[0].ResponseFormat.JSONSchema.Strict || !strings.Contains(reqs[0].Messages[1].Content, "Jane Smith") {
		t.Fatalf("request %+v", reqs)
	}
}

func TestExtractRetries(t *testing.T) {
	for _, tt := range []struct {
		name     string
		script   []string
		attempts int
		ok       bool
		cause    string
	}{
		{"malformed then good", []string{extracttest.Malformed, extracttest.Good}, 2, true, ""},
		{"schema-violating then fenced", []string{extracttest.Violating, extracttest.Fenced}, 2, true, ""},
		{"extra field, 500, then good", []string{extracttest.Extra, extracttest.Error500, extracttest.Good}, 3, true, ""},
		{"slow then good", []string{extracttest.Slow, extracttest.Good}, 2, true, ""},
		{"truncated then good", []string{extracttest.Truncated, extracttest.Good}, 2, true, ""},
		{"always malformed", []string{extracttest.Malformed}, 3, false, "not a JSON object"},
		{"always violating", []string{extracttest.Violating}, 3, false, "want a string, got a number"},
		{"always slow", []string{extracttest.Slow}, 3, false, "no answer within 200ms"},
		{"always 500", []string{extracttest.Error500}, 3, false, "500"},
		{"401 is not retried", []string{extracttest.Error401}, 1, false, "Incorrect API key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := extracttest.NewServer(t, tt.script...)
			cfg := testConfig(cs)
			cfg.Timeout = 200 * time.Millisecond
			res, err := New(cfg).Extract(context.Background(), seedSchema(t), referral)
			if got := len(cs.Requests()); got != tt.attempts {
				t.Errorf("%d requests, want %d", got, tt.attempts)
			}
			if tt.ok {
				if err != nil || res.Attempts != tt.attempts {
					t.Fatalf("err %v, attempts %d", err, res.Attempts)
				}
				if _, err := seedSchema(t).Check(res.Data); err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Attempts != tt.attempts || !strings.Contains(err.Error(), tt.cause) {
				t.Fatalf("err = %v, want %d attempts and %q", err, tt.attempts, tt.cause)
			}
		})
	}
}

func TestExtractCanceledDuringBackoff(t *testing.T) {
	cs := extracttest.NewServer(t, extracttest.Error500)
	cfg := testConfig(cs)
	cfg.Backoff = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(cs.Requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := New(cfg).Extract(ctx, seedSchema(t), referral)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDisabled(t *testing.T) {
	env := map[string]string{}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	e := New(cfg)
	if e.Enabled() || cfg.Enabled() || !strings.Contains(e.Describe(), "disabled") {
		t.Fatalf("enabled without configuration: %s", e.Describe())
	}
	if _, err := e.Extract(context.Background(), seedSchema(t), referral); !errors.Is(err, ErrDisabled) {
		t.Fatalf("err = %v", err)
	}
	env[EnvBaseURL] = " http://127.0.0.1:11434/v1 "
	cfg = ConfigFromEnv(func(k string) string { return env[k] })
	if !cfg.Enabled() || cfg.BaseURL != "http://127.0.0.1:11434/v1" || New(cfg).Model() != DefaultModel ||
		New(cfg).Describe() != "extraction with model gpt-4o-mini at http://127.0.0.1:11434/v1" {
		t.Fatalf("%+v", cfg)
	}
	if _, err := New(Config{APIKey: "k", BaseURL: "http://127.0.0.1:1/v1"}).Extract(context.Background(), seedSchema(t), "  \n"); !errors.Is(err, ErrNoText) {
		t.Fatalf("err = %v", err)
	}
}

func TestStatus(t *testing.T) {
	for s := StatusPending; s <= StatusDisabled; s++ {
		p, err := ParseStatus(s.String())
		if err != nil || p != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseStatus(""); err == nil {
		t.Error("ParseStatus accepted the zero value")
	}
	if Status(0).String() != "Status(0)" {
		t.Error(Status(0).String())
	}
}

func FuzzCheck(f *testing.F) {
	s := Schema{Type: "t", Fields: []Field{{"s", TypeString}, {"n", TypeNumber}, {"a", TypeArray}, {"d", TypeDate}, {"o", TypeObject}, {"b", TypeBoolean}}}
	f.Add([]byte(`{"s":"x","n":1,"a":["p"],"d":"2026-01-01","o":{},"b":false}`))
	f.Add([]byte(`{"s":null,"n":null,"a":null,"d":null,"o":null,"b":null}`))
	f.Add([]byte(`{"s":"x"`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := s.Check(doc)
		if err != nil {
			return
		}
		// Property: an accepted answer re-encodes to a compact object that is accepted again unchanged.
		again, err := s.Check(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("Check(%s) = %s, re-check %s, %v", doc, out, again, err)
		}
	})
}

func FuzzParseSchema(f *testing.F) {
	seed, _ := os.ReadFile("testdata/seed-schema.json")
	f.Add(seed)
	f.Add([]byte(`{"type":"x","fields":[{"name":"o","type":"object"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseSchema(raw)
		if err != nil {
			return
		}
		// Property: a valid schema renders a JSON Schema that lists each field as required.
		var js struct{ Required []string }
		if err := json.Unmarshal(s.JSONSchema(), &js); err != nil || len(js.Required) != len(s.Fields) {
			t.Fatalf("JSONSchema of %+v: %v", s, err)
		}
	})
}
