package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReceivedFax is what the gateway hands over when an inbound fax call ends with pages.
type ReceivedFax struct {
	// NumberID is the assignment the call was routed to (Route.NumberID from RouteNumber at INVITE time).
	// If empty, ToNumber's active assignment is used.
	NumberID   string
	FromNumber string // caller, as the trunk gave it (E.164 when known)
	ToNumber   string // the DID called, E.164
	Pages      int
	ReceivedAt time.Time
	PDF        []byte          // the received pages as PDF (required)
	TIFF       []byte          // the same pages as TIFF Class F (optional)
	T30        json.RawMessage // T.30 diagnostics of the call (negotiated parameters, frame trace summary); optional
	Partial    bool            // the call ended before the document did; the good pages are kept
}

// InboundFax is an inbox row.
type InboundFax struct {
	ID             string
	PartnerID      string
	NumberID       string
	ExternalUserID string
	FromNumber     string
	ToNumber       string
	Pages          int
	Partial        bool
	PDFFileID      string
	TIFFFileID     string
	T30            json.RawMessage
	OCRText        string
	OCRStatus      string // pending, done, failed
	ExtractedData  json.RawMessage
	ExtractStatus  string // pending, done, failed, disabled
	ReceivedAt     time.Time
	Purged         bool
}

// ReceivedFaxHook runs inside InsertReceivedFax's transaction, after the inbox row exists: the place to
// insert follow-up River jobs (OCR, webhooks) with tx.InsertJob so they exist iff the fax does.
type ReceivedFaxHook func(ctx context.Context, tx *Tx, fax InboundFax) error

// OnReceivedFax registers a hook. Register hooks while wiring, before the store is used.
func (s *Store) OnReceivedFax(h ReceivedFaxHook) { s.receivedHooks = append(s.receivedHooks, h) }

// InsertReceivedFax stores the fax's files and creates its inbox row, then runs the registered hooks,
// all in one transaction. It returns the new row. ErrNotFound if no number is assigned to ToNumber.
func (s *Store) InsertReceivedFax(ctx context.Context, f ReceivedFax) (InboundFax, error) {
	if len(f.PDF) == 0 {
		return InboundFax{}, errors.New("store: received fax without a PDF")
	}
	if f.Pages < 0 {
		return InboundFax{}, errors.New("store: negative page count")
	}
	if f.ReceivedAt.IsZero() {
		return InboundFax{}, errors.New("store: received fax without a time")
	}
	var fax InboundFax
	err := s.WithTx(ctx, func(tx *Tx) error {
		var err error
		fax, err = tx.InsertReceivedFax(ctx, f)
		if err != nil {
			return err
		}
		for _, h := range s.receivedHooks {
			if err := h(ctx, tx, fax); err != nil {
				return err
			}
		}
		return nil
	})
	return fax, err
}

