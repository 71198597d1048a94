-- Webhook events and their delivery log (issue 6): package jobs' own migration set, registered with
-- store.RegisterMigrations and applied after the foundation's (version table jobs_goose_db_version).

-- +goose Up
-- One row per event per endpoint, written in the same transaction as the state change it reports.
CREATE TABLE webhook_events (
    id              text PRIMARY KEY,            -- evt_..., sent as X-Faxseal-Event-Id on every attempt
    partner_id      text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    event           text NOT NULL CHECK (event IN ('fax.received', 'fax.extracted', 'fax.sending', 'fax.delivered', 'fax.failed')),
    subject_id      text NOT NULL,               -- the inbound fax id or the outbound job id
    url             text NOT NULL,               -- partner webhookUrl or the fax's callbackUrl, at creation
    secret          text NOT NULL,               -- the signing secret at creation (rotation applies to later events)
    body            text NOT NULL,               -- the exact JSON that is signed and sent on every attempt
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,                 -- when the next retry is due while pending
    delivered_at    timestamptz
);
CREATE INDEX webhook_events_partner ON webhook_events (partner_id, created_at DESC, id DESC);
CREATE INDEX webhook_events_subject ON webhook_events (subject_id);

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    event_id     text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    number       integer NOT NULL CHECK (number >= 1),
    attempted_at timestamptz NOT NULL,
    status_code  integer,                        -- NULL when no response arrived
    latency_ms   integer NOT NULL,
    error        text,                           -- NULL when delivered
    response     text,                           -- the start of the response body
    PRIMARY KEY (event_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_events;
