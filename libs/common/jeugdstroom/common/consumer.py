"""The stored-offset consumer loop: jeugdstroom's effectively-once primitive, without Kafka transactions.

One pass (:meth:`StoredOffsetConsumer.step`) is a pipeline of declared steps:

1. **poll** a batch (bounded by count and time);
2. **decode** each record (:meth:`Processor.decode`); poison (unparseable, unknown version, contract violation)
   becomes a dead-letter row shaped by the processor's :class:`~jeugdstroom.common.deadletter.DeadLetterPolicy`,
   whose storm cap stops the loop when most recent records are poison;
3. in **one PostgreSQL transaction** (:meth:`StoredOffsetConsumer.transact`):

   a. **dedupe**: record the event ids in ``processed_events`` (``ON CONFLICT DO NOTHING RETURNING``: only ids
      returned as fresh take effect) — or let the processor **claim** the items itself (:meth:`Processor.claim`,
      for a processor that stores every item under its event id anyway, the insert of that row being the dedupe);
   b. **apply** the processor's state changes and outbox rows to the fresh items, then **finish** the batch (while
      the dedupe statement is in flight, the processor may **prepare** the batch: CPU work that needs no database,
      :meth:`Processor.prepare`);
   c. write the fresh dead letters;
   d. **store** the next offset per partition (monotonic: ``GREATEST``);

   then tell the processor its batch **committed** (its own metrics count only what committed);
4. **courtesy commit** to Kafka for lag tools (never relied upon; sent in the background, so the next batch does not
   wait for the broker's answer), and update the lag gauge.

On partition assignment the consumer **seeks to the offsets stored in PostgreSQL**; a stored offset beyond the log
is believed only after probing that the last processed record is gone (the broker lost its data), then the
partition replays from the earliest offset and the dedupe absorbs the replay. A kill -9 at any instant therefore
loses nothing and counts nothing twice. Transient faults (database or broker gone) are retried with backoff and
never dead-lettered; when a batch fails for another reason its records are **isolated**: each is tried alone,
and one that keeps failing is dead-lettered after the policy's attempts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from jeugdstroom.common import offsets, outbox
from jeugdstroom.common.aio import raise_if_cancelling
from jeugdstroom.common.db import TRANSIENT_ERRORS, Conn
from jeugdstroom.common.deadletter import DeadLetterPolicy, DeadLetterStorm, deadletter_id, deadletter_row
from jeugdstroom.common.kafka import InRecord, client_options
from jeugdstroom.common.observability import consumer_metrics
from jeugdstroom.common.settings import Settings

__all__ = [
    "DeadLetterPolicy",
    "DeadLetterStorm",
    "Decoded",
    "Poison",
    "Processor",
    "ProcessorBase",
    "StoredOffsetConsumer",
    "deadletter_row",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Poison(Exception):
    """A record that can never be processed; ``reason_class`` is a bounded metric label."""

    def __init__(self, reason_class: str, reason: str) -> None:
        super().__init__(reason)
        self.reason_class = reason_class
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    record: InRecord
    event_id: str
    item: T


class Processor(Protocol[T]):
    """What a service plugs into the loop: ``decode`` and ``apply``, and the optional steps, whose defaults
    :class:`ProcessorBase` provides."""

    #: How this processor's poison is dead-lettered (received at construction; default: the storm cap).
    deadletters: DeadLetterPolicy

    def decode(self, record: InRecord) -> tuple[str, T]:
        """(event id, item) of a record; raises Poison."""
        ...

    async def claim(self, conn: Conn, items: Sequence[Decoded[T]]) -> list[Decoded[T]] | None:
        """Optional dedupe step: a processor whose state holds every item under its event id (a unique key) inserts
        those rows here (``ON CONFLICT DO NOTHING RETURNING``, in the loop's transaction, before ``apply``) and
        returns the items whose row is new; ``items`` have distinct event ids. ``None`` (the default): the loop
        records the ids in ``processed_events``."""
        ...

    def prepare(self, items: Sequence[Decoded[T]]) -> None:
        """Optional: work on a batch's decoded items that needs no database (e.g. folding all of them), run while the
        dedupe statement is in flight, so PostgreSQL and this process work at the same time. ``apply`` then receives
        the fresh items (usually all of them): it may use what ``prepare`` computed only for exactly those items."""
        ...

    def starting(self, more: bool) -> None:
        """Optional: a batch's transaction starts; ``more`` as in :meth:`finish` (e.g. to mark the outbox rows
        written while a backlog waits: kafka.BACKLOG_HEADER)."""
        ...

    async def apply(self, conn: Conn, items: Sequence[Decoded[T]]) -> None:
        """Apply fresh items inside the loop's transaction (state changes and outbox rows)."""
        ...

    async def finish(self, conn: Conn, more: bool) -> None:
        """Optional: the end of every batch's transaction (also when no item was fresh); ``more``: whether the
        fetched high watermarks show records beyond this batch in one of the consumer's assigned partitions (e.g. to
        pace derived outputs while a backlog is replayed)."""
        ...

    def committed(self) -> None:
        """Optional: the batch's transaction committed (e.g. count the processor's own metrics only now)."""
        ...