// InsertReceivedFax is InsertReceivedFax inside a caller's transaction (hooks are not run).
func (t *Tx) InsertReceivedFax(ctx context.Context, f ReceivedFax) (InboundFax, error) {
	var route Route
	q := `SELECT n.id, n.partner_id, n.external_user_id, n.number FROM numbers n WHERE `
	var err error
	if f.NumberID != "" {
		err = notFoundRow{t.tx.QueryRow(ctx, q+`n.id = $1`, f.NumberID)}.
			Scan(&route.NumberID, &route.PartnerID, &route.ExternalUserID, &route.Number)
	} else {
		err = notFoundRow{t.tx.QueryRow(ctx, q+`n.number = $1 AND n.released_at IS NULL`, f.ToNumber)}.
			Scan(&route.NumberID, &route.PartnerID, &route.ExternalUserID, &route.Number)
	}
	if err != nil {
		return InboundFax{}, fmt.Errorf("store: route received fax to %s: %w", f.ToNumber, err)
	}
	fax := InboundFax{
		ID: newID("fax"), PartnerID: route.PartnerID, NumberID: route.NumberID, ExternalUserID: route.ExternalUserID,
		FromNumber: f.FromNumber, ToNumber: route.Number, Pages: f.Pages, Partial: f.Partial, T30: f.T30,
		OCRStatus: "pending", ExtractStatus: "pending", ReceivedAt: f.ReceivedAt.UTC(),
	}
	if fax.PDFFileID, err = t.InsertFile(ctx, route.PartnerID, "application/pdf", f.PDF); err != nil {
		return InboundFax{}, err
	}
	if len(f.TIFF) > 0 {
		if fax.TIFFFileID, err = t.InsertFile(ctx, route.PartnerID, "image/tiff", f.TIFF); err != nil {
			return InboundFax{}, err
		}
	}
	var t30 any
	if len(f.T30) > 0 {
		t30 = string(f.T30)
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO inbound_faxes (id, partner_id, number_id, external_user_id, from_number,
		to_number, pages, partial, pdf_file_id, tiff_file_id, t30, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''), $11::jsonb, $12)`,
		fax.ID, fax.PartnerID, fax.NumberID, fax.ExternalUserID, fax.FromNumber, fax.ToNumber, fax.Pages,
		fax.Partial, fax.PDFFileID, fax.TIFFFileID, t30, fax.ReceivedAt)
	if err != nil {
		return InboundFax{}, fmt.Errorf("store: insert received fax: %w", err)
	}
	return fax, nil
}

// InsertFile stores a document and returns its id.
func (t *Tx) InsertFile(ctx context.Context, partnerID, contentType string, data []byte) (string, error) {
	id := newID("file")
	sum := sha256.Sum256(data)
	_, err := t.tx.Exec(ctx, `INSERT INTO files (id, partner_id, content_type, size, sha256, data)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, partnerID, contentType, len(data), sum[:], data)
	if err != nil {
		return "", fmt.Errorf("store: insert file: %w", err)
	}
	return id, nil
}

// File is a stored document.
type File struct {
	ID          string
	PartnerID   string
	ContentType string
	Size        int64
	SHA256      []byte
	Data        []byte // nil once purged
	CreatedAt   time.Time
	Purged      bool
}

// File returns a stored document with its bytes. ErrNotFound if there is none.
func (s *Store) File(ctx context.Context, id string) (File, error) {
	var f File
	var purged *time.Time
	err := s.QueryRow(ctx, `SELECT id, partner_id, content_type, size, sha256, data, created_at, purged_at
		FROM files WHERE id = $1`, id).Scan(&f.ID, &f.PartnerID, &f.ContentType, &f.Size, &f.SHA256, &f.Data, &f.CreatedAt, &purged)
	f.Purged = purged != nil
	return f, err
}

// InboxQuery selects a page of a user's inbox.
type InboxQuery struct {
	ExternalUserID string
	Q              string // web-search syntax (websearch_to_tsquery): words, "phrases", -exclusions, or
	From           string // sender, E.164
	Page           int    // 1-based
	PageSize       int
}

// InboxPage is one page of results and the total across pages.
type InboxPage struct {
	Faxes []InboundFax
	Total int
}

// Inbox lists a user's received faxes, newest first. q matches the OCR text with PostgreSQL full-text
// search (English stemming), served by the GIN index on inbound_faxes.ocr_tsv.
func (s *Store) Inbox(ctx context.Context, partnerID string, q InboxQuery) (InboxPage, error) {
	if q.Page < 1 || q.PageSize < 1 {
		return InboxPage{}, errors.New("store: page and page size must be positive")
	}
	where := []string{"partner_id = $1", "external_user_id = $2"}
	args := []any{partnerID, q.ExternalUserID}
	if strings.TrimSpace(q.Q) != "" {
		args = append(args, q.Q)
		// A query of stop words only ("the") has no lexemes: ignore it rather than match nothing.
		where = append(where, fmt.Sprintf("(numnode(websearch_to_tsquery('english', $%[1]d)) = 0 OR ocr_tsv @@ websearch_to_tsquery('english', $%[1]d))", len(args)))
	}
	if q.From != "" {
		args = append(args, q.From)
		where = append(where, fmt.Sprintf("from_number = $%d", len(args)))
	}
	cond := strings.Join(where, " AND ")
	var page InboxPage
	if err := s.QueryRow(ctx, `SELECT count(*) FROM inbound_faxes WHERE `+cond, args...).Scan(&page.Total); err != nil {
		return InboxPage{}, fmt.Errorf("store: inbox count: %w", err)
	}
	args = append(args, q.PageSize, (q.Page-1)*q.PageSize)
	err := s.Query(ctx, inboundSelect+` WHERE `+cond+fmt.Sprintf(` ORDER BY received_at DESC, id DESC LIMIT $%d OFFSET $%d`,
		len(args)-1, len(args)), args, func(r Row) error {
		f, err := scanInbound(r)
		if err != nil {
			return err
		}
		page.Faxes = append(page.Faxes, f)
		return nil
	})
	if err != nil {
		return InboxPage{}, fmt.Errorf("store: inbox: %w", err)
	}
	return page, nil
}

