// Command testdb starts and stops the throwaway PostgreSQL cluster `make test` runs the tests against.
//
//	go run ./scripts/testdb start DIR   # initialise and start; prints the admin URL for FAXSEAL_TEST_DATABASE_URL
//	go run ./scripts/testdb stop DIR    # stop it and delete DIR
//	go run ./scripts/testdb stop        # stop the shared cluster storetest starts when no URL is set
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/faxseal/faxseal/store/cluster"
	"github.com/faxseal/faxseal/store/storetest"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 || (os.Args[1] != "start" && os.Args[1] != "stop") {
		fmt.Fprintln(os.Stderr, "usage: testdb start DIR | testdb stop [DIR]")
		os.Exit(2)
	}
	dir, remove := storetest.SharedClusterDir(), false
	if len(os.Args) == 3 {
		dir, remove = os.Args[2], true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1], dir, remove); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, verb, dir string, remove bool) error {
	if verb == "stop" {
		if err := cluster.Stop(ctx, dir); err != nil {
			return err
		}
		if remove {
			return os.RemoveAll(dir)
		}
		return nil
	}
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, Ephemeral: true, MaxConnections: 300,
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "testdb: "+f+"\n", a...) }})
	if err != nil {
		return err
	}
	fmt.Println(c.URL("postgres"))
	return nil
}
