package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
	"github.com/riverqueue/river"
)

func newPartner(t *testing.T, s *store.Store, name string, credits int64) (store.Partner, string) {
	t.Helper()
	p, key, err := s.CreatePartner(context.Background(), store.NewPartner{Name: name, Credits: credits})
	if err != nil {
		t.Fatal(err)
	}
	return p, key
}

func importDIDs(t *testing.T, s *store.Store, numbers ...string) {
	t.Helper()
	var dids []store.DID
	for _, n := range numbers {
		dids = append(dids, store.DID{Number: n, Trunk: "loop"})
	}
	if _, _, err := s.ImportDIDs(context.Background(), dids); err != nil {
		t.Fatal(err)
	}
}

func TestPartnerKeyAuthenticateAndReveal(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, key := newPartner(t, s, "Acme", 100)
	if !strings.HasPrefix(key, store.KeyPrefix) || len(key) != len(store.KeyPrefix)+43 {
		t.Fatalf("key %q: want %s + 43 base62 characters", key, store.KeyPrefix)
	}
	rl := store.RateLimit{Limit: 60, Period: time.Minute}
	a, st, err := s.Authenticate(ctx, key, rl)
	if err != nil {
		t.Fatal(err)
	}
	if a.PartnerID != p.ID || !st.Allowed || st.Remaining != 59 || st.Limit != 60 {
		t.Fatalf("auth %+v state %+v", a, st)
	}
	if _, _, err := s.Authenticate(ctx, key+"x", rl); !errors.Is(err, store.ErrUnknownKey) {
		t.Fatalf("wrong key: %v, want ErrUnknownKey", err)
	}
	keys, err := s.RevealKeys(ctx, p.ID)
	if err != nil || len(keys) != 1 || keys[0].Key != key {
		t.Fatalf("reveal: %v %+v", err, keys)
	}
	// The stored copy is encrypted: a store with another secret key cannot reveal it.
	raw := s.QueryRow(ctx, `SELECT sealed FROM partner_keys WHERE partner_id = $1`, p.ID)
	var sealed []byte
	if err := raw.Scan(&sealed); err != nil || strings.Contains(string(sealed), key) {
		t.Fatalf("sealed copy holds the key in clear (err %v)", err)
	}
	if err := s.SetSuspended(ctx, p.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, key, rl); !errors.Is(err, store.ErrPartnerSuspended) {
		t.Fatalf("suspended: %v", err)
	}
}

