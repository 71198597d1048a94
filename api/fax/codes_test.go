package fax

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/billing"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/render"
)

// documentedCodes is the Error code enum of api/openapi.json, which api's test holds equal to the
// constants of api/errors.go and README's table.
func documentedCodes(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, c := range doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum {
		codes[c] = true
	}
	if len(codes) < 30 {
		t.Fatalf("only %d documented codes", len(codes))
	}
	return codes
}

// TestErrorCodesDocumented: every error the send endpoints map answers with a documented code, and
// every render code that the submit-time check (render.Inspect, in render/inspect.go) can give is
// mapped, to the same string.
func TestErrorCodesDocumented(t *testing.T) {
	documented := documentedCodes(t)
	for _, c := range []struct {
		err    error
		code   string
		status int
	}{
		{&send.InsufficientError{Cost: 3, Balance: 1}, api.CodeInsufficientCredits, http.StatusPaymentRequired},
		{fmt.Errorf("submit: %w", send.ErrNoNumber), api.CodeNoFaxNumber, http.StatusUnprocessableEntity},
		{billing.ErrInvalidNumber, api.CodeInvalidParameter, http.StatusBadRequest},
		{send.ErrUndialable, api.CodeUnsupportedDestination, http.StatusUnprocessableEntity},
		{send.ErrIdempotencyReuse, api.CodeIdempotencyKeyReused, http.StatusConflict},
		{&render.Error{Code: render.CodeNotPDF, Message: "render: no %PDF- header"}, api.CodeNotPDF, http.StatusBadRequest},
		{&render.Error{Code: render.CodeTooLarge}, api.CodePDFTooLarge, http.StatusRequestEntityTooLarge},
		{&render.Error{Code: render.CodeEncrypted}, api.CodePDFEncrypted, http.StatusUnprocessableEntity},
		{&render.Error{Code: render.CodeInvalid}, api.CodePDFInvalid, http.StatusUnprocessableEntity},
		{&render.Error{Code: render.CodeNoPages}, api.CodePDFNoPages, http.StatusUnprocessableEntity},
		{&render.Error{Code: render.CodeTooManyPages}, api.CodePDFTooManyPages, http.StatusUnprocessableEntity},
		{&render.Error{Code: render.CodePageTooLarge}, api.CodePDFPageTooLarge, http.StatusUnprocessableEntity},
	} {
		var e *api.Error
		if !errors.As(mapError(c.err), &e) || e.Code != c.code || e.Status != c.status || !documented[e.Code] {
			t.Errorf("%v -> %+v, want %d %s (documented: %v)", c.err, e, c.status, c.code, e != nil && documented[e.Code])
		}
	}
	for _, c := range []error{notFound("job_x"), api.Errorf(http.StatusConflict, api.CodeFaxNotCancelable, "", "x")} {
		var e *api.Error
		if !errors.As(c, &e) || !documented[e.Code] {
			t.Errorf("%v is not documented", c)
		}
	}
	// A render code that only the deliver job's rasteriser gives is our bug at submit: a 500.
	var e *api.Error
	if errors.As(mapError(&render.Error{Code: render.CodeFailed}), &e) {
		t.Errorf("render_failed at submit became %+v", e)
	}

	for r, m := range renderCodes {
		if m.code != r || !documented[m.code] {
			t.Errorf("render code %s maps to %s (documented: %v); partners must see render's code", r, m.code, documented[m.code])
		}
	}
	f, err := parser.ParseFile(token.NewFileSet(), "../../render/inspect.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"CodeNotPDF": render.CodeNotPDF, "CodeTooLarge": render.CodeTooLarge,
		"CodeEncrypted": render.CodeEncrypted, "CodeInvalid": render.CodeInvalid, "CodeNoPages": render.CodeNoPages,
		"CodeTooManyPages": render.CodeTooManyPages, "CodePageTooLarge": render.CodePageTooLarge,
		"CodeTimeout": render.CodeTimeout, "CodeFailed": render.CodeFailed}
	used := 0
	ast.Inspect(f, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || !strings.HasPrefix(id.Name, "Code") {
			return true
		}
		used++
		v, known := values[id.Name]
		if !known {
			t.Errorf("render/inspect.go uses %s, which this test and renderCodes do not know", id.Name)
		} else if _, ok := renderCodes[v]; !ok {
			t.Errorf("render.Inspect can give %s, which renderCodes does not map", v)
		}
		return true
	})
	if used < 5 {
		t.Fatalf("only %d render codes found in render/inspect.go", used)
	}
}
