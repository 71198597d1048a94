-- The foundation schema: partners and their keys, the DID inventory and number assignments, the credit
-- ledger, billable items, stored files, inbound and outbound faxes.
--
-- IDs are prefixed random strings made in Go (ptn_, key_, num_, fax_, file_) so they are opaque and
-- type-evident in logs and API responses.

-- +goose Up
CREATE TABLE partners (
    id                text PRIMARY KEY,
    name              text NOT NULL CHECK (name <> ''),
    billing_email     text,
    webhook_url       text,
    webhook_secret    text,
    extraction_schema jsonb,
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- credits is kept in step with credit_ledger in the same transaction (store.Tx.AdjustCredits);
    -- the CHECK makes an overdraft impossible even for a buggy caller.
    credits           bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE partner_keys (
    id           text PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    hash         bytea NOT NULL UNIQUE,       -- SHA-256 of the key: what requests are looked up by
    sealed       bytea NOT NULL,              -- AES-256-GCM nonce||ciphertext, so the portal can reveal it
    hint         text NOT NULL,               -- the last 4 characters, for display
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    -- GCRA rate-limit state: the theoretical arrival time of the next request, and whether the last
    -- request was allowed (set by the same UPDATE, see store.Authenticate).
    rl_tat       timestamptz NOT NULL DEFAULT '-infinity',
    rl_allowed   boolean NOT NULL DEFAULT true
);
CREATE INDEX partner_keys_partner ON partner_keys (partner_id);

CREATE TABLE credit_ledger (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id    text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    delta         bigint NOT NULL CHECK (delta <> 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    reason        text NOT NULL CHECK (reason <> ''),
    reference     text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_ledger_partner ON credit_ledger (partner_id, id);

-- The DID inventory: numbers our trunks deliver, free until assigned.
CREATE TABLE dids (
    number          text PRIMARY KEY CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    trunk           text NOT NULL CHECK (trunk <> ''),
    tier            text NOT NULL DEFAULT 'any' CHECK (tier IN ('any', 'personal', 'business')),
    area_code       text,             -- NANP NPA; NULL outside +1
    city            text,
    state           text,
    -- after a release the DID rests until this time before anyone else gets it (cool-off)
    available_after timestamptz NOT NULL DEFAULT '-infinity',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dids_area_code ON dids (area_code, available_after);

-- A DID assigned to one partner's user; released rows stay as history.
CREATE TABLE numbers (
    id               text PRIMARY KEY,
    partner_id       text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    external_user_id text NOT NULL CHECK (external_user_id <> ''),
    number           text NOT NULL REFERENCES dids (number),
    tier             text NOT NULL CHECK (tier IN ('personal', 'business')),
    provisioned_at   timestamptz NOT NULL DEFAULT now(),
    released_at      timestamptz
);
-- One active number per user, and one active user per DID: these make provisioning race-free across
-- nodes without locks held across requests.
CREATE UNIQUE INDEX numbers_active_user ON numbers (partner_id, external_user_id) WHERE released_at IS NULL;
CREATE UNIQUE INDEX numbers_active_did ON numbers (number) WHERE released_at IS NULL;

-- Charges that accrue (monthly number fees); charging them is the billing issue's work.
CREATE TABLE billable_items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('number_monthly')),
    number_id    text REFERENCES numbers (id),
    period       date NOT NULL,       -- first day of the month billed
    amount_cents integer NOT NULL CHECK (amount_cents >= 0),
    description  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    charged_at   timestamptz,
    UNIQUE (kind, number_id, period)
);
CREATE INDEX billable_items_partner ON billable_items (partner_id, period);

-- Fax documents (PDF, TIFF) live in the database by default so every node sees them.
CREATE TABLE files (
    id           text PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       bytea NOT NULL,
    data         bytea,               -- NULL once purged
    created_at   timestamptz NOT NULL DEFAULT now(),
    purged_at    timestamptz
);

CREATE TABLE inbound_faxes (
    id               text PRIMARY KEY,
    partner_id       text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    number_id        text REFERENCES numbers (id),
    external_user_id text NOT NULL,
    from_number      text NOT NULL,
    to_number        text NOT NULL,
    pages            integer NOT NULL CHECK (pages >= 0),
    partial          boolean NOT NULL DEFAULT false,
    pdf_file_id      text REFERENCES files (id),
    tiff_file_id     text REFERENCES files (id),
    t30              jsonb,             -- T.30 diagnostics of the call
    ocr_text         text,
    ocr_status       text NOT NULL DEFAULT 'pending' CHECK (ocr_status IN ('pending', 'done', 'failed')),
    extracted_data   jsonb,
    extract_status   text NOT NULL DEFAULT 'pending'
                     CHECK (extract_status IN ('pending', 'done', 'failed', 'disabled')),
    ocr_tsv          tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(ocr_text, ''))) STORED,
    received_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    purged_at        timestamptz
);
CREATE INDEX inbound_faxes_user ON inbound_faxes (partner_id, external_user_id, received_at DESC);
CREATE INDEX inbound_faxes_partner_time ON inbound_faxes (partner_id, received_at);
CREATE INDEX inbound_faxes_ocr ON inbound_faxes USING gin (ocr_tsv);

-- Outbound faxes (the send issue fills this table; usage counts from it now).
CREATE TABLE outbound_faxes (
    id               text PRIMARY KEY,
    partner_id       text NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    external_user_id text NOT NULL,
    from_number      text NOT NULL,
    to_number        text NOT NULL,
    pages            integer NOT NULL CHECK (pages >= 0),
    credits_used     bigint NOT NULL DEFAULT 0 CHECK (credits_used >= 0),
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
    failure_reason   text CHECK (failure_reason IN ('busy', 'no-answer', 'failed', 'canceled')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_faxes_partner_time ON outbound_faxes (partner_id, created_at);
CREATE INDEX outbound_faxes_user_time ON outbound_faxes (partner_id, external_user_id, created_at);

-- +goose Down
DROP TABLE outbound_faxes;
DROP TABLE inbound_faxes;
DROP TABLE files;
DROP TABLE billable_items;
DROP TABLE numbers;
DROP TABLE dids;
DROP TABLE credit_ledger;
DROP TABLE partner_keys;
DROP TABLE partners;
