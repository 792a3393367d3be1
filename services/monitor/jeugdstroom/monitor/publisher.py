"""The compacted indicator topic (``jeugdstroom.indicators``): current public rows, sent only for rows whose public
value changed.

Key: ``indicator|period|start|dims`` (``k=v;…``, dims at one of the indicator's topic groupings: the country, per
jeugdregio, gemeente and instelling, alone and with its breakdowns; ``Indicator.topic_groupings``). Value: the row of
docs/indicators.md, suppressed as public output, plus ``indicator``, ``version``, ``unit`` and ``as_of``. A row that
no longer exists is published with its empty value (0, or n/denominator 0); a key that is no longer a topic cell
(published at an earlier grouping) gets a tombstone. Periods on the topic:
month, half_year and year (day rows would multiply the topic without adding information).

What was last published is kept in ``monitor.published``, per cell a 64-bit digest of its public row (:func:`digest`)
and one of its exact value fields (:func:`source_digest`: a cell whose exact value is unchanged is skipped before its
public row is computed); read once per publication chunk for all its indicators and periods. A chunk's changed rows are sent to the broker directly (a
:data:`Sink`, acks=all) and only then recorded in ``monitor.published``, in the transaction that also deletes the
chunk's pending records: a crash or a broker fault before the commit leaves the cells pending, and the next
publication computes and sends the same rows again (the same ``ce_id``). The topic's records are current values by
key, derived from the aggregates, so at-least-once by key is all a subscriber of a compacted topic can observe; the
transactional outbox (a row per record inserted, read, marked sent) had cost more PostgreSQL time than the rest of
the pipeline together (docs/benchmarks.md, round 4). The comparison and the send run under transaction-level
advisory locks, one per indicator × period pair (and the publication lock, shared), so publications of a pair (by
several publisher processes, or instances folding different partitions) follow each other in commit order and the
last record of a key always carries the value after both batches; a publication skips the pending pairs another one
holds (their records stay pending for the next round). The current rows of an indicator × period are computed at
every topic grouping from one read per series at the finest level the groupings need (:func:`rows.cells_views`; the
JSON API's :func:`rows.cells` reads one grouping), inside :func:`repository.shared_reads` held for one indicator at a
time, so its month, half-year and year rows share one read of month sums (stocks, counts) or of spans (member spans,
waiting).

A fold records the cells its deltas may have changed (publication/pending.py); :func:`publish_work` with ``pending``
(indicator × period pairs) takes those pairs' pending records (deleting them) and publishes the rows of their cells,
together with any ``work`` passed directly. When and how often that runs is the publishing loop's business (publication/loop.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter as CounterOf
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter

from jeugdstroom.common import geography, outbox, tracing
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import INDICATOR_CE_TYPE, INDICATORS, Headers, cloudevent_headers
from jeugdstroom.common.observability import outbox_metrics
from jeugdstroom.common.settings import Settings
from jeugdstroom.common.sql import load_queries
from jeugdstroom.monitor import disclosure
from jeugdstroom.monitor.catalogue import CATALOGUE, Indicator
from jeugdstroom.monitor.publication.pending import (
    PAIR_LOCKS,
    PUBLICATION_LOCK,
    TOPIC_PERIODS,
    Affected,
    affected,
    defer,
    done_pending,
    merge,
    pair_key,
    pending_pairs,
    published_cells,
    republish_all,
    take_pending,
)
from jeugdstroom.monitor.repository import Cell, Scope, View, forget_shared_reads, shared_reads
from jeugdstroom.monitor.rows import Row, cells_views, empty_row, public_cell, shown, with_names

T = TypeVar("T")

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

#: The pending cells live in publication/pending.py; re-exported here for the rebuild, the benchmarks and the tests.
__all__ = [
    "CHUNK",
    "PRODUCER",
    "PUBLICATION_LOCK",
    "TOPIC_PERIODS",
    "Affected",
    "Sink",
    "affected",
    "broker_sink",
    "chunks",
    "defer",
    "merge",
    "pending_pairs",
    "publish_work",
    "published_cells",
    "republish_all",
    "take_pending",
    "topic_key",
]

#: The monitor's outbox producer: the indicator topic went through the outbox before it was sent directly; the
#: monitor's relay still drains rows an earlier version left there.
PRODUCER = "monitor"


#: Sends a publication chunk's records and returns once the broker confirmed every one (acks=all); raises otherwise.
Sink = Callable[[Sequence[outbox.OutRow]], Awaitable[None]]


def broker_sink(producer: Callable[[], Awaitable[AIOKafkaProducer]]) -> Sink:
    """A :data:`Sink` sending through the service's producer (``producer()`` returns it started), as record batches
    per partition; counted in the monitor's ``outbox_published_total``/``outbox_publish_errors_total`` (the
    operators' alerts on a broker that refuses writes cover it as before)."""
    metrics = outbox_metrics("monitor")

    async def send(rows: Sequence[outbox.OutRow]) -> None:
        if not rows:
            return
        try:
            await asyncio.gather(*await outbox.send_batches(await producer(), rows))
        except KafkaError:
            metrics.publish_errors.inc()
            raise
        metrics.published.labels(rows[0].topic).inc(len(rows))

    return send


