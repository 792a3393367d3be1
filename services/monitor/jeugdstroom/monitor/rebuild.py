"""``jeugdstroom rebuild monitor``: recompute every aggregate from the registry's current state while the live fold
and the API keep running on the current tables, then swap the new tables in. The argument for why the result is
exactly what a replay from the first change gives is in docs/monitor.md ("Rebuild"); in short:

1. **begin** (under the exclusive advisory lock :data:`LOCK`, which every fold batch takes shared): write the
   ``monitor.rebuild_state`` row and create empty copies of the aggregate tables in ``monitor_rebuild``. From then on
   every fold batch also journals, per entity, the last change it applied (``monitor.rebuild_journal``).
2. **read** the entity topic from the beginning to its end, keeping the last record per key (the embedded broker does
   not compact): the snapshot, each version with the id of the change that produced it.
3. **fold** the snapshot's versions into ``monitor_rebuild`` with the fold functions of the catalogue (``FOLDS``, by
   entity name: the same path as a change from nothing), in chunks, summing the deltas in memory; the sums go into
   the bare copies (no indexes yet) with COPY, then the copies get their indexes. The fold runs in worker processes
   that each fold, sum and COPY their own series (:mod:`jeugdstroom.monitor.rebuild_workers`).
4. **wait** until the live fold has applied (``processed_events``) the change of every snapshot version whose entity it
   has not journaled: a version the live fold has not applied yet would otherwise be counted twice after the swap.
5. **swap**, under the exclusive lock (the live fold pauses; the API waits only for the swap's own commit): read the
   records that reached the entity topic since step 2; take for each entity the version the live fold has applied —
   the journal's if it journaled the entity, else the last record whose change it applied — and correct the new
   tables where that differs from the snapshot; swap the tables; queue every indicator cell for the indicator topic.

Everything goes through :func:`jeugdstroom.monitor.fold.deltas` on registry-change contracts, so a new entity kind or
a changed definition in the catalogue is rebuilt without changes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from jeugdstroom.common import collector
from jeugdstroom.common.consumer import Decoded
from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.common.contracts.unions import AnyChange
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import REGISTRY_ENTITIES, client_options
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold, publisher, rebuild_workers
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.periods import today

#: Fold batches take this advisory lock shared, the rebuild's begin and swap exclusively.
LOCK = zlib.crc32(b"monitor:rebuild")
#: Held (session-level) for a whole rebuild: one at a time.
RUN_LOCK = zlib.crc32(b"monitor:rebuild:run")
SHADOW = "monitor_rebuild"
#: The consumer (processed-event log) of the live fold (processor.GROUP).
LIVE = "monitor"

Progress = Callable[[str], None]
Hook = Callable[[str], Awaitable[None]]


# -- the live fold's side ------------------------------------------------------------------------------------
async def live_guard(conn: Conn) -> bool:
    """In a fold batch's transaction, before it changes an aggregate: take :data:`LOCK` shared (a swap in progress
    makes the batch wait) and answer whether a rebuild runs (then the batch must :func:`journal` its changes)."""
    return bool(await conn.fetchval("SELECT monitor.rebuild_live_guard($1)", LOCK))


def _key_of(change: AnyChange) -> str | None:
    version = change.after if change.after is not None else change.before
    return None if version is None else entity_topic_key(change.entity, version)


async def journal(conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
    """Record, per entity, the last of ``items`` (the fresh changes of a batch, in record order) the live fold
    applied: the version a rebuild must end with for that entity."""
    last: dict[str, Decoded[AnyChange]] = {}
    for d in items:
        key = _key_of(d.item)
        if key is not None:
            last[key] = d
    if not last:
        return
    keys = sorted(last)  # one order for every instance: no deadlock between concurrent batches
    await conn.execute(
        """INSERT INTO monitor.rebuild_journal (key, change_id, change)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
           ON CONFLICT (key) DO UPDATE SET change_id = EXCLUDED.change_id, change = EXCLUDED.change""",
        keys,
        [last[k].event_id for k in keys],
        [last[k].record.value for k in keys],
    )


# -- reading the entity topic --------------------------------------------------------------------------------
@dataclass(slots=True)
class Record:
    """An entity topic record: the id of the change that produced it and the version (a change from nothing) as
    JSON, None for a tombstone."""

    change_id: str
    value: bytes | None


class EntityReader:
    """Reads every partition of the entity topic from the beginning, in order, remembering its position."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topic(REGISTRY_ENTITIES)
        self.consumer: AIOKafkaConsumer | None = None
        self.tps: list[TopicPartition] = []

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=32 << 20,
        )
        await self.consumer.start()
        await self.consumer._client.force_metadata_update()
        parts = self.consumer.partitions_for_topic(self.topic) or set()
        if not parts:
            raise RuntimeError(f"topic {self.topic} does not exist (start the registry, or `jeugdstroom migrate`?)")
        self.tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        self.consumer.assign(self.tps)
        await self.consumer.seek_to_beginning(*self.tps)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()

    async def read_to_end(
        self, handle: Callable[[EntityRecord], None], idle_polls: int = 3, poll_ms: int = 200
    ) -> int:
        """Hand every record up to the end of each partition to ``handle`` (as the client gives it: no copy per
        record — a snapshot read handles millions); returns how many. The end is the high watermark of the fetches
        (the embedded broker's ListOffsets answer is not reliable); a partition that answered ``idle_polls`` empty
        fetches in a row counts as at its end."""
        assert self.consumer is not None
        n = 0
        idle = 0
        while True:
            batch = await self.consumer.getmany(timeout_ms=poll_ms, max_records=20_000)
            got = 0
            for msgs in batch.values():
                for m in msgs:
                    handle(m)
                got += len(msgs)
            n += got
            idle = 0 if got else idle + 1
            if await self._at_end() or idle >= idle_polls:
                return n

    async def _at_end(self) -> bool:
        assert self.consumer is not None
        for tp in self.tps:
            high = self.consumer.highwater(tp)
            if high is None or await self.consumer.position(tp) < high:
                return False
        return True


