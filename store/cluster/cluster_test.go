package cluster

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestSocketDirFor(t *testing.T) {
	short := "/srv/faxseal/data/pg"
	if got := socketDirFor(short); got != short {
		t.Fatalf("short path: socket in %s, want the data dir", got)
	}
	long := "/" + strings.Repeat("deep/", 20) + "pg"
	got := socketDirFor(long)
	if got == long || len(got)+len("/.s.PGSQL.5432") >= 100 {
		t.Fatalf("long path: socket dir %s", got)
	}
	if socketDirFor(long) != got || socketDirFor(long+"2") == got {
		t.Fatal("socket dir must be stable per data dir and differ between data dirs")
	}
}

func TestStopWithoutCluster(t *testing.T) {
	if _, err := findBinDir(); err != nil {
		t.Skip(err)
	}
	if err := Stop(context.Background(), filepath.Join(t.TempDir(), "none")); err != nil {
		t.Fatalf("stopping a directory with no cluster: %v", err)
	}
}
