-- The care path: every event is a fact (keyed by its event uid), corrections are facts about facts, and every
-- entity below is a projection of a child's effective facts, recomputed per touched child (see docs/registry.md).

-- Every aanmelding/beschikking/plaatsing/separatie event as published (child by pseudonym), keyed by event uid.
CREATE TABLE IF NOT EXISTS registry.facts (
    event_uid   text PRIMARY KEY,
    pseudonym   text NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    event       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_child ON registry.facts (pseudonym);

-- The separatie facts of 0001 become ordinary facts (their event reconstructed), then the old table goes.
INSERT INTO registry.facts (event_uid, pseudonym, type, occurred_at, event)
SELECT event_uid, fact->>'pseudonym', 'separatie', occurred_at,
       jsonb_build_object(
           'id', substr(event_uid, strpos(event_uid, '/') + 1), 'type', 'separatie', 'schema_version', 1,
           'occurred_at', fact->>'occurred_at', 'sender', instelling,
           'child', jsonb_build_object('pseudonym', fact->>'pseudonym', 'birth_date', fact->>'birth_date',
                                       'gemeente', fact->>'gemeente'),
           'data', jsonb_strip_nulls(jsonb_build_object('separatie_id', separatie_id, 'vorm', fact->>'vorm',
                                                        'start', fact->>'start', 'end', fact->'end')))
FROM registry.separatie_facts
ON CONFLICT (event_uid) DO NOTHING;
DROP TABLE registry.separatie_facts;

-- Every correctie event. target_uid = its sender's earlier event; the replacement (vervangen) is in event.data.
CREATE TABLE IF NOT EXISTS registry.corrections (
    event_uid             text PRIMARY KEY,
    pseudonym             text NOT NULL,          -- the child named by the correctie itself
    target_uid            text NOT NULL,
    action                text NOT NULL,
    occurred_at           timestamptz NOT NULL,
    replacement_pseudonym text,                   -- the child of the replacement, when vervangen
    event                 jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_target ON registry.corrections (target_uid);
CREATE INDEX IF NOT EXISTS corrections_child ON registry.corrections (pseudonym);
CREATE INDEX IF NOT EXISTS corrections_replacement_child ON registry.corrections (replacement_pseudonym);

-- The registry's watermark: the latest event day (Europe/Amsterdam) seen. Never the wall clock.
CREATE TABLE IF NOT EXISTS registry.watermark (
    id      integer PRIMARY KEY CHECK (id = 1),
    max_day date
);
INSERT INTO registry.watermark (id, max_day) VALUES (1, NULL) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS registry.children (
    pseudonym        text PRIMARY KEY,
    birth_date       date NOT NULL,
    gemeente         text NOT NULL,
    -- the earliest 18th birthday whose achttien_in_pleegzorg fact waits for the watermark
    pending_birthday date
);
CREATE INDEX IF NOT EXISTS children_pending ON registry.children (pending_birthday)
    WHERE pending_birthday IS NOT NULL;

-- The child's gemeente over time: valid from the event day on which it was first reported.
CREATE TABLE IF NOT EXISTS registry.child_gemeenten (
    pseudonym  text NOT NULL,
    valid_from date NOT NULL,
    gemeente   text NOT NULL,
    PRIMARY KEY (pseudonym, valid_from)
);

CREATE TABLE IF NOT EXISTS registry.aanmeldingen (
    pseudonym        text NOT NULL,
    instelling       text NOT NULL,
    aanmelding_id    text NOT NULL,
    verwijzer        text NOT NULL,
    zorgvorm         text NOT NULL,
    urgent           boolean NOT NULL,
    day              date NOT NULL,
    beschikking_date date,
    plaatsing_date   date,
    herhaald         boolean NOT NULL,
    gemeente         text NOT NULL,
    birth_date       date NOT NULL,
    episode          jsonb NOT NULL,    -- the AanmeldingEpisode contract
    PRIMARY KEY (pseudonym, instelling, aanmelding_id)
);

CREATE TABLE IF NOT EXISTS registry.beschikkingen (
    pseudonym      text NOT NULL,
    instelling     text NOT NULL,
    beschikking_id text NOT NULL,
    soort          text NOT NULL,
    start_date     date NOT NULL,
    end_date       date,
    gemeente       text NOT NULL,
    birth_date     date NOT NULL,
    episode        jsonb NOT NULL,    -- the BeschikkingEpisode contract
    PRIMARY KEY (pseudonym, instelling, beschikking_id)
);

CREATE TABLE IF NOT EXISTS registry.plaatsingen (
    pseudonym    text NOT NULL,
    instelling   text NOT NULL,
    plaatsing_id text NOT NULL,
    provider     text NOT NULL,
    vorm         text NOT NULL,
    start_date   date,
    end_date     date,
    reden_einde  text,
    overplaatsing boolean NOT NULL,
    gemeente     text NOT NULL,
    birth_date   date NOT NULL,
    episode      jsonb NOT NULL,    -- the PlaatsingEpisode contract
    PRIMARY KEY (pseudonym, instelling, plaatsing_id)
);

-- Separatie episodes: keyed per child too (a correction may move an episode to another child).
ALTER TABLE registry.separatie_episodes DROP CONSTRAINT IF EXISTS separatie_episodes_pkey;
ALTER TABLE registry.separatie_episodes ADD PRIMARY KEY (pseudonym, instelling, separatie_id);
ALTER TABLE registry.separatie_episodes ADD COLUMN IF NOT EXISTS vorm text;
ALTER TABLE registry.separatie_episodes ADD COLUMN IF NOT EXISTS start_at timestamptz;
ALTER TABLE registry.separatie_episodes ADD COLUMN IF NOT EXISTS end_at timestamptz;
ALTER TABLE registry.separatie_episodes ADD COLUMN IF NOT EXISTS gemeente text;
ALTER TABLE registry.separatie_episodes ADD COLUMN IF NOT EXISTS birth_date date;
UPDATE registry.separatie_episodes
SET vorm = episode->>'vorm', start_at = (episode->>'start')::timestamptz, end_at = (episode->>'end')::timestamptz,
    gemeente = episode->>'gemeente', birth_date = (episode->>'birth_date')::date;
DROP INDEX IF EXISTS registry.separatie_episodes_child;

-- Derived: a child in pleegzorg/gezinshuis on its 18th birthday, per placement.
CREATE TABLE IF NOT EXISTS registry.achttien_facts (
    pseudonym    text NOT NULL,
    instelling   text NOT NULL,
    plaatsing_id text NOT NULL,
    vorm         text NOT NULL,
    birthday     date NOT NULL,
    continues    boolean NOT NULL,
    gemeente     text NOT NULL,
    birth_date   date NOT NULL,
    episode      jsonb NOT NULL,    -- the AchttienFact contract
    PRIMARY KEY (pseudonym, instelling, plaatsing_id)
);

-- Data-quality findings: open while their cause holds, then resolved (kept, with the time).
CREATE TABLE IF NOT EXISTS registry.findings (
    pseudonym   text NOT NULL,
    kind        text NOT NULL,
    subject     text NOT NULL,     -- what it is about: an entity key, two keys, or an event uid
    instelling  text,
    reason      text NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    PRIMARY KEY (pseudonym, kind, subject)
);
CREATE INDEX IF NOT EXISTS findings_open ON registry.findings (kind) WHERE resolved_at IS NULL;