class EntityRecord(Protocol):
    """An entity topic record as the Kafka client gives it (aiokafka's ``ConsumerRecord``; also an ``InRecord``)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def record_of(r: EntityRecord) -> tuple[str, Record]:
    """(key, record) of an entity topic record."""
    if r.key is None:
        raise ValueError(f"entity record without a key at {r.topic}/{r.partition}/{r.offset}")
    for name, value in r.headers or ():
        if name == "ce_id":
            return r.key.decode(), Record(value.decode("utf-8", "replace"), r.value)
    raise ValueError(f"entity record without ce_id at {r.topic}/{r.partition}/{r.offset}")


# -- the rebuild ----------------------------------------------------------------------------------------------
@dataclass
class Stats:
    run: str = ""
    records: int = 0  # entity topic records read
    entities: int = 0  # entities folded (tombstones and removed entities left out)
    read_s: float = 0.0
    fold_s: float = 0.0
    wait_s: float = 0.0
    swap_s: float = 0.0  # the live fold's pause
    total_s: float = 0.0
    snapshot_bytes: int = 0  # keys and values of the snapshot's records (what step 2 holds in memory)
    corrected: int = 0  # entities whose version changed between the snapshot and the swap
    attempts: int = 0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def entities_per_s(self) -> float:
        return self.entities / self.total_s if self.total_s else 0.0


def _as_change(change_id: str, before: bytes | None, after: bytes | None) -> AnyChange | None:
    """A registry change from two entity-topic versions (each a change from nothing, or None)."""
    b = None if before is None else orjson.loads(before)
    a = None if after is None else orjson.loads(after)
    if a is None and b is None:
        return None
    doc = dict(a if a is not None else b)  # type: ignore[arg-type]
    doc["change_id"] = change_id
    doc["before"] = None if b is None else b["after"]
    doc["after"] = None if a is None else a["after"]
    return rebuild_workers.CHANGE.validate_json(orjson.dumps(doc))  # (the contracts are strict: dates from JSON only)


def _version_of_change(change: bytes) -> bytes | None:
    """A journaled change's ``after`` as an entity-topic value (a change from nothing), None when it was removed."""
    doc = orjson.loads(change)
    if doc.get("after") is None:
        return None
    doc["before"] = None
    return orjson.dumps(doc)


