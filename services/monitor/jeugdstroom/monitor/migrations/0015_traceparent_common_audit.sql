-- Tracing (common/tracing.py): the W3C traceparent of the fold that recorded a pending cell, so that the
-- publication that takes it can link to that fold. NULL while tracing is off.
ALTER TABLE monitor.publish_pending ADD COLUMN IF NOT EXISTS traceparent text;

-- The audit trail moved to common (common migration 0005: one trail for indicator and findings reads): its rows
-- move along, then the monitor's table goes.
INSERT INTO audit (at, token_name, scope, resource, params, cells)
    SELECT at, token_name, scope, indicator, params, cells FROM monitor.audit ORDER BY id;
DROP TABLE monitor.audit;
DROP FUNCTION IF EXISTS monitor.audit_append_only();