// InboundFax returns one received fax of a partner. ErrNotFound if it is not the partner's.
func (s *Store) InboundFax(ctx context.Context, partnerID, id string) (InboundFax, error) {
	return scanInbound(s.QueryRow(ctx, inboundSelect+` WHERE partner_id = $1 AND id = $2`, partnerID, id))
}

const inboundSelect = `SELECT id, partner_id, coalesce(number_id, ''), external_user_id, from_number, to_number, pages,
	partial, coalesce(pdf_file_id, ''), coalesce(tiff_file_id, ''), t30, coalesce(ocr_text, ''), ocr_status,
	extracted_data, extract_status, received_at, purged_at IS NOT NULL FROM inbound_faxes`

func scanInbound(r Row) (InboundFax, error) {
	var f InboundFax
	var t30, extracted []byte
	err := r.Scan(&f.ID, &f.PartnerID, &f.NumberID, &f.ExternalUserID, &f.FromNumber, &f.ToNumber, &f.Pages,
		&f.Partial, &f.PDFFileID, &f.TIFFFileID, &t30, &f.OCRText, &f.OCRStatus, &extracted, &f.ExtractStatus,
		&f.ReceivedAt, &f.Purged)
	if t30 != nil {
		f.T30 = t30
	}
	if extracted != nil {
		f.ExtractedData = extracted
	}
	f.ReceivedAt = f.ReceivedAt.UTC()
	return f, err
}

// UsageQuery selects a usage report: [From, To] inclusive, optionally for one user.
type UsageQuery struct {
	ExternalUserID string // "" for the whole partner account
	From, To       time.Time
}

// Usage is the activity in a period.
type Usage struct {
	Credits  int64
	Outbound struct {
		Total, Delivered, Failed, Queued, Sending int
		CreditsUsed                               int64
	}
	Inbound struct {
		Total, Pages int
	}
}

// Usage counts outbound faxes (by creation time) and inbound faxes (by reception time) in the period.
func (s *Store) Usage(ctx context.Context, partnerID string, q UsageQuery) (Usage, error) {
	var u Usage
	err := s.QueryRow(ctx, `SELECT p.credits,
		o.total, o.delivered, o.failed, o.queued, o.sending, o.credits_used, i.total, i.pages
		FROM partners p,
		LATERAL (SELECT count(*), count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed'),
		                count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'sending'),
		                coalesce(sum(credits_used), 0)
		         FROM outbound_faxes WHERE partner_id = p.id AND ($2 = '' OR external_user_id = $2)
		           AND created_at BETWEEN $3 AND $4) AS o (total, delivered, failed, queued, sending, credits_used),
		LATERAL (SELECT count(*), coalesce(sum(pages), 0)
		         FROM inbound_faxes WHERE partner_id = p.id AND ($2 = '' OR external_user_id = $2)
		           AND received_at BETWEEN $3 AND $4) AS i (total, pages)
		WHERE p.id = $1`, partnerID, q.ExternalUserID, q.From, q.To).
		Scan(&u.Credits, &u.Outbound.Total, &u.Outbound.Delivered, &u.Outbound.Failed, &u.Outbound.Queued,
			&u.Outbound.Sending, &u.Outbound.CreditsUsed, &u.Inbound.Total, &u.Inbound.Pages)
	if err != nil {
		return Usage{}, fmt.Errorf("store: usage: %w", err)
	}
	return u, nil
}