class ProcessorBase(Generic[T]):
    """The defaults of :class:`Processor`'s optional steps."""

    deadletters: DeadLetterPolicy = DeadLetterPolicy()

    async def claim(self, conn: Conn, items: Sequence[Decoded[T]]) -> list[Decoded[T]] | None:
        return None

    def prepare(self, items: Sequence[Decoded[T]]) -> None:
        return None

    def starting(self, more: bool) -> None:
        return None

    async def finish(self, conn: Conn, more: bool) -> None:
        return None

    def committed(self) -> None:
        return None


@dataclass(slots=True)
class Batch(Generic[T]):
    """Polled records, split by decoding into items and dead-letter rows."""

    records: list[InRecord]
    good: list[Decoded[T]] = field(default_factory=list)
    dead: list[Decoded[outbox.OutRow]] = field(default_factory=list)
    #: Records beyond this batch wait in one of its partitions (by the fetched high watermark).
    more: bool = False

    def within(self, assigned: set[TopicPartition]) -> Batch[T]:
        """The part of the batch in partitions still ``assigned`` to this consumer."""

        if all(TopicPartition(t, p) in assigned for t, p in {(r.topic, r.partition) for r in self.records}):
            return self  # the usual case: every partition of the batch is still assigned

        def mine(r: InRecord) -> bool:
            return TopicPartition(r.topic, r.partition) in assigned

        return Batch([r for r in self.records if mine(r)], [d for d in self.good if mine(d.record)],
                     [d for d in self.dead if mine(d.record)], self.more)

    def alone(self, record: InRecord) -> Batch[T]:
        """The batch of one of its records."""
        return Batch([record], [d for d in self.good if d.record is record],
                     [d for d in self.dead if d.record is record])


