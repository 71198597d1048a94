package send

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/faxseal/faxseal/t30"
)

// scriptDialer answers each Call with the next scripted Result and keeps the Calls it saw.
type scriptDialer struct {
	mu      sync.Mutex
	results []Result
	calls   []Call
}

func (d *scriptDialer) Dial(_ context.Context, c Call) Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, c)
	r := d.results[0]
	if len(d.results) > 1 {
		d.results = d.results[1:]
	}
	return r
}

func TestT38Trouble(t *testing.T) {
	for _, tc := range []struct {
		transport string
		code      t30.Code
		want      bool
	}{
		{"t38", t30.TrainingFailed, true},
		{"t38", t30.NoResponsePostPage, true},
		{"t38", t30.NoAnswer, true}, // UDPTL silence after the switch
		{"t38", t30.RemoteDisconnected, false},
		{"t38", t30.Incompatible, false},
		{"t38", t30.OK, false},
		{"audio", t30.TrainingFailed, false},
		{"", t30.NoAnswer, false},
	} {
		if got := t38Trouble(tc.transport, tc.code); got != tc.want {
			t.Errorf("t38Trouble(%q, %v) = %v, want %v", tc.transport, tc.code, got, tc.want)
		}
	}
}

// After an attempt that ran on T.38 and failed in T.30, the redial (and every later one) is
// audio-only; the first attempt is not.
func TestRedialAudioOnlyAfterT38Trouble(t *testing.T) {
	s, _, partner := newService(t)
	ctx := context.Background()
	d := &scriptDialer{results: []Result{
		{Outcome: OutcomeFailed, Transport: "t38", T30: &t30.Result{Code: t30.TrainingFailed}},
		{Outcome: OutcomeFailed, Transport: "audio", T30: &t30.Result{Code: t30.NoResponsePostPage}},
		{Outcome: OutcomeDelivered, Transport: "audio", Confirmed: 1, T30: &t30.Result{Code: t30.OK}},
	}}
	s.cfg.Dialer = d
	s.cfg.Policy = Policy{MaxAttempts: 3, Delays: []time.Duration{time.Millisecond}}
	acc, _, err := s.Submit(ctx, Request{PartnerID: partner, ExternalUserID: "user_42", ToNumber: "+12125550001", PDF: onePage()})
	if err != nil {
		t.Fatal(err)
	}
	w := &deliverWorker{s: s}
	job := &river.Job[DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5}, Args: DeliverArgs{FaxID: acc.JobID}}
	for i := 0; i < 3; i++ {
		err := w.Work(ctx, job)
		if i < 2 && err == nil {
			t.Fatalf("attempt %d: no redial scheduled", i+1)
		}
		if i == 2 && err != nil {
			t.Fatalf("attempt 3: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(d.calls) != 3 {
		t.Fatalf("%d calls, want 3", len(d.calls))
	}
	if d.calls[0].AudioOnly || !d.calls[1].AudioOnly || !d.calls[2].AudioOnly {
		t.Fatalf("audio-only per call: %v %v %v", d.calls[0].AudioOnly, d.calls[1].AudioOnly, d.calls[2].AudioOnly)
	}
	f, err := s.Fax(ctx, partner, acc.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != "delivered" || len(f.Attempts) != 3 {
		t.Fatalf("fax %+v", f)
	}
}
