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
	commands["partner"] = command{summary: "partners: create --name N [--credits C] [--email E] | suspend --id ID | resume --id ID", run: runPartner}
}

const partnerUsage = `usage: faxseal partner create --name NAME [--credits N] [--email ADDRESS]
       faxseal partner suspend --id ptn_...   (its keys get 403, its numbers stop taking calls)
       faxseal partner resume --id ptn_...`

func runPartner(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, partnerUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "create":
		return runPartnerCreate(ctx, args[1:])
	case "suspend", "resume":
		return runPartnerSuspend(ctx, args[1:], args[0] == "suspend")
	}
	fmt.Fprintln(os.Stderr, partnerUsage)
	return flag.ErrHelp
}

func runPartnerSuspend(ctx context.Context, args []string, suspend bool) error {
	fs := newFlagSet("partner suspend")
	id := fs.String("id", "", "partner id (ptn_...)")
	cfg, err := loadConfig(fs, args, false)
	if err != nil {
		return err
	}
	if *id == "" || fs.NArg() > 0 {
		return errors.New("give the partner with --id ptn_...")
	}
	logger := cfg.logger()
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	if err := db.store.SetSuspended(ctx, *id, suspend); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no partner %s", *id)
	} else if err != nil {
		return err
	}
	state := "active"
	if suspend {
		state = "suspended"
	}
	fmt.Fprintf(stdout, "partner %s is %s\n", *id, state)
	return nil
}

func runPartnerCreate(ctx context.Context, args []string) error {
	fs := newFlagSet("partner create")
	name := fs.String("name", "", "partner name (required)")
	credits := fs.Int64("credits", 0, "opening credit balance")
	email := fs.String("email", "", "billing email address")
	cfg, err := loadConfig(fs, args, false)
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