def topic_key(indicator: str, period: str, start: str, dims: Mapping[str, str]) -> str:
    return f"{indicator}|{period}|{start}|" + ";".join(f"{k}={v}" for k, v in sorted(dims.items()))


def _cell_keys(ind: Indicator, dims: tuple[str, ...]) -> Callable[[str, str, tuple[str, ...]], str]:
    """:func:`topic_key` of a cell of ``ind`` grouped by ``dims`` (values in ``dims`` order), without building and
    sorting a dims mapping per cell."""
    order = sorted(range(len(dims)), key=dims.__getitem__)
    names = [(f"{dims[i]}=", i) for i in order]

    tails: dict[tuple[str, ...], str] = {}  # (a cell's dims recur in every period)

    def key(period: str, start: str, values: tuple[str, ...]) -> str:
        if (tail := tails.get(values)) is None:
            tail = tails[values] = ";".join([n + values[i] for n, i in names])
        return f"{ind.id}|{period}|{start}|{tail}"

    return key


def _headers(key: str, value: bytes, written: str) -> Headers:
    """CloudEvents headers of an indicator record: ``ce_id`` names the cell and the content (the same row published
    again has the same id), ``ce_time`` is when it was written."""
    return cloudevent_headers(_ce_id(key, value), INDICATOR_CE_TYPE, "/monitor", written)


def _ce_id(key: str, value: bytes) -> str:
    return f"{key}#{hashlib.blake2b(value, digest_size=8).hexdigest()}"


def digest(row: Row) -> bytes:
    """What ``monitor.published`` keeps of a published row: the 8 bytes of a BLAKE2b digest of its JSON (a row is
    built the same way each time, so the same row gives the same JSON). Two different rows of one cell compare
    equal with probability 2⁻⁶⁴ per comparison."""
    return _digest_of(orjson.dumps(row))


def _digest_of(row_json: bytes) -> bytes:
    """:func:`digest` of a row's JSON."""
    return hashlib.blake2b(row_json, digest_size=8).digest()


def _message(ind: Indicator, row: Row, as_of: date) -> bytes:
    return orjson.dumps(
        {"indicator": ind.id, "version": ind.version, "unit": ind.unit, **row, "as_of": as_of.isoformat()}
    )


#: The keys :func:`_message` puts around a row's own.
_ENVELOPE = frozenset(("indicator", "version", "unit", "as_of"))


@lru_cache(maxsize=256)
def _envelope(ind_id: str, version: int, unit: str, as_of: date) -> tuple[bytes, bytes]:
    """The JSON :func:`_message` puts before and after a row's own fields."""
    head = orjson.dumps({"indicator": ind_id, "version": version, "unit": unit})
    return head[:-1] + b",", b',"as_of":' + orjson.dumps(as_of.isoformat()) + b"}"


