-- Outbox rows without a value: tombstones of compacted topics (jeugdstroom.registry.entities writes one when an
-- entity no longer exists, so compaction eventually forgets it).
ALTER TABLE outbox ALTER COLUMN value DROP NOT NULL;
