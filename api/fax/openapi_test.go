package fax_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/api/fax"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/webhook"
)

type fragment struct {
	Tags       []struct{ Name string } `json:"tags"`
	Paths      map[string]map[string]json.RawMessage
	Components struct {
		Schemas map[string]struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func jsonFields(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// The fragment documents exactly the routes Routes returns, its schemas are the Go types' JSON
// fields, every $ref resolves once merged into api/openapi.json, and it adds nothing the main
// document has already.
func TestOpenAPIFragment(t *testing.T) {
	var frag fragment
	if err := json.Unmarshal(fax.OpenAPI, &frag); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var main struct {
		Paths      map[string]json.RawMessage
		Components map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(api.OpenAPI, &main); err != nil {
		t.Fatal(err)
	}
	routes, err := fax.Routes(fax.Config{Service: &send.Service{}, Client: webhook.NewGuardedClient(webhook.GuardOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range routes {
		served[strings.ToLower(r.Method)+" "+r.Path] = true
		if _, ok := frag.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is not documented", r.Method, r.Path)
		}
	}
	for p, ops := range frag.Paths {
		if _, dup := main.Paths[p]; dup {
			t.Errorf("%s is in api/openapi.json already", p)
		}
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("%s %s is documented but not served", m, p)
			}
		}
	}
	if len(frag.Tags) != 1 || frag.Tags[0].Name != "Send" {
		t.Errorf("tags %v", frag.Tags)
	}
	for name, v := range map[string]any{"SendAccepted": send.Accepted{}, "OutboundFax": send.Fax{}, "SendAttempt": send.Attempt{}} {
		s, ok := frag.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		if want := jsonFields(v); !reflect.DeepEqual(props, want) {
			t.Errorf("%s properties %v, the Go type has %v", name, props, want)
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("%s requires %s, which it does not define", name, r)
			}
		}
	}
	var t30 struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	json.Unmarshal(frag.Components.Schemas["SendAttempt"].Properties["t30"], &t30)
	var t30Props []string
	for p := range t30.Properties {
		t30Props = append(t30Props, p)
	}
	sort.Strings(t30Props)
	if want := jsonFields(send.T30Report{}); !reflect.DeepEqual(t30Props, want) {
		t.Errorf("t30 properties %v, the Go type has %v", t30Props, want)
	}
	for name := range frag.Components.Schemas {
		if _, dup := main.Components["schemas"][name]; dup {
			t.Errorf("schema %s is in api/openapi.json already", name)
		}
	}
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/([a-zA-Z]+)/([A-Za-z0-9_-]+)"`).FindAllStringSubmatch(string(fax.OpenAPI), -1)
	if len(refs) < 10 {
		t.Fatalf("only %d refs", len(refs))
	}
	for _, m := range refs {
		_, inMain := main.Components[m[1]][m[2]]
		_, inFrag := frag.Components.Schemas[m[2]]
		if !inMain && !(m[1] == "schemas" && inFrag) {
			t.Errorf("$ref #/components/%s/%s does not resolve", m[1], m[2])
		}
	}
	// Every error code these endpoints answer with is named in the document.
	for _, code := range []string{fax.CodeInsufficientCredits, fax.CodeNoFaxNumber, fax.CodeUndialable, fax.CodeFileURLBlocked,
		fax.CodeFileFetchFailed, fax.CodeIdempotencyReused, fax.CodeFaxNotFound, fax.CodeFaxNotCancelable,
		"not_pdf", "pdf_too_large", "pdf_encrypted", "pdf_invalid", "pdf_no_pages", "pdf_too_many_pages", "pdf_page_too_large"} {
		if !strings.Contains(string(fax.OpenAPI), "`"+code+"`") {
			t.Errorf("error code %s is not documented", code)
		}
	}
}
