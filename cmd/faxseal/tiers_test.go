package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// The dependency tiers of ARCHITECTURE.md ("Dependency tiers"), enforced over `go list -deps`. A new
// package must be added here (and to ARCHITECTURE.md's table) before it can land.
//
//	0 pure       g3, t30, t38 codecs, modem/...   standard library only, and not net, log or os/exec
//	1 real-time  sip, gateway, t38 transport       tier 0, sipgo, pion/rtp
//	2 services   store, render, ocr, extract, ...  tier 0-1, pgx, River, gosseract, go-openai, stripe-go
//	3 edges      api, api/portal                   tier 2 (never sip/t38/modem directly)
//	4            cmd/faxseal                       everything; nothing imports cmd
const module = "github.com/faxseal/faxseal"

const tierTool = 5 // test bindings and scripts: may import anything but cmd

var tierPrefixes = []struct {
	prefix string // package path below the module, "x" matches x and x/...
	tier   int
}{
	{"t38/transport", 1},
	{"g3", 0}, {"t30", 0}, {"t38", 0}, {"modem", 0}, {"internal/dsp", 0},
	{"sip", 1}, {"gateway", 1},
	{"store", 2}, {"render", 2}, {"ocr", 2}, {"extract", 2}, {"webhook", 2}, {"billing", 2}, {"jobs", 2},
	{"api", 3},
	{"cmd", 4},
	{"internal/spandsp", tierTool}, {"scripts", tierTool},
}

// Third-party modules a tier must not use directly (the libraries of other tiers).
var forbiddenModules = map[int][]string{
	1: {"github.com/jackc/pgx", "github.com/riverqueue", "github.com/stripe", "github.com/sashabaranov/go-openai",
		"github.com/otiai10/gosseract", "github.com/gorilla/mux", "github.com/pressly/goose"},
	2: {"github.com/gorilla/mux"},
	3: {"github.com/emiago/sipgo", "github.com/pion", "github.com/google/gopacket"},
}

// Standard packages tier 0 must not use: the pure packages do no I/O on their own and log nothing.
var tier0ForbiddenStd = []string{"net", "log", "os/exec", "os/signal", "syscall", "database/sql", "runtime/cgo"}

func tierOf(pkg string) (int, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	for _, p := range tierPrefixes {
		if rel == p.prefix || strings.HasPrefix(rel, p.prefix+"/") {
			return p.tier, true
		}
	}
	return 0, false
}

type listedPackage struct {
	ImportPath string
	Standard   bool
	Module     *struct{ Path string }
	Imports    []string
	Deps       []string
}

func TestDependencyTiers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	// With the interop build tag, so the cgo test bindings are checked too.
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Standard,Module,Imports,Deps", "-tags", "spandsp", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = &p
	}
	ours := 0
	var problems []string
	for path, p := range pkgs {
		if p.Module == nil || p.Module.Path != module {
			continue
		}
		ours++
		tier, ok := tierOf(path)
		if !ok {
			problems = append(problems, path+": not in the tier table (cmd/faxseal/tiers_test.go, ARCHITECTURE.md)")
			continue
		}
		for _, imp := range p.Imports {
			q := pkgs[imp]
			switch {
			case q == nil || imp == "C" || imp == "unsafe":
				if imp == "unsafe" && tier == 0 {
					problems = append(problems, path+": tier 0 imports unsafe")
				}
			case q.Standard:
				if tier == 0 {
					for _, f := range tier0ForbiddenStd {
						if imp == f || strings.HasPrefix(imp, f+"/") {
							problems = append(problems, path+": tier 0 imports "+imp)
						}
					}
				}
			case q.Module != nil && q.Module.Path == module:
				qt, ok := tierOf(imp)
				switch {
				case !ok:
					// reported for imp itself
				case qt == 4:
					problems = append(problems, path+": imports cmd ("+imp+")")
				case qt == tierTool && tier != tierTool:
					problems = append(problems, path+": imports the test/tool package "+imp)
				case tier != tierTool && qt > tier:
					problems = append(problems, path+" (tier "+itoa(tier)+"): imports "+imp+" (tier "+itoa(qt)+")")
				case tier == 3 && qt < 2:
					problems = append(problems, path+" (tier 3): imports "+imp+" (tier "+itoa(qt)+"); go through a tier 2 service")
				}
			default: // third party
				if tier == 0 {
					problems = append(problems, path+": tier 0 imports the third-party package "+imp)
				}
				for _, m := range forbiddenModules[tier] {
					if strings.HasPrefix(imp, m) {
						problems = append(problems, path+" (tier "+itoa(tier)+"): imports "+imp)
					}
				}
			}
		}
		if tier == 0 {
			for _, d := range p.Deps {
				if q := pkgs[d]; q != nil && !q.Standard && (q.Module == nil || q.Module.Path != module) && d != "C" && d != "unsafe" {
					problems = append(problems, path+": tier 0 depends on "+d)
				}
			}
		}
	}
	if ours < 5 {
		t.Fatalf("go list found only %d packages of the module", ours)
	}
	sort.Strings(problems)
	for _, p := range dedupe(problems) {
		t.Error(p)
	}
}

func TestTierTable(t *testing.T) {
	for pkg, want := range map[string]int{
		module + "/g3": 0, module + "/modem/v17": 0, module + "/t38": 0, module + "/t38/transport": 1,
		module + "/sip": 1, module + "/store/storetest": 2, module + "/api/portal": 3, module + "/cmd/faxseal": 4,
		module + "/scripts/testdb": tierTool,
	} {
		if got, ok := tierOf(pkg); !ok || got != want {
			t.Errorf("tierOf(%s) = %d %v, want %d", pkg, got, ok, want)
		}
	}
	if _, ok := tierOf(module + "/util"); ok {
		t.Error("an unlisted package has a tier")
	}
	if _, ok := tierOf(module + "/g3x"); ok {
		t.Error("prefix matched a sibling name")
	}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func itoa(n int) string {
	if n == tierTool {
		return "tool"
	}
	return string(rune('0' + n))
}
