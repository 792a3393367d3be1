-- Sender tokens with expiry and rotation (docs/privacy.md): a sender may hold several valid tokens at once (the new
-- one before the old one expires). Only SHA-256 hashes are stored. intake.senders.token_hash keeps the newest
-- token's hash (as before); authentication reads this table.

CREATE TABLE IF NOT EXISTS intake.sender_tokens (
    token_hash text PRIMARY KEY,
    code       text NOT NULL REFERENCES intake.senders (code),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS sender_tokens_code ON intake.sender_tokens (code);

INSERT INTO intake.sender_tokens (token_hash, code, created_at, revoked_at)
SELECT token_hash, code, created_at, revoked_at FROM intake.senders
ON CONFLICT (token_hash) DO NOTHING;
