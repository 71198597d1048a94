package gateway

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises the default -parallel: these tests spend their time waiting on real-time T.30
// exchanges (tens of seconds each, little CPU), and go test's default of GOMAXPROCS would run
// them two at a time on the 2-core build machine. An explicit -parallel wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
