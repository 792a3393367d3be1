-- The monitor's static statements, run by jeugdstroom.monitor.repository (loaded by name with
-- jeugdstroom.common.sql). The period and dimension roll-ups are built in Python from the scope (period expression,
-- group-by dimensions, filters) and stay there.

-- name: apply_deltas
-- A batch's net deltas in one statement (one round trip): an upsert per table, each fed by ``unnest`` of one array
-- per column. Dimensions travel as JSON text (cast to jsonb here): asyncpg encodes a text array in C, but calls the
-- Python jsonb codec for every element of a jsonb array. Every "monitor." names an aggregate table: a rebuild runs
-- it with another schema in their place (repository._upsert_sql).
WITH counts AS (
    INSERT INTO monitor.counts (indicator, day, dims_key, dims, value)
    SELECT i, d, k, j::jsonb, v FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::bigint[]) AS u(i, d, k, j, v)
    ON CONFLICT (indicator, day, dims_key) DO UPDATE SET value = monitor.counts.value + EXCLUDED.value
), stocks AS (
    INSERT INTO monitor.stock_deltas (indicator, day, dims_key, dims, delta)
    SELECT i, d, k, j::jsonb, v FROM unnest($6::text[], $7::date[], $8::text[], $9::text[], $10::bigint[]) AS u(i, d, k, j, v)
    ON CONFLICT (indicator, day, dims_key) DO UPDATE SET delta = monitor.stock_deltas.delta + EXCLUDED.delta
), stock_months AS (
    INSERT INTO monitor.stock_month_deltas (indicator, month, dims_key, dims, delta)
    SELECT i, d, k, j::jsonb, v
    FROM unnest($11::text[], $12::date[], $13::text[], $14::text[], $15::bigint[]) AS u(i, d, k, j, v)
    ON CONFLICT (indicator, month, dims_key) DO UPDATE SET delta = monitor.stock_month_deltas.delta + EXCLUDED.delta
), members AS (
    INSERT INTO monitor.members (indicator, day, dims_key, dims, n, pseudonym)
    SELECT i, d, k, j::jsonb, v, p
    FROM unnest($16::text[], $17::date[], $18::text[], $19::text[], $20::bigint[], $21::text[]) AS u(i, d, k, j, v, p)
    ON CONFLICT (indicator, day, dims_key, pseudonym) DO UPDATE SET n = monitor.members.n + EXCLUDED.n
), durations AS (
    INSERT INTO monitor.durations (indicator, day, dims_key, dims, n, value)
    SELECT i, d, k, j::jsonb, v, x
    FROM unnest($22::text[], $23::date[], $24::text[], $25::text[], $26::bigint[], $27::bigint[]) AS u(i, d, k, j, v, x)
    ON CONFLICT (indicator, day, dims_key, value) DO UPDATE SET n = monitor.durations.n + EXCLUDED.n
), member_spans AS (
    INSERT INTO monitor.member_spans (indicator, day, dims_key, dims, n, pseudonym, end_day)
    SELECT i, d, k, j::jsonb, v, p, x
    FROM unnest($28::text[], $29::date[], $30::text[], $31::text[], $32::bigint[], $33::text[], $34::bigint[])
        AS u(i, d, k, j, v, p, x)
    ON CONFLICT (indicator, day, dims_key, pseudonym, end_day)
        DO UPDATE SET n = monitor.member_spans.n + EXCLUDED.n
)
SELECT 1;

-- name: latest_day
SELECT max(day) FROM monitor.counts WHERE day <= $1 AND value <> 0;

-- name: first_day
SELECT min(day) FROM monitor.counts WHERE day <= $1 AND value <> 0;

-- name: record_activity
-- Fold a batch's activity of one instelling into its row (the merge rule of completeness.merge).
INSERT INTO monitor.instelling_activity AS a (instelling, first_at, last_at, first_day, last_day, active_days)
VALUES ($1, $2, $3, $4, $5, cardinality($6::date[]))
ON CONFLICT (instelling) DO UPDATE SET
    first_at = LEAST(a.first_at, EXCLUDED.first_at), last_at = GREATEST(a.last_at, EXCLUDED.last_at),
    first_day = LEAST(a.first_day, EXCLUDED.first_day), last_day = GREATEST(a.last_day, EXCLUDED.last_day),
    active_days = a.active_days + (SELECT count(*) FROM unnest($6::date[]) AS d WHERE d > a.last_day);

-- name: activities
SELECT * FROM monitor.instelling_activity ORDER BY instelling;

-- name: names
SELECT instelling, naam FROM monitor.instelling_names;

-- name: names_of
SELECT instelling, naam FROM monitor.instelling_names WHERE instelling = ANY($1::text[]);

