-- The full indicator catalogue (docs/indicators.md). Every table is additive at the finest grain:
-- series × day (event time, Europe/Amsterdam) × dimensions; periods and dimension subsets are computed
-- at query time, so values are exact for any period and any dimension subset. The column `indicator`
-- holds the series id (an indicator's own series, or an internal series used as a ratio part).

-- count series (and ratio parts) use monitor.counts from 0001; the latest event day is read from it.
CREATE INDEX IF NOT EXISTS counts_day ON monitor.counts (day);

-- stock: +1 on an episode's start day, −1 on its end day; the value on day d is the sum up to d.
CREATE TABLE IF NOT EXISTS monitor.stock_deltas (
    indicator text   NOT NULL,
    day       date   NOT NULL,
    dims_key  text   NOT NULL,
    dims      jsonb  NOT NULL,
    delta     bigint NOT NULL,
    PRIMARY KEY (indicator, day, dims_key)
);

-- distinct: membership of a child (pseudonym) with multiplicity n (items of that child on that day).
CREATE TABLE IF NOT EXISTS monitor.members (
    indicator text   NOT NULL,
    day       date   NOT NULL,
    dims_key  text   NOT NULL,
    dims      jsonb  NOT NULL,
    pseudonym text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (indicator, day, dims_key, pseudonym)
);

-- duration: the exact multiset of values (n items with this value), so quantiles are exact.
CREATE TABLE IF NOT EXISTS monitor.durations (
    indicator text   NOT NULL,
    day       date   NOT NULL,
    dims_key  text   NOT NULL,
    dims      jsonb  NOT NULL,
    value     bigint NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (indicator, day, dims_key, value)
);

-- The rows last published on the indicator topic (public, suppressed), to publish only changes.
CREATE TABLE IF NOT EXISTS monitor.published (
    key       text  PRIMARY KEY,      -- indicator|period|start|dims_key
    indicator text  NOT NULL,
    period    text  NOT NULL,
    start     date  NOT NULL,
    dims      jsonb NOT NULL,
    row       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS published_lookup ON monitor.published (indicator, period, start);
