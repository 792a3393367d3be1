-- intake's statements, run by jeugdstroom.intake.repository (loaded by name with jeugdstroom.common.sql).

-- name: record_accepted
-- The idempotency records of a batch: returns the (sender, event_id) pairs that are new.
INSERT INTO intake.accepted_events (sender, event_id, type, content_hash, accepted_at)
SELECT s, i, t, h, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(s, i, t, h)
ON CONFLICT DO NOTHING
RETURNING sender, event_id;

-- name: accepted_hashes
SELECT sender, event_id, content_hash FROM intake.accepted_events
WHERE (sender, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: upsert_sender
INSERT INTO intake.senders (code, name, token_hash) VALUES ($1, $2, $3)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, token_hash = EXCLUDED.token_hash,
                                 created_at = now(), revoked_at = NULL;

-- name: rekey_sender
UPDATE intake.senders SET token_hash = $2 WHERE code = $1 AND revoked_at IS NULL;

-- name: revoke_sender
UPDATE intake.senders SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL;

-- name: revoke_tokens
UPDATE intake.sender_tokens SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL;

-- name: limit_tokens
-- The sender's unrevoked tokens expire after $2 at the latest (a rotation's overlap).
UPDATE intake.sender_tokens SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + $2::interval)
WHERE code = $1 AND revoked_at IS NULL;

-- name: add_token
INSERT INTO intake.sender_tokens (token_hash, code, expires_at) VALUES ($1, $2, now() + $3::interval);

-- name: sender_by_code
SELECT code, name FROM intake.senders WHERE code = $1 AND revoked_at IS NULL;

-- name: sender_by_token
SELECT s.code, s.name FROM intake.sender_tokens t JOIN intake.senders s USING (code)
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
  AND s.revoked_at IS NULL;

-- name: note_last_events
UPDATE intake.senders s SET last_event_at = GREATEST(s.last_event_at, u.at)
FROM unnest($1::text[], $2::timestamptz[]) AS u(code, at) WHERE s.code = u.code;

-- name: last_events
SELECT code, COALESCE(last_event_at, created_at) AS at FROM intake.senders WHERE revoked_at IS NULL;

-- name: ijw_lock_keys
-- One statement, the keys in sorted order (two messages never wait for each other crosswise).
SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k;

-- name: ijw_records
SELECT record_key, event_id, active, versions, einddatum FROM intake.ijw_records
WHERE sender = $1 AND record_key = ANY($2::text[]);

-- name: ijw_deliveries
SELECT record_key, status, record_hash, event_id, type, occurred_at, data FROM intake.ijw_deliveries
WHERE sender = $1 AND message_key = $2;

-- name: ijw_toewijzingen
SELECT t.nummer, t.categorie, t.code, a.aanmelding_id FROM intake.ijw_toewijzingen t
LEFT JOIN intake.ijw_aanvragen a ON a.agb = t.agb AND a.referentie = t.referentie
WHERE t.gemeente = $1 AND t.agb = $2 AND t.nummer = ANY($3::text[]);

-- name: ijw_save_record
INSERT INTO intake.ijw_records (sender, record_key, event_id, active, versions, einddatum)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (sender, record_key) DO UPDATE SET
    event_id = excluded.event_id, active = excluded.active, versions = excluded.versions,
    einddatum = excluded.einddatum, updated_at = now();

-- name: ijw_save_delivery
INSERT INTO intake.ijw_deliveries (sender, message_key, record_key, status, record_hash, event_id, type,
                                   occurred_at, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING;

-- name: ijw_save_aanvraag
INSERT INTO intake.ijw_aanvragen (agb, referentie, aanmelding_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING;

-- name: ijw_save_toewijzing
INSERT INTO intake.ijw_toewijzingen (gemeente, agb, nummer, referentie, categorie, code, decided_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (gemeente, agb, nummer) DO UPDATE SET
    referentie = coalesce(excluded.referentie, intake.ijw_toewijzingen.referentie),
    categorie = coalesce(excluded.categorie, intake.ijw_toewijzingen.categorie),
    code = CASE WHEN excluded.categorie IS NULL THEN intake.ijw_toewijzingen.code ELSE excluded.code END,
    decided_at = excluded.decided_at, updated_at = now()
WHERE excluded.decided_at >= intake.ijw_toewijzingen.decided_at;
