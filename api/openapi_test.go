package api_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/api/fax"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/webhook"
	"github.com/gorilla/mux"
)

type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Servers []struct {
		URL string `json:"url"`
	} `json:"servers"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadDoc(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	if len(doc.Servers) == 0 || !strings.HasSuffix(doc.Servers[0].URL, api.Prefix) {
		t.Fatalf("servers[0] must end in %s", api.Prefix)
	}
	return doc
}

// Every route the router serves is in the document, and every operation in the document is served.
// The router is the one serve builds: the built-in routes plus those other packages add through
// Config.Routes (api/fax's /fax endpoints), since the one document describes the whole API.
func TestOpenAPIMatchesRouter(t *testing.T) {
	doc := loadDoc(t)
	faxRoutes, err := fax.Routes(fax.Config{Service: &send.Service{}, Client: webhook.NewGuardedClient(webhook.GuardOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	if len(faxRoutes) == 0 {
		t.Fatal("api/fax adds no routes")
	}
	a, err := api.New(api.Config{Store: storetest.New(t), Routes: faxRoutes})
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	a.Mount(r)
	served := map[string]bool{}
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // the prefix route of the subrouter
		}
		for _, m := range methods {
			served[strings.ToLower(m)+" "+strings.TrimPrefix(tpl, api.Prefix)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete", "head", "options":
				documented[m+" "+path] = true
			}
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("route %s is served but not in openapi.json", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which the router does not serve", op)
		}
	}
	if len(served) < 10 {
		t.Fatalf("only %d routes found: %v", len(served), served)
	}
	for _, rt := range faxRoutes {
		if !served[strings.ToLower(rt.Method)+" "+rt.Path] {
			t.Errorf("api/fax route %s %s is not mounted", rt.Method, rt.Path)
		}
	}
	// Every $ref resolves within the document.
	var whole any
	json.Unmarshal(api.OpenAPI, &whole)
	refs := regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(api.OpenAPI), -1)
	if len(refs) < 20 {
		t.Fatalf("only %d $refs", len(refs))
	}
	for _, ref := range refs {
		node := whole
		for _, part := range strings.Split(ref[1], "/") {
			m, _ := node.(map[string]any)
			node = m[part]
		}
		if node == nil {
			t.Errorf("$ref #/%s does not resolve", ref[1])
		}
	}
}

// The error code enum in the document is exactly the Code constants of errors.go.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadDoc(t)
	enum := doc.Components.Schemas["Error"].Properties["error"].Properties["code"].Enum
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Code") || len(vs.Values) != 1 {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
			s, _ := strconv.Unquote(lit.Value)
			consts = append(consts, s)
		}
		return true
	})
	sort.Strings(consts)
	sort.Strings(enum)
	if strings.Join(consts, ",") != strings.Join(enum, ",") {
		t.Fatalf("error codes in errors.go:\n  %v\nin openapi.json:\n  %v", consts, enum)
	}
	// README's error code table lists them too.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consts {
		if !strings.Contains(string(readme), "| `"+c+"` |") {
			t.Errorf("README.md's error code table lacks %s", c)
		}
	}
	// ... and nothing else: a row "| 4xx | `code` |" names a code of errors.go.
	known := map[string]bool{}
	for _, c := range consts {
		known[c] = true
	}
	rows := regexp.MustCompile("(?m)^\\| [1-5][0-9][0-9] \\| `([a-z_]+)`").FindAllStringSubmatch(string(readme), -1)
	if len(rows) < len(consts) {
		t.Fatalf("README.md has %d error code rows for %d codes", len(rows), len(consts))
	}
	for _, r := range rows {
		if !known[r[1]] {
			t.Errorf("README.md's error table has %s, which errors.go does not define", r[1])
		}
	}
}
