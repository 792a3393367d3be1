-- Reader credentials (docs/privacy.md, "Who sees what"): bearer tokens with a scope, stored only as a SHA-256
-- hash. A name may hold several tokens at once (rotation with overlap: the new one is valid before the old one
-- expires). Scopes: operator, gemeente:GM####, jeugdregio:<the jeugdregio dimension value>, instelling:<code>.

CREATE TABLE IF NOT EXISTS access_tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    scope      text NOT NULL CHECK (scope ~ '^(operator|gemeente:GM[0-9]{4}|jeugdregio:[A-Za-z0-9_-]{1,64}|instelling:([0-9]{8}|GM[0-9]{4}))$'),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS access_tokens_name ON access_tokens (name);