class StoredOffsetConsumer(Generic[T]):
    """Consumes ``topics`` in consumer group ``group`` with offsets stored in PostgreSQL."""

    #: The longest wait between two tries of a transient fault (the backoff doubles from 0.05 s up to this).
    max_backoff: float = 5.0

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
        self.policy = processor.deadletters
        self.metrics = consumer_metrics(service)
        self.consumer: AIOKafkaConsumer | None = None
        self.healthy = True
        self._assigned: set[TopicPartition] = set()
        #: The next offset to read per assigned partition, as last known (``_more``; ``update_lag``).
        self._positions: dict[TopicPartition, int] = {}
        self._storm = self.policy.watch()
        #: The courtesy commit in flight (a background task) and the offsets it is to commit next.
        self._committer: asyncio.Task[None] | None = None
        self._to_commit: dict[TopicPartition, int] = {}

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
            if self._committer is not None:
                self._committer.cancel()
                await asyncio.gather(self._committer, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.consumer.stop()

    async def step(self) -> int:
        """One pass of the pipeline; returns the number of records handled."""
        records = await self.poll()
        if not records:
            return 0
        await self.handle(records, more=self._more(records))
        self.courtesy_commit(records)
        await self.update_lag()
        return len(records)

    # -- the steps -------------------------------------------------------------------------------
    async def poll(self) -> list[InRecord]:
        assert self.consumer is not None
        batches = await self.consumer.getmany(
            timeout_ms=self.settings.batch_max_wait_ms, max_records=self.settings.batch_max_records
        )
        return [
            InRecord(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()), m.timestamp)
            for msgs in batches.values()
            for m in msgs
        ]

    def decode(self, records: Sequence[InRecord]) -> Batch[T]:
        """Split records into decoded items and dead-letter rows (each dead letter keyed by its origin, so a
        redelivered poison record is dead-lettered once); raises DeadLetterStorm under the policy's storm cap."""
        batch: Batch[T] = Batch(list(records))
        for r in records:
            try:
                event_id, item = self.processor.decode(r)
            except Poison as p:
                row = self.policy.row(self.settings, r, self.group, p.reason_class, p.reason)
                batch.dead.append(Decoded(r, deadletter_id(r), row))
                continue
            batch.good.append(Decoded(r, event_id, item))
        poisoned = {id(d.record) for d in batch.dead}
        try:
            self._storm.observe(id(r) in poisoned for r in records)
        except DeadLetterStorm:
            self.healthy = False
            raise
        return batch

    async def handle(self, records: Sequence[InRecord], more: bool = False) -> None:
        """Decode and apply a batch, retrying transient faults until it is stored or revoked; a batch that fails
        otherwise is isolated record by record."""
        batch = self.decode(records)
        batch.more = more
        delay = 0.05
        while (batch := batch.within(self._assigned)).records:
            try:
                await self.transact(batch)
                return
            except TRANSIENT_ERRORS as exc:
                delay = await self._backoff(exc, delay)
            except (Poison, DeadLetterStorm):
                raise
            except Exception:
                log.exception("%s: batch failed; retrying its records one by one", self.group)
                await self.isolate(batch)
                return

    async def transact(self, batch: Batch[T]) -> None:
        """Step 3: dedupe, apply, finish, dead letters and stored offsets in one transaction; then committed."""
        started = time.perf_counter()
        self.processor.starting(batch.more)
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await self._dedupe_preparing(conn, batch.good)
            if fresh:
                await self.processor.apply(conn, fresh)
            await self.processor.finish(conn, batch.more)
            fresh_dead = await offsets.fresh(conn, self.group, batch.dead)
            await outbox.write(conn, self.group, [d.item for d in fresh_dead])
            await offsets.store(conn, self.group, batch.records)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.processor.committed()
        self._count(batch, fresh, fresh_dead)

    async def _dedupe_preparing(self, conn: Conn, good: Sequence[Decoded[T]]) -> list[Decoded[T]]:
        """:meth:`dedupe`, with the processor's ``prepare`` running while the dedupe statement is in flight."""
        if not good:
            return await self.dedupe(conn, good)
        dedupe = asyncio.ensure_future(self.dedupe(conn, good))
        try:
            await asyncio.sleep(0)  # the dedupe task sends its statement, then waits for PostgreSQL's answer
            self.processor.prepare(good)
        except BaseException:
            # Never leave the statement running on the connection, not even when cancelled here (a shutdown): the
            # transaction's rollback would meet it, and asyncpg would raise InterfaceError in place of the cancel.
            dedupe.cancel()
            await asyncio.gather(dedupe, return_exceptions=True)
            raise
        return await dedupe  # a cancel while waiting here cancels the dedupe task and waits for it

    async def dedupe(self, conn: Conn, good: Sequence[Decoded[T]]) -> list[Decoded[T]]:
        """Step 3a: the items whose event id this consumer has not processed before (first occurrence wins)."""
        claimed = await self.processor.claim(conn, offsets.first(good))
        return claimed if claimed is not None else await offsets.fresh(conn, self.group, good)

    async def isolate(self, batch: Batch[T]) -> None:
        """Each record alone, never skipped: it is stored (applied or, after the policy's attempts, dead-lettered with
        reason ``processing_failed``) before the next one, or left to the partition's next owner when its partition
        is revoked. Transient faults are retried with backoff without counting as a failure."""
        attempts = self.policy.record_attempts
        for r in batch.records:
            for _ in range(attempts):
                failure = await self._transact_alone(batch.alone(r))
                if failure is None:
                    break
            else:
                reason = f"processing failed {attempts} times: {type(failure).__name__}"
                log.error("%s: dead-lettering %s/%s/%s: %s", self.group, r.topic, r.partition, r.offset, reason)
                row = self.policy.row(self.settings, r, self.group, "processing_failed", reason)
                failure = await self._transact_alone(Batch([r], dead=[Decoded(r, deadletter_id(r), row)]))
                if failure is not None:
                    raise failure

    async def _transact_alone(self, alone: Batch[T]) -> Exception | None:
        """Transact a one-record batch until it is stored or its partition revoked, waiting out transient faults and
        any error raised while the database does not answer (an outage can surface as another exception type, e.g.
        a connection left in a broken protocol state); returns a failure met while the database answers."""
        delay = 0.05
        while (alone := alone.within(self._assigned)).records:
            try:
                await self.transact(alone)
                return None
            except (Poison, DeadLetterStorm):
                raise
            except Exception as exc:
                if not isinstance(exc, TRANSIENT_ERRORS) and await self._database_answers():
                    return exc
                delay = await self._backoff(exc, delay)
        return None

    async def _database_answers(self) -> bool:
        """Whether a connection of the pool runs a query now (false while the database is away)."""
        try:
            async with self.pool.acquire(timeout=5) as conn:
                await conn.fetchval("SELECT 1")
            return True
        except Exception:
            return False

    def courtesy_commit(self, records: Sequence[InRecord]) -> None:
        """Step 4: commit the processed offsets to Kafka, for lag tools only, in the background: one commit in flight
        at a time, the offsets of batches stored meanwhile go with the next one (a broker round trip per batch the
        loop no longer waits for)."""
        nxt = {tp: o for tp, o in offsets.next_offsets(records).items() if tp in self._assigned}
        if not nxt:
            return
        for tp, o in nxt.items():
            self._to_commit[tp] = max(self._to_commit.get(tp, 0), o)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_courtesy())

    async def _commit_courtesy(self) -> None:
        assert self.consumer is not None
        while self._to_commit:
            nxt, self._to_commit = self._to_commit, {}
            try:
                await self.consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in nxt.items()})
            except KafkaError:
                pass  # a revoked partition or a rebalance: the stored offsets in PostgreSQL are what counts
            except Exception:
                log.debug("%s: courtesy commit failed", self.group, exc_info=True)

    async def update_lag(self) -> None:
        """The lag gauge per assigned partition: the fetched high watermark minus the position."""
        assert self.consumer is not None
        for tp in list(self._assigned):
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(KafkaError, AssertionError, ValueError):
                position = self._positions[tp] = await self.consumer.position(tp)
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, high - position))

    # -- helpers ---------------------------------------------------------------------------------
    def _more(self, records: Sequence[InRecord]) -> bool:
        """Whether an assigned partition has records beyond this batch (by the fetched high watermarks): the
        batch's own partitions, and the others by the positions :meth:`update_lag` last saw (a fetch returns
        records of a few partitions at a time, so a batch at the end of its own can leave others behind)."""
        assert self.consumer is not None
        consumer = self.consumer
        self._positions.update(offsets.next_offsets(records))
        positions = self._positions
        return any(tp in positions and (consumer.highwater(tp) or 0) > positions[tp] for tp in self._assigned)

    async def _backoff(self, exc: BaseException, delay: float) -> float:
        """Count and wait out a transient fault; returns the next delay. A fault met while this task is being
        cancelled ends it instead (:func:`raise_if_cancelling`)."""
        raise_if_cancelling(exc)
        self.metrics.retries.inc()
        log.warning("%s: transient fault %s, retrying in %.2fs", self.group, type(exc).__name__, delay)
        await asyncio.sleep(delay)
        return min(delay * 2, self.max_backoff)

    def _count(
        self, batch: Batch[T], fresh: Sequence[Decoded[T]], fresh_dead: Sequence[Decoded[outbox.OutRow]]
    ) -> None:
        fresh_ids = {id(d) for d in fresh}
        counts: collections.Counter[tuple[bool, str]] = collections.Counter(
            (id(d) in fresh_ids, d.record.topic) for d in batch.good
        )
        for (is_fresh, topic), n in counts.items():  # one labelled increment per topic, not per record
            (self.metrics.processed if is_fresh else self.metrics.duplicates).labels(topic).inc(n)
        for dl in fresh_dead:
            reason = dict(dl.item.headers).get("dl_reason_class", b"unknown").decode()
            self.metrics.deadlettered.labels(dl.record.topic, reason).inc()

    # -- partitions and offsets -----------------------------------------------------------------
    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek every newly assigned partition to its offset stored in PostgreSQL."""
        assert self.consumer is not None
        self._assigned = set(assigned)
        if not assigned:
            return
        async with self.pool.acquire() as conn:
            stored = await offsets.stored(conn, self.group)
        ends = await self.consumer.end_offsets(list(assigned))
        for tp in assigned:
            self._positions.pop(tp, None)  # known again after the first fetch (update_lag)
            await self._seek(tp, stored.get(tp), ends.get(tp, 0))
        log.info("%s: assigned %s", self.group, sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))

    async def _seek(self, tp: TopicPartition, offset: int | None, end: int) -> None:
        """Seek a partition to its stored ``offset``; to the beginning when none is stored, or when the broker lost
        the log: the log is shorter than what we processed, so replay from the start (the processed-event log
        absorbs what was already applied)."""
        assert self.consumer is not None
        if offset is None:
            await self.consumer.seek_to_beginning(tp)
        elif offset > end and not await self._record_exists(tp, offset - 1):
            log.warning("%s: stored offset %s of %s lies beyond the log; resetting to earliest", self.group, offset, tp)
            await self.consumer.seek_to_beginning(tp)
            await self._reset_stored_offset(tp)
        else:
            self.consumer.seek(tp, offset)

    async def _reset_stored_offset(self, tp: TopicPartition) -> None:
        """Lower the stored offset to the start of the new log. Offsets are stored monotonically (``GREATEST``),
        so without this the old, larger offset would survive the reset: the records of the new log below it would
        look processed to lag checks, and the next assignment would seek past them (silently skipping them)."""
        assert self.consumer is not None
        start = (await self.consumer.beginning_offsets([tp])).get(tp, 0)
        async with self.pool.acquire() as conn:
            await offsets.lower(conn, self.group, tp, start)

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


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: StoredOffsetConsumer[Any]) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.owner.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner.on_assigned(set(assigned))
