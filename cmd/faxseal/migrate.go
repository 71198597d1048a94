package main

import (
	"context"
	"flag"
	"fmt"
)

func init() {
	commands["migrate"] = command{summary: "apply database migrations (serve also does this at start)", run: runMigrate}
}

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
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
	fmt.Println("migrations applied")
	return nil
}
