-- The outbox relay's read of a producer's next unsent rows (outbox.py, UNSENT), planned with sorting and bitmap
-- scans off, so that only the partial index outbox_unsent (producer, id) WHERE sent_at IS NULL, read in order, is
-- left: without statistics (a new table) the planner sorted the whole backlog per call (≈ 0.36 s a call for
-- 150,000 unsent rows), with stale ones it walked the primary key over every sent row (≈ 130 ms a call).
-- The settings hold for the function's statement only.
CREATE OR REPLACE FUNCTION outbox_next(p text, n integer)
RETURNS TABLE (id bigint, topic text, key bytea, value bytea, headers jsonb)
LANGUAGE sql STABLE
SET enable_sort = off SET enable_bitmapscan = off
AS $$
    SELECT o.id, o.topic, o.key, o.value, o.headers FROM outbox o
    WHERE o.producer >= p AND o.producer <= p AND o.sent_at IS NULL
    ORDER BY o.producer, o.id LIMIT n
$$;
