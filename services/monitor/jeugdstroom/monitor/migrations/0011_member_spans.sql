-- Children counted distinct per cell over days (docs/indicators.md: jeugdbescherming_actief v2, "jeugdigen met …
-- in de periode"): a child (pseudonym) active on the days start <= d < end, with multiplicity n (its episodes with
-- these dims and days). end_day is the end's proleptic ordinal, 0 while open. A read counts each pseudonym once per
-- cell among the rows with n > 0 whose days meet the day read (stock) or the period (in de periode).
CREATE TABLE IF NOT EXISTS monitor.member_spans (
    indicator text   NOT NULL,
    day       date   NOT NULL,      -- the span's start
    dims_key  text   NOT NULL,
    dims      jsonb  NOT NULL,
    pseudonym text   NOT NULL,
    end_day   bigint NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (indicator, day, dims_key, pseudonym, end_day)
);
