"""The limits: what the broker and PostgreSQL do with the same events without jeugdstroom's logic."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.events import Event
from jeugdstroom.common.kafka import TYPED_TOPICS
from jeugdstroom.common.settings import Settings

BATCH = 5000


async def consume(settings: Settings, n: int, decode: str = "") -> float:
    """Read ``n`` records back from the typed topics (all partitions, from the beginning); ``decode`` = ``json`` or
    ``orjson`` also parses each value. Returns seconds from the first fetch to the last record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(t), p) for t in TYPED_TOPICS for p in range(settings.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        decoders: dict[str, Callable[[bytes], Any]] = {"json": json.loads, "orjson": orjson.loads}
        loads = decoders.get(decode)
        got = 0
        started = time.perf_counter()
        while got < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10000)
            for msgs in batch.values():
                got += len(msgs)
                if loads is not None:
                    for m in msgs:
                        loads(m.value)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


# -- storage ---------------------------------------------------------------------------------------------------
_SCHEMA = """
DROP TABLE IF EXISTS bench_processed, bench_counts, bench_facts;
CREATE TABLE bench_processed (consumer text NOT NULL, event_id text NOT NULL, PRIMARY KEY (consumer, event_id));
CREATE TABLE bench_counts (type text, gemeente text, month date, value bigint NOT NULL,
                           PRIMARY KEY (type, gemeente, month));
CREATE TABLE bench_facts (event_uid text PRIMARY KEY, pseudonym text NOT NULL, type text NOT NULL,
                          occurred_at timestamptz NOT NULL, event jsonb NOT NULL);
"""


def _rows(events: Sequence[Event]) -> list[tuple[str, str, str, datetime, str, str]]:
    out = []
    for e in events:
        doc = orjson.loads(e.value)
        uid = f"{doc['sender']}/{doc['id']}"
        occurred = datetime.fromisoformat(doc["occurred_at"])
        out.append((uid, e.key.decode(), e.type, occurred, doc["child"]["gemeente"], e.value.decode()))
    return out


async def storage(url: str, events: Sequence[Event]) -> dict[str, float]:
    """Events/s of three ways to store the same state changes (one transaction per batch of 5,000):

    * ``unnest``: dedupe-insert of the event ids (``ON CONFLICT DO NOTHING RETURNING``) + one upsert of the batch's
      counts per type × gemeente × month;
    * ``executemany``: the same, one statement per row;
    * ``copy``: COPY of the full event rows (uid, pseudonym, type, time, JSON) — the reference for end to end.
    """
    rows = _rows(events)
    conn = await asyncpg.connect(url)
    out: dict[str, float] = {}
    try:
        await conn.execute(_SCHEMA)
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            async with conn.transaction():
                fresh = await conn.fetch(
                    "INSERT INTO bench_processed SELECT 'bench', unnest($1::text[]) ON CONFLICT DO NOTHING"
                    " RETURNING event_id",
                    [r[0] for r in chunk],
                )
                ids = {r["event_id"] for r in fresh}
                counts = Counter((r[2], r[4], r[3].date().replace(day=1)) for r in chunk if r[0] in ids)
                await conn.execute(
                    """INSERT INTO bench_counts SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[])
                       ON CONFLICT (type, gemeente, month) DO UPDATE SET value = bench_counts.value + EXCLUDED.value""",
                    [k[0] for k in counts],
                    [k[1] for k in counts],
                    [k[2] for k in counts],
                    list(counts.values()),
                )
        out["unnest"] = len(rows) / (time.perf_counter() - started)

        await conn.execute(_SCHEMA)
        sample = rows[: min(len(rows), 50_000)]  # row by row is slow: a sample is enough for its rate
        started = time.perf_counter()
        for i in range(0, len(sample), BATCH):
            chunk = sample[i : i + BATCH]
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO bench_processed VALUES ('bench', $1) ON CONFLICT DO NOTHING", [(r[0],) for r in chunk]
                )
                await conn.executemany(
                    """INSERT INTO bench_counts VALUES ($1, $2, $3, 1) ON CONFLICT (type, gemeente, month)
                       DO UPDATE SET value = bench_counts.value + 1""",
                    [(r[2], r[4], r[3].date().replace(day=1)) for r in chunk],
                )
        out["executemany"] = len(sample) / (time.perf_counter() - started)

        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            await conn.copy_records_to_table(
                "bench_facts",
                records=[(r[0], r[1], r[2], r[3], r[5]) for r in chunk],
                columns=["event_uid", "pseudonym", "type", "occurred_at", "event"],
            )
        out["copy"] = len(rows) / (time.perf_counter() - started)
        await conn.execute("DROP TABLE IF EXISTS bench_processed, bench_counts, bench_facts")
    finally:
        await conn.close()
    return out
