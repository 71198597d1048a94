package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxJSONBody bounds every JSON request body; the largest legitimate one (settings with an extraction
// schema of 100 fields) is a few KiB.
const maxJSONBody = 64 << 10

// DecodeJSON decodes the request body into dst, a struct whose fields are json.RawMessage or plain
// types: unknown fields, wrong types, trailing data and oversized bodies become 400/413/415 errors
// naming the field.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "", "send the body as application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "the body is larger than %d bytes", maxJSONBody)
		}
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "could not read the body: %v", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "the body is empty; send a JSON object")
	}
	if body[0] != '{' {
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "expected a JSON object")
		}
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, field, "%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "the JSON body ends early")
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return Errorf(http.StatusBadRequest, CodeUnknownField, name, "unknown field %q", name)
	}
	return Errorf(http.StatusBadRequest, CodeInvalidJSON, "", "malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return goKind
}

// stringField decodes an optional string field held as raw JSON: set reports presence, null reports an
// explicit null.
func stringField(raw json.RawMessage, name string) (val string, set, null bool, err error) {
	if raw == nil {
		return "", false, false, nil
	}
	if string(raw) == "null" {
		return "", true, true, nil
	}
	if err := json.Unmarshal(raw, &val); err != nil {
		return "", true, false, Errorf(http.StatusBadRequest, CodeInvalidParameter, name, "%s must be a string", name)
	}
	return val, true, false, nil
}

// checkExternalUserID validates the partner's user id: 1-255 printable characters.
func checkExternalUserID(id, param string) error {
	if id == "" {
		return Errorf(http.StatusBadRequest, CodeMissingParameter, param, "%s is required", param)
	}
	if len(id) > 255 || !utf8.ValidString(id) {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, param, "%s must be at most 255 characters of UTF-8", param)
	}
	for _, c := range id {
		if !unicode.IsPrint(c) {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, param, "%s must not contain control characters", param)
		}
	}
	return nil
}

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}
