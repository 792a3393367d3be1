-- `jeugdstroom rebuild monitor`, bulk path (rebuild.py, issue 26): the copies in monitor_rebuild are created bare
-- (columns and defaults, no indexes or keys), filled with one COPY per table, and only then given the indexes and
-- keys of the current tables: building a btree once over sorted input costs PostgreSQL far less than maintaining it
-- row by row during the COPY.

-- Empty copies of the aggregate tables without their indexes (and so without their primary keys).
CREATE OR REPLACE FUNCTION monitor.rebuild_prepare_bare(tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('DROP TABLE IF EXISTS monitor_rebuild.%I', t);
        EXECUTE format('CREATE TABLE monitor_rebuild.%I (LIKE monitor.%I INCLUDING ALL EXCLUDING INDEXES)', t, t);
    END LOOP;
END $$;

-- Give each bare copy the primary key, unique constraints and indexes of the current table (same definitions and
-- names; the names are per schema). A duplicate key in a copy fails here, as it would have failed the COPY.
CREATE OR REPLACE FUNCTION monitor.rebuild_index(tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text; r record;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        FOR r IN
            SELECT c.conname, pg_get_constraintdef(c.oid) AS def
            FROM pg_constraint c
            WHERE c.conrelid = format('monitor.%I', t)::regclass AND c.contype IN ('p', 'u')
            ORDER BY c.conname
        LOOP
            EXECUTE format('ALTER TABLE monitor_rebuild.%I ADD CONSTRAINT %I %s', t, r.conname, r.def);
        END LOOP;
        FOR r IN
            SELECT i.indexrelid, ci.relname
            FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
            WHERE i.indrelid = format('monitor.%I', t)::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY ci.relname
        LOOP
            EXECUTE regexp_replace(pg_get_indexdef(r.indexrelid), ' ON monitor\.', ' ON monitor_rebuild.');
        END LOOP;
    END LOOP;
END $$;
