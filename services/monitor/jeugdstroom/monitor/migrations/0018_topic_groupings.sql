-- The indicator topic publishes each indicator at its topic groupings (definition.Indicator.topic_groupings: the
-- country, per jeugdregio, gemeente and instelling, alone and with the indicator's breakdowns) instead of at its full
-- dimension set. Queue every cell published so far: the next publication computes the new cells and sends a
-- tombstone for every key that is no longer a topic cell (publisher.py).
INSERT INTO monitor.publish_pending (indicator, period, lo, hi, dims)
SELECT indicator, period, min(lo), NULL, jsonb_object_agg(dim, dim_values)
FROM (
    SELECT p.indicator, p.period, min(p.start) AS lo, d.key AS dim, jsonb_agg(DISTINCT d.value) AS dim_values
    FROM monitor.published p, jsonb_each_text(p.dims) d
    GROUP BY 1, 2, 4
) cells
GROUP BY 1, 2;
