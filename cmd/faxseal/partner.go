package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/faxseal/faxseal/store"
)

func init() {
	commands["partner"] = command{summary: "manage partners: partner create --name N [--credits C] [--email E]", run: runPartner}
}

func runPartner(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(os.Stderr, "usage: faxseal partner create --name NAME [--credits N] [--email ADDRESS]")
		return flag.ErrHelp
	}
	fs := newFlagSet("partner create")
	name := fs.String("name", "", "partner name (required)")
	credits := fs.Int64("credits", 0, "opening credit balance")
	email := fs.String("email", "", "billing email address")
	cfg, err := loadConfig(fs, args[1:], false)
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	if *credits < 0 {
		return errors.New("--credits must not be negative")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	logger := cfg.logger()
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	p, key, err := db.store.CreatePartner(ctx, store.NewPartner{Name: *name, Credits: *credits, BillingEmail: *email})
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Key          string `json:"key"`
		Credits      int64  `json:"credits"`
		BillingEmail any    `json:"billingEmail"`
		CreatedAt    string `json:"createdAt"`
	}{p.ID, p.Name, key, p.Credits, nullIfEmpty(p.BillingEmail), p.CreatedAt.UTC().Format(time.RFC3339)}, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
