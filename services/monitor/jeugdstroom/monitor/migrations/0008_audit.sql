-- The audit trail of exact reads (docs/privacy.md, "Audit"): who (token name and scope, never the secret), when,
-- which indicator and request parameters, how many exact cells. No pseudonyms or BSNs (the monitor has none).
-- Append-only: updates and truncation are refused; rows are deleted only by the retention purge, which sets
-- jeugdstroom.audit_purge for its own transaction.

CREATE TABLE IF NOT EXISTS monitor.audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_name text NOT NULL,
    scope      text NOT NULL,
    indicator  text NOT NULL,
    params     jsonb NOT NULL,
    cells      integer NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON monitor.audit (at);

CREATE OR REPLACE FUNCTION monitor.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('jeugdstroom.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'monitor.audit is append-only (% refused)', TG_OP;
END
$$;

DROP TRIGGER IF EXISTS audit_append_only ON monitor.audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON monitor.audit
    FOR EACH ROW EXECUTE FUNCTION monitor.audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON monitor.audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON monitor.audit
    FOR EACH STATEMENT EXECUTE FUNCTION monitor.audit_append_only();
