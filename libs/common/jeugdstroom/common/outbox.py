"""Transactional outbox: rows written in the same PostgreSQL transaction as a state change, and a relay
that publishes them with ``acks=all`` and marks them sent only after every publish is confirmed.

At-least-once publication: a crash between publish and mark republishes the rows; consumers absorb
the duplicates by event id. One relay per producer name is active at a time (advisory lock), so
rows of one key are published in the order they were written.

The relay is woken by the commit that adds its rows: :func:`write` notifies channel :data:`CHANNEL` with the
producer's name, and the relay LISTENs on the connection that holds its lock. It still polls every ``idle_sleep``
seconds when idle (a notification missed while its connection was being replaced, rows another tool marked unsent).
(The first version of this, in round 3, was taken out because stopping a service sometimes hung: its wait was
``asyncio.wait_for``, which on Python 3.11 swallows a cancel that arrives as the awaited event is set — every commit
sets it. :func:`aio.wait_event` does not.)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from orjson import Fragment, dumps

from jeugdstroom.common import tracing
from jeugdstroom.common.aio import raise_if_cancelling, wait_event
from jeugdstroom.common.db import TRANSIENT_ERRORS, Conn
from jeugdstroom.common.kafka import Headers, murmur2_many, partition_of
from jeugdstroom.common.observability import outbox_metrics

log = logging.getLogger(__name__)

#: The notification channel of new outbox rows (payload: the producer's name), notified by :func:`write`.
CHANNEL = "outbox"


@dataclass(frozen=True, slots=True)
class OutRow:
    """A record to publish: full topic name, key, value (None: a tombstone, for compacted topics) and headers."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


#: The columns ``write`` fills, in the order of its records.
_COLUMNS = ("producer", "topic", "key", "value", "headers")


async def write(conn: Conn, producer: str, rows: Sequence[OutRow]) -> None:
    """Add rows to the outbox inside the caller's transaction, in order (ids ascending), by binary COPY (one round
    trip, after the notification that wakes the producer's relay at commit): against the ``INSERT … SELECT FROM
    unnest(arrays)`` it replaced, PostgreSQL's CPU per row of ≈ 1 kB went from 8–9 to 5–6 µs, the client's stayed
    about the same (``python -m bench.registry_cpu``: the registry's PostgreSQL CPU per event ≈ 12 % lower). Needs
    the pool's binary jsonb codec (``db._init_connection``)."""
    if not rows:
        return
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, producer)  # delivered at commit (never for a rollback)
    await conn.copy_records_to_table(
        "outbox",
        columns=_COLUMNS,
        records=[
            (producer, r.topic, r.key, r.value, Fragment(dumps([[k, v.decode("latin-1")] for k, v in r.headers])))
            for r in rows  # the headers' JSON at once (as a fragment, dumped as it is): no lists kept for the GC
        ],
    )


async def requeue(conn: Conn, producers: Sequence[str], since: datetime, dry_run: bool = False) -> dict[str, int]:
    """Mark the sent rows of ``producers`` created at or after ``since`` unsent, so their relays publish them again
    (in id order, from their next read from the start on: :attr:`OutboxRelay.FULL_READ_S`); returns the count per
    ``producer topic``. With ``dry_run`` nothing changes. Consumers absorb the rows they have processed already (by
    event id)."""
    where = "producer = ANY($1::text[]) AND created_at >= $2 AND sent_at IS NOT NULL"
    rows = await conn.fetch(
        f"SELECT producer, topic, count(*) AS n FROM outbox WHERE {where} GROUP BY producer, topic ORDER BY 1, 2",
        list(producers),
        since,
    )
    if not dry_run and rows:
        await conn.execute(f"UPDATE outbox SET sent_at = NULL WHERE {where}", list(producers), since)
        await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", CHANNEL, list(producers))
    return {f"{r['producer']} {r['topic']}": int(r["n"]) for r in rows}


