package api

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faxseal/faxseal/extract"
	"github.com/faxseal/faxseal/store"
)

var areaCodeFormat = regexp.MustCompile(`^[2-9][0-9]{2}$`)

// POST /numbers: provision a number for a user.
func (a *API) provisionNumber(w http.ResponseWriter, r *http.Request, partnerID string) error {
	var req struct {
		ExternalUserID string `json:"externalUserId"`
		AreaCode       string `json:"areaCode"`
		Tier           string `json:"tier"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := checkExternalUserID(req.ExternalUserID, "externalUserId"); err != nil {
		return err
	}
	if req.AreaCode == "" {
		return Errorf(http.StatusBadRequest, CodeMissingParameter, "areaCode", "areaCode is required")
	}
	if !areaCodeFormat.MatchString(req.AreaCode) {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "areaCode", "areaCode must be a three-digit NANP area code such as \"415\"")
	}
	if _, ok := store.LookupAreaCode(req.AreaCode); !ok {
		return Errorf(http.StatusUnprocessableEntity, CodeUnknownAreaCode, "areaCode", "%s is not a US or Canadian geographic area code", req.AreaCode)
	}
	tier := store.TierPersonal
	if req.Tier != "" {
		tier = store.Tier(req.Tier)
		if !tier.Valid() {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "tier", "tier must be personal or business")
		}
	}
	n, err := a.store.Provision(r.Context(), partnerID, req.ExternalUserID, req.AreaCode, tier)
	switch {
	case errors.Is(err, store.ErrUserHasNumber):
		return Errorf(http.StatusConflict, CodeNumberExists, "externalUserId", "%s already has a number; release it first", req.ExternalUserID)
	case errors.Is(err, store.ErrNoNumberAvailable):
		return Errorf(http.StatusNotFound, CodeNoNumbersAvailable, "areaCode", "no %s number is free in area code %s; try another area code", tier, req.AreaCode)
	case err != nil:
		return err
	}
	p, err := a.store.Partner(r.Context(), partnerID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, struct {
		FaxNumber         string     `json:"faxNumber"`
		City              string     `json:"city"`
		State             string     `json:"state"`
		Tier              store.Tier `json:"tier"`
		WebhookConfigured bool       `json:"webhookConfigured"`
	}{n.Number, n.City, n.State, n.Tier, p.WebhookURL != ""})
	return nil
}

// GET /numbers?externalUserId=: the user's number, or active:false.
func (a *API) lookupNumber(w http.ResponseWriter, r *http.Request, partnerID string) error {
	user := r.URL.Query().Get("externalUserId")
	if err := checkExternalUserID(user, "externalUserId"); err != nil {
		return err
	}
	n, err := a.store.ActiveNumber(r.Context(), partnerID, user)
	if errors.Is(err, store.ErrNotFound) {
		WriteJSON(w, http.StatusOK, map[string]any{"active": false})
		return nil
	}
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, struct {
		Active    bool       `json:"active"`
		FaxNumber string     `json:"faxNumber"`
		Tier      store.Tier `json:"tier"`
	}{true, n.Number, n.Tier})
	return nil
}

// DELETE /numbers?externalUserId=: release the user's number.
func (a *API) releaseNumber(w http.ResponseWriter, r *http.Request, partnerID string) error {
	user := r.URL.Query().Get("externalUserId")
	if err := checkExternalUserID(user, "externalUserId"); err != nil {
		return err
	}
	err := a.store.Release(r.Context(), partnerID, user, a.cfg.NumberCoolOff)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusNotFound, CodeNumberNotFound, "externalUserId", "%s has no active number", user)
	}
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

// GET /settings.
func (a *API) getSettings(w http.ResponseWriter, r *http.Request, partnerID string) error {
	p, err := a.store.Partner(r.Context(), partnerID)
	if err != nil {
		return err
	}
	var schema any
	if p.ExtractionSchema != nil {
		schema = p.ExtractionSchema
	}
	var secret any
	if p.WebhookSecret != "" {
		secret = "***" // write-only: never echoed
	}
	WriteJSON(w, http.StatusOK, struct {
		Name             string `json:"name"`
		WebhookURL       any    `json:"webhookUrl"`
		WebhookSecret    any    `json:"webhookSecret"`
		BillingEmail     any    `json:"billingEmail"`
		ExtractionSchema any    `json:"extractionSchema"`
		CreatedAt        string `json:"createdAt"`
	}{p.Name, nullable(p.WebhookURL), secret, nullable(p.BillingEmail), schema, p.CreatedAt.UTC().Format(time.RFC3339)})
	return nil
}

// PATCH /settings: any of the four fields; null or "" clears one.
func (a *API) patchSettings(w http.ResponseWriter, r *http.Request, partnerID string) error {
	var req struct {
		WebhookURL       json.RawMessage `json:"webhookUrl"`
		WebhookSecret    json.RawMessage `json:"webhookSecret"`
		BillingEmail     json.RawMessage `json:"billingEmail"`
		ExtractionSchema json.RawMessage `json:"extractionSchema"`
	}
	if err := DecodeJSON(w, r, &req); err != nil {
		return err
	}
	var patch store.SettingsPatch
	if v, set, _, err := stringField(req.WebhookURL, "webhookUrl"); err != nil {
		return err
	} else if set {
		if v != "" {
			if err := a.checkWebhookURL(v); err != nil {
				return err
			}
		}
		patch.WebhookURL = &v
	}
	if v, set, _, err := stringField(req.WebhookSecret, "webhookSecret"); err != nil {
		return err
	} else if set {
		if v != "" && (len(v) < 8 || len(v) > 256) {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "webhookSecret", "webhookSecret must be 8 to 256 characters")
		}
		patch.WebhookSecret = &v
	}
	if v, set, _, err := stringField(req.BillingEmail, "billingEmail"); err != nil {
		return err
	} else if set {
		if v != "" {
			addr, err := mail.ParseAddress(v)
			if err != nil || addr.Address != v || len(v) > 254 || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
				return Errorf(http.StatusBadRequest, CodeInvalidParameter, "billingEmail", "billingEmail must be an email address such as billing@example.com")
			}
		}
		patch.BillingEmail = &v
	}
	if req.ExtractionSchema != nil {
		if string(req.ExtractionSchema) != "null" {
			if err := checkSchema(req.ExtractionSchema); err != nil {
				return err
			}
			patch.ExtractionSchema = req.ExtractionSchema
		} else {
			patch.ExtractionSchema = json.RawMessage("null")
		}
	}
	if err := a.store.UpdateSettings(r.Context(), partnerID, patch); err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	return nil
}

func (a *API) checkWebhookURL(v string) error {
	u, err := url.Parse(v)
	bad := func(why string) error {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "webhookUrl", "webhookUrl %s", why)
	}
	if len(v) > 2048 {
		return bad("must be at most 2048 characters")
	}
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return bad("must be an absolute URL such as https://example.com/webhook")
	}
	if u.User != nil {
		return bad("must not carry credentials; sign with webhookSecret instead")
	}
	if u.Fragment != "" {
		return bad("must not have a #fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !a.cfg.AllowHTTPWebhooks {
			return bad("must use https")
		}
	default:
		return bad("must use https")
	}
	return nil
}

// checkSchema validates an extractionSchema with the extraction package's own rules, so what settings
// accept is exactly what extraction can run.
func checkSchema(raw json.RawMessage) error {
	if len(raw) == 0 || raw[0] != '{' {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "extractionSchema", "extractionSchema must be an object with type and fields")
	}
	s, err := extract.ParseSchema(raw)
	if err == nil && strings.TrimSpace(s.Type) == "" {
		err = errors.New("type is required")
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), extract.ErrSchema.Error()+": ")
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "extractionSchema",
			"extractionSchema: %s (want {\"type\": \"...\", \"fields\": [{\"name\": \"...\", \"type\": \"string|number|boolean|array|object|date\"}]})", msg)
	}
	return nil
}

type bundle struct {
	ID          string `json:"id"`
	Label       string `json:"label"`
	AmountCents int    `json:"amountCents"`
	Credits     int    `json:"credits"`
	Popular     bool   `json:"popular,omitempty"`
}

// The credit bundles of the seed, in this order.
var bundles = []bundle{
	{ID: "partner_100", Label: "100 credits", AmountCents: 3900, Credits: 100},
	{ID: "partner_500", Label: "500 credits", AmountCents: 14900, Credits: 500, Popular: true},
	{ID: "partner_2000", Label: "2,000 credits", AmountCents: 49900, Credits: 2000},
}

// GET /credits.
func (a *API) getCredits(w http.ResponseWriter, r *http.Request, partnerID string) error {
	p, err := a.store.Partner(r.Context(), partnerID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, struct {
		Credits int64    `json:"credits"`
		Bundles []bundle `json:"bundles"`
	}{p.Credits, bundles})
	return nil
}

// POST /credits: Stripe Checkout arrives with the billing work; until then a clear 501.
func (a *API) createCheckout(w http.ResponseWriter, r *http.Request, partnerID string) error {
	return Errorf(http.StatusNotImplemented, CodeNotImplemented, "",
		"buying credits through Stripe Checkout is not available on this server yet")
}

// GET /inbox?externalUserId=&page=&q=&from=.
func (a *API) listInbox(w http.ResponseWriter, r *http.Request, partnerID string) error {
	qv := r.URL.Query()
	user := qv.Get("externalUserId")
	if err := checkExternalUserID(user, "externalUserId"); err != nil {
		return err
	}
	page := 1
	if s := qv.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "page", "page must be a whole number from 1")
		}
		page = n
	}
	q := qv.Get("q")
	if len(q) > 500 {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "q", "q must be at most 500 characters")
	}
	from := qv.Get("from")
	if from != "" {
		e, ok := store.NormalizeNumber(from)
		if !ok {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "from", "from must be a phone number in E.164 form, such as +15125551234")
		}
		from = e
	}
	res, err := a.store.Inbox(r.Context(), partnerID, store.InboxQuery{
		ExternalUserID: user, Q: q, From: from, Page: page, PageSize: a.cfg.InboxPageSize,
	})
	if err != nil {
		return err
	}
	type inboxFax struct {
		ID             string `json:"id"`
		ExternalUserID string `json:"externalUserId"`
		FromNumber     string `json:"fromNumber"`
		ToNumber       string `json:"toNumber"`
		Pages          int    `json:"pages"`
		OCRText        any    `json:"ocrText"`
		OCRStatus      string `json:"ocrStatus"`
		ExtractedData  any    `json:"extractedData"`
		ExtractStatus  string `json:"extractStatus"`
		FileURL        any    `json:"fileUrl"`
		ReceivedAt     string `json:"receivedAt"`
	}
	faxes := make([]inboxFax, 0, len(res.Faxes))
	for _, f := range res.Faxes {
		var fileURL any
		if a.cfg.FileURL != nil && !f.Purged {
			fileURL = a.cfg.FileURL(f)
		}
		var extracted any
		if f.ExtractedData != nil {
			extracted = f.ExtractedData
		}
		faxes = append(faxes, inboxFax{f.ID, f.ExternalUserID, f.FromNumber, f.ToNumber, f.Pages, nullable(f.OCRText),
			f.OCRStatus, extracted, f.ExtractStatus, fileURL, f.ReceivedAt.Format(time.RFC3339)})
	}
	WriteJSON(w, http.StatusOK, struct {
		Faxes []inboxFax `json:"faxes"`
		Total int        `json:"total"`
		Page  int        `json:"page"`
		Pages int        `json:"pages"`
	}{faxes, res.Total, page, int(math.Ceil(float64(res.Total) / float64(a.cfg.InboxPageSize)))})
	return nil
}

// GET /usage?externalUserId=&from=&to=: defaults to the current calendar month (UTC).
func (a *API) getUsage(w http.ResponseWriter, r *http.Request, partnerID string) error {
	qv := r.URL.Query()
	user := qv.Get("externalUserId")
	if user != "" {
		if err := checkExternalUserID(user, "externalUserId"); err != nil {
			return err
		}
	}
	from, to, err := usagePeriod(qv.Get("from"), qv.Get("to"), time.Now())
	if err != nil {
		return err
	}
	u, err := a.store.Usage(r.Context(), partnerID, store.UsageQuery{ExternalUserID: user, From: from, To: to})
	if err != nil {
		return err
	}
	const ms = "2006-01-02T15:04:05.000Z07:00"
	type outbound struct {
		Total       int   `json:"total"`
		Delivered   int   `json:"delivered"`
		Failed      int   `json:"failed"`
		Queued      int   `json:"queued"`
		Sending     int   `json:"sending"`
		CreditsUsed int64 `json:"creditsUsed"`
	}
	type inbound struct {
		Total int `json:"total"`
		Pages int `json:"pages"`
	}
	type credits struct {
		Remaining int64 `json:"remaining"`
	}
	WriteJSON(w, http.StatusOK, struct {
		From           string   `json:"from"`
		To             string   `json:"to"`
		ExternalUserID any      `json:"externalUserId"`
		Credits        credits  `json:"credits"`
		Outbound       outbound `json:"outbound"`
		Inbound        inbound  `json:"inbound"`
	}{from.Format(ms), to.Format(ms), nullable(user), credits{u.Credits},
		outbound{u.Outbound.Total, u.Outbound.Delivered, u.Outbound.Failed, u.Outbound.Queued, u.Outbound.Sending, u.Outbound.CreditsUsed},
		inbound{u.Inbound.Total, u.Inbound.Pages}})
	return nil
}

// usagePeriod resolves from/to (YYYY-MM-DD or RFC 3339; a date "to" means the end of that day). With
// neither, the current month; with only from, to the end of from's month; with only to, from the start
// of to's month. Bounds are inclusive, to the millisecond, as the seed's example shows.
func usagePeriod(fromS, toS string, now time.Time) (time.Time, time.Time, error) {
	parse := func(s, name string, end bool) (time.Time, error) {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			if end {
				t = t.AddDate(0, 0, 1).Add(-time.Millisecond)
			}
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, Errorf(http.StatusBadRequest, CodeInvalidParameter, name, "%s must be a date (2026-04-01) or an RFC 3339 time", name)
	}
	monthOf := func(t time.Time) (time.Time, time.Time) {
		start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0).Add(-time.Millisecond)
	}
	var from, to time.Time
	var err error
	switch {
	case fromS == "" && toS == "":
		from, to = monthOf(now.UTC())
	case toS == "":
		if from, err = parse(fromS, "from", false); err != nil {
			return from, to, err
		}
		_, to = monthOf(from)
	case fromS == "":
		if to, err = parse(toS, "to", true); err != nil {
			return from, to, err
		}
		from, _ = monthOf(to)
	default:
		if from, err = parse(fromS, "from", false); err != nil {
			return from, to, err
		}
		if to, err = parse(toS, "to", true); err != nil {
			return from, to, err
		}
	}
	if to.Before(from) {
		return from, to, Errorf(http.StatusBadRequest, CodeInvalidParameter, "to", "to must not be before from")
	}
	if to.Sub(from) > 366*24*time.Hour+time.Second {
		return from, to, Errorf(http.StatusBadRequest, CodeInvalidParameter, "to", "the period must be at most a year")
	}
	return from, to, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
