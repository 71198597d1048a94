package jobs

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose runs on
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// versionTable keeps this package's goose history apart from store's.
const versionTable = "jobs_goose_db_version"

// Migrate applies this package's tables (webhook events and the delivery log) to the database at
// url, after store.Migrate (they reference partners). Safe to run from several nodes at once: goose
// holds a session advisory lock.
func Migrate(ctx context.Context, url string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithTableName(versionTable),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	for _, r := range res {
		logger.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
