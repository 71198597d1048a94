-- Insertion order of webhook events, so that a fax's events reach the partner in the order they were
-- recorded (fax.received before fax.extracted, fax.sending before fax.delivered/fax.failed):
-- created_at ties within one transaction, and the ids are random.

-- +goose Up
ALTER TABLE webhook_events ADD COLUMN seq bigserial;
CREATE INDEX webhook_events_subject_seq ON webhook_events (subject_id, seq) WHERE status = 'pending';

-- +goose Down
DROP INDEX webhook_events_subject_seq;
ALTER TABLE webhook_events DROP COLUMN seq;
