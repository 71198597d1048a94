// Package store is FaxSeal's PostgreSQL layer: migrations (embedded SQL run by goose, River's own
// tables by rivermigrate), queries and transactions. pgx types do not leave this package: callers get
// plain Go values, and the generic Exec/QueryRow/Query helpers take SQL text and Go arguments.
//
// Every node of a deployment shares one database, so nothing here keeps state in memory that another
// node would need (rate limits, inventories and balances are rows).
package store

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Errors callers branch on.
var (
	ErrNotFound          = errors.New("store: not found")
	ErrUnknownKey        = errors.New("store: unknown partner key")
	ErrPartnerSuspended  = errors.New("store: partner suspended")
	ErrUserHasNumber     = errors.New("store: user already has an active number")
	ErrNoNumberAvailable = errors.New("store: no free number in that area code")
	ErrInsufficientFunds = errors.New("store: insufficient credits")
)

// Options configure Open.
type Options struct {
	// SecretKey is the 32-byte AES-256 key sealing the stored copy of partner keys (FAXSEAL_SECRET_KEY).
	SecretKey []byte
	// MaxConns caps the pool (0: pgxpool's default, max(4, cores)).
	MaxConns int32
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Store is the database handle shared by every component of a node.
type Store struct {
	pool    *pgxpool.Pool
	aead    cipher.AEAD
	logger  *slog.Logger
	appName string

	// jobs inserts River jobs inside our transactions. It is the running client once serve has one
	// (SetJobClient), otherwise an insert-only client.
	jobs *JobClient

	receivedHooks []ReceivedFaxHook
}

// JobClient is River's client on this store's driver. Workers never see the pgx type parameter: they
// receive their args, and insert follow-up jobs through Tx.InsertJob.
type JobClient = river.Client[pgx.Tx]

// Open connects to url. It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: bad database URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	appName, set := cfg.ConnConfig.RuntimeParams["application_name"]
	if !set {
		appName = fmt.Sprintf("faxseal[%d:%s]", os.Getpid(), randBase62(6))
		cfg.ConnConfig.RuntimeParams["application_name"] = appName
	}
	aead, err := newSealer(opts.SecretKey)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, aead: aead, logger: logger, appName: appName}
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: river insert client: %w", err)
	}
	s.jobs = jobs
	return s, nil
}

// ApplicationName is the application_name this store's sessions carry in pg_stat_activity:
// faxseal[pid:random] unless the database URL sets one. It tells them from other nodes' and tools'.
func (s *Store) ApplicationName() string { return s.appName }

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// NewJobClient builds a River client on this store's pool; serve configures its queues and workers.
// Jobs inserted through Tx.InsertJob go through it from then on.
func (s *Store) NewJobClient(cfg *river.Config) (*JobClient, error) {
	c, err := river.NewClient(riverpgxv5.New(s.pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("store: river client: %w", err)
	}
	s.jobs = c
	return c, nil
}

// Migrate applies FaxSeal's migrations (goose, embedded SQL) and River's (rivermigrate). Safe to run
// from several nodes at once: goose holds a session advisory lock, River's migrator runs in a
// transaction.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range res {
		s.logger.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: s.logger})
	if err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrate: %w", err)
	}
	for _, set := range registeredSets() {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		p, err := goose.NewProvider(goose.DialectPostgres, db, set.FS, goose.WithTableName(set.Name+"_goose_db_version"),
			goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			return fmt.Errorf("store: %s migrations: %w", set.Name, err)
		}
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", set.Name, err)
		}
		for _, r := range res {
			s.logger.Info("migration applied", "set", set.Name, "source", r.Source.Path, "duration", r.Duration)
		}
	}
	return nil
}

// MigrationSet is a package's own schema: goose SQL files (NNNNN_name.sql) applied after the
// foundation's, with a version table of their own (<Name>_goose_db_version).
type MigrationSet struct {
	Name string // short and unique: "jobs", "billing"
	FS   fs.FS  // the directory holding the .sql files
}

var (
	extraMu   sync.Mutex
	extraSets []MigrationSet
)

