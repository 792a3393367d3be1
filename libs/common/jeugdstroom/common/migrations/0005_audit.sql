-- The audit trail of exact reads (docs/privacy.md, "Audit"), next to the reader tokens it names: every read of
-- exact indicator values (monitor) and of findings (registry). Who (token name and scope, never the secret), when,
-- what (``resource``: the indicator id, or ``findings``), the request parameters and how many exact cells or
-- findings it returned. No pseudonyms or BSNs. Append-only: updates and truncation are refused; rows are deleted
-- only by the retention purge, which sets jeugdstroom.audit_purge for its own transaction.
-- (Until this migration the trail was monitor.audit; monitor migration 0015 moves its rows here.)

CREATE TABLE IF NOT EXISTS audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_name text NOT NULL,
    scope      text NOT NULL,
    resource   text NOT NULL,
    params     jsonb NOT NULL,
    cells      integer NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);

CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('jeugdstroom.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit is append-only (% refused)', TG_OP;
END
$$;

DROP TRIGGER IF EXISTS audit_append_only ON audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
