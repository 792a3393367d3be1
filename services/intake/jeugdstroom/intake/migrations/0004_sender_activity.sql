-- When each sender last submitted events (any outcome), for the silent-sender alert (deploy/README.md). Written by
-- intake's activity task every 30 s from what it saw in between, so the hot path gets no extra write.

ALTER TABLE intake.senders ADD COLUMN IF NOT EXISTS last_event_at timestamptz;
