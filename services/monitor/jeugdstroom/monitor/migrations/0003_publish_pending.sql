-- Indicator-topic publication deferred while the monitor replays a backlog (publisher.py): the cells a folded
-- batch may have changed, per indicator × period (periods from lo to hi, exclusive; hi NULL = up to as_of for
-- stocks) with the dimension values concerned ({"dim": [values]}). Written in the fold's transaction, published
-- and deleted by the first batch at the end of its partitions (or after the flush interval).
CREATE TABLE IF NOT EXISTS monitor.publish_pending (
    id        bigserial PRIMARY KEY,
    indicator text  NOT NULL,
    period    text  NOT NULL,
    lo        date  NOT NULL,
    hi        date,
    dims      jsonb NOT NULL
);
