package gateway

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises the default -parallel: these tests spend their time waiting on real-time T.30
// exchanges (tens of seconds each, little CPU: the whole package uses about 3 CPU-seconds in
// its ~40 s), and go test's default of GOMAXPROCS would run them two at a time on the 2-core
// build machine. Kept at 8 under `make test`, where every package runs at once: load delays
// packets by milliseconds, well inside T.30's seconds-long windows; what made a loaded run fail
// was a stale peer on a recycled port (sip.peerFilter), and the media ranges below keep clear
// of the ranges other packages' tests use (sip 31000-38999, api/fax 47000-48999). An explicit
// -parallel wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
