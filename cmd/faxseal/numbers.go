package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/faxseal/faxseal/store"
)

func init() {
	commands["numbers"] = command{summary: "DID inventory: numbers import FILE.csv", run: runNumbers}
}

func runNumbers(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(os.Stderr, "usage: faxseal numbers import FILE.csv   (header row; columns number, trunk, optional tier)")
		return flag.ErrHelp
	}
	fs := newFlagSet("numbers import")
	cfg, err := loadConfig(fs, args[1:], false)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give exactly one CSV file")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	dids, err := parseDIDs(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	logger := cfg.logger()
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	ins, upd, err := db.store.ImportDIDs(ctx, dids)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d numbers (%d new, %d updated)\n", len(dids), ins, upd)
	return nil
}

// parseDIDs reads the inventory CSV: a header row naming the columns number (E.164) and trunk, and
// optionally tier (personal, business or any; default any). City and state come from the NANP
// area-code table. Every problem is reported with its line; nothing is imported if any line is bad.
func parseDIDs(r io.Reader) ([]store.DID, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file: want a header row with number,trunk[,tier]")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "number", "trunk", "tier":
			if _, dup := col[h]; dup {
				return nil, fmt.Errorf("header: column %q appears twice", h)
			}
			col[h] = i
		default:
			return nil, fmt.Errorf("header: unknown column %q (want number, trunk, tier)", h)
		}
	}
	if _, ok := col["number"]; !ok {
		return nil, errors.New("header: no number column")
	}
	if _, ok := col["trunk"]; !ok {
		return nil, errors.New("header: no trunk column")
	}
	var dids []store.DID
	var errs []error
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // a *csv.ParseError, which names its line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			errs = append(errs, fmt.Errorf("line %d: %d fields, header has %d", line, len(rec), len(header)))
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		d := store.DID{Number: get("number"), Trunk: get("trunk"), Tier: strings.ToLower(get("tier"))}
		switch {
		case !store.IsE164(d.Number):
			errs = append(errs, fmt.Errorf("line %d: %q is not an E.164 number (+14155550100)", line, d.Number))
		case d.Trunk == "":
			errs = append(errs, fmt.Errorf("line %d: trunk is empty", line))
		case d.Tier != "" && d.Tier != "any" && !store.Tier(d.Tier).Valid():
			errs = append(errs, fmt.Errorf("line %d: tier %q is not personal, business or any", line, d.Tier))
		case seen[d.Number] != 0:
			errs = append(errs, fmt.Errorf("line %d: %s already on line %d", line, d.Number, seen[d.Number]))
		default:
			if ac := store.NANPAreaCode(d.Number); ac != "" {
				if _, ok := store.LookupAreaCode(ac); !ok {
					errs = append(errs, fmt.Errorf("line %d: %s: area code %s is not in the NANP table", line, d.Number, ac))
					continue
				}
			}
			seen[d.Number] = line
			dids = append(dids, d)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(dids) == 0 {
		return nil, errors.New("no numbers in the file")
	}
	return dids, nil
}