-- name: set_name
INSERT INTO monitor.instelling_names (instelling, naam) VALUES ($1, $2)
ON CONFLICT (instelling) DO UPDATE SET naam = EXCLUDED.naam, updated_at = now();

-- name: delete_population_year
DELETE FROM monitor.population WHERE jaar = $1;

-- name: population_imported
INSERT INTO monitor.population_import (jaar, source, synthetic, imported_at) VALUES ($1, $2, $3, now())
ON CONFLICT (jaar) DO UPDATE SET source = excluded.source, synthetic = excluded.synthetic, imported_at = now();

-- name: population_stamp
SELECT count(*) AS n, max(imported_at) AS at FROM monitor.population_import;

-- name: population
SELECT jaar, gemeente, leeftijdsklasse, geslacht, aantal FROM monitor.population;

-- name: defer_pending
INSERT INTO monitor.publish_pending (indicator, period, lo, hi, dims, traceparent)
SELECT *, $6::text FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::jsonb[]);

-- name: take_pending_pairs
-- The pending records of some indicator × period pairs ($1, $2: indicators and periods, pairwise). Read, not
-- deleted: the publication deletes them by id when it is done (done_pending), so that its transaction writes
-- nothing, and holds no transaction id, while it computes and sends (an open transaction id holds back the
-- horizon below which index scans may drop the entries of dead rows: the outbox relay's reads walked seconds of
-- sent rows while a publication ran).
SELECT id, indicator, period, lo, hi, dims, traceparent FROM monitor.publish_pending
WHERE (indicator, period) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: done_pending
DELETE FROM monitor.publish_pending WHERE id = ANY($1::bigint[]);

-- name: pending_pairs
SELECT DISTINCT indicator, period FROM monitor.publish_pending ORDER BY 1, 2;

-- name: publish_lock
SELECT pg_advisory_xact_lock($1);

-- name: publish_lock_shared
-- A publication's hold on the publication lock: shared among publications (each also locks its indicator × period
-- pairs), exclusive for the rebuild's swap and republish_all.
SELECT pg_advisory_xact_lock_shared($1);

-- name: pair_locks
-- Wait for the locks of some indicator × period pairs ($2: their keys, pending.pair_key) in the class $1, in order.
SELECT count(pg_advisory_xact_lock($1, k)) FROM (SELECT DISTINCT k FROM unnest($2::int[]) AS k ORDER BY k) AS u;

-- name: try_pair_locks
-- The keys among $2 whose pair locks (class $1) were free and are now held by this transaction (never waits).
SELECT k FROM unnest($2::int[]) AS k WHERE pg_try_advisory_xact_lock($1, k);

-- name: published_rows
-- The published rows of each work item (indicator, period, [lo, hi)); n numbers the work item, in order.
SELECT w.n, p.key, p.start, p.dims, p.digest, p.source
FROM unnest($1::text[], $2::text[], $3::date[], $4::date[]) WITH ORDINALITY AS w(indicator, period, lo, hi, n)
JOIN monitor.published p ON p.indicator = w.indicator AND p.period = w.period
 AND p.start >= w.lo AND (w.hi IS NULL OR p.start < w.hi);

-- name: save_published
-- digest NULL: a cell whose public row is not shown (nothing visible was published for it).
INSERT INTO monitor.published (key, indicator, period, start, dims, digest, source)
SELECT k, i, p, s, d::jsonb, r, x
FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::bytea[], $7::bytea[])
  AS u(k, i, p, s, d, r, x)
ON CONFLICT (key) DO UPDATE SET digest = EXCLUDED.digest, source = EXCLUDED.source;

-- name: published_cells
-- Per indicator, period and dimension: the first published period start and the values (publication/pending.py).
SELECT p.indicator, p.period, min(p.start) AS lo, d.key AS dim, array_agg(DISTINCT d.value) AS dim_values
FROM monitor.published p, jsonb_each_text(p.dims) d GROUP BY 1, 2, 4;

-- name: forget_published
-- Every published cell compares as changed, and as possibly visible, at its next publication (jeugdstroom republish
-- indicators): no source digest, and row digest 8 zero bytes (no row's digest, but not NULL: a cell now hidden or
-- without a value gets its empty record, which the topic may lack or contradict). Returns how many.
WITH f AS (UPDATE monitor.published SET digest = '\x0000000000000000'::bytea, source = NULL RETURNING 1)
SELECT count(*) FROM f;

-- name: delete_published
DELETE FROM monitor.published WHERE key = ANY($1::text[]);

-- name: add_member_salts
-- A random salt for each year whose members are anonymised (retention.py), kept until the year is done.
INSERT INTO monitor.member_salts (year, salt) SELECT y, gen_random_uuid()::text FROM unnest($1::int[]) y
ON CONFLICT (year) DO NOTHING;
