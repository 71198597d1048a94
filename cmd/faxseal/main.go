// Command faxseal is the one binary of FaxSeal: the gateway (`serve`) and its operator tools.
//
// Each subcommand lives in its own file (serve.go, convert.go, ...) and adds itself to commands in an
// init func, so the file list of this directory is the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run receives the arguments after the subcommand name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands is the whole CLI, filled by the init funcs of the subcommand files.
var commands = map[string]command{}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	cmd, ok := commands[name]
	if !ok {
		if name == "-h" || name == "--help" || name == "help" {
			usage()
			return
		}
		fmt.Fprintf(os.Stderr, "faxseal: unknown command %q\n\n", name)
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "faxseal %s: %v\n", name, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: faxseal <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}
