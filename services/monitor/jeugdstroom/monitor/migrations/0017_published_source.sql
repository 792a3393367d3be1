-- The indicator topic's publication skips a cell whose exact value is unchanged before computing its public row
-- (publisher.py): ``source`` is a 64-bit digest of the cell's exact value fields, keyed by everything else the
-- public row depends on (noise secret, threshold, indicator version, names). A cell whose public row is not shown
-- (it rounds to 0) is kept too, with digest NULL, so it is not recomputed while its value stays the same. A row
-- from before this migration has no source: it is computed once more, and sent only if its public row differs.
ALTER TABLE monitor.published ADD COLUMN IF NOT EXISTS source bigint;
