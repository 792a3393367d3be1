-- Derived: per child and group of forms, the non-overlapping segments of days in verblijf, each attributed to one
-- placement (the VerblijfSegment contract; docs/indicators.md, "Children, not episodes"). Children projected
-- before this migration get their segments when a batch next touches them (or on a rebuild of the registry).
CREATE TABLE IF NOT EXISTS registry.verblijf_segmenten (
    pseudonym    text NOT NULL,
    instelling   text NOT NULL,
    segment_id   text NOT NULL,
    groep        text NOT NULL,
    plaatsing_id text NOT NULL,
    vorm         text NOT NULL,
    start_date   date NOT NULL,
    end_date     date,
    gemeente     text NOT NULL,
    birth_date   date NOT NULL,
    episode      jsonb NOT NULL,    -- the VerblijfSegment contract
    PRIMARY KEY (pseudonym, instelling, segment_id)
);
