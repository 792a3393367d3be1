"""The compacted indicator topic (``jeugdstroom.indicators``): current public rows, written to the outbox only for
rows whose public value changed.

Key: ``indicator|period|start|dims`` (dims at the indicator's full dimension set, ``k=v;…``). Value: the
row of docs/indicators.md, suppressed as public output, plus ``indicator``, ``version``, ``unit`` and ``as_of``. A row
that no longer exists is published with its empty value (0, or n/denominator 0). Periods on the topic:
month, half_year and year (day rows would multiply the topic without adding information).

What was last published is kept in ``monitor.published``, a 64-bit digest per cell (:func:`digest`; read once per
publication chunk for all its indicators and periods); the comparison and the outbox write run under a transaction-level advisory lock, so instances folding
different partitions publish in commit order and the last record of a key always carries the value after both
batches. The current rows are computed per indicator × period with :func:`rows.cells` inside
:func:`repository.shared_reads`, so the three periods of a stock or count series share one read of month sums.

A fold records the cells its deltas may have changed (publication/pending.py); :func:`publish_work` with ``pending``
(indicator × period pairs) takes those pairs' pending records (deleting them) and publishes the rows of their cells,
together with any ``work`` passed directly. When and how often that runs is the publishing loop's business (publication/loop.py).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson

from jeugdstroom.common import outbox, tracing
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import INDICATOR_CE_TYPE, INDICATORS, Headers, cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.common.sql import load_queries
from jeugdstroom.monitor import disclosure
from jeugdstroom.monitor.catalogue import CATALOGUE, Indicator
from jeugdstroom.monitor.publication.pending import (
    TOPIC_PERIODS,
    Affected,
    affected,
    defer,
    merge,
    pending_pairs,
    take_pending,
)
from jeugdstroom.monitor.repository import Scope, shared_reads
from jeugdstroom.monitor.rows import Row, cells, empty_row, public, shown, to_row

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

#: The pending cells live in publication/pending.py; re-exported here for the rebuild, the benchmarks and the tests.
__all__ = [
    "CHUNK",
    "PRODUCER",
    "PUBLICATION_LOCK",
    "TOPIC_PERIODS",
    "Affected",
    "affected",
    "defer",
    "merge",
    "pending_pairs",
    "publish_work",
    "take_pending",
    "topic_key",
]

PRODUCER = "monitor"
_LOCK = zlib.crc32(b"monitor:indicator-topic")
#: Held by a publication (transaction-level): the rebuild's swap takes it to read monitor.published exactly.
PUBLICATION_LOCK = _LOCK


def topic_key(indicator: str, period: str, start: str, dims: Mapping[str, str]) -> str:
    return f"{indicator}|{period}|{start}|" + ";".join(f"{k}={v}" for k, v in sorted(dims.items()))


def _cell_keys(ind: Indicator) -> Callable[[str, str, tuple[str, ...]], str]:
    """:func:`topic_key` of a cell at the indicator's full dimension set (values in ``ind.dimensions`` order),
    without building and sorting a dims mapping per cell."""
    order = sorted(range(len(ind.dimensions)), key=ind.dimensions.__getitem__)
    names = [(f"{ind.dimensions[i]}=", i) for i in order]

    def key(period: str, start: str, values: tuple[str, ...]) -> str:
        return f"{ind.id}|{period}|{start}|" + ";".join([n + values[i] for n, i in names])

    return key


def _headers(key: str, value: bytes, written: str) -> Headers:
    """CloudEvents headers of an indicator record: ``ce_id`` names the cell and the content (the same row published
    again has the same id), ``ce_time`` is when it was written."""
    digest = hashlib.blake2b(value, digest_size=8).hexdigest()
    return cloudevent_headers(f"{key}#{digest}", INDICATOR_CE_TYPE, "/monitor", written)


def digest(row: Row) -> int:
    """What ``monitor.published`` keeps of a published row: a signed 64-bit BLAKE2b digest of its JSON (a row is
    built the same way each time, so the same row gives the same JSON). Two different rows of one cell compare
    equal with probability 2⁻⁶⁴ per comparison."""
    return int.from_bytes(hashlib.blake2b(orjson.dumps(row), digest_size=8).digest(), "big", signed=True)


def _message(ind: Indicator, row: Row, as_of: date) -> bytes:
    return orjson.dumps(
        {"indicator": ind.id, "version": ind.version, "unit": ind.unit, **row, "as_of": as_of.isoformat()}
    )


async def publish_work(
    conn: Conn,
    settings: Settings,
    work: dict[tuple[str, str], Affected],
    as_of: date,
    pending: Sequence[tuple[str, str]] = (),
) -> int:
    """Write outbox rows for the public rows among ``work`` (and the deferred cells of the indicator × period pairs
    ``pending`` lists) whose value differs from the one last published; returns how many."""
    if not work and not pending:
        return 0
    await conn.execute(Q.publish_lock, _LOCK)
    parents = await take_pending(conn, work, pending) if pending else set()
    # traced as monitor.publish, linked to the folds of its cells; the indicator records carry its context
    links = tracing.links_of({tracing.TRACEPARENT: p} for p in parents)
    with tracing.span("monitor.publish", tracing.SpanKind.PRODUCER, links), shared_reads():
        return await _publish(conn, settings, work, as_of)


#: What was last published for the cells of a publication: one read for every indicator × period of the work (n:
#: the work item, in order).
_PUBLISHED = Q.published_rows


#: Indicator × period pairs computed, compared and written together: a publication after a replay covers most of
#: the table, and holding all of its rows (current and last published) at once would make the monitor's memory
#: grow with the table.
CHUNK = 8


async def _publish(conn: Conn, settings: Settings, work: dict[tuple[str, str], Affected], as_of: date) -> int:
    items = sorted(work.items())
    written = 0
    for i in range(0, len(items), CHUNK):
        written += await _publish_chunk(conn, settings, items[i : i + CHUNK], as_of)
    return written


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


async def _publish_chunk(
    conn: Conn, settings: Settings, items: list[tuple[tuple[str, str], Affected]], as_of: date
) -> int:
    topic = settings.topic(INDICATORS)
    trace_headers = tracing.headers()
    threshold = settings.suppression_threshold
    secret = disclosure.noise_secret(settings)
    written = datetime.now(UTC).isoformat()
    out: list[outbox.OutRow] = []
    upserts: list[tuple[str, str, str, date, str, int]] = []  # (dims as JSON text: cheaper to send)
    deletes: list[str] = []
    published = await _last_published(conn, items)
    for n, ((ind_id, period), a) in enumerate(items, 1):
        ind = CATALOGUE[ind_id]
        scope = Scope(period, ind.dimensions, as_of, a.values, a.lo, a.hi)
        values = await cells(conn, ind, scope)
        cell_key = _cell_keys(ind)
        current: dict[str, tuple[date, Row, int]] = {}  # key → (start, public row, its digest), in cell order
        for cell in sorted(values):
            row = public(ind, to_row(period, ind.dimensions, cell, values[cell]), threshold, secret)
            if not shown(ind, row):
                continue  # rounds to 0: published as absent (its empty row, if it was published before)
            current[cell_key(period, row["start"], cell[1])] = (cell[0], row, digest(row))
        gone: list[Any] = []
        for r in published.get(n, ()):
            now = current.get(r["key"])
            if now is not None:  # (a current cell is one of the affected cells)
                if now[2] == r["digest"]:
                    del current[r["key"]]  # unchanged
            elif all(r["dims"][d] in a.values[d] for d in ind.dimensions):
                gone.append(r)  # an affected cell that no longer has a value
        for key, (start, row, row_digest) in current.items():
            value = _message(ind, row, as_of)
            out.append(outbox.OutRow(topic, key.encode(), value, [*_headers(key, value, written), *trace_headers]))
            upserts.append((key, ind.id, period, start, orjson.dumps(row["dims"]).decode(), row_digest))
        for r in gone:
            empty = empty_row(ind, period, r["start"], r["dims"])
            value = _message(ind, empty, as_of)
            out.append(outbox.OutRow(topic, r["key"].encode(), value,
                                     [*_headers(r["key"], value, written), *trace_headers]))
            deletes.append(r["key"])
    if upserts:
        await conn.execute(
            Q.save_published,
            *[list(col) for col in zip(*upserts, strict=True)],
        )
    if deletes:
        await conn.execute(Q.delete_published, deletes)
    await outbox.write(conn, PRODUCER, out)
    return len(out)
