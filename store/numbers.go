package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Tier is a number's service tier; it sets the monthly fee.
type Tier string

const (
	TierPersonal Tier = "personal"
	TierBusiness Tier = "business"
)

// MonthlyFeeCents is the monthly price of a number per tier (the seed: $2.50 personal, $7.50 business).
func (t Tier) MonthlyFeeCents() int {
	switch t {
	case TierPersonal:
		return 250
	case TierBusiness:
		return 750
	}
	return 0
}

// Valid reports whether t is a tier a number can be provisioned with.
func (t Tier) Valid() bool { return t == TierPersonal || t == TierBusiness }

// DID is one inventory number.
type DID struct {
	Number   string // E.164
	Trunk    string
	Tier     string // any, personal or business
	AreaCode string // NANP NPA, "" outside +1
	City     string
	State    string
}

// ImportDIDs inserts or updates inventory numbers (city/state are filled from the area-code table when
// empty). It returns how many were new and how many existed already.
func (s *Store) ImportDIDs(ctx context.Context, dids []DID) (inserted, updated int, err error) {
	err = s.WithTx(ctx, func(tx *Tx) error {
		inserted, updated = 0, 0
		for _, d := range dids {
			if !IsE164(d.Number) {
				return fmt.Errorf("store: %q is not an E.164 number", d.Number)
			}
			if d.Tier == "" {
				d.Tier = "any"
			}
			if d.Tier != "any" && !Tier(d.Tier).Valid() {
				return fmt.Errorf("store: %s: tier %q is not personal, business or any", d.Number, d.Tier)
			}
			if d.AreaCode == "" {
				d.AreaCode = NANPAreaCode(d.Number)
			}
			if ac, ok := LookupAreaCode(d.AreaCode); ok {
				if d.City == "" {
					d.City = ac.City
				}
				if d.State == "" {
					d.State = ac.State
				}
			}
			var isNew bool
			err := tx.tx.QueryRow(ctx, `INSERT INTO dids (number, trunk, tier, area_code, city, state)
				VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), nullif($6, ''))
				ON CONFLICT (number) DO UPDATE SET trunk = EXCLUDED.trunk, tier = EXCLUDED.tier,
					area_code = EXCLUDED.area_code, city = EXCLUDED.city, state = EXCLUDED.state
				RETURNING xmax = 0`, d.Number, d.Trunk, d.Tier, d.AreaCode, d.City, d.State).Scan(&isNew)
			if err != nil {
				return fmt.Errorf("store: import %s: %w", d.Number, err)
			}
			if isNew {
				inserted++
			} else {
				updated++
			}
		}
		return nil
	})
	return inserted, updated, err
}

// Number is a DID assigned to a partner's user.
type Number struct {
	ID             string
	PartnerID      string
	ExternalUserID string
	Number         string
	Tier           Tier
	City           string
	State          string
	Trunk          string
	ProvisionedAt  time.Time
}

// Provision assigns a free DID in areaCode to the user and records this month's fee as a billable item,
// in one transaction. ErrUserHasNumber if the user has an active number; ErrNoNumberAvailable if no DID
// in that area code (for that tier) is free and past its cool-off.
func (s *Store) Provision(ctx context.Context, partnerID, externalUserID, areaCode string, tier Tier) (Number, error) {
	if !tier.Valid() {
		return Number{}, fmt.Errorf("store: bad tier %q", tier)
	}
	var n Number
	// Two nodes may pick the same DID between SKIP LOCKED and the insert only in a narrow window; the
	// unique index numbers_active_did then rejects one, which simply tries again.
	for attempt := 0; ; attempt++ {
		err := s.WithTx(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.provision(ctx, partnerID, externalUserID, areaCode, tier)
			return err
		})
		if isUniqueViolation(err, "numbers_active_did") && attempt < 3 {
			continue
		}
		return n, err
	}
}

