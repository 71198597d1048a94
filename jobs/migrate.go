package jobs

import (
	"embed"
	"io/fs"

	"github.com/faxseal/faxseal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// The webhook event and delivery-log tables are this package's own migration set: store applies
// it after the foundation's (they reference partners), with its own goose version table, wherever it
// migrates (serve, faxseal migrate, the storetest template). Importing jobs is enough.
func init() {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic("jobs: embedded migrations: " + err.Error())
	}
	store.RegisterMigrations(store.MigrationSet{Name: "jobs", FS: sub})
}