#: The relay's read of a producer's next unsent rows ($1: producer, $2: how many), in id order: the SQL function
#: ``outbox_next`` (common migration 0006). Its statement compares the producer as a range of one value and orders by
#: (producer, id), with sorting and bitmap scans off, so that only the partial index ``outbox_unsent`` (producer, id)
#: WHERE sent_at IS NULL, read in order, is left. A plain ``producer = $1 … ORDER BY id`` was read through the
#: primary key in id order, filtering out every sent row of the table per call, whenever the statistics were stale
#: and still showed most rows unsent (autovacuum lags a replay: 130 ms a call seen in the N=20,000 benchmark, growing
#: with the sent rows), and without statistics (a new table) by a bitmap scan sorting the whole backlog per call
#: (≈ 0.36 s a call for 150,000 unsent rows). ``python -m bench.outbox_relay_plan``; tests: test_consumer_loop.py.
UNSENT = "SELECT id, topic, key, value, headers FROM outbox_next($1, $2)"
#: The same after the highest id the relay has published ($2; common migration 0007): the index scan starts there,
#: not at the producer's first entry. Sent rows keep their entries in the partial index until VACUUM, and a read from
#: the start steps over all of them (≈ 2.8 ms a read in the end-to-end benchmark, 15 % of PostgreSQL's time).
UNSENT_AFTER = "SELECT id, topic, key, value, headers FROM outbox_next_after($1, $2, $3)"


async def send_batches(kafka: AIOKafkaProducer, rows: Sequence[OutRow]) -> list[asyncio.Future[object]]:
    """Hand ``rows`` to the producer as record batches per partition (the producer's own partitioner picks the
    partition of each key, as a ``send`` would); returns one delivery future per batch. Rows of one partition keep
    their order: batches of a partition are appended, and delivered, in order. (One ``send`` per row cost twice the
    CPU: bench/, "outbox relay: record batches per partition".)"""
    open_batches: dict[tuple[str, int], BatchBuilder] = {}
    futures: list[asyncio.Future[object]] = []
    partitions: dict[str, list[int]] = {}
    keys = [r.key for r in rows]
    # the producer's partitioner is partition_of (make_producer): the keys' murmur2 all at once, the same partition
    hashes = murmur2_many([k or b"" for k in keys]) if kafka._partitioner is partition_of else None
    for i, r in enumerate(rows):
        topic, key, value, headers = r.topic, keys[i], r.value, r.headers
        if topic not in partitions:
            await kafka.client._wait_on_metadata(topic)  # the partitions, before the partitioner needs them
            partitions[topic] = list(kafka._metadata.partitions_for_topic(topic))  # as aiokafka's _partition
        if hashes is not None and key is not None:
            ps = partitions[topic]
            tp = (topic, ps[(hashes[i] & 0x7FFFFFFF) % len(ps)])
        else:
            tp = (topic, kafka._partition(topic, None, key, value, key, value))  # aiokafka's (private) partitioner
        batch = open_batches.get(tp)
        if batch is None:
            batch = open_batches[tp] = kafka.create_batch()
        if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full
            batch.close()
            futures.append(await kafka.send_batch(batch, tp[0], partition=tp[1]))
            batch = open_batches[tp] = kafka.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                raise ValueError(f"record larger than a record batch ({len(value or b'')} bytes) for {topic}")
    for (topic, partition), batch in open_batches.items():
        batch.close()  # complete: sent without the producer's linger (a batch left open waits linger_ms for more)
        futures.append(await kafka.send_batch(batch, topic, partition=partition))
    return futures


