CREATE SCHEMA IF NOT EXISTS monitor;

-- Additive counters at the finest grain: indicator × day (event time, Europe/Amsterdam) × dimensions.
-- Coarser periods and dimension subsets are sums at query time; compensating changes subtract.
CREATE TABLE IF NOT EXISTS monitor.counts (
    indicator text   NOT NULL,
    day       date   NOT NULL,
    dims_key  text   NOT NULL,      -- canonical "k=v;k=v" of dims
    dims      jsonb  NOT NULL,
    value     bigint NOT NULL,
    PRIMARY KEY (indicator, day, dims_key)
);
