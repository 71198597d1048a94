package fax_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/ocr"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/faxseal/faxseal/webhook"
)

// envCrashChild makes the test binary a sending node on the database it names (crashChild).
const envCrashChild = "FAXSEAL_SEND_CRASH_CHILD_DB"

// crashChild is a node that takes the send job, gets two pages confirmed, says so on stdout and
// keeps the call open until it is killed.
func crashChild(url string) {
	ctx := context.Background()
	fail := func(err error) { fmt.Println("ERROR", err); os.Exit(2) }
	st, err := store.Open(ctx, url, store.Options{SecretKey: storetest.SecretKey, MaxConns: 4})
	if err != nil {
		fail(err)
	}
	pool, err := ocr.NewPool(ocr.Options{Size: 1})
	if err != nil {
		fail(err)
	}
	pipe, err := jobs.New(jobs.Config{Store: st, OCR: pool,
		Deliverer: &webhook.Deliverer{Client: webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: true})},
		Links:     jobs.FileLinks{Key: []byte("0123456789abcdef0123456789abcdef"), BaseURL: "https://fax.example.test"}})
	if err != nil {
		fail(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := send.New(send.Config{Store: st, Events: pipe, Dialer: hangingDialer{st}, Logger: logger})
	if err != nil {
		fail(err)
	}
	workers := river.NewWorkers()
	pipe.Register(workers) // River inserts only kinds it has workers for
	svc.Register(workers)
	// Only the send queue: the webhook deliveries are left to the node that survives.
	c, err := st.NewJobClient(&river.Config{Queues: svc.Queues(), Workers: workers, FetchPollInterval: 50 * time.Millisecond, FetchCooldown: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail(err)
	}
	if err := c.Start(ctx); err != nil {
		fail(err)
	}
	select {}
}

// hangingDialer answers, confirms two pages, waits until they are recorded, reports and hangs.
type hangingDialer struct{ st *store.Store }

func (d hangingDialer) Dial(ctx context.Context, c send.Call) send.Result {
	c.Progress(send.Progress{Kind: send.ProgressAnswered})
	c.Progress(send.Progress{Kind: send.ProgressPageConfirmed, Page: 0})
	c.Progress(send.Progress{Kind: send.ProgressPageConfirmed, Page: 1})
	for {
		var n int
		if err := d.st.QueryRow(ctx, `SELECT confirmed FROM send_faxes WHERE fax_id = $1`, c.FaxID).Scan(&n); err == nil && n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("CONFIRMED", c.FaxID, len(c.Pages))
	<-ctx.Done()
	return send.Result{Outcome: send.OutcomeCanceled}
}

// The sending node is killed (SIGKILL) mid-call after two of three pages were confirmed. Another
// node, started afterwards, gets the job from River's rescuer: the interrupted attempt is logged as
// such, only page 3 is sent again, and the fax is charged 3 credits exactly once.
func TestKillMidSendRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's leader election and rescuer (about 20 s)")
	}
	t.Parallel()
	url := storetest.URL(t)
	b := setup(t, options{credits: 100, dbURL: url, noStart: true, rescueAfter: 2 * time.Second,
		callTimeout: time.Second})
	b.dialer.script(step{answer: true, confirm: 1, outcome: send.OutcomeDelivered, t30: okT30})
	r := b.upload(t, fields(nanpTo), makePDF(3), nil)
	if r.status != 202 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	id := r.body["jobId"].(string)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envCrashChild+"="+url)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "CONFIRMED") || strings.HasPrefix(sc.Text(), "ERROR") {
				line <- sc.Text()
				return
			}
		}
		line <- "EOF"
	}()
	select {
	case l := <-line:
		if l != "CONFIRMED "+id+" 3" {
			t.Fatalf("child: %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child node never got the pages confirmed")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
	if f.Status != "sending" || f.PagesConfirmed != 2 || len(f.Attempts) != 1 || f.Attempts[0].EndedAt != nil {
		t.Fatalf("after the kill: %+v", f)
	}
	// The surviving node: this test's client, started now.
	b.start(t)
	// fax.sending (queued by the dead node), then, once River's rescuer has given the job to this
	// node (after the dead node's leadership lapses, about 20 s), fax.delivered.
	checkOutbound(t, b.hook(t), webhook.EventFaxSending, id, 3, 3, "")
	select {
	case h := <-b.hooks:
		checkOutbound(t, h, webhook.EventFaxDelivered, id, 3, 3, "")
	case <-time.After(60 * time.Second):
		f, _ := b.svc.Fax(context.Background(), b.partnerID, id)
		t.Fatalf("not delivered within 60 s of the restart: %+v", f)
	}
	f, _ = b.svc.Fax(context.Background(), b.partnerID, id)
	if len(f.Attempts) != 2 || f.Attempts[0].Outcome != "interrupted" || f.Attempts[0].PagesConfirmed != 2 ||
		f.Attempts[1].FirstPage != 3 || f.Attempts[1].Outcome != "delivered" || f.CreditsUsed != 3 || f.CreditsRefund != 0 {
		t.Fatalf("fax %+v", f)
	}
	if c := b.dialer.Calls(); len(c) != 1 || c[0].pages != 1 {
		t.Fatalf("the restarted node sent %+v", c)
	}
	if l := b.ledger(t, id); len(l) != 1 || l[0].Delta != -3 {
		t.Fatalf("ledger %+v", l)
	}
	if b.credits(t) != 97 {
		t.Fatalf("balance %d", b.credits(t))
	}
	b.noHook(t, 300*time.Millisecond)
}
