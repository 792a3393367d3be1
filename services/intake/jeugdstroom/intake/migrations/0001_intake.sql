CREATE SCHEMA IF NOT EXISTS intake;

-- Registered senders (instellingen). Only a hash of the bearer token is stored.
CREATE TABLE IF NOT EXISTS intake.senders (
    code        text PRIMARY KEY,           -- AGB code or GM####
    name        text NOT NULL,
    token_hash  text NOT NULL UNIQUE,       -- sha256 hex of the token
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Idempotency record of every accepted event: (sender, id) is unique forever.
CREATE TABLE IF NOT EXISTS intake.accepted_events (
    sender       text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    content_hash text NOT NULL,             -- sha256 of the canonical published form (no BSN)
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, event_id)
);
