// Package extract turns a fax's OCR text into the structured JSON a partner asked for, through any
// OpenAI-compatible chat-completions endpoint with structured output (response_format json_schema).
//
// The partner's extractionSchema (seed, "AI Extraction": a type and fields with a name and one of
// string|number|boolean|array|object|date) becomes a JSON Schema; the model's answer is checked
// against it here whatever the server claims to enforce, since local servers (Ollama, vLLM,
// llama.cpp) differ in how strictly they constrain output.
package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Schema is a partner's extractionSchema as the seed defines it.
type Schema struct {
	Type   string  `json:"type"`
	Fields []Field `json:"fields"`
}

// Field is one named, typed value to extract.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Field types of the seed's schema format.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeArray   = "array"  // a list of strings (the seed's example: medications)
	TypeObject  = "object" // a free-form JSON object
	TypeDate    = "date"   // a calendar date, ISO 8601 YYYY-MM-DD
)

// ErrSchema is matched by every invalid extractionSchema.
var ErrSchema = errors.New("extract: invalid extraction schema")

const maxFields = 100

// fieldName is what OpenAI accepts as a property and what a partner can use as a JSON key safely.
var fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ParseSchema decodes and validates an extractionSchema, as stored in partner settings.
func ParseSchema(raw []byte) (Schema, error) {
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Schema{}, fmt.Errorf("%w: %v", ErrSchema, err)
	}
	if dec.More() {
		return Schema{}, fmt.Errorf("%w: trailing data", ErrSchema)
	}
	return s, s.Validate()
}

// Validate checks the schema: at least one field, unique valid names, known types.
func (s Schema) Validate() error {
	if len(s.Fields) == 0 {
		return fmt.Errorf("%w: no fields", ErrSchema)
	}
	if len(s.Fields) > maxFields {
		return fmt.Errorf("%w: %d fields, at most %d", ErrSchema, len(s.Fields), maxFields)
	}
	seen := make(map[string]bool, len(s.Fields))
	for i, f := range s.Fields {
		if !fieldName.MatchString(f.Name) {
			return fmt.Errorf("%w: field %d: name %q must be letters, digits and _ (at most 64)", ErrSchema, i, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: field %q appears twice", ErrSchema, f.Name)
		}
		seen[f.Name] = true
		switch f.Type {
		case TypeString, TypeNumber, TypeBoolean, TypeArray, TypeObject, TypeDate:
		default:
			return fmt.Errorf("%w: field %q: type %q is not string|number|boolean|array|object|date", ErrSchema, f.Name, f.Type)
		}
	}
	return nil
}

// strict reports whether the schema can use OpenAI's strict structured-output mode, which requires
// every object to list its properties: a free-form "object" field cannot.
func (s Schema) strict() bool {
	for _, f := range s.Fields {
		if f.Type == TypeObject {
			return false
		}
	}
	return true
}

// Name is the json_schema name sent to the model: the schema type, reduced to the characters the
// chat-completions API allows in a name.
func (s Schema) Name() string {
	var b strings.Builder
	for _, r := range s.Type {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
		if b.Len() == 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "extraction"
	}
	return b.String()
}

// JSONSchema renders the JSON Schema for the answer: an object with every field required and no
// other properties. A field the fax does not show is null, never invented, so each type also
// admits null.
func (s Schema) JSONSchema() json.RawMessage {
	props := make(map[string]any, len(s.Fields))
	required := make([]string, 0, len(s.Fields))
	for _, f := range s.Fields {
		var p map[string]any
		switch f.Type {
		case TypeArray:
			p = map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "string"}}
		case TypeObject:
			p = map[string]any{"type": []string{"object", "null"}}
		case TypeDate:
			p = map[string]any{"type": []string{"string", "null"}, "format": "date", "description": "ISO 8601 date, YYYY-MM-DD"}
		default:
			p = map[string]any{"type": []string{f.Type, "null"}}
		}
		props[f.Name] = p
		required = append(required, f.Name)
	}
	b, _ := json.Marshal(map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	})
	return b
}

// ValidationError says which field of an answer broke the schema.
type ValidationError struct {
	Field  string // "" for the document as a whole
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "extract: answer " + e.Reason
	}
	return fmt.Sprintf("extract: answer field %q: %s", e.Field, e.Reason)
}

// Check validates an answer against the schema and returns it re-encoded compactly with the fields
// in schema order. Every field must be present (null when absent from the fax), of its type, and no
// other key may appear.
func (s Schema) Check(answer []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, &ValidationError{Reason: "is not a JSON object"}
	}
	if _, err := dec.Token(); err == nil {
		return nil, &ValidationError{Reason: "has data after the JSON object"}
	}
	known := make(map[string]bool, len(s.Fields))
	var out bytes.Buffer
	out.WriteByte('{')
	for i, f := range s.Fields {
		known[f.Name] = true
		v, ok := doc[f.Name]
		if !ok {
			return nil, &ValidationError{Field: f.Name, Reason: "missing"}
		}
		if err := checkValue(f, v); err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(f.Name)
		out.Write(k)
		out.WriteByte(':')
		if err := json.Compact(&out, v); err != nil {
			return nil, &ValidationError{Field: f.Name, Reason: "is not valid JSON"}
		}
	}
	out.WriteByte('}')
	for k := range doc {
		if !known[k] {
			return nil, &ValidationError{Field: k, Reason: "is not in the schema"}
		}
	}
	return out.Bytes(), nil
}

func checkValue(f Field, raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &ValidationError{Field: f.Name, Reason: "is not valid JSON"}
	}
	if v == nil {
		return nil
	}
	bad := func(what string) error {
		return &ValidationError{Field: f.Name, Reason: fmt.Sprintf("want %s, got %s", what, kind(v))}
	}
	switch f.Type {
	case TypeString:
		if _, ok := v.(string); !ok {
			return bad("a string")
		}
	case TypeNumber:
		if _, ok := v.(json.Number); !ok {
			return bad("a number")
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	case TypeObject:
		if _, ok := v.(map[string]any); !ok {
			return bad("an object")
		}
	case TypeArray:
		a, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		for i, e := range a {
			if _, ok := e.(string); !ok {
				return &ValidationError{Field: f.Name, Reason: fmt.Sprintf("item %d: want a string, got %s", i, kind(e))}
			}
		}
	case TypeDate:
		str, ok := v.(string)
		if !ok {
			return bad("a date string")
		}
		if _, err := time.Parse(time.DateOnly, str); err != nil {
			return &ValidationError{Field: f.Name, Reason: fmt.Sprintf("%q is not a YYYY-MM-DD date", str)}
		}
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