def _message_of(ind: Indicator, row: Row, row_json: bytes, as_of: date) -> bytes:
    """:func:`_message` of a row whose JSON (``orjson.dumps(row)``) is at hand: spliced into the envelope instead of
    serialising the row again (the same bytes: orjson writes a dict's items in order, without whitespace)."""
    if not row or not _ENVELOPE.isdisjoint(row):
        return _message(ind, row, as_of)
    head, tail = _envelope(ind.id, ind.version, ind.unit, as_of)
    return head + row_json[1:-1] + tail


async def publish_work(
    conn: Conn,
    settings: Settings,
    work: dict[tuple[str, str], Affected],
    as_of: date,
    send: Sink,
    pending: Sequence[tuple[str, str]] = (),
) -> int:
    """Send the public rows among ``work`` (and the deferred cells of the indicator × period pairs ``pending``
    lists) whose value differs from the one last published, and record them as published; returns how many."""
    if not work and not pending:
        return 0
    await conn.execute(Q.publish_lock_shared, PUBLICATION_LOCK)
    if work:  # cells passed directly: wait for their pairs
        await conn.execute(Q.pair_locks, PAIR_LOCKS, [pair_key(p) for p in work])
    if pending:  # pairs another publication holds are left to it (their records stay pending for the next round)
        free = {r["k"] for r in await conn.fetch(Q.try_pair_locks, PAIR_LOCKS, [pair_key(p) for p in pending])}
        pending = [p for p in pending if pair_key(p) in free]
    parents, taken = await take_pending(conn, work, pending) if pending else (set(), [])
    # traced as monitor.publish, linked to the folds of its cells; the indicator records carry its context
    links = tracing.links_of({tracing.TRACEPARENT: p} for p in parents)
    with tracing.span("monitor.publish", tracing.SpanKind.PRODUCER, links):
        written = await _publish(conn, settings, work, as_of, send)
    await done_pending(conn, taken)
    return written


#: What was last published for the cells of a publication: one read for every indicator × period of the work (n:
#: the work item, in order).
_PUBLISHED = Q.published_rows


#: Indicator × period pairs computed, compared and written together: a publication after a replay covers most of
#: the table, and holding all of its rows (current and last published) at once would make the monitor's memory
#: grow with the table.
CHUNK = 8


async def _publish(
    conn: Conn, settings: Settings, work: dict[tuple[str, str], Affected], as_of: date, send: Sink
) -> int:
    written = 0
    for chunk in chunks(sorted(work.items()), lambda item: item[0][0]):
        with shared_reads():  # an indicator's reads are shared by its periods, and dropped after them
            written += await _publish_chunk(conn, settings, chunk, as_of, send)
    return written


def chunks(items: Sequence[T], indicator: Callable[[T], str]) -> list[list[T]]:
    """``items`` (sorted by indicator) in chunks of at most :data:`CHUNK` indicator × period pairs, an indicator's
    periods in one chunk (they share their reads): a chunk ends before an indicator whose periods would not all
    fit. Used for a publication's work items and for the publishing loop's pending pairs."""
    out: list[list[T]] = []
    names = [indicator(item) for item in items]
    for i, item in enumerate(items):
        if out and (names[i] == names[i - 1] or len(out[-1]) + names[i:].count(names[i]) <= CHUNK):
            out[-1].append(item)
        else:
            out.append([item])
    return out


async def _last_published(conn: Conn, items: list[tuple[tuple[str, str], Affected]]) -> dict[int, list[Any]]:
    """The rows last published for the cells of ``items``, by the work item's number (1-based, in order)."""
    published: dict[int, list[Any]] = {}
    for r in await conn.fetch(
        _PUBLISHED,
        [k[0] for k, _ in items],
        [k[1] for k, _ in items],
        [a.lo for _, a in items],
        [a.hi for _, a in items],
    ):
        published.setdefault(r["n"], []).append(r)
    return published


@cache
def _names_fingerprint() -> bytes:
    """What the rows' ``names`` depend on (the geography's names), for :func:`_salt`."""
    geo = geography.geography()
    return orjson.dumps(sorted((c, g.naam, g.jeugdregio_naam) for c, g in geo.gemeenten.items()))


