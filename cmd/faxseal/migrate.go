package main

import (
	"context"
	"fmt"
)

func init() {
	commands["migrate"] = command{summary: "apply database migrations (serve also does this at start)", run: runMigrate}
}

func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate")
	cfg, err := loadConfig(fs, args, false)
	if err != nil {
		return err
	}
	logger := cfg.logger()
	db, err := openDatabase(ctx, cfg, logger) // migrates
	if err != nil {
		return err
	}
	defer db.close(logger)
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}
