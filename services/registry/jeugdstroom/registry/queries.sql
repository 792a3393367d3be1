-- The registry's static statements, run by jeugdstroom.registry.repository (loaded by name with
-- jeugdstroom.common.sql). Statements built from the entity table (per-entity tables and columns) stay in Python.

-- name: lock
-- Transaction-scoped advisory locks, the keys in sorted order (deadlock-free among batches).
SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS u(k);

-- name: watermark
SELECT max_day FROM registry.watermark WHERE id = 1;

-- name: raise_watermark
UPDATE registry.watermark SET max_day = GREATEST(max_day, $1) WHERE id = 1 RETURNING max_day;

-- name: watermark_for_share
SELECT max_day FROM registry.watermark WHERE id = 1 FOR SHARE;

-- name: due_children
SELECT pseudonym FROM registry.children WHERE pending_birthday < $1;

-- name: related_children
-- (event uid, pseudonym) of every child an event concerns: the child of the original event, and the own and
-- replacement child of every correctie of it.
SELECT event_uid AS uid, pseudonym FROM registry.facts WHERE event_uid = ANY($1::text[])
UNION SELECT target_uid, pseudonym FROM registry.corrections WHERE target_uid = ANY($1::text[])
UNION SELECT target_uid, replacement_pseudonym FROM registry.corrections
      WHERE target_uid = ANY($1::text[]) AND replacement_pseudonym IS NOT NULL;

-- name: add_facts
-- $2: the events as one JSON array text; the other columns are read from each event.
INSERT INTO registry.facts (event_uid, pseudonym, type, occurred_at, event)
SELECT u, e->'child'->>'pseudonym', e->>'type', (e->>'occurred_at')::timestamptz, e
FROM ROWS FROM (unnest($1::text[]), jsonb_array_elements($2::text::jsonb)) AS x(u, e)
ON CONFLICT (event_uid) DO NOTHING
RETURNING event_uid;

-- name: add_corrections
INSERT INTO registry.corrections
    (event_uid, pseudonym, target_uid, action, occurred_at, replacement_pseudonym, event)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[])
ON CONFLICT (event_uid) DO NOTHING
RETURNING event_uid;

-- name: facts_of_children
SELECT event_uid, event FROM registry.facts WHERE pseudonym = ANY($1::text[]);

-- name: corrections_concerning
-- Every correctie of a target that a correctie of these children ($1) names or moves to them, or of their own
-- events ($2).
SELECT event_uid, event FROM registry.corrections WHERE target_uid IN (
    SELECT target_uid FROM unnest($1::text[]) AS k(p) JOIN registry.corrections c ON c.pseudonym = k.p
    UNION SELECT target_uid FROM unnest($1::text[]) AS k(p)
          JOIN registry.corrections c ON c.replacement_pseudonym = k.p
    UNION SELECT unnest($2::text[]));

-- name: facts_by_uid
SELECT event_uid, event FROM registry.facts WHERE event_uid = ANY($1::text[]);

-- name: children
SELECT c.pseudonym, c.birth_date, c.gemeente, c.pending_birthday, h.days, h.gemeenten
FROM registry.children c LEFT JOIN LATERAL (
    SELECT array_agg(g.valid_from ORDER BY g.valid_from) AS days,
           array_agg(g.gemeente ORDER BY g.valid_from) AS gemeenten
    FROM registry.child_gemeenten g WHERE g.pseudonym = c.pseudonym) h ON true
WHERE c.pseudonym = ANY($1::text[]);

-- name: open_findings_of_children
SELECT pseudonym, kind, subject, instelling, reason FROM unnest($1::text[]) AS k(p)
JOIN registry.findings f ON f.pseudonym = k.p WHERE resolved_at IS NULL;

