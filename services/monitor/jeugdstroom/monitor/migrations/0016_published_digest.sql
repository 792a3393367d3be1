-- The indicator topic's last published rows (publisher.py) are compared by a 64-bit digest of the public row
-- instead of the row itself: the row's JSON was parsed into jsonb on every write and decoded on every read, for
-- ≈ 155,000 cells after a replay of 5,000 events. A row published before this migration has no digest: it
-- compares as changed and is published once more with the same value.
ALTER TABLE monitor.published ADD COLUMN IF NOT EXISTS digest bigint;
ALTER TABLE monitor.published DROP COLUMN IF EXISTS row;
