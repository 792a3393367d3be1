"""The stored-offset consumer loop: jeugdstroom's effectively-once primitive, without Kafka transactions.

One pass is a short pipeline of named steps:

1. **poll** a batch (bounded by count and time);
2. **decode** each record; poison (unparseable, unknown version, contract violation) becomes a
   dead-letter outbox row with the reason and origin;
3. in **one PostgreSQL transaction**: record the event ids (``ON CONFLICT DO NOTHING RETURNING``:
   only ids returned as fresh take effect) in ``processed_events`` — or, for a processor that stores every item
   under its event id anyway (``Claiming``), in its own table, the insert of that row being the dedupe —
   **apply** the processor's state changes and outbox rows,
   **store** the next offset per partition (monotonic: ``GREATEST``);
4. commit to Kafka as a courtesy for lag tools (never relied upon).

On partition assignment the consumer seeks to the offsets stored in PostgreSQL. A kill -9 at any
instant therefore loses nothing and counts nothing twice. Transient faults (database or broker gone)
are retried with backoff and never dead-lettered; a record whose processing keeps failing for another
reason is retried alone a few times and then dead-lettered; a batch in which most records are poison
stops the loop (a bad deploy must not drain a topic into the dead-letter topic).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from jeugdstroom.common import outbox
from jeugdstroom.common.contracts.deadletter import HEADER_ORIGIN, HEADER_REASON_CLASS, DeadLetter
from jeugdstroom.common.db import TRANSIENT_ERRORS, Conn
from jeugdstroom.common.kafka import DEADLETTER, DEADLETTER_CE_TYPE, InRecord, client_options, cloudevent_headers
from jeugdstroom.common.observability import consumer_metrics
from jeugdstroom.common.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")


class Poison(Exception):
    """A record that can never be processed; ``reason_class`` is a bounded metric label."""

    def __init__(self, reason_class: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_class = reason_class
        self.reason = reason


class DeadLetterStorm(RuntimeError):
    """Most of a batch would be dead-lettered: stop instead (likely a bad deploy or wrong topic)."""


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    record: InRecord
    event_id: str
    item: T


class Processor(Protocol[T]):
    """What a service plugs into the loop."""

    def decode(self, record: InRecord) -> tuple[str, T]:
        """(event id, item) of a record; raises Poison."""
        ...

    async def apply(self, conn: Conn, items: Sequence[Decoded[T]]) -> None:
        """Apply fresh items inside the loop's transaction (state changes and outbox rows)."""
        ...


class Claiming(Protocol[T]):
    """Optional: a processor whose state holds every item under its event id (a unique key) claims the items itself,
    instead of the consumer recording their ids in ``processed_events``: ``claim`` inserts each item's row with
    ``ON CONFLICT DO NOTHING RETURNING`` (in the loop's transaction, before ``apply``) and returns the items whose row
    is new; only those are applied. The guarantee is the same as with ``processed_events`` (the insert is the
    dedupe and commits atomically with the state and the offsets), with one write per item fewer. ``items`` have
    distinct event ids."""

    async def claim(self, conn: Conn, items: Sequence[Decoded[T]]) -> list[Decoded[T]]: ...


class Finishing(Protocol):
    """Optional: a processor with ``finish`` is called at the end of every batch's transaction (also when no item of
    the batch was fresh) with ``more``: whether the fetched high watermark shows records beyond this batch in one
    of its partitions (e.g. to pace derived outputs while a backlog is replayed)."""

    async def finish(self, conn: Conn, more: bool) -> None: ...


