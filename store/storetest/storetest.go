// Package storetest gives each test its own migrated PostgreSQL database, cloned from a template.
//
// Where the databases live:
//   - FAXSEAL_TEST_DATABASE_URL, if set: any database on a server where that role may CREATE DATABASE
//     (`make test` starts a throwaway cluster and sets it);
//   - otherwise a private cluster this package starts under the temp directory
//     ($TMPDIR/faxseal-pgtest-<uid>), shared by every test process and left running for the next run,
//     so `go test ./store/...` works with no set-up. Stop it with `go run ./scripts/testdb stop`.
//
// The template database is migrated once per migration set (its name carries store.MigrationsVersion),
// and each New clones it with CREATE DATABASE ... TEMPLATE, which takes milliseconds. Every clone is
// dropped when its test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/cluster"
	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the admin URL of the test server.
const EnvURL = "FAXSEAL_TEST_DATABASE_URL"

// SecretKey is the partner-key sealing key of every test store.
var SecretKey = []byte("faxseal-test-secret-key-32bytes!")

var (
	setupOnce sync.Once
	adminURL  string
	template  string
	setupErr  error
)

// New returns a Store on a new, migrated database that is dropped when t ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	u := URL(t)
	ctx := context.Background()
	s, err := store.Open(ctx, u, store.Options{SecretKey: SecretKey, MaxConns: 8})
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(s.Close) // runs before URL's drop: cleanups run last-in first-out
	return s
}

// URL returns the connection URL of a new, migrated database that is dropped when t ends, for tests
// that open their own connections (a serve process, a second node).
func URL(t testing.TB) string {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("storetest: %v", setupErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The creation time in the name lets setup drop databases left by test processes that were killed.
	name := fmt.Sprintf("t_%d_%s", time.Now().Unix(), randHex(6))
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template)); err != nil {
		t.Fatalf("storetest: clone template: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("storetest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("storetest: drop %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	adminURL = os.Getenv(EnvURL)
	if adminURL == "" {
		var err error
		if adminURL, err = sharedCluster(ctx); err != nil {
			return err
		}
	}
	template = "faxseal_tmpl_" + store.MigrationsVersion()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	// Several test binaries start at once; one builds the template while the others wait on the lock.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(74201)`); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(74201)`)
	dropStale(ctx, conn)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// Build under another name and rename when complete, so a half-migrated template is never cloned.
	building := template + "_building"
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building); err != nil {
		return err
	}
	s, err := store.Open(ctx, withDatabase(adminURL, building), store.Options{SecretKey: SecretKey, MaxConns: 2})
	if err != nil {
		return err
	}
	err = s.Migrate(ctx)
	s.Close()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+template); err != nil {
		return err
	}
	return nil
}

// dropStale drops test databases more than two hours old: a test process killed before its cleanups
// ran leaves its database behind. Failures are ignored (another process may be dropping them too).
func dropStale(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname ~ '^t_[0-9]+_[0-9a-f]+$'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-2 * time.Hour).Unix()
	for _, n := range names {
		var created int64
		if _, err := fmt.Sscanf(n, "t_%d_", &created); err == nil && created < cutoff {
			conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{n}.Sanitize()+` WITH (FORCE)`)
		}
	}
}

// SharedClusterDir is where the fallback cluster lives.
func SharedClusterDir() string {
	return filepath.Join(os.TempDir(), "faxseal-pgtest-"+strconv.Itoa(os.Getuid()))
}

// sharedCluster starts (or adopts) the per-user test cluster, serialised across processes by a file lock.
func sharedCluster(ctx context.Context) (string, error) {
	dir := SharedClusterDir()
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, Ephemeral: true, MaxConnections: 300})
	if err != nil {
		return "", err
	}
	return c.URL("postgres"), nil
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
