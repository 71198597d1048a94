package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/faxseal/faxseal/jobs"
)

// WebhookLog is the webhook delivery log and its replay, for GET /webhooks/deliveries and POST
// /webhooks/deliveries/{eventId}/replay (beyond the seed: issue 6 asks for a readable delivery log and
// a replay). *jobs.Pipeline is one.
type WebhookLog interface {
	Deliveries(ctx context.Context, partnerID string, q jobs.DeliveryQuery) ([]jobs.DeliveryRecord, error)
	// Replay returns jobs.ErrEventNotFound for an event the partner does not have and
	// jobs.ErrEventPending for one whose delivery is still scheduled.
	Replay(ctx context.Context, partnerID, eventID string) error
}

// Ids are made by the server (evt_ + base32, faxes fax_...); anything else cannot match a row, so it is
// refused before the database sees it.
var idFormat = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// GET /webhooks/deliveries?subjectId=&limit=: the partner's events, newest first, each with its
// attempts (status code, latency, error).
func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request, partnerID string) error {
	if a.cfg.Webhooks == nil {
		return Errorf(http.StatusNotImplemented, CodeNotImplemented, "", "webhook delivery logs are not available on this server")
	}
	qv := r.URL.Query()
	q := jobs.DeliveryQuery{SubjectID: qv.Get("subjectId"), Limit: 50}
	if q.SubjectID != "" && !idFormat.MatchString(q.SubjectID) {
		return Errorf(http.StatusBadRequest, CodeInvalidParameter, "subjectId", "subjectId must be a fax id or a send job id")
	}
	if s := qv.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return Errorf(http.StatusBadRequest, CodeInvalidParameter, "limit", "limit must be a whole number from 1 to 200")
		}
		q.Limit = n
	}
	recs, err := a.cfg.Webhooks.Deliveries(r.Context(), partnerID, q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, struct {
		Deliveries []jobs.DeliveryRecord `json:"deliveries"`
	}{recs})
	return nil
}

// POST /webhooks/deliveries/{eventId}/replay: deliver a delivered or failed event again, under the
// same event id (receivers de-duplicate on it), with a fresh retry schedule.
func (a *API) replayDelivery(w http.ResponseWriter, r *http.Request, partnerID string) error {
	if a.cfg.Webhooks == nil {
		return Errorf(http.StatusNotImplemented, CodeNotImplemented, "", "webhook replay is not available on this server")
	}
	id := mux.Vars(r)["eventId"]
	if !idFormat.MatchString(id) {
		return Errorf(http.StatusNotFound, CodeEventNotFound, "eventId", "no webhook event %q", id)
	}
	err := a.cfg.Webhooks.Replay(r.Context(), partnerID, id)
	switch {
	case errors.Is(err, jobs.ErrEventNotFound):
		return Errorf(http.StatusNotFound, CodeEventNotFound, "eventId", "no webhook event %s for this partner", id)
	case errors.Is(err, jobs.ErrEventPending):
		return Errorf(http.StatusConflict, CodeEventPending, "eventId", "event %s is still being delivered; replay it once it is delivered or failed", id)
	case err != nil:
		return err
	}
	WriteJSON(w, http.StatusAccepted, struct {
		EventID string `json:"eventId"`
		Status  string `json:"status"`
	}{id, "pending"})
	return nil
}