def _salt(ind: Indicator, threshold: int, secret: bytes) -> bytes:
    """The key of an indicator's source digests: everything its public rows depend on besides a cell's identity and
    exact value fields (the noise secret, the threshold, the indicator's version and unit, the names), so that a
    change of any of them makes every cell compare as changed."""
    return _salt_of(ind.id, ind.version, ind.unit, threshold, secret)


@lru_cache(maxsize=256)  # computed once per indicator and settings, not per grouping of every publication
def _salt_of(ind: str, version: int, unit: str, threshold: int, secret: bytes) -> bytes:
    parts = orjson.dumps([ind, version, unit, threshold, secret.hex()]) + _names_fingerprint()
    return hashlib.blake2b(parts, digest_size=32).digest()


def source_digest(salt: bytes, fields: Row) -> bytes:
    """A 64-bit digest (8 bytes) of a cell's exact value fields (as :func:`rows.cells` builds them, in a fixed order),
    keyed by the indicator's :func:`_salt`. Equal digests: the same public row (with probability 1 − 2⁻⁶⁴)."""
    h = _keyed(salt).copy()  # (the key's block hashed once per salt)
    h.update(orjson.dumps(fields))
    return h.digest()


@lru_cache(maxsize=256)
def _keyed(salt: bytes) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=8, key=salt)


#: Cells a publication looked at, by outcome: ``unchanged`` (exact value as last published: skipped before its
#: public row is computed), ``same`` (recomputed, the public row unchanged), ``sent`` (a record), ``hidden`` (its
#: public row rounds to 0: recorded, an empty record only if it was visible before), ``removed`` (no value any more).
CELLS = Counter(
    "jeugdstroom_monitor_publication_cells_total", "Indicator cells a publication looked at, by outcome", ["outcome"]
)


