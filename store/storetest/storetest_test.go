package storetest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
)

// Each database is migrated, separate from the others, and gone when its test ends.
func TestIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("a", func(t *testing.T) {
		first = storetest.URL(t)
		s, err := store.Open(ctx, first, store.Options{SecretKey: storetest.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, _, err := s.CreatePartner(ctx, store.NewPartner{Name: "only in a"}); err != nil {
			t.Fatal(err)
		}
		b := storetest.New(t)
		var n int
		if err := b.QueryRow(ctx, `SELECT count(*) FROM partners`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("second database sees %d partners (%v)", n, err)
		}
	})
	u, _ := url.Parse(first)
	name := strings.TrimPrefix(u.Path, "/")
	s := storetest.New(t)
	var exists bool
	if err := s.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s still exists after its test (%v)", name, err)
	}
}
