-- Retention of distinct-count members (docs/privacy.md, "Storage limitation"; monitor/retention.py): the salt of
-- a calendar year whose member pseudonyms are being replaced by tokens. Deleted when the year is done, so a token
-- then links to no pseudonym.
CREATE TABLE IF NOT EXISTS monitor.member_salts (
    year integer PRIMARY KEY,
    salt text NOT NULL
);