-- name: open_findings
INSERT INTO registry.findings (pseudonym, kind, subject, instelling, reason)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (pseudonym, kind, subject) DO UPDATE
SET instelling = EXCLUDED.instelling, reason = EXCLUDED.reason, resolved_at = NULL,
    opened_at = CASE WHEN registry.findings.resolved_at IS NULL THEN registry.findings.opened_at ELSE now() END;

-- name: resolve_findings
UPDATE registry.findings t SET resolved_at = now()
FROM unnest($1::text[], $2::text[], $3::text[]) AS x(p, k, s)
WHERE t.pseudonym = x.p AND t.kind = x.k AND t.subject = x.s AND t.resolved_at IS NULL;

-- name: delete_children
WITH h AS (DELETE FROM registry.child_gemeenten WHERE pseudonym = ANY($1::text[]))
DELETE FROM registry.children WHERE pseudonym = ANY($1::text[]);

-- name: save_children
-- One statement (the children as one JSON array text): upsert each child, upsert its gemeente history and delete
-- the history rows it no longer has (the two touch disjoint rows). Unchanged rows are not rewritten.
WITH x AS (SELECT r->>0 AS p, (r->>1)::date AS b, r->>2 AS g, (r->>3)::date AS pb, r->4 AS h
           FROM jsonb_array_elements($1::text::jsonb) AS r),
     hist AS (SELECT x.p, (e->>0)::date AS d, e->>1 AS g FROM x, jsonb_array_elements(x.h) AS e),
     kids AS (INSERT INTO registry.children (pseudonym, birth_date, gemeente, pending_birthday)
              SELECT p, b, g, pb FROM x
              ON CONFLICT (pseudonym) DO UPDATE SET birth_date = EXCLUDED.birth_date,
                  gemeente = EXCLUDED.gemeente, pending_birthday = EXCLUDED.pending_birthday
              WHERE (registry.children.birth_date, registry.children.gemeente, registry.children.pending_birthday)
                    IS DISTINCT FROM (EXCLUDED.birth_date, EXCLUDED.gemeente, EXCLUDED.pending_birthday)),
     old AS (DELETE FROM registry.child_gemeenten t USING x WHERE t.pseudonym = x.p
             AND NOT EXISTS (SELECT FROM hist WHERE hist.p = t.pseudonym AND hist.d = t.valid_from))
INSERT INTO registry.child_gemeenten (pseudonym, valid_from, gemeente) SELECT p, d, g FROM hist
ON CONFLICT (pseudonym, valid_from) DO UPDATE SET gemeente = EXCLUDED.gemeente
WHERE registry.child_gemeenten.gemeente <> EXCLUDED.gemeente;

-- name: open_findings_by_kind
SELECT kind, count(*) AS n FROM registry.findings WHERE resolved_at IS NULL GROUP BY kind;

-- name: old_children
-- Children with no fact or correctie accepted since the cutoff $1 (retention.py), at most $2, locked.
SELECT c.pseudonym FROM registry.children c
WHERE NOT EXISTS (SELECT 1 FROM registry.facts f WHERE f.pseudonym = c.pseudonym
                  AND coalesce((f.event->>'accepted_at')::timestamptz, f.occurred_at) >= $1)
  AND NOT EXISTS (SELECT 1 FROM registry.corrections k
                  WHERE (k.pseudonym = c.pseudonym OR k.replacement_pseudonym = c.pseudonym)
                  AND coalesce((k.event->>'accepted_at')::timestamptz, k.occurred_at) >= $1)
LIMIT $2 FOR UPDATE SKIP LOCKED;

-- name: child_tables
-- Every registry table with a child (entities added by later migrations included), found in the catalogue.
SELECT table_name FROM information_schema.columns
WHERE table_schema = 'registry' AND column_name = 'pseudonym' AND table_name <> 'children'
ORDER BY table_name;

-- name: forget_children
DELETE FROM registry.children WHERE pseudonym = ANY($1::text[]);

-- name: all_children
SELECT pseudonym FROM registry.children ORDER BY 1;
