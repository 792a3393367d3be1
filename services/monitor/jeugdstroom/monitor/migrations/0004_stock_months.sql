-- Stocks per month (repository.stock_values): the net stock delta of each series × month × dimensions, the sum
-- of monitor.stock_deltas over the month. Maintained additively by repository.apply_deltas in the same
-- statement batch and transaction as the day-level deltas, so both always agree. A stock's value in a month,
-- half-year or year is then read from the month rows of the complete months plus the day rows of the month of
-- the day read, instead of every day row since the first one.
--
-- Deploying: stop monitor instances of the previous version before this migration runs (they would add day
-- deltas without their month rows).
CREATE TABLE IF NOT EXISTS monitor.stock_month_deltas (
    indicator text   NOT NULL,
    month     date   NOT NULL,      -- first day of the month
    dims_key  text   NOT NULL,
    dims      jsonb  NOT NULL,
    delta     bigint NOT NULL,
    PRIMARY KEY (indicator, month, dims_key)
);

-- Backfill from the day-level deltas (a writer that started meanwhile waits for this lock; rerunnable).
LOCK TABLE monitor.stock_deltas IN SHARE MODE;
DELETE FROM monitor.stock_month_deltas;
INSERT INTO monitor.stock_month_deltas (indicator, month, dims_key, dims, delta)
SELECT indicator, date_trunc('month', day)::date, dims_key, (array_agg(dims))[1], sum(delta)
FROM monitor.stock_deltas
GROUP BY indicator, date_trunc('month', day)::date, dims_key
HAVING sum(delta) <> 0;
