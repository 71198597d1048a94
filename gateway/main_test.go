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
// packets by milliseconds, well inside T.30's seconds-long windows for the T.38 tests; what made
// a loaded run fail was a stale peer on a recycled port (sip.peerFilter,
// TestLoopbackIgnoresStalePeer). 16 (all 12 at once, ~37 s instead of ~40-55 s) was tried and
// made the three G.711 tests, whose modems need their 20 ms frames on time, fail once in three
// loaded runs (TestLoopback488FallsBackToG711: receiver T2 timeout). The media ranges of these
// tests (50000-57999) keep clear of other packages' (sip 31000-38999, api/fax 47000-48999).
// An explicit -parallel wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
