-- Tracing (common/tracing.py): the W3C traceparent of the fold that recorded a pending cell, so that the
-- publication that takes it can link to that fold. NULL while tracing is off.
ALTER TABLE monitor.publish_pending ADD COLUMN IF NOT EXISTS traceparent text;