// RegisterMigrations adds a package's migrations to every Migrate (serve, faxseal migrate, and the
// storetest template). Call it from the package's init func, so that importing the package is enough;
// sets are applied in registration order, which follows the import graph.
func RegisterMigrations(set MigrationSet) {
	extraMu.Lock()
	defer extraMu.Unlock()
	for _, s := range extraSets {
		if s.Name == set.Name {
			panic("store: migration set " + set.Name + " registered twice")
		}
	}
	extraSets = append(extraSets, set)
}

func registeredSets() []MigrationSet {
	extraMu.Lock()
	defer extraMu.Unlock()
	return append([]MigrationSet(nil), extraSets...)
}

// MigrationsVersion is a digest of every migration (the foundation's and the registered sets'), so
// test templates are rebuilt whenever a migration changes.
func MigrationsVersion() string {
	h := sha256.New()
	sub, _ := fs.Sub(migrationFS, "migrations")
	sets := append([]MigrationSet{{Name: "store", FS: sub}}, registeredSets()...)
	for _, set := range sets {
		h.Write([]byte(set.Name + "\x00"))
		entries, _ := fs.ReadDir(set.FS, ".")
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			b, _ := fs.ReadFile(set.FS, n)
			h.Write([]byte(n))
			h.Write(b)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:12]
}

// Row is one result row: Scan copies its columns into Go values (pointers to string, int64, time.Time,
// []byte, bool, *T for nullable columns, or map/struct for jsonb).
type Row interface{ Scan(dest ...any) error }

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Tx is one database transaction. Work done through it, including River jobs inserted with InsertJob,
// commits or rolls back together.
type Tx struct {
	tx pgx.Tx
	s  *Store
}

// WithTx runs fn in a transaction: committed if fn returns nil, rolled back otherwise.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(ptx pgx.Tx) error { return fn(&Tx{tx: ptx, s: s}) })
}

// InsertJob inserts a River job that becomes visible to workers only when the transaction commits.
func (t *Tx) InsertJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := t.s.jobs.InsertTx(ctx, t.tx, args, opts)
	if err != nil {
		return fmt.Errorf("store: insert job %s: %w", args.Kind(), err)
	}
	return nil
}

// Exec runs a statement in the transaction and returns the number of rows it affected.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return execOn(ctx, t.tx, sql, args...)
}

// QueryRow runs a query expected to return one row; Scan reports ErrNotFound when it returned none.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return notFoundRow{t.tx.QueryRow(ctx, sql, args...)}
}

// Query runs a query and calls fn for each row.
func (t *Tx) Query(ctx context.Context, sql string, args []any, fn func(Row) error) error {
	return queryOn(ctx, t.tx, sql, args, fn)
}

// Exec runs a statement outside any transaction.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return execOn(ctx, s.pool, sql, args...)
}

// QueryRow runs a one-row query outside any transaction; Scan reports ErrNotFound for no row.
func (s *Store) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return notFoundRow{s.pool.QueryRow(ctx, sql, args...)}
}

// Query runs a query outside any transaction and calls fn for each row.
func (s *Store) Query(ctx context.Context, sql string, args []any, fn func(Row) error) error {
	return queryOn(ctx, s.pool, sql, args, fn)
}

func execOn(ctx context.Context, q querier, sql string, args ...any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func queryOn(ctx context.Context, q querier, sql string, args []any, fn func(Row) error) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

type notFoundRow struct{ r pgx.Row }

func (n notFoundRow) Scan(dest ...any) error {
	err := n.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// newID returns prefix_ followed by 20 random base62 characters (119 bits).
func newID(prefix string) string {
	return prefix + "_" + randBase62(20)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randBase62 returns n uniformly random base62 characters (rejection sampling keeps it unbiased).
func randBase62(n int) string {
	var b strings.Builder
	b.Grow(n)
	buf := make([]byte, n+n/2)
	for b.Len() < n {
		if _, err := rand.Read(buf); err != nil {
			panic("store: crypto/rand failed: " + err.Error()) // the OS entropy source is gone
		}
		for _, c := range buf {
			if c < 248 { // 248 = 4*62: values above would bias the first characters
				b.WriteByte(base62[c%62])
				if b.Len() == n {
					break
				}
			}
		}
	}
	return b.String()
}

// isUniqueViolation reports a unique_violation on the named constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}