@dataclass
class _Chunk:
    """What a publication chunk sends and records."""

    topic: str
    as_of: date
    written: str
    trace_headers: Headers
    out: list[outbox.OutRow] = field(default_factory=list)
    upserts: list[tuple[str, str, str, date, str, bytes | None, bytes]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    outcomes: CounterOf[str] = field(default_factory=CounterOf)
    #: every record's headers but its ``ce_id`` (:func:`_headers` and the trace context), and where ``ce_id`` goes
    template: Headers = field(init=False)
    id_at: int = field(init=False)

    def __post_init__(self) -> None:
        self.template = [*_headers("", b"", self.written), *self.trace_headers]
        self.id_at = [name for name, _ in self.template].index("ce_id")

    def record(self, ind: Indicator, key: str, row: Row, row_json: bytes | None = None) -> None:
        value = _message(ind, row, self.as_of) if row_json is None else _message_of(ind, row, row_json, self.as_of)
        self._append(key, value, _ce_id(key, value))

    def tombstone(self, key: str) -> None:
        """A key that is no longer a topic cell: no value, with the topic's CloudEvents headers (``ce_id``
        ``<key>#removed``), as every record the project publishes carries them."""
        self._append(key, None, f"{key}#removed")

    def _append(self, key: str, value: bytes | None, ce_id: str) -> None:
        headers = self.template.copy()  # [*_headers(key, value, self.written), *self.trace_headers]
        headers[self.id_at] = ("ce_id", ce_id.encode())
        self.out.append(outbox.OutRow(self.topic, key.encode(), value, headers))


async def _publish_chunk(
    conn: Conn, settings: Settings, items: list[tuple[tuple[str, str], Affected]], as_of: date, send: Sink
) -> int:
    chunk = _Chunk(settings.topic(INDICATORS), as_of, datetime.now(UTC).isoformat(), tracing.headers())
    threshold = settings.suppression_threshold
    secret = disclosure.noise_secret(settings)
    published = await _last_published(conn, items)
    for n, ((ind_id, period), a) in enumerate(items, 1):
        if n > 1 and ind_id != items[n - 2][0][0]:
            forget_shared_reads()  # an indicator's periods share reads: held for one indicator at a time
        ind = CATALOGUE[ind_id]
        before = {r["key"]: r for r in published.get(n, ())}
        groupings = ind.topic_groupings
        views = [View(dims, {d: a.values[d] for d in dims if d in a.values}) for dims in groupings]
        derived = await cells_views(conn, ind, Scope(period, (), as_of, {}, a.lo, a.hi), views)
        for dims, values in zip(groupings, derived, strict=True):
            _compare(chunk, ind, dims, period, values, before, threshold, secret)
        for r in before.values():  # published, in the work's periods, and no current value
            if tuple(d for d in ind.dimensions if d in r["dims"]) not in groupings:
                chunk.tombstone(r["key"])  # no longer a topic cell
            elif all(v in a.values.get(d, (v,)) for d, v in r["dims"].items()):  # an affected cell: gone
                if r["digest"] is not None:  # (it was visible: its empty record)
                    chunk.record(ind, r["key"], empty_row(ind, period, r["start"], r["dims"]))
            else:
                continue  # outside the work's cells: left as published
            chunk.deletes.append(r["key"])
            chunk.outcomes["removed"] += 1
    await send(chunk.out)  # confirmed before the cells count as published
    if chunk.upserts:
        await conn.execute(Q.save_published, *[list(col) for col in zip(*chunk.upserts, strict=True)])
    if chunk.deletes:
        await conn.execute(Q.delete_published, chunk.deletes)
    for outcome, count in chunk.outcomes.items():
        CELLS.labels(outcome).inc(count)
    return len(chunk.out)


def _compare(
    chunk: _Chunk, ind: Indicator, group_by: tuple[str, ...], period: str, values: Mapping[Cell, Row],
    before: dict[str, Any], threshold: int, secret: bytes,
) -> None:
    """Add to ``chunk`` the records and ``monitor.published`` rows of the current cells ``values`` (grouped by
    ``group_by``) that differ from what was last published (``before``, by key; each current cell's entry is taken
    out of it)."""
    cell_key = _cell_keys(ind, group_by)
    salt = _salt(ind, threshold, secret)
    outcomes = chunk.outcomes
    shapes: dict[tuple[str, ...], _Shape] = {}
    isos: dict[date, str] = {}
    for cell in sorted(values):
        start, dims = cell
        fields = values[cell]
        if (iso := isos.get(start)) is None:
            iso = isos[start] = start.isoformat()
        key = cell_key(period, iso, dims)
        source = source_digest(salt, fields)
        last = before.pop(key, None)
        if last is not None and last["source"] == source:
            outcomes["unchanged"] += 1
            continue
        if (shape := shapes.get(dims)) is None:
            shape = shapes[dims] = _Shape.of(group_by, dims)
        row = public_cell(ind, shape.row(period, iso, fields), threshold, secret, shape.where)
        row_json = orjson.dumps(row) if shown(ind, row) else None
        row_digest = None if row_json is None else _digest_of(row_json)
        if row_json is None:  # rounds to 0: absent from the topic (its empty record, if it was visible)
            if last is not None and last["digest"] is not None:
                chunk.record(ind, key, empty_row(ind, period, start, row["dims"]))
            outcomes["hidden"] += 1
        elif last is not None and last["digest"] == row_digest:
            outcomes["same"] += 1
        else:
            chunk.record(ind, key, row, row_json)
            outcomes["sent"] += 1
        chunk.upserts.append((key, ind.id, period, start, shape.dims_json, row_digest, source))


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the rows of one dims (of a grouping) share: the dims, their names, their JSON and their noise key; made
    once per dims for all periods of a cell in a comparison."""

    dims: dict[str, str]
    names: dict[str, str] | None
    dims_json: str
    where: str

    @classmethod
    def of(cls, group_by: tuple[str, ...], values: tuple[str, ...]) -> _Shape:
        dims = dict(zip(group_by, values, strict=True))
        named = with_names({"dims": dims})
        return cls(dims, named.get("names"), orjson.dumps(dims).decode(), disclosure.noise_dims(dims))

    def row(self, period: str, start: str, fields: Row) -> Row:
        """:func:`rows.to_row` of a cell of these dims (the same keys in the same order)."""
        row: Row = {"period": period, "start": start, "dims": self.dims}
        if self.names:
            row["names"] = self.names
        row.update(fields)
        return row
