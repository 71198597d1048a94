package t30

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStandardLibraryOnly enforces tier 0 (ARCHITECTURE.md): the package
// imports nothing but the standard library, and uses neither goroutines
// nor the wall clock.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: tier 0 allows the standard library only", name, path)
			}
			switch path {
			case "net", "os", "log", "log/slog", "sync", "unsafe", "math/rand":
				t.Errorf("%s imports %s, which a pure state machine must not need", name, path)
			}
		}
		for _, bad := range []string{"go func", "go s.", "time.Now", "time.Sleep", "time.After", "time.NewTimer"} {
			if strings.Contains(string(src), bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
