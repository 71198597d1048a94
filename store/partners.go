package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// KeyPrefix starts every partner key, so leaked keys are recognisable (secret scanners) and a key
// pasted into the wrong header is easy to spot.
const KeyPrefix = "sk_partner_"

// keyRandomChars is the random part of a key: 43 base62 characters carry 256 bits.
const keyRandomChars = 43

// Partner is a partner account.
type Partner struct {
	ID               string
	Name             string
	BillingEmail     string // "" when unset
	WebhookURL       string
	WebhookSecret    string
	ExtractionSchema json.RawMessage // nil when unset
	Suspended        bool
	Credits          int64
	CreatedAt        time.Time
}

// NewPartner is what CreatePartner needs.
type NewPartner struct {
	Name         string
	BillingEmail string
	Credits      int64 // opening balance, recorded in the ledger as reason "grant"
}

func newSealer(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("store: secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plain with AES-256-GCM under a random nonce; the key id is the associated data so a
// sealed copy cannot be swapped onto another key row.
func (s *Store) seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, aad)
}

func (s *Store) unseal(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("store: sealed key too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], aad)
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreatePartner creates a partner with one API key and returns the key in clear (shown once).
func (s *Store) CreatePartner(ctx context.Context, np NewPartner) (Partner, string, error) {
	if np.Name == "" {
		return Partner{}, "", errors.New("store: partner name is required")
	}
	if np.Credits < 0 {
		return Partner{}, "", errors.New("store: opening credits must not be negative")
	}
	p := Partner{ID: newID("ptn"), Name: np.Name, BillingEmail: np.BillingEmail}
	var key string
	err := s.WithTx(ctx, func(tx *Tx) error {
		err := tx.tx.QueryRow(ctx, `INSERT INTO partners (id, name, billing_email) VALUES ($1, $2, nullif($3, ''))
			RETURNING created_at`, p.ID, p.Name, p.BillingEmail).Scan(&p.CreatedAt)
		if err != nil {
			return err
		}
		if key, err = tx.CreateKey(ctx, p.ID); err != nil {
			return err
		}
		if np.Credits > 0 {
			if p.Credits, err = tx.AdjustCredits(ctx, p.ID, np.Credits, "grant", "partner create"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Partner{}, "", fmt.Errorf("store: create partner: %w", err)
	}
	return p, key, nil
}

// CreateKey adds an API key to a partner and returns it in clear.
func (t *Tx) CreateKey(ctx context.Context, partnerID string) (string, error) {
	key := KeyPrefix + randBase62(keyRandomChars)
	id := newID("key")
	_, err := t.tx.Exec(ctx, `INSERT INTO partner_keys (id, partner_id, hash, sealed, hint) VALUES ($1, $2, $3, $4, $5)`,
		id, partnerID, hashKey(key), t.s.seal([]byte(key), []byte(id)), key[len(key)-4:])
	if err != nil {
		return "", fmt.Errorf("store: create key: %w", err)
	}
	return key, nil
}

// Key is a stored partner key, revealed.
type Key struct {
	ID         string
	Key        string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// RevealKeys decrypts a partner's active keys (for the portal's key reveal).
func (s *Store) RevealKeys(ctx context.Context, partnerID string) ([]Key, error) {
	var keys []Key
	err := s.Query(ctx, `SELECT id, sealed, created_at, last_used_at FROM partner_keys
		WHERE partner_id = $1 AND revoked_at IS NULL ORDER BY created_at`, []any{partnerID}, func(r Row) error {
		var k Key
		var sealed []byte
		if err := r.Scan(&k.ID, &sealed, &k.CreatedAt, &k.LastUsedAt); err != nil {
			return err
		}
		plain, err := s.unseal(sealed, []byte(k.ID))
		if err != nil {
			return fmt.Errorf("store: key %s cannot be decrypted (wrong FAXSEAL_SECRET_KEY?): %w", k.ID, err)
		}
		k.Key = string(plain)
		keys = append(keys, k)
		return nil
	})
	return keys, err
}

// RateLimit is a GCRA limit: Limit requests per Period, all of which may arrive in a burst.
type RateLimit struct {
	Limit  int
	Period time.Duration
}

// RateState is the outcome of one request against its key's limit.
type RateState struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Time     // when the full limit is available again
	RetryAfter time.Duration // when not allowed: wait at least this long
}

// Auth identifies the partner behind a request.
type Auth struct {
	PartnerID string
	KeyID     string
}

// Authenticate looks up key and charges one request to its rate limit, in one UPDATE so that every node
// on the database shares the limit and the check-and-set is atomic.
//
// GCRA (the generic cell rate algorithm, ITU-T I.371): with emission interval T = Period/Limit and burst
// tolerance tau = Period - T, a request at time now is allowed iff max(tat, now) - now <= tau, and then
// tat becomes max(tat, now) + T. A denied request leaves tat alone.
func (s *Store) Authenticate(ctx context.Context, key string, rl RateLimit) (Auth, RateState, error) {
	if rl.Limit <= 0 || rl.Period <= 0 {
		return Auth{}, RateState{}, errors.New("store: bad rate limit")
	}
	interval := rl.Period / time.Duration(rl.Limit)
	tau := rl.Period - interval
	h := hashKey(key)
	var (
		a        Auth
		stored   []byte
		status   string
		allowed  bool
		tat, now time.Time
	)
	err := s.pool.QueryRow(ctx, `
		UPDATE partner_keys k SET
			rl_allowed   = greatest(k.rl_tat, now()) - now() <= $3 * interval '1 microsecond',
			rl_tat       = CASE WHEN greatest(k.rl_tat, now()) - now() <= $3 * interval '1 microsecond'
			                    THEN greatest(k.rl_tat, now()) + $2 * interval '1 microsecond'
			                    ELSE k.rl_tat END,
			last_used_at = now()
		FROM partners p
		WHERE k.hash = $1 AND k.revoked_at IS NULL AND p.id = k.partner_id
		RETURNING k.id, k.partner_id, k.hash, p.status, k.rl_allowed, k.rl_tat, now()`,
		h, interval.Microseconds(), tau.Microseconds()).Scan(&a.KeyID, &a.PartnerID, &stored, &status, &allowed, &tat, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		return Auth{}, RateState{}, ErrUnknownKey
	}
	if err != nil {
		return Auth{}, RateState{}, fmt.Errorf("store: authenticate: %w", err)
	}
	// The index lookup found the row by hash; compare in constant time anyway so no code path
	// depends on how much of a guessed key matched.
	if subtle.ConstantTimeCompare(stored, h) != 1 {
		return Auth{}, RateState{}, ErrUnknownKey
	}
	st := RateState{Allowed: allowed, Limit: rl.Limit, Reset: tat}
	ahead := tat.Sub(now) // how far the bucket is booked ahead
	if allowed {
		st.Remaining = int(math.Floor(float64(tau+interval-ahead) / float64(interval)))
		st.Remaining = max(0, min(st.Remaining, rl.Limit))
	} else {
		st.RetryAfter = ahead - tau
	}
	if status == "suspended" {
		return a, st, ErrPartnerSuspended
	}
	return a, st, nil
}

// Partner returns one partner.
func (s *Store) Partner(ctx context.Context, id string) (Partner, error) {
	var p Partner
	var email, url, secret *string
	var schema []byte
	var status string
	err := s.QueryRow(ctx, `SELECT id, name, billing_email, webhook_url, webhook_secret, extraction_schema,
		status, credits, created_at FROM partners WHERE id = $1`, id).
		Scan(&p.ID, &p.Name, &email, &url, &secret, &schema, &status, &p.Credits, &p.CreatedAt)
	if err != nil {
		return Partner{}, err
	}
	p.BillingEmail, p.WebhookURL, p.WebhookSecret = deref(email), deref(url), deref(secret)
	if schema != nil {
		p.ExtractionSchema = json.RawMessage(schema)
	}
	p.Suspended = status == "suspended"
	return p, nil
}

// SetSuspended suspends or reinstates a partner (its numbers stop taking calls; its keys get 403).
func (s *Store) SetSuspended(ctx context.Context, id string, suspended bool) error {
	status := "active"
	if suspended {
		status = "suspended"
	}
	n, err := s.Exec(ctx, `UPDATE partners SET status = $2 WHERE id = $1`, id, status)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SettingsPatch changes some partner settings. A nil field is left alone; a non-nil pointer to the zero
// value clears it (for ExtractionSchema, a non-nil RawMessage "null" clears).
type SettingsPatch struct {
	WebhookURL       *string
	WebhookSecret    *string
	BillingEmail     *string
	ExtractionSchema json.RawMessage
}

// UpdateSettings applies a validated patch.
func (s *Store) UpdateSettings(ctx context.Context, partnerID string, p SettingsPatch) error {
	var schema any // nil: keep; "clear": set NULL
	setSchema := p.ExtractionSchema != nil
	if setSchema && string(p.ExtractionSchema) != "null" {
		schema = string(p.ExtractionSchema)
	}
	n, err := s.Exec(ctx, `UPDATE partners SET
		webhook_url       = CASE WHEN $2 THEN nullif($3, '') ELSE webhook_url END,
		webhook_secret    = CASE WHEN $4 THEN nullif($5, '') ELSE webhook_secret END,
		billing_email     = CASE WHEN $6 THEN nullif($7, '') ELSE billing_email END,
		extraction_schema = CASE WHEN $8 THEN $9::jsonb ELSE extraction_schema END
		WHERE id = $1`,
		partnerID, p.WebhookURL != nil, deref(p.WebhookURL), p.WebhookSecret != nil, deref(p.WebhookSecret),
		p.BillingEmail != nil, deref(p.BillingEmail), setSchema, schema)
	if err != nil {
		return fmt.Errorf("store: update settings: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// AdjustCredits adds delta (negative to spend) to a partner's balance and records it in the ledger, in
// this transaction. It returns the new balance, or ErrInsufficientFunds if it would go below zero.
func (t *Tx) AdjustCredits(ctx context.Context, partnerID string, delta int64, reason, reference string) (int64, error) {
	if delta == 0 {
		return 0, errors.New("store: credit adjustment of zero")
	}
	if reason == "" {
		return 0, errors.New("store: credit adjustment needs a reason")
	}
	var balance int64
	// The row lock taken by this UPDATE serialises concurrent adjustments of one partner, so the ledger's
	// balance_after values form a chain that always ends at partners.credits.
	err := t.tx.QueryRow(ctx, `UPDATE partners SET credits = credits + $2 WHERE id = $1 AND credits + $2 >= 0
		RETURNING credits`, partnerID, delta).Scan(&balance)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)`, partnerID).Scan(&exists); err != nil {
			return 0, err
		}
		if !exists {
			return 0, ErrNotFound
		}
		return 0, ErrInsufficientFunds
	}
	if err != nil {
		return 0, fmt.Errorf("store: adjust credits: %w", err)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO credit_ledger (partner_id, delta, balance_after, reason, reference)
		VALUES ($1, $2, $3, $4, nullif($5, ''))`, partnerID, delta, balance, reason, reference)
	if err != nil {
		return 0, fmt.Errorf("store: ledger: %w", err)
	}
	return balance, nil
}

// LedgerEntry is one row of the credit ledger.
type LedgerEntry struct {
	ID           int64
	Delta        int64
	BalanceAfter int64
	Reason       string
	Reference    string
	CreatedAt    time.Time
}

// Ledger lists a partner's credit changes, newest first (at most limit rows).
func (s *Store) Ledger(ctx context.Context, partnerID string, limit int) ([]LedgerEntry, error) {
	var out []LedgerEntry
	err := s.Query(ctx, `SELECT id, delta, balance_after, reason, coalesce(reference, ''), created_at
		FROM credit_ledger WHERE partner_id = $1 ORDER BY id DESC LIMIT $2`, []any{partnerID, limit}, func(r Row) error {
		var e LedgerEntry
		if err := r.Scan(&e.ID, &e.Delta, &e.BalanceAfter, &e.Reason, &e.Reference, &e.CreatedAt); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// AddKey gives a partner another API key (for rotation: add, switch, then RevokeKey the old one) and
// returns it in clear.
func (s *Store) AddKey(ctx context.Context, partnerID string) (string, error) {
	var key string
	err := s.WithTx(ctx, func(tx *Tx) error {
		var exists bool
		if err := tx.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)`, partnerID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		var err error
		key, err = tx.CreateKey(ctx, partnerID)
		return err
	})
	return key, err
}

// RevokeKey ends one of a partner's keys at once (every node sees it on the next request).
// ErrNotFound if the partner has no such active key.
func (s *Store) RevokeKey(ctx context.Context, partnerID, keyID string) error {
	n, err := s.Exec(ctx, `UPDATE partner_keys SET revoked_at = now() WHERE id = $1 AND partner_id = $2 AND revoked_at IS NULL`,
		keyID, partnerID)
	if err != nil {
		return fmt.Errorf("store: revoke key: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