func TestRateLimitGCRA(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	_, key := newPartner(t, s, "Burst", 0)
	rl := store.RateLimit{Limit: 10, Period: time.Hour}
	// Ten concurrent requests all pass (the whole burst), the eleventh is denied with a retry hint of
	// about one emission interval (6 min); concurrency checks the single UPDATE is atomic. Per hour, so
	// nothing refills while a loaded machine runs the test.
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, st, err := s.Authenticate(ctx, key, rl)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if st.Allowed {
				allowed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if allowed != 10 {
		t.Fatalf("allowed %d of the 10-request burst", allowed)
	}
	_, st, err := s.Authenticate(ctx, key, rl)
	if err != nil {
		t.Fatal(err)
	}
	if st.Allowed || st.Remaining != 0 || st.RetryAfter < 5*time.Minute || st.RetryAfter > 6*time.Minute {
		t.Fatalf("11th request: %+v", st)
	}
	if until := time.Until(st.Reset); until < 55*time.Minute || until > 61*time.Minute {
		t.Fatalf("reset in %v, want about an hour", until)
	}
}

func TestProvisionLookupRelease(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Acme", 0)
	q, _ := newPartner(t, s, "Other", 0)
	importDIDs(t, s, "+14155550100", "+14155550101")

	n, err := s.Provision(ctx, p.ID, "user_42", "415", store.TierPersonal)
	if err != nil {
		t.Fatal(err)
	}
	if n.Number != "+14155550100" || n.City != "San Francisco" || n.State != "CA" || n.Tier != store.TierPersonal {
		t.Fatalf("provisioned %+v", n)
	}
	if _, err := s.Provision(ctx, p.ID, "user_42", "415", store.TierBusiness); !errors.Is(err, store.ErrUserHasNumber) {
		t.Fatalf("second number: %v", err)
	}
	// The same external id at another partner is another user.
	n2, err := s.Provision(ctx, q.ID, "user_42", "415", store.TierBusiness)
	if err != nil || n2.Number != "+14155550101" {
		t.Fatalf("other partner: %v %+v", err, n2)
	}
	if _, err := s.Provision(ctx, p.ID, "user_43", "415", store.TierPersonal); !errors.Is(err, store.ErrNoNumberAvailable) {
		t.Fatalf("exhausted: %v", err)
	}
	items, err := s.BillableItems(ctx, p.ID, time.Now())
	if err != nil || len(items) != 1 || items[0].AmountCents != 250 {
		t.Fatalf("billable items %v %+v", err, items)
	}
	if got, err := s.RecordMonthlyFees(ctx, time.Now()); err != nil || got != 0 {
		t.Fatalf("fees recorded twice for this month: %d %v", got, err)
	}
	if got, err := s.RecordMonthlyFees(ctx, time.Now().AddDate(0, 1, 0)); err != nil || got != 2 {
		t.Fatalf("next month's fees: %d %v", got, err)
	}

	r, err := s.RouteNumber(ctx, "+14155550100")
	if err != nil || r.PartnerID != p.ID || r.ExternalUserID != "user_42" || r.Trunk != "loop" {
		t.Fatalf("route %v %+v", err, r)
	}
	if _, err := s.RouteNumber(ctx, "+19995550000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown route: %v", err)
	}
	if err := s.SetSuspended(ctx, q.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RouteNumber(ctx, "+14155550101"); !errors.Is(err, store.ErrPartnerSuspended) {
		t.Fatalf("suspended route: %v", err)
	}

	if err := s.Release(ctx, q.ID, "user_42", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActiveNumber(ctx, q.ID, "user_42"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after release: %v", err)
	}
	if err := s.Release(ctx, q.ID, "user_42", time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("double release: %v", err)
	}
	// Cooling off: not handed out again yet.
	if _, err := s.Provision(ctx, p.ID, "user_43", "415", store.TierPersonal); !errors.Is(err, store.ErrNoNumberAvailable) {
		t.Fatalf("during cool-off: %v", err)
	}
	if err := s.Release(ctx, p.ID, "user_42", 0); err != nil {
		t.Fatal(err)
	}
	n3, err := s.Provision(ctx, p.ID, "user_43", "415", store.TierPersonal)
	if err != nil || n3.Number != "+14155550100" {
		t.Fatalf("after zero cool-off: %v %+v", err, n3)
	}
}

func TestProvisionConcurrent(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Race", 0)
	importDIDs(t, s, "+12125550001", "+12125550002", "+12125550003")
	var wg sync.WaitGroup
	got := make(chan string, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Provision(ctx, p.ID, "u"+string(rune('a'+i)), "212", store.TierBusiness)
			if err == nil {
				got <- n.Number
			} else if !errors.Is(err, store.ErrNoNumberAvailable) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for n := range got {
		if seen[n] {
			t.Fatalf("%s assigned twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Fatalf("%d of 3 DIDs assigned", len(seen))
	}
}

type ocrArgs struct{ FaxID string }

func (ocrArgs) Kind() string { return "test_ocr" }

func TestInsertReceivedFaxAndInbox(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Clinic", 0)
	importDIDs(t, s, "+15125550100")
	if _, err := s.Provision(ctx, p.ID, "dr_who", "512", store.TierPersonal); err != nil {
		t.Fatal(err)
	}
	var hooked []string
	s.OnReceivedFax(func(ctx context.Context, tx *store.Tx, fax store.InboundFax) error {
		hooked = append(hooked, fax.ID)
		return tx.InsertJob(ctx, ocrArgs{FaxID: fax.ID}, &river.InsertOpts{Queue: "ocr"})
	})
	t0 := time.Date(2026, 4, 18, 14, 22, 0, 0, time.UTC)
	fax, err := s.InsertReceivedFax(ctx, store.ReceivedFax{
		FromNumber: "+15125551234", ToNumber: "+15125550100", Pages: 2, ReceivedAt: t0,
		PDF: []byte("%PDF-1.4 test"), TIFF: []byte("II*\x00"), T30: json.RawMessage(`{"rate":14400}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fax.ID, "fax_") || fax.ExternalUserID != "dr_who" || len(hooked) != 1 {
		t.Fatalf("fax %+v hooks %v", fax, hooked)
	}
	var jobs int
	if err := s.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'test_ocr' AND args->>'FaxID' = $1`, fax.ID).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("job in the same transaction: %d %v", jobs, err)
	}
	f, err := s.File(ctx, fax.PDFFileID)
	if err != nil || string(f.Data) != "%PDF-1.4 test" || f.ContentType != "application/pdf" {
		t.Fatalf("file %v %+v", err, f)
	}
	// A failing hook rolls the whole fax back.
	s.OnReceivedFax(func(context.Context, *store.Tx, store.InboundFax) error { return errors.New("boom") })
	if _, err := s.InsertReceivedFax(ctx, store.ReceivedFax{FromNumber: "+1", ToNumber: "+15125550100", Pages: 1,
		ReceivedAt: t0, PDF: []byte("x")}); err == nil {
		t.Fatal("hook error ignored")
	}
	if _, err := s.InsertReceivedFax(ctx, store.ReceivedFax{ToNumber: "+19998887777", Pages: 1, ReceivedAt: t0,
		PDF: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unrouted fax: %v", err)
	}

	if _, err := s.Exec(ctx, `UPDATE inbound_faxes SET ocr_text = 'Patient name: Jane Smith. Referral for diabetes screening', ocr_status = 'done' WHERE id = $1`, fax.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q, from string
		want    int
	}{
		{"", "", 1},
		{"jane smith", "", 1},
		{`"jane smith"`, "", 1},
		{"referrals", "", 1}, // English stemming
		{"smith -diabetes", "", 0},
		{"cardiology", "", 0},
		{"the", "", 1}, // stop words only: no filter
		{`"`, "", 1},
		{`-`, "", 1},
		{`jane or nobody`, "", 1},
		{`'; DROP TABLE inbound_faxes; --`, "", 0},
		{`\ & | ! ( ) : *`, "", 1},
		{"", "+15125551234", 1},
		{"", "+15125559999", 0},
	} {
		page, err := s.Inbox(ctx, p.ID, store.InboxQuery{ExternalUserID: "dr_who", Q: tc.q, From: tc.from, Page: 1, PageSize: 20})
		if err != nil {
			t.Fatalf("q=%q: %v", tc.q, err)
		}
		if page.Total != tc.want || len(page.Faxes) != tc.want {
			t.Errorf("q=%q from=%q: total %d, %d faxes; want %d", tc.q, tc.from, page.Total, len(page.Faxes), tc.want)
		}
	}
	u, err := s.Usage(ctx, p.ID, store.UsageQuery{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil || u.Inbound.Total != 1 || u.Inbound.Pages != 2 {
		t.Fatalf("usage %v %+v", err, u)
	}
}

func TestCreditLedgerStaysInStep(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Spender", 10)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.AdjustCredits(ctx, p.ID, -1, "fax", "job")
				return err
			})
			if err != nil && !errors.Is(err, store.ErrInsufficientFunds) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Partner(ctx, p.ID)
	if err != nil || got.Credits != 0 {
		t.Fatalf("balance %d (%v), want 0", got.Credits, err)
	}
	var sum, rows int64
	if err := s.QueryRow(ctx, `SELECT coalesce(sum(delta), 0), count(*) FROM credit_ledger WHERE partner_id = $1`, p.ID).Scan(&sum, &rows); err != nil {
		t.Fatal(err)
	}
	if sum != 0 || rows != 11 {
		t.Fatalf("ledger sum %d over %d rows, want 0 over 11", sum, rows)
	}
}

func TestSettingsPatch(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Set", 0)
	url, email := "https://x.example/hook", "ops@x.example"
	schema := json.RawMessage(`{"type":"t","fields":[{"name":"a","type":"string"}]}`)
	if err := s.UpdateSettings(ctx, p.ID, store.SettingsPatch{WebhookURL: &url, BillingEmail: &email, ExtractionSchema: schema}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Partner(ctx, p.ID)
	if got.WebhookURL != url || got.BillingEmail != email || got.ExtractionSchema == nil {
		t.Fatalf("after patch %+v", got)
	}
	empty := ""
	if err := s.UpdateSettings(ctx, p.ID, store.SettingsPatch{WebhookURL: &empty, ExtractionSchema: json.RawMessage("null")}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Partner(ctx, p.ID)
	if got.WebhookURL != "" || got.BillingEmail != email || got.ExtractionSchema != nil {
		t.Fatalf("after clearing %+v", got)
	}
}

func TestAreaCodeTable(t *testing.T) {
	all, err := store.AreaCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 380 {
		t.Fatalf("only %d area codes", len(all))
	}
	for npa, ac := range all {
		if len(npa) != 3 || npa[0] < '2' || ac.City == "" || len(ac.State) != 2 || (ac.Country != "US" && ac.Country != "CA") {
			t.Errorf("bad entry %q: %+v", npa, ac)
		}
	}
	if ac, _ := store.LookupAreaCode("212"); ac.City != "New York" || ac.State != "NY" {
		t.Errorf("212 = %+v", ac)
	}
	for in, want := range map[string]string{"+14155550123": "+14155550123", "(415) 555-0123": "+14155550123",
		"1-415-555-0123": "+14155550123", "+44 20 7946 0958": "+442079460958"} {
		if got, ok := store.NormalizeNumber(in); !ok || got != want {
			t.Errorf("NormalizeNumber(%q) = %q %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "abc", "+0123", "12"} {
		if _, ok := store.NormalizeNumber(bad); ok {
			t.Errorf("NormalizeNumber(%q) accepted", bad)
		}
	}
}

// NormalizeNumber accepts only what becomes E.164, and is idempotent on what it returns.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+14155550123", "(415) 555-0123", "1-415-555-0123", "+44 20 7946 0958", "", "abc", "+", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := store.NormalizeNumber(in)
		if !ok {
			return
		}
		if !store.IsE164(out) {
			t.Fatalf("%q -> %q, not E.164", in, out)
		}
		if again, ok := store.NormalizeNumber(out); !ok || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

// A package's own migrations, registered from init as jobs or billing would, reach every database
// storetest hands out (and serve's, through Migrate).
func init() {
	store.RegisterMigrations(store.MigrationSet{Name: "storetest_extra", FS: fstest.MapFS{
		"00001_extra.sql": {Data: []byte("-- +goose Up\nCREATE TABLE extra_things (id int PRIMARY KEY, partner_id text REFERENCES partners (id));\n" +
			"-- +goose Down\nDROP TABLE extra_things;\n")},
	}})
}

func TestRegisteredMigrations(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Extra", 0)
	if _, err := s.Exec(ctx, `INSERT INTO extra_things (id, partner_id) VALUES (1, $1)`, p.ID); err != nil {
		t.Fatal(err)
	}
	var version int64
	if err := s.QueryRow(ctx, `SELECT max(version_id) FROM storetest_extra_goose_db_version`).Scan(&version); err != nil || version != 1 {
		t.Fatalf("version table: %d %v", version, err)
	}
	// Migrating again is a no-op.
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}

// Concurrent provisioning for one user from several nodes gives one number and 409s, never two.
func TestProvisionSameUserConcurrently(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, _ := newPartner(t, s, "Dup", 0)
	importDIDs(t, s, "+13125550101", "+13125550102", "+13125550103", "+13125550104")
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Provision(ctx, p.ID, "same_user", "312", store.TierPersonal)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				results["ok"]++
			case errors.Is(err, store.ErrUserHasNumber):
				results["exists"]++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if results["ok"] != 1 || results["exists"] != 3 {
		t.Fatalf("results %v, want 1 ok and 3 exists", results)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	p, old := newPartner(t, s, "Rotator", 0)
	q, _ := newPartner(t, s, "Other", 0)
	rl := store.RateLimit{Limit: 60, Period: time.Minute}
	fresh, err := s.AddKey(ctx, p.ID)
	if err != nil || fresh == old {
		t.Fatalf("add key: %v", err)
	}
	keys, _ := s.RevealKeys(ctx, p.ID)
	if len(keys) != 2 {
		t.Fatalf("%d keys", len(keys))
	}
	if err := s.RevokeKey(ctx, q.ID, keys[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another partner revoked the key: %v", err)
	}
	if err := s.RevokeKey(ctx, p.ID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, old, rl); !errors.Is(err, store.ErrUnknownKey) {
		t.Fatalf("revoked key: %v", err)
	}
	if a, _, err := s.Authenticate(ctx, fresh, rl); err != nil || a.PartnerID != p.ID {
		t.Fatalf("new key: %v", err)
	}
	if _, err := s.AddKey(ctx, "ptn_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key for an unknown partner: %v", err)
	}
}
