-- The outbound send pipeline (issue 7): package jobs/send's own migration set, registered with
-- store.RegisterMigrations and applied after the foundation's and jobs' (version table
-- send_goose_db_version).
--
-- The partner-visible state of a fax (status, pages, creditsUsed, failureReason) stays in the
-- foundation's outbound_faxes, which store.Usage counts; these tables hold what only the pipeline needs.

-- +goose Up
CREATE TABLE send_faxes (
    fax_id          text PRIMARY KEY REFERENCES outbound_faxes (id) ON DELETE CASCADE,
    partner_id      text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    number_id       text NOT NULL REFERENCES numbers (id),
    trunk           text NOT NULL,
    file_id         text NOT NULL REFERENCES files (id),
    callback_url    text,
    callback_secret text,
    rate            bigint NOT NULL CHECK (rate >= 0),     -- credits per page (the zone rate), for the record
    held            bigint NOT NULL CHECK (held >= 0),     -- credits taken from the balance at submit
    -- pages the receiver confirmed (MCF), counted from the first page: written as each confirmation
    -- arrives, so a crash mid-call loses none and the next attempt starts after them.
    confirmed       integer NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
    attempts        integer NOT NULL DEFAULT 0,
    -- queued: waiting for its first dial; dialing: a call is being placed; sending: T.30 is running;
    -- waiting: between attempts (redial back-off); done: settled.
    phase           text NOT NULL DEFAULT 'queued' CHECK (phase IN ('queued', 'dialing', 'sending', 'waiting', 'done')),
    cancel_requested boolean NOT NULL DEFAULT false,
    sending_sent    boolean NOT NULL DEFAULT false,         -- fax.sending has been queued (once per fax)
    next_attempt_at timestamptz,
    -- settlement: set once, in the transaction that charges and refunds (the idempotency key of settle)
    settled_at      timestamptz,
    charged         bigint,
    refunded        bigint
);
CREATE INDEX send_faxes_partner ON send_faxes (partner_id);

-- One row per dial attempt, with the T.30 diagnostics of the call.
CREATE TABLE send_attempts (
    fax_id       text NOT NULL REFERENCES send_faxes (fax_id) ON DELETE CASCADE,
    number       integer NOT NULL CHECK (number >= 1),
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,                    -- NULL while the call runs (or if the node died)
    first_page   integer NOT NULL,               -- 0-based index of the first page sent
    confirmed    integer NOT NULL DEFAULT 0,     -- pages confirmed in this call
    outcome      text CHECK (outcome IN ('delivered', 'busy', 'no-answer', 'failed', 'canceled', 'interrupted')),
    sip_status   integer,
    sip_phrase   text,
    transport    text,                           -- t38 or audio
    t30_code     text,
    t30_detail   text,
    modulation   text,
    bit_rate     integer,
    ecm          boolean,
    format       text,
    remote_ident text,
    error        text,
    PRIMARY KEY (fax_id, number)
);

-- Idempotency-Key: the first 202 of a key, for 24 h.
CREATE TABLE send_idempotency (
    partner_id  text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,                  -- SHA-256 of the request's fields and document
    fax_id      text NOT NULL,
    response    text NOT NULL,                   -- the exact JSON body of the 202
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, key)
);
CREATE INDEX send_idempotency_created ON send_idempotency (created_at);

-- Low-balance warnings for the billing email (seed: "A low-balance warning email is sent to your
-- billing address when credits drop below 10"); the billing issue sends them and sets sent_at.
CREATE TABLE low_balance_notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id    text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    balance       bigint NOT NULL,
    billing_email text,                          -- at the time; NULL when the partner has none
    reference     text,                          -- the fax whose hold crossed the threshold
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX low_balance_notifications_pending ON low_balance_notifications (created_at) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE low_balance_notifications;
DROP TABLE send_idempotency;
DROP TABLE send_attempts;
DROP TABLE send_faxes;