def deadletter_row(
    settings: Settings, record: InRecord, consumer: str, reason_class: str, reason: str
) -> outbox.OutRow:
    """A dead-letter record: the reason, the origin and the original bytes (base64)."""
    body = DeadLetter(
        consumer=consumer,
        reason_class=reason_class,
        reason=reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key_b64=base64.b64encode(record.key).decode() if record.key is not None else None,
        value_b64=base64.b64encode(record.value).decode() if record.value is not None else None,
    )
    origin = f"{record.topic}/{record.partition}/{record.offset}"
    headers = [
        *cloudevent_headers(f"{consumer}/{origin}", DEADLETTER_CE_TYPE, f"/{consumer}", datetime.now(UTC).isoformat()),
        (HEADER_REASON_CLASS, reason_class.encode()),
        (HEADER_ORIGIN, origin.encode()),
    ]
    return outbox.OutRow(settings.topic(DEADLETTER), record.key, orjson.dumps(body.model_dump(mode="json")), headers)


class StoredOffsetConsumer(Generic[T]):
    """Consumes ``topics`` in consumer group ``group`` with offsets stored in PostgreSQL."""

    #: The dead-letter cap: over a sliding window of the last STORM_WINDOW decoded records, once at least
    #: STORM_MIN were seen, a poison share above STORM_SHARE stops the loop (a bad deploy or a wrong topic,
    #: not a stray bad record). The window spans fetches, so small fetches cannot dodge the cap.
    STORM_WINDOW = 100
    STORM_MIN = 20
    STORM_SHARE = 0.5
    RECORD_ATTEMPTS = 3

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        group: str,
        topics: Sequence[str],
        processor: Processor[T],
        service: str,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.group = group
        self.topics = list(topics)
        self.processor = processor
        self.metrics = consumer_metrics(service)
        self.consumer: AIOKafkaConsumer | None = None
        self.healthy = True
        self._assigned: set[TopicPartition] = set()
        self._recent_poison: collections.deque[bool] = collections.deque(maxlen=self.STORM_WINDOW)

    # -- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Consume until cancelled."""
        self.consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            group_id=self.settings.kafka_group(self.group),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=300_000,
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            isolation_level="read_uncommitted",
        )
        await self.consumer.start()
        try:
            self.consumer.subscribe(self.topics, listener=_Listener(self))
            while True:
                await self.step()
        finally:
            with contextlib.suppress(Exception):
                await self.consumer.stop()

    async def step(self) -> int:
        """One pass of the pipeline; returns the number of records handled."""
        assert self.consumer is not None
        batches = await self.consumer.getmany(
            timeout_ms=self.settings.batch_max_wait_ms, max_records=self.settings.batch_max_records
        )
        records = [
            InRecord(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()), m.timestamp)
            for msgs in batches.values()
            for m in msgs
        ]
        if not records:
            return 0
        await self.handle(records, more=self._more(records))
        await self._courtesy_commit(records)
        await self._update_lag()
        return len(records)

    # -- the pipeline ----------------------------------------------------------------------------
    def decode(self, records: Sequence[InRecord]) -> tuple[list[Decoded[T]], list[Decoded[outbox.OutRow]]]:
        """Split a batch into decoded items and dead-letter rows (each dead-letter keyed by its origin, so a
        redelivered poison record is dead-lettered once)."""
        good: list[Decoded[T]] = []
        dead: list[Decoded[outbox.OutRow]] = []
        for r in records:
            try:
                event_id, item = self.processor.decode(r)
            except Poison as p:
                row = deadletter_row(self.settings, r, self.group, p.reason_class, p.reason)
                dead.append(Decoded(r, f"deadletter:{r.topic}/{r.partition}/{r.offset}", row))
                continue
            good.append(Decoded(r, event_id, item))
        window = self._recent_poison
        poisoned = {id(d.record) for d in dead}
        window.extend(id(r) in poisoned for r in records)
        poison = sum(window)
        if len(window) >= self.STORM_MIN and poison > self.STORM_SHARE * len(window):
            self.healthy = False
            raise DeadLetterStorm(f"{poison} of the last {len(window)} records are poison; stopping")
        return good, dead

    def _more(self, records: Sequence[InRecord]) -> bool:
        """Whether a partition of this batch has records beyond it (by the fetched high watermark)."""
        assert self.consumer is not None
        last: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            last[tp] = max(last.get(tp, -1), r.offset)
        return any((self.consumer.highwater(tp) or 0) > offset + 1 for tp, offset in last.items())

    async def handle(self, records: Sequence[InRecord], more: bool = False) -> None:
        """Decode and apply a batch, retrying transient faults until it is stored or revoked."""
        good, dead = self.decode(records)
        delay = 0.05
        while True:
            records = self._still_assigned(records)
            if not records:
                return
            live = {(r.topic, r.partition) for r in records}
            good = [d for d in good if (d.record.topic, d.record.partition) in live]
            dead = [d for d in dead if (d.record.topic, d.record.partition) in live]
            try:
                await self.transact(records, good, dead, more)
                return
            except TRANSIENT_ERRORS as exc:
                self.metrics.retries.inc()
                log.warning("%s: transient fault %s, retrying batch in %.2fs", self.group, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except (Poison, DeadLetterStorm):
                raise
            except Exception:
                log.exception("%s: batch failed; retrying its records one by one", self.group)
                await self._one_by_one(records, good, dead)
                return

    async def transact(
        self,
        records: Sequence[InRecord],
        good: Sequence[Decoded[T]],
        dead: Sequence[Decoded[outbox.OutRow]],
        more: bool = False,
    ) -> None:
        """Steps 3a–3d in one transaction."""
        started = time.perf_counter()
        finish = getattr(self.processor, "finish", None)  # optional: see Finishing
        claim = getattr(self.processor, "claim", None)  # optional: see Claiming
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await (self.dedupe(conn, good) if claim is None else claim(conn, self.first(good)))
            if fresh:
                await self.processor.apply(conn, fresh)
            if finish is not None:
                await finish(conn, more)
            fresh_dead = await self.dedupe(conn, dead)
            await outbox.write(conn, self.group, [d.item for d in fresh_dead])
            await self.store_offsets(conn, records)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        committed = getattr(self.processor, "committed", None)
        if committed is not None:  # optional hook: the processor's own metrics, counted only once committed
            committed()
        fresh_ids = {id(d) for d in fresh}
        for d in good:
            (self.metrics.processed if id(d) in fresh_ids else self.metrics.duplicates).labels(d.record.topic).inc()
        for dl in fresh_dead:
            reason = dict(dl.item.headers).get("dl_reason_class", b"unknown").decode()
            self.metrics.deadlettered.labels(dl.record.topic, reason).inc()

    async def dedupe(self, conn: Conn, good: Sequence[Decoded[U]]) -> list[Decoded[U]]:
        """The items whose event id this consumer has not processed before (first occurrence wins)."""
        first = {d.event_id: d for d in self.first(good)}
        if not first:
            return []
        rows = await conn.fetch(
            "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[])"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            self.group,
            list(first),
        )
        fresh = {r["event_id"] for r in rows}
        return [d for eid, d in first.items() if eid in fresh]

    @staticmethod
    def first(items: Sequence[Decoded[U]]) -> list[Decoded[U]]:
        """The first item of each event id, in batch order."""
        first: dict[str, Decoded[U]] = {}
        for d in items:
            first.setdefault(d.event_id, d)
        return list(first.values())

    async def store_offsets(self, conn: Conn, records: Sequence[InRecord]) -> None:
        nxt: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.topic, r.partition)
            nxt[key] = max(nxt.get(key, 0), r.offset + 1)
        await conn.execute(
            """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
               SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o)
               ON CONFLICT (consumer, topic, partition) DO UPDATE
               SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()""",
            self.group,
            [k[0] for k in nxt],
            [k[1] for k in nxt],
            list(nxt.values()),
        )

    async def _one_by_one(
        self, records: Sequence[InRecord], good: Sequence[Decoded[T]], dead: Sequence[Decoded[outbox.OutRow]]
    ) -> None:
        def at(r: InRecord) -> tuple[str, int, int]:
            return (r.topic, r.partition, r.offset)

        goods = {at(d.record): d for d in good}
        deads = {at(d.record): d for d in dead}
        for r in records:
            g, dl = goods.get(at(r)), deads.get(at(r))
            for attempt in range(1, self.RECORD_ATTEMPTS + 1):
                try:
                    await self.transact([r], [g] if g else [], [dl] if dl else [])
                    break
                except TRANSIENT_ERRORS:
                    await asyncio.sleep(0.1 * attempt)
                except Exception as exc:
                    if attempt < self.RECORD_ATTEMPTS:
                        continue
                    reason = f"processing failed {self.RECORD_ATTEMPTS} times: {type(exc).__name__}"
                    log.error("%s: dead-lettering %s/%s/%s: %s", self.group, r.topic, r.partition, r.offset, reason)
                    row = deadletter_row(self.settings, r, self.group, "processing_failed", reason)
                    await self.transact([r], [], [Decoded(r, f"deadletter:{r.topic}/{r.partition}/{r.offset}", row)])

    # -- partitions and offsets -----------------------------------------------------------------
    def _still_assigned(self, records: Sequence[InRecord]) -> list[InRecord]:
        return [r for r in records if TopicPartition(r.topic, r.partition) in self._assigned]

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek every newly assigned partition to its offset stored in PostgreSQL."""
        assert self.consumer is not None
        self._assigned = set(assigned)
        if not assigned:
            return
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = $1", self.group
            )
        stored = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        ends = await self.consumer.end_offsets(list(assigned))
        for tp in assigned:
            offset = stored.get(tp)
            if offset is None:
                await self.consumer.seek_to_beginning(tp)
            elif offset > ends.get(tp, 0) and not await self._record_exists(tp, offset - 1):
                # The log is shorter than what we processed: the broker lost data. Replay from the
                # start; the processed-event log absorbs what was already applied.
                log.warning(
                    "%s: stored offset %s of %s lies beyond the log; resetting to earliest", self.group, offset, tp
                )
                await self.consumer.seek_to_beginning(tp)
                await self._reset_stored_offset(tp)
            else:
                self.consumer.seek(tp, offset)
        log.info("%s: assigned %s", self.group, sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))

    async def _reset_stored_offset(self, tp: TopicPartition) -> None:
        """Lower the stored offset to the start of the new log. Offsets are stored monotonically (``GREATEST``),
        so without this the old, larger offset would survive the reset: the records of the new log below it would
        look processed to lag checks, and the next assignment would seek past them (silently skipping them)."""
        assert self.consumer is not None
        start = (await self.consumer.beginning_offsets([tp])).get(tp, 0)
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE consumer_offsets SET next_offset = $4, updated_at = now()"
                " WHERE consumer = $1 AND topic = $2 AND partition = $3",
                self.group,
                tp.topic,
                tp.partition,
                start,
            )

    async def _record_exists(self, tp: TopicPartition, offset: int) -> bool:
        """Whether ``offset`` exists in the partition. Some brokers (the embedded Tansu) report a partition's
        end offset as the last batch's base offset + 1, so an end-offset comparison alone is not proof."""
        probe = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False)
        await probe.start()
        try:
            probe.assign([tp])
            probe.seek(tp, offset)
            got = await probe.getmany(tp, timeout_ms=1000, max_records=1)
            return any(m.offset == offset for m in got.get(tp, []))
        finally:
            await probe.stop()

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._assigned -= revoked
        for tp in revoked:
            with contextlib.suppress(KeyError):
                self.metrics.lag.remove(tp.topic, str(tp.partition))

    async def _courtesy_commit(self, records: Sequence[InRecord]) -> None:
        assert self.consumer is not None
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            if tp in self._assigned:
                offsets[tp] = OffsetAndMetadata(max(r.offset + 1, offsets[tp].offset if tp in offsets else 0), "")
        if offsets:
            with contextlib.suppress(KafkaError):
                await self.consumer.commit(offsets)

    async def _update_lag(self) -> None:
        assert self.consumer is not None
        for tp in list(self._assigned):
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(KafkaError, AssertionError, ValueError):
                position = await self.consumer.position(tp)
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, high - position))


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: StoredOffsetConsumer[Any]) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.owner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner.on_assigned(set(assigned))
