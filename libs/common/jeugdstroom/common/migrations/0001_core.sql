-- Core tables shared by every service: the consumer loop's stored offsets and processed-event log,
-- and the transactional outbox. Each service identifies itself by a name (consumer group / producer).

CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer    text    NOT NULL,   -- consumer group name
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,   -- the offset of the next record to process
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS outbox (
    id         bigserial PRIMARY KEY,
    producer   text  NOT NULL,      -- the service whose relay publishes this row
    topic      text  NOT NULL,
    key        bytea,
    value      bytea NOT NULL,
    headers    jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (producer, id) WHERE sent_at IS NULL;
