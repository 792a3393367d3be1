-- What the iJw adapter remembers between messages (docs/ijw.md, "State"). No BSN: children appear only through
-- ToewijzingNummers, ReferentieAanbieders and, for records without ToewijzingNummer, a digest of the pseudonym.

-- JW305/JW307 records by their key (kind + placement): the event of the current version (or, once deleted, of
-- the last one). A StatusAanlevering 1 after a delete is a new version with an event id of its own (IV008).
CREATE TABLE IF NOT EXISTS intake.ijw_records (
    sender      text NOT NULL,              -- the provider's AGB code
    record_key  text NOT NULL,              -- jw305:<placement>, jw307:<placement>, jw307-20:<placement>
    event_id    text NOT NULL,
    active      boolean NOT NULL,
    versions    integer NOT NULL,
    einddatum   date,                       -- a stop's Einddatum (TR414)
    PRIMARY KEY (sender, record_key)
);

-- What each record of each message produced, so the same message sent again yields the same events.
CREATE TABLE IF NOT EXISTS intake.ijw_deliveries (
    sender       text NOT NULL,
    message_key  text NOT NULL,             -- Identificatie:Dagtekening (TR056: unique per sender and message)
    record_key   text NOT NULL,
    status       text NOT NULL,             -- StatusAanlevering
    record_hash  text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    occurred_at  text NOT NULL,
    data         jsonb NOT NULL,            -- the event's data (never the child)
    PRIMARY KEY (sender, message_key, record_key, status)
);

-- JW315 requests: provider + ReferentieAanbieder → the aanmelding the JW315 produced.
CREATE TABLE IF NOT EXISTS intake.ijw_aanvragen (
    agb            text NOT NULL,
    referentie     text NOT NULL,           -- the id part of ReferentieAanbieder
    aanmelding_id  text NOT NULL,
    PRIMARY KEY (agb, referentie)
);

-- JW301 toewijzingen: (gemeente, provider, ToewijzingNummer) → ReferentieAanbieder and product; the latest
-- toewijzing by Toewijzingsdatum/-tijd counts (OP033x1).
CREATE TABLE IF NOT EXISTS intake.ijw_toewijzingen (
    gemeente    text NOT NULL,              -- four digits
    agb         text NOT NULL,
    nummer      text NOT NULL,              -- canonical ToewijzingNummer
    referentie  text,
    categorie   text,
    code        text,
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (gemeente, agb, nummer)
);
