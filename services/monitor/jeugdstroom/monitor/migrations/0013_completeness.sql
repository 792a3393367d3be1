-- Completeness (docs/monitor.md, "Completeness"): per instelling when the monitor last saw one of its events
-- (intake's acceptance time of the event behind a registry change) and on how many days it delivered, from which
-- its own rhythm follows. One row per instelling: bounded by the number of senders.
CREATE TABLE IF NOT EXISTS monitor.instelling_activity (
    instelling  text PRIMARY KEY,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    first_day   date NOT NULL,        -- Europe/Amsterdam days of first_at and last_at
    last_day    date NOT NULL,
    active_days integer NOT NULL      -- days with at least one accepted event
);

-- Names of instellingen for people reading the API and the page; written by `jeugdstroom sender add --name`
-- (the sender registry's name), so the monitor needs no other service's tables.
CREATE TABLE IF NOT EXISTS monitor.instelling_names (
    instelling text PRIMARY KEY,
    naam       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
