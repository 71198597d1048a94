package send

import (
	"bytes"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/faxseal/faxseal/t30"
)

func TestPolicyRetry(t *testing.T) {
	p := DefaultPolicy()
	hung := &t30.Result{Code: t30.HungUpMidPage}
	for _, tc := range []struct {
		name    string
		attempt int
		res     Result
		delay   time.Duration
		ok      bool
	}{
		{"busy first", 1, Result{Outcome: OutcomeBusy}, 5 * time.Minute, true},
		{"no-answer second", 2, Result{Outcome: OutcomeNoAnswer}, 10 * time.Minute, true},
		{"busy last", 3, Result{Outcome: OutcomeBusy}, 0, false},
		{"T.30 mid-document", 1, Result{Outcome: OutcomeFailed, T30: hung}, 5 * time.Minute, true},
		{"incompatible", 1, Result{Outcome: OutcomeFailed, T30: &t30.Result{Code: t30.Incompatible}}, 0, false},
		{"SIP 404", 1, Result{Outcome: OutcomeFailed, SIPStatus: 404}, 0, false},
		{"canceled", 1, Result{Outcome: OutcomeCanceled}, 0, false},
		{"delivered", 1, Result{Outcome: OutcomeDelivered}, 0, false},
	} {
		d, ok := p.retry(tc.attempt, tc.res)
		if d != tc.delay || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, d, ok, tc.delay, tc.ok)
		}
	}
	// The last delay repeats; NoRetryT30 makes T.30 failures final.
	q := Policy{MaxAttempts: 5, Delays: []time.Duration{time.Second}, NoRetryT30: true}.withDefaults()
	if d, ok := q.retry(4, Result{Outcome: OutcomeBusy}); !ok || d != time.Second {
		t.Errorf("repeat delay: %v %v", d, ok)
	}
	if _, ok := q.retry(1, Result{Outcome: OutcomeFailed, T30: hung}); ok {
		t.Error("NoRetryT30 retried")
	}
	if err := (Policy{Delays: []time.Duration{-time.Second}}).check(); err == nil {
		t.Error("negative delay accepted")
	}
}

func TestFingerprint(t *testing.T) {
	base := Fingerprint("+12125550001", "u", "", "", "", []byte("pdf"))
	for name, fp := range map[string][]byte{
		"to":       Fingerprint("+12125550002", "u", "", "", "", []byte("pdf")),
		"user":     Fingerprint("+12125550001", "v", "", "", "", []byte("pdf")),
		"document": Fingerprint("+12125550001", "u", "", "", "", []byte("pdf2")),
		"url":      Fingerprint("+12125550001", "u", "", "", "https://x.test/a.pdf", nil),
		"shifted":  Fingerprint("+12125550001", "", "u", "", "", []byte("pdf")),
	} {
		if bytes.Equal(fp, base) {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	if !bytes.Equal(base, Fingerprint("+12125550001", "u", "", "", "", []byte("pdf"))) {
		t.Error("not deterministic")
	}
}

func TestCallTimeout(t *testing.T) {
	s := &Service{}
	if d := s.callTimeout(3); d != 11*time.Minute {
		t.Errorf("3 pages: %v", d)
	}
	w := &deliverWorker{s: s}
	if d := w.Timeout(&river.Job[DeliverArgs]{Args: DeliverArgs{Pages: 100}}); d != 302*time.Minute+5*time.Minute {
		t.Errorf("100-page job timeout %v", d)
	}
	s.cfg.CallTimeout = time.Second
	if d := w.Timeout(&river.Job[DeliverArgs]{Args: DeliverArgs{Pages: 100}}); d != 2*time.Second {
		t.Errorf("configured: %v", d)
	}
}