class OutboxRelay:
    """Publishes a producer's unsent outbox rows in id order."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer_name: str,
        kafka: AIOKafkaProducer,
        service: str,
        batch: int = 2000,
        idle_sleep: float = 0.5,
        repair: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``repair`` runs after a failed publish, before the retry: e.g. re-create the topics that a broker which
        lost its data no longer has (a producer cannot publish to a missing topic; it would retry forever)."""
        self.pool = pool
        self.repair = repair
        self.name = producer_name
        self.kafka = kafka
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.metrics = outbox_metrics(service)
        self._lock_key = zlib.crc32(f"outbox:{producer_name}".encode())
        self._last_stats = 0.0
        self._stats_cost = 0.0  # seconds the last backlog query took (see _update_stats)
        self._published_up_to = 0  # the highest id this relay published while leader (see publish_once)
        self._full_read_due = 0.0  # monotonic time of the next read from the start
        self._wake = asyncio.Event()  # set by a notification on CHANNEL with this producer's name

    async def run(self) -> None:
        """Run until cancelled; survives database and broker outages."""
        delay = 0.1
        while True:
            try:
                async with self.pool.acquire() as lock_conn:
                    if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                        await asyncio.sleep(1.0)  # another instance relays this producer's rows
                        continue
                    try:
                        await self._relay_while_leader(lock_conn)
                    finally:
                        with contextlib.suppress(*TRANSIENT_ERRORS):
                            await lock_conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)
            except asyncio.CancelledError:
                raise
            except (*TRANSIENT_ERRORS, KafkaError) as exc:
                raise_if_cancelling(exc)
                log.warning("outbox relay %s: %s, retrying in %.1fs", self.name, type(exc).__name__, delay)
                self.metrics.publish_errors.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                if isinstance(exc, KafkaError) and self.repair is not None:
                    with contextlib.suppress(*TRANSIENT_ERRORS, KafkaError):
                        await self.repair()

    async def _relay_while_leader(self, conn: Conn) -> None:
        """Publish until cancelled; ``conn`` (held for the lock) listens for the commits that add rows."""
        self._published_up_to, self._full_read_due = 0, 0.0  # another instance may have been leader meanwhile

        def notified(_conn: object, _pid: int, _channel: str, producer: object) -> None:
            if producer == self.name:
                self._wake.set()

        await conn.add_listener(CHANNEL, notified)
        try:
            while True:
                self._wake.clear()  # before reading: a commit after this point wakes the next wait
                published = await self.publish_once()
                await self._update_stats()
                if published < self.batch:
                    await wait_event(self._wake, self.idle_sleep)
        finally:
            with contextlib.suppress(*TRANSIENT_ERRORS):  # a broken connection: its listeners go with it
                await conn.remove_listener(CHANNEL, notified)

    #: Seconds between reads from the producer's first unsent row. In between the relay reads after the highest id
    #: it has published (:data:`UNSENT_AFTER`). Rows below it can still appear: a transaction that took its ids
    #: before another but committed after it (concurrent writers, e.g. intake's requests), or rows that
    #: ``jeugdstroom replay``/``restore`` marked unsent again. Such rows are published by the next read from the start,
    #: at most this much later; nothing is skipped. (Out of id order, as before: a relay publishes what is visible.)
    #: A backlog of new rows is read after the highest id too: a read from the start returning a full batch of them
    #: had cost 13 ms a read at N=20,000 and 48 ms at N=100,000 (it steps over every sent row not yet vacuumed; at
    #: N=100,000 a read from the start every 0.5 s still took 17 % of PostgreSQL's statement time, hence 1 s).
    FULL_READ_S = 1.0

    async def publish_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        now = time.monotonic()
        async with self.pool.acquire() as conn:
            if now >= self._full_read_due:
                rows = await conn.fetch(UNSENT, self.name, self.batch)
                # a full batch wholly below what was published (rows re-queued by replay or restore): read from the
                # start again until they are drained; otherwise the reads after the highest id go on
                behind = len(rows) == self.batch and rows[-1]["id"] < self._published_up_to
                self._full_read_due = 0.0 if behind else now + self.FULL_READ_S
            else:
                rows = await conn.fetch(UNSENT_AFTER, self.name, self._published_up_to, self.batch)
        if not rows:
            return 0
        # every publish confirmed (acks=all) before marking sent; traced as outbox.publish, linked to each row's
        # creation context (the records keep that context in their headers)
        links = tracing.links_of(dict(r["headers"]) for r in rows) if tracing.enabled() else []
        with tracing.span("outbox.publish", tracing.SpanKind.PRODUCER, links, attributes={"jeugdstroom.rows": len(rows)}):
            await asyncio.gather(*await self._send(rows))
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        self._published_up_to = max(self._published_up_to, rows[-1]["id"])
        for topic, n in collections.Counter(r["topic"] for r in rows).items():  # one increment per topic, not per row
            self.metrics.published.labels(topic).inc(n)
        return len(rows)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> list[asyncio.Future[object]]:
        return await send_batches(
            self.kafka,
            [OutRow(r["topic"], r["key"], r["value"], [(k, v.encode("latin-1")) for k, v in r["headers"]]) for r in rows],
        )

    #: The backlog gauges' query counts every unsent row (its cost grows with the backlog: 50 ms a call was seen
    #: while a replay drained): it runs at most every ``STATS_INTERVAL_S`` and, when slower, at most once per
    #: ``STATS_COST_FACTOR`` × its last duration, so it takes at most about 2 % of the relay's time.
    STATS_INTERVAL_S = 1.0
    STATS_COST_FACTOR = 50.0

    async def _update_stats(self) -> None:
        now = time.monotonic()
        if now - self._last_stats < max(self.STATS_INTERVAL_S, self.STATS_COST_FACTOR * self._stats_cost):
            return
        self._last_stats = now
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age FROM outbox"
                " WHERE producer = $1 AND sent_at IS NULL",
                self.name,
            )
        self._stats_cost = time.monotonic() - now
        assert row is not None
        self.metrics.backlog.set(row["n"])
        self.metrics.oldest_age.set(float(row["age"] or 0.0))
