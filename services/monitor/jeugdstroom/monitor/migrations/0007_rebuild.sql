-- `jeugdstroom rebuild monitor` (rebuild.py; the consistency argument is in docs/monitor.md, "Rebuild").
--
-- A rebuild folds the registry's entity topic into copies of the aggregate tables in schema monitor_rebuild and
-- swaps them in atomically; the replaced tables are kept in schema monitor_retired until the next rebuild.

CREATE SCHEMA IF NOT EXISTS monitor_rebuild;
CREATE SCHEMA IF NOT EXISTS monitor_retired;

-- One row while a rebuild runs. Written under the rebuild's exclusive advisory lock; every fold batch takes the
-- same lock shared and reads this row, so a batch either committed before the rebuild began or journals its changes.
CREATE TABLE IF NOT EXISTS monitor.rebuild_state (
    id         integer PRIMARY KEY CHECK (id = 1),
    run        text        NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);

-- While a rebuild runs: per entity (the entity topic key), the last change the live fold applied (its record value).
CREATE TABLE IF NOT EXISTS monitor.rebuild_journal (
    key       text  PRIMARY KEY,
    change_id text  NOT NULL,
    change    bytea NOT NULL
);

-- Empty copies of the aggregate tables (columns, keys and indexes of the current ones) in monitor_rebuild.
CREATE OR REPLACE FUNCTION monitor.rebuild_prepare(tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('DROP TABLE IF EXISTS monitor_rebuild.%I', t);
        EXECUTE format('CREATE TABLE monitor_rebuild.%I (LIKE monitor.%I INCLUDING ALL)', t, t);
    END LOOP;
END $$;

-- The swap, inside the caller's transaction: each current table moves to monitor_retired (replacing the copy of the
-- previous rebuild), each rebuilt one to monitor. Readers wait for the commit and then read the new tables.
CREATE OR REPLACE FUNCTION monitor.rebuild_swap(tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('DROP TABLE IF EXISTS monitor_retired.%I', t);
        EXECUTE format('ALTER TABLE monitor.%I SET SCHEMA monitor_retired', t);
        EXECUTE format('ALTER TABLE monitor_rebuild.%I SET SCHEMA monitor', t);
    END LOOP;
END $$;

-- A fold batch's guard (rebuild.live_guard): wait for the lock shared, then tell whether a rebuild runs. The check
-- must read a snapshot taken *after* the lock was granted (a statement's own snapshot predates its wait), so it is a
-- statement of its own inside this volatile function (READ COMMITTED: a fresh snapshot per statement).
CREATE OR REPLACE FUNCTION monitor.rebuild_live_guard(lock_key bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(lock_key);
    RETURN EXISTS (SELECT 1 FROM monitor.rebuild_state);
END $$;