func (t *Tx) provision(ctx context.Context, partnerID, externalUserID, areaCode string, tier Tier) (Number, error) {
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM numbers WHERE partner_id = $1
		AND external_user_id = $2 AND released_at IS NULL)`, partnerID, externalUserID).Scan(&exists); err != nil {
		return Number{}, err
	}
	if exists {
		return Number{}, ErrUserHasNumber
	}
	n := Number{ID: newID("num"), PartnerID: partnerID, ExternalUserID: externalUserID, Tier: tier}
	var city, state *string
	err := t.tx.QueryRow(ctx, `
		WITH pick AS (
			SELECT d.number, d.city, d.state, d.trunk FROM dids d
			WHERE d.area_code = $4 AND d.tier IN ($5, 'any') AND d.available_after <= now()
			  AND NOT EXISTS (SELECT 1 FROM numbers x WHERE x.number = d.number AND x.released_at IS NULL)
			ORDER BY d.tier = 'any', d.number   -- DIDs reserved for this tier first
			LIMIT 1
			FOR UPDATE OF d SKIP LOCKED
		)
		INSERT INTO numbers (id, partner_id, external_user_id, number, tier)
		SELECT $1, $2, $3, pick.number, $5 FROM pick
		RETURNING number, (SELECT city FROM pick), (SELECT state FROM pick), (SELECT trunk FROM pick), provisioned_at`,
		n.ID, partnerID, externalUserID, areaCode, string(tier)).Scan(&n.Number, &city, &state, &n.Trunk, &n.ProvisionedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Number{}, ErrNoNumberAvailable
	}
	if isUniqueViolation(err, "numbers_active_user") {
		return Number{}, ErrUserHasNumber
	}
	if err != nil {
		return Number{}, err
	}
	n.City, n.State = deref(city), deref(state)
	if err := t.recordMonthlyFee(ctx, n, n.ProvisionedAt); err != nil {
		return Number{}, err
	}
	return n, nil
}

// recordMonthlyFee records the fee of number n for the month containing at (idempotent).
func (t *Tx) recordMonthlyFee(ctx context.Context, n Number, at time.Time) error {
	period := monthStart(at)
	_, err := t.tx.Exec(ctx, `INSERT INTO billable_items (partner_id, kind, number_id, period, amount_cents, description)
		VALUES ($1, 'number_monthly', $2, $3, $4, $5) ON CONFLICT (kind, number_id, period) DO NOTHING`,
		n.PartnerID, n.ID, period, n.Tier.MonthlyFeeCents(),
		fmt.Sprintf("%s number %s, %s", n.Tier, n.Number, period.Format("January 2006")))
	if err != nil {
		return fmt.Errorf("store: billable item: %w", err)
	}
	return nil
}

// RecordMonthlyFees records the fee for the month containing at for every number active then. Run it
// periodically (NumberFeesWorker); repeated runs add nothing.
func (s *Store) RecordMonthlyFees(ctx context.Context, at time.Time) (int64, error) {
	period := monthStart(at)
	return s.Exec(ctx, `INSERT INTO billable_items (partner_id, kind, number_id, period, amount_cents, description)
		SELECT n.partner_id, 'number_monthly', n.id, $1::date,
		       CASE n.tier WHEN 'business' THEN $2::int ELSE $3::int END,
		       n.tier || ' number ' || n.number || ', ' || to_char($1::date, 'FMMonth YYYY')
		FROM numbers n
		WHERE n.provisioned_at < ($1::date + interval '1 month') AND n.released_at IS NULL
		ON CONFLICT (kind, number_id, period) DO NOTHING`,
		period, TierBusiness.MonthlyFeeCents(), TierPersonal.MonthlyFeeCents())
}

// BillableItem is one accrued charge.
type BillableItem struct {
	Kind        string
	NumberID    string
	Period      time.Time
	AmountCents int
	Description string
}

// BillableItems lists a partner's accrued charges for the month containing at.
func (s *Store) BillableItems(ctx context.Context, partnerID string, at time.Time) ([]BillableItem, error) {
	var out []BillableItem
	err := s.Query(ctx, `SELECT kind, coalesce(number_id, ''), period, amount_cents, description FROM billable_items
		WHERE partner_id = $1 AND period = $2 ORDER BY id`, []any{partnerID, monthStart(at)}, func(r Row) error {
		var b BillableItem
		if err := r.Scan(&b.Kind, &b.NumberID, &b.Period, &b.AmountCents, &b.Description); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// ActiveNumber returns the user's active number, ErrNotFound if none.
func (s *Store) ActiveNumber(ctx context.Context, partnerID, externalUserID string) (Number, error) {
	return scanNumber(s.QueryRow(ctx, numberSelect+` WHERE n.partner_id = $1 AND n.external_user_id = $2
		AND n.released_at IS NULL`, partnerID, externalUserID))
}

const numberSelect = `SELECT n.id, n.partner_id, n.external_user_id, n.number, n.tier, coalesce(d.city, ''),
	coalesce(d.state, ''), d.trunk, n.provisioned_at FROM numbers n JOIN dids d ON d.number = n.number`

func scanNumber(r Row) (Number, error) {
	var n Number
	var tier string
	err := r.Scan(&n.ID, &n.PartnerID, &n.ExternalUserID, &n.Number, &tier, &n.City, &n.State, &n.Trunk, &n.ProvisionedAt)
	n.Tier = Tier(tier)
	return n, err
}

// Release ends the user's assignment; the DID goes back to the inventory once coolOff has passed, so a
// recycled number does not receive faxes meant for its previous user. ErrNotFound if none is active.
func (s *Store) Release(ctx context.Context, partnerID, externalUserID string, coolOff time.Duration) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		var number string
		err := tx.tx.QueryRow(ctx, `UPDATE numbers SET released_at = now() WHERE partner_id = $1
			AND external_user_id = $2 AND released_at IS NULL RETURNING number`, partnerID, externalUserID).Scan(&number)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.tx.Exec(ctx, `UPDATE dids SET available_after = now() + $2 * interval '1 second' WHERE number = $1`,
			number, coolOff.Seconds())
		return err
	})
}

// Route is where an inbound call to a DID goes.
type Route struct {
	NumberID       string
	PartnerID      string
	ExternalUserID string
	Number         string
	Tier           Tier
	Trunk          string
}

// RouteNumber finds the active assignment of an E.164 number, for inbound call routing: ErrNotFound if
// the number is unknown or unassigned (SIP 404), ErrPartnerSuspended if its partner is suspended (SIP
// 480); the Route is filled in both found cases.
func (s *Store) RouteNumber(ctx context.Context, e164 string) (Route, error) {
	var r Route
	var tier, status string
	err := s.QueryRow(ctx, `SELECT n.id, n.partner_id, n.external_user_id, n.number, n.tier, d.trunk, p.status
		FROM numbers n JOIN dids d ON d.number = n.number JOIN partners p ON p.id = n.partner_id
		WHERE n.number = $1 AND n.released_at IS NULL`, e164).
		Scan(&r.NumberID, &r.PartnerID, &r.ExternalUserID, &r.Number, &tier, &r.Trunk, &status)
	if err != nil {
		return Route{}, err
	}
	r.Tier = Tier(tier)
	if status == "suspended" {
		return r, ErrPartnerSuspended
	}
	return r, nil
}

// NumberFeesArgs is the periodic River job that records monthly number fees.
type NumberFeesArgs struct{}

// Kind implements river.JobArgs.
func (NumberFeesArgs) Kind() string { return "number_monthly_fees" }

// NumberFeesWorker records this month's fee for every active number (idempotent, so any node may run
// it any number of times).
type NumberFeesWorker struct {
	river.WorkerDefaults[NumberFeesArgs]
	Store *Store
	Now   func() time.Time // nil: time.Now
}

// Work implements river.Worker.
func (w *NumberFeesWorker) Work(ctx context.Context, _ *river.Job[NumberFeesArgs]) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	n, err := w.Store.RecordMonthlyFees(ctx, now())
	if err != nil {
		return err
	}
	w.Store.logger.Info("monthly number fees recorded", "items", n)
	return nil
}
