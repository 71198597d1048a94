package jobs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/faxseal/faxseal/store"
)

// Errors of FileLinks.Verify and Open.
var (
	ErrTokenInvalid = errors.New("jobs: invalid file token")
	ErrTokenExpired = errors.New("jobs: file token expired")
)

// FileLinks makes and checks the fileUrl of inbox faxes: /api/partner/inbox/{id}/file?token=... serves
// the PDF without the partner key, so the token must be unforgeable and bound to one fax and an
// expiry. A token is base64url(expiry as 8-byte big-endian unix seconds || the first 16 bytes of
// HMAC-SHA256(key, "faxseal-file-v1" 0 faxID 0 expiry)). 128 bits of MAC are beyond guessing, and
// the expiry in clear lets a link be refused as expired without a database read.
type FileLinks struct {
	Key     []byte        // at least 32 bytes; derive it from the server secret (see FileLinkKey)
	BaseURL string        // the public origin, e.g. https://fax.example.com
	TTL     time.Duration // how long a link works after reception; 0 means DefaultRetention
}

// FileLinkKey derives the file-link key from the server's secret key, so the secret that seals
// partner keys is never used directly as a MAC key.
func FileLinkKey(serverSecret []byte) []byte {
	m := hmac.New(sha256.New, serverSecret)
	m.Write([]byte("faxseal file links v1"))
	return m.Sum(nil)
}

const tokenMACLen = 16

func (l FileLinks) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultRetention
}

func (l FileLinks) mac(faxID string, expiry int64) []byte {
	m := hmac.New(sha256.New, l.Key)
	m.Write([]byte("faxseal-file-v1\x00"))
	m.Write([]byte(faxID))
	var e [9]byte
	binary.BigEndian.PutUint64(e[1:], uint64(expiry))
	m.Write(e[:])
	return m.Sum(nil)[:tokenMACLen]
}

// Token returns the token for faxID valid until expiry.
func (l FileLinks) Token(faxID string, expiry time.Time) string {
	b := make([]byte, 8, 8+tokenMACLen)
	binary.BigEndian.PutUint64(b, uint64(expiry.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, l.mac(faxID, expiry.Unix())...))
}

// URL is the fileUrl of a fax received at receivedAt: it works for TTL after reception, which is
// also when the retention job purges the file.
func (l FileLinks) URL(faxID string, receivedAt time.Time) string {
	return strings.TrimRight(l.BaseURL, "/") + "/api/partner/inbox/" + url.PathEscape(faxID) +
		"/file?token=" + l.Token(faxID, receivedAt.Add(l.ttl()))
}

// Verify checks token for faxID at now.
func (l FileLinks) Verify(faxID, token string, now time.Time) error {
	if len(l.Key) < 32 {
		return fmt.Errorf("jobs: file link key shorter than 32 bytes")
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 8+tokenMACLen {
		return ErrTokenInvalid
	}
	expiry := int64(binary.BigEndian.Uint64(b))
	if !hmac.Equal(b[8:], l.mac(faxID, expiry)) {
		return ErrTokenInvalid
	}
	if !now.Before(time.Unix(expiry, 0)) {
		return ErrTokenExpired
	}
	return nil
}

// Open checks the token and returns the fax's PDF. store.ErrNotFound when the fax does not exist or
// its file has been purged (the API answers 404 for both), ErrTokenInvalid or ErrTokenExpired for a
// bad link.
func (l FileLinks) Open(ctx context.Context, st *store.Store, faxID, token string, now time.Time) (store.File, error) {
	if err := l.Verify(faxID, token, now); err != nil {
		return store.File{}, err
	}
	var fileID string
	err := st.QueryRow(ctx, `SELECT coalesce(pdf_file_id, '') FROM inbound_faxes WHERE id = $1 AND purged_at IS NULL`,
		faxID).Scan(&fileID)
	if err != nil {
		return store.File{}, err
	}
	f, err := st.File(ctx, fileID)
	if err != nil {
		return store.File{}, err
	}
	if f.Purged || f.Data == nil {
		return store.File{}, store.ErrNotFound
	}
	return f, nil
}
