package fax_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/api/fax"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/webhook"
)

type document struct {
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

// api/openapi.json, the one document of the whole API, documents these routes (api's router test
// checks the paths both ways with them mounted), tags them Send, and its schemas of the responses
// are the Go types' JSON fields.
func TestOpenAPIDocumentsSend(t *testing.T) {
	var doc document
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	routes, err := fax.Routes(fax.Config{Service: &send.Service{}, Client: webhook.NewGuardedClient(webhook.GuardOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		op, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not documented", r.Method, r.Path)
			continue
		}
		var o struct{ Tags []string }
		json.Unmarshal(op, &o)
		if !reflect.DeepEqual(o.Tags, []string{"Send"}) {
			t.Errorf("%s %s tags %v, want [Send]", r.Method, r.Path, o.Tags)
		}
	}
	hasTag := false
	for _, tag := range doc.Tags {
		hasTag = hasTag || tag.Name == "Send"
	}
	if !hasTag {
		t.Error("no Send tag")
	}
	for name, v := range map[string]any{"SendAccepted": send.Accepted{}, "OutboundFax": send.Fax{}, "SendAttempt": send.Attempt{}} {
		s, ok := doc.Components.Schemas[name]
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
	json.Unmarshal(doc.Components.Schemas["SendAttempt"].Properties["t30"], &t30)
	var t30Props []string
	for p := range t30.Properties {
		t30Props = append(t30Props, p)
	}
	sort.Strings(t30Props)
	if want := jsonFields(send.T30Report{}); !reflect.DeepEqual(t30Props, want) {
		t.Errorf("t30 properties %v, the Go type has %v", t30Props, want)
	}
}
