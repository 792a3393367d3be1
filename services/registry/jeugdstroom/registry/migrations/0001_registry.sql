CREATE SCHEMA IF NOT EXISTS registry;

-- Every event that contributes to a separatie episode, keyed by its event uid. Episodes are
-- projections of these facts, so arrival order does not matter and corrections can remove a fact.
CREATE TABLE IF NOT EXISTS registry.separatie_facts (
    event_uid    text PRIMARY KEY,
    instelling   text NOT NULL,
    separatie_id text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    fact         jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS separatie_facts_episode ON registry.separatie_facts (instelling, separatie_id);

CREATE TABLE IF NOT EXISTS registry.separatie_episodes (
    instelling   text NOT NULL,
    separatie_id text NOT NULL,
    pseudonym    text NOT NULL,
    episode      jsonb NOT NULL,    -- the SeparatieEpisode contract
    PRIMARY KEY (instelling, separatie_id)
);
CREATE INDEX IF NOT EXISTS separatie_episodes_child ON registry.separatie_episodes (pseudonym);