class Rebuild:
    """One run of ``jeugdstroom rebuild monitor`` against a monitor database and the entity topic."""

    #: PostgreSQL's memory for building the copies' indexes after the COPY (a sort in memory instead of on disk).
    INDEX_MEMORY = "256MB"
    #: How long step 4 waits for the live fold before giving up (the live fold is stopped or stuck).
    WAIT_TIMEOUT_S = 600.0

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        progress: Progress | None = None,
        hook: Hook | None = None,
        as_of: Callable[[], date] = today,
        workers: int | None = None,
        database_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        #: Processes that fold the snapshot (step 3); 1: this process alone.
        self.workers = rebuild_workers.default_workers() if workers is None else max(1, workers)
        #: Where the workers connect (each COPYs its own rows).
        self.database_url = database_url or (settings.database_url if settings is not None else "")
        self.progress = progress or (lambda _: None)
        self.hook = hook
        self.as_of = as_of
        self.stats = Stats(run=uuid.uuid4().hex[:12])
        self.snapshot: dict[str, Record] = {}
        self.late: dict[str, list[Record]] = {}
        self.work: dict[tuple[str, str], publisher.Affected] = {}
        self._last_progress = time.monotonic()

    async def _phase(self, name: str) -> None:
        self.stats.phases[name] = time.monotonic()
        if self.hook is not None:
            await self.hook(name)

    def _tick(self, text: Callable[[], str], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= 1.0:
            self._last_progress = now
            self.progress(text())

    async def run(self) -> Stats:
        started = time.monotonic()
        async with self.pool.acquire() as session:  # one rebuild at a time (a session lock: released if we die)
            if not await session.fetchval("SELECT pg_try_advisory_lock($1)", RUN_LOCK):
                raise RuntimeError("another rebuild of the monitor is running")
            try:
                await self._run()
            finally:
                await session.execute("SELECT pg_advisory_unlock($1)", RUN_LOCK)
        self.stats.total_s = time.monotonic() - started
        self.progress(
            f"rebuild {self.stats.run}: {self.stats.entities:,} entities from {self.stats.records:,} records in"
            f" {self.stats.total_s:.1f}s ({self.stats.entities_per_s:,.0f} entities/s; live fold paused"
            f" {self.stats.swap_s * 1000:.0f} ms, {self.stats.corrected} entities caught up at the swap)"
        )
        return self.stats

    async def _run(self) -> None:
        reader = EntityReader(self.settings)
        await self.begin()
        try:
            await reader.start()
            await self.read(reader)
            ahead = asyncio.ensure_future(self._unapplied_ahead())  # step 4's first look, while step 3 folds
            try:
                await self.fold()
                pending = await ahead
            finally:
                if not ahead.done():
                    ahead.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ahead
            await self.wait_for_live(pending)
            await self.swap(reader)
        except BaseException:
            await self.abort()
            raise
        finally:
            await reader.stop()

    # 1
    async def begin(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
            await conn.execute("DELETE FROM monitor.rebuild_journal")
            await conn.execute(
                "INSERT INTO monitor.rebuild_state (id, run) VALUES (1, $1)"
                " ON CONFLICT (id) DO UPDATE SET run = EXCLUDED.run, started_at = now()",
                self.stats.run,
            )
            # bare copies (no indexes): the fold fills them with COPY, then builds their indexes (0012_rebuild_bulk.sql)
            await conn.execute("SELECT monitor.rebuild_prepare_bare($1::text[])", list(repo.AGGREGATE_TABLES))
        self.progress(f"rebuild {self.stats.run}: the live fold journals its changes; reading the entity topic")
        await self._phase("begun")

    async def abort(self) -> None:
        """Stop journaling and drop the copies (the current tables stay as they are)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
            await conn.execute("DELETE FROM monitor.rebuild_state WHERE run = $1", self.stats.run)
            await conn.execute("DELETE FROM monitor.rebuild_journal")
            for t in repo.AGGREGATE_TABLES:
                await conn.execute(f"DROP TABLE IF EXISTS {SHADOW}.{t}")

    # 2
    async def read(self, reader: EntityReader) -> None:
        t0 = time.monotonic()
        snapshot = self.snapshot

        def keep(r: EntityRecord) -> None:
            key, rec = record_of(r)
            snapshot[key] = rec
            self.stats.records += 1
            if self.stats.records % 10_000 == 0:
                self._tick(lambda: f"  read {self.stats.records:,} records"
                                   f" ({self.stats.records / max(time.monotonic() - t0, 1e-9):,.0f}/s)")

        with collector.paused():
            await reader.read_to_end(keep)
        self.stats.snapshot_bytes = sum(len(k) + len(r.change_id) + len(r.value or b"") for k, r in snapshot.items())
        self.stats.read_s = time.monotonic() - t0
        self.progress(f"  read {self.stats.records:,} records, {len(snapshot):,} entities in {self.stats.read_s:.1f}s")
        await self._phase("read")

    # 3
    async def fold(self) -> None:
        """Fold every snapshot version, summing the deltas in memory (a delta key is a cell of a series, or a member:
        far fewer than the entities at scale), then write the sums into the bare copies with COPY — one row per key,
        nothing to merge in the database (an upsert per chunk wrote about 3× slower) — and build their indexes
        (faster than maintaining them during the COPY). With several workers (:mod:`.rebuild_workers`) each folds
        and COPYs its own series in a forked process, so Python's fold and PostgreSQL's COPY use the cores side by
        side; with one, this process folds everything."""
        t0 = time.monotonic()
        as_of = self.as_of()
        with collector.paused():  # (also while the plan times its samples)
            versions = rebuild_workers.group(self.snapshot)
            assignments = rebuild_workers.plan(versions, self.workers) if self.workers > 1 else []
        total_versions = sum(map(len, versions.values()))

        copying = False

        def tick(done: int, of: int) -> None:
            nonlocal copying
            if done >= of:  # every version folded: the sums are being copied
                if not copying:
                    copying = True
                    self._tick(lambda: f"  folded {total_versions:,} versions"
                                       f" in {time.monotonic() - t0:.1f}s; copying their sums", force=True)
                return
            self._tick(lambda: f"  folding: {done / max(of, 1):.0%} of {total_versions:,} versions"
                               f" ({done / max(of, 1) * total_versions / max(time.monotonic() - t0, 1e-9):,.0f}/s)")

        if len(assignments) > 1:
            share = sum(a.versions({k: len(v) for k, v in versions.items()}) for a in assignments)
            self.progress(f"  folding {total_versions:,} versions in {len(assignments)} worker processes")
            rows = await self._fold_in_workers(versions, assignments, as_of, lambda done: tick(done, share))
        else:
            everything = rebuild_workers.Assignment(0, {k: tuple(s for s, _ in FOLDS.get(k, ())) for k in versions})
            with collector.paused():
                total, entities = rebuild_workers.fold_part(
                    everything, versions, done=lambda done: tick(done, total_versions)
                )
            self.stats.entities += sum(entities.values())
            self._affected(total, as_of)
            async with self.pool.acquire() as conn, conn.transaction():
                rows = sum((await rebuild_workers.write(conn, total, SHADOW)).values())
                del total
                await self._index(conn, repo.AGGREGATE_TABLES)
        del versions
        self.stats.fold_s = time.monotonic() - t0
        self.progress(f"  folded {self.stats.entities:,} entities in {self.stats.fold_s:.1f}s ({rows:,} rows)")
        await self._phase("folded")

    async def _fold_in_workers(
        self,
        versions: dict[str, list[tuple[str, bytes]]],
        assignments: Sequence[rebuild_workers.Assignment],
        as_of: date,
        tick: Callable[[int], None],
    ) -> int:
        """:meth:`fold` with several workers: run them, take their entities, rows and affected cells, index the
        copies side by side; returns the rows copied."""
        results = await rebuild_workers.run(versions, assignments, as_of, self.database_url, SHADOW, tick)
        entities: dict[str, int] = {}
        per_table: dict[str, int] = {}
        for a, r in zip(assignments, results, strict=True):
            entities.update(r.entities)  # a kind read by several workers: the same count in each
            for table, n in r.rows.items():
                per_table[table] = per_table.get(table, 0) + n
            self.progress(f"  worker {a.index}: {sum(len(s) for s in a.series.values())} series of"
                          f" {', '.join(sorted(a.series))}: folded in {r.fold_s:.1f}s,"
                          f" {sum(r.rows.values()):,} rows copied in {r.copy_s:.1f}s")
            for cell, v in r.affected.items():
                publisher.merge(self.work, cell, v)
        self.stats.entities += sum(entities.values())
        await self._index_side_by_side(per_table, len(assignments))
        return sum(per_table.values())

    async def _index(self, conn: Conn, tables: Sequence[str]) -> None:
        """Give the copies ``tables`` the current tables' keys and indexes (in the caller's transaction)."""
        await conn.execute(f"SET LOCAL maintenance_work_mem = '{self.INDEX_MEMORY}'")
        await conn.execute("SELECT monitor.rebuild_index($1::text[])", list(tables))

    async def _index_side_by_side(self, rows: dict[str, int], connections: int) -> None:
        """Index the copies over up to ``connections`` connections at once (each table in one; the tables split by
        their rows, largest first): PostgreSQL builds one index per backend, so this uses the cores side by side."""
        shares: list[list[str]] = [[] for _ in range(max(1, connections))]
        loads = [0] * len(shares)
        for table in sorted(repo.AGGREGATE_TABLES, key=lambda t: (-rows.get(t, 0), t)):
            i = loads.index(min(loads))
            shares[i].append(table)
            loads[i] += rows.get(table, 0)

        async def index(tables: list[str]) -> None:
            async with self.pool.acquire() as conn, conn.transaction():
                await self._index(conn, tables)

        await asyncio.gather(*(index(tables) for tables in shares if tables))

    def _affected(self, total: dict[tuple[Any, ...], int], as_of: date) -> None:
        """Note the cells of every key the fold touched (zero sums too: a superset of the cells whose value may
        differ is harmless, the publication recomputes each)."""
        for cell, v in publisher.affected(total, as_of).items():
            publisher.merge(self.work, cell, v)

    # 4
    async def _unapplied_ahead(self) -> dict[str, str]:
        """The snapshot's changes the live fold has not applied yet (change id → entity key), looked up while the
        fold runs (in worker processes: this process and PostgreSQL have time): a change found applied stays
        applied, so :meth:`wait_for_live` need only look at the rest again."""
        async with self.pool.acquire() as conn:
            return await _unapplied(conn, {rec.change_id: key for key, rec in self.snapshot.items()})

    async def wait_for_live(self, pending: dict[str, str] | None = None) -> None:
        """Until the live fold has applied the change of every snapshot version of an entity it has not journaled
        (``pending``: those not applied at an earlier look, by default every snapshot version's)."""
        t0 = time.monotonic()
        if pending is None:
            pending = {rec.change_id: key for key, rec in self.snapshot.items()}
        while True:
            async with self.pool.acquire() as conn:
                pending = await _unapplied(conn, pending)
                if pending:
                    journaled = await _journaled(conn, list(pending.values()))
                    pending = {c: k for c, k in pending.items() if k not in journaled}
            if not pending:
                break
            if time.monotonic() - t0 > self.WAIT_TIMEOUT_S:
                raise TimeoutError(
                    f"the live fold has not applied {len(pending)} changes of the entity topic after"
                    f" {self.WAIT_TIMEOUT_S:.0f}s (is the monitor running and caught up?)"
                )
            self._tick(functools.partial("  waiting for the live fold to apply {:,} changes".format, len(pending)))
            await asyncio.sleep(0.1)
        self.stats.wait_s = time.monotonic() - t0
        self.progress(f"  the live fold has applied every snapshot version's change (waited {self.stats.wait_s:.1f}s)")
        await self._phase("waited")

    # 5
    async def swap(self, reader: EntityReader) -> None:
        late = self.late

        def collect(r: EntityRecord) -> None:
            key, rec = record_of(r)
            late.setdefault(key, []).append(rec)
            self.stats.records += 1

        await reader.read_to_end(collect)  # most of what arrived since step 2, outside the pause
        await self._phase("swapping")
        t0 = time.monotonic()
        async with self.pool.acquire() as conn, conn.transaction():
            # the indicator topic's cells, exact: publications wait for this transaction (the fold does not, yet)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", publisher.PUBLICATION_LOCK)
            await publisher.published_cells(conn, self.work)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)  # the live fold pauses
            await reader.read_to_end(collect, idle_polls=1, poll_ms=50)
            rows = await conn.fetch("SELECT key, change_id, change FROM monitor.rebuild_journal")
            final: dict[str, Record] = {r["key"]: Record(r["change_id"], _version_of_change(r["change"])) for r in rows}
            # an entity the live fold did not touch since step 1: the last record whose change it applied
            candidates = {rec.change_id: key for key, recs in late.items() if key not in final for rec in recs}
            unapplied = await _unapplied(conn, candidates)
            for key, recs in late.items():
                if key in final:
                    continue
                applied = [rec for rec in recs if rec.change_id not in unapplied]
                if applied:
                    final[key] = applied[-1]
            corrections = []
            for key, rec in final.items():
                old = self.snapshot.get(key)
                change = _as_change(rec.change_id, None if old is None else old.value, rec.value)
                if change is not None and change.before != change.after:
                    corrections.append(change)
            as_of = self.as_of()
            deltas = fold.deltas(corrections, FOLDS)
            await repo.apply_deltas(conn, deltas, SHADOW)
            for k, v in publisher.affected(deltas, as_of).items():
                publisher.merge(self.work, k, v)
            await conn.execute("SELECT monitor.rebuild_swap($1::text[])", list(repo.AGGREGATE_TABLES))
            await publisher.defer(conn, self.work)
            await conn.execute("DELETE FROM monitor.rebuild_journal")
            await conn.execute("DELETE FROM monitor.rebuild_state")
        self.stats.corrected = len(corrections)
        self.stats.swap_s = time.monotonic() - t0
        await self._phase("swapped")


async def _unapplied(conn: Conn, changes: dict[str, str]) -> dict[str, str]:
    """The entries of ``changes`` (change id → entity key) whose change the live fold has not applied."""
    ids = list(changes)
    out: dict[str, str] = {}
    for i in range(0, len(ids), 50_000):
        part = ids[i : i + 50_000]
        for r in await conn.fetch(
            "SELECT x FROM unnest($1::text[]) AS u(x) WHERE NOT EXISTS"
            " (SELECT 1 FROM processed_events p WHERE p.consumer = $2 AND p.event_id = u.x)",
            part,
            LIVE,
        ):
            out[r["x"]] = changes[r["x"]]
    return out


async def _journaled(conn: Conn, keys: Iterable[str]) -> set[str]:
    rows = await conn.fetch("SELECT key FROM monitor.rebuild_journal WHERE key = ANY($1::text[])", list(keys))
    return {r["key"] for r in rows}


def summary(stats: Stats) -> dict[str, Any]:
    return {
        "run": stats.run,
        "records": stats.records,
        "entities": stats.entities,
        "read_s": round(stats.read_s, 3),
        "fold_s": round(stats.fold_s, 3),
        "wait_s": round(stats.wait_s, 3),
        "swap_s": round(stats.swap_s, 3),
        "total_s": round(stats.total_s, 3),
        "entities_per_s": round(stats.entities_per_s, 1),
        "corrected": stats.corrected,
        "snapshot_bytes": stats.snapshot_bytes,
    }
