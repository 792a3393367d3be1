"""The compacted indicator topic (``jeugdstroom.indicators``): current public rows, published through the
outbox in the same transaction as the fold, only for rows whose public value changed in the batch.

Key: ``indicator|period|start|dims`` (dims at the indicator's full dimension set, ``k=v;…``). Value: the
row of docs/indicators.md, suppressed as public output, plus ``indicator``, ``unit`` and ``as_of``. A row
that no longer exists is published with its empty value (0, or n/denominator 0). Periods on the topic:
month, half_year and year (day rows would multiply the topic without adding information).

The rows last published are kept in ``monitor.published``; the comparison and the outbox write run
under a transaction-level advisory lock, so instances folding different partitions publish in commit
order and the last record of a key always carries the value after both batches.

While the monitor replays a backlog, recomputing the affected rows after every batch would cost more than the
fold itself; a batch with more records behind it may therefore :func:`defer` its affected cells to
``monitor.publish_pending`` (in its own transaction), and a later batch publishes them together with its own
(:func:`publish_work` with ``pending``): the batch that reaches the end of its partitions always does, so the
topic is current whenever the monitor has caught up.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from jeugdstroom.common import outbox
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import INDICATORS
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.catalogue import CATALOGUE, SERIES, USERS, Indicator
from jeugdstroom.monitor.fold import Key
from jeugdstroom.monitor.periods import next_start, start_of
from jeugdstroom.monitor.repository import Scope, shared_stock_reads
from jeugdstroom.monitor.rows import Row, empty_row, exact_rows, public

TOPIC_PERIODS = ("month", "half_year", "year")
PRODUCER = "monitor"
_LOCK = zlib.crc32(b"monitor:indicator-topic")


@dataclass
class Affected:
    """The cells of one indicator × period a batch may have changed: periods from ``lo`` to ``hi``
    (exclusive; None = up to as_of, for stocks) with dimension values in ``values`` (a superset)."""

    lo: date
    hi: date | None
    values: dict[str, set[str]] = field(default_factory=dict)


def topic_key(indicator: str, period: str, start: str, dims: Mapping[str, str]) -> str:
    return f"{indicator}|{period}|{start}|" + ";".join(f"{k}={v}" for k, v in sorted(dims.items()))


def affected(deltas: Iterable[Key], as_of: date) -> dict[tuple[str, str], Affected]:
    out: dict[tuple[str, str], Affected] = {}
    for key in deltas:
        if key.day > as_of:
            continue  # does not count yet
        dims = dict(key.dims)
        stock = SERIES[key.series].kind == "stock"
        for ind in USERS.get(key.series, ()):
            for period in TOPIC_PERIODS:
                lo = start_of(key.day, period)
                hi = None if stock else next_start(lo, period)
                a = out.get((ind.id, period))
                if a is None:
                    a = out[(ind.id, period)] = Affected(lo, hi)
                else:
                    a.lo = min(a.lo, lo)
                    a.hi = None if a.hi is None or hi is None else max(a.hi, hi)
                for d in ind.dimensions:
                    a.values.setdefault(d, set()).add(dims[d])
    return out


def merge(into: dict[tuple[str, str], Affected], key: tuple[str, str], other: Affected) -> None:
    """Add ``other``'s cells to ``into[key]``."""
    a = into.get(key)
    if a is None:
        into[key] = Affected(other.lo, other.hi, {d: set(v) for d, v in other.values.items()})
        return
    a.lo = min(a.lo, other.lo)
    a.hi = None if a.hi is None or other.hi is None else max(a.hi, other.hi)
    for d, values in other.values.items():
        a.values.setdefault(d, set()).update(values)


async def defer(conn: Conn, work: Mapping[tuple[str, str], Affected]) -> None:
    """Record affected cells for a later publication (inside the fold's transaction)."""
    if not work:
        return
    items = sorted(work.items())
    await conn.execute(
        """INSERT INTO monitor.publish_pending (indicator, period, lo, hi, dims)
           SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::jsonb[])""",
        [k[0] for k, _ in items],
        [k[1] for k, _ in items],
        [a.lo for _, a in items],
        [a.hi for _, a in items],
        [{d: sorted(v) for d, v in a.values.items()} for _, a in items],
    )


async def _take_pending(conn: Conn, work: dict[tuple[str, str], Affected]) -> None:
    """Merge every deferred cell into ``work`` and delete the records (under the publication lock)."""
    rows = await conn.fetch("DELETE FROM monitor.publish_pending RETURNING indicator, period, lo, hi, dims")
    for r in rows:
        if r["indicator"] in CATALOGUE:
            values = {d: set(v) for d, v in r["dims"].items()}
            merge(work, (r["indicator"], r["period"]), Affected(r["lo"], r["hi"], values))


def _message(ind: Indicator, row: Row, as_of: date) -> bytes:
    return orjson.dumps({"indicator": ind.id, "unit": ind.unit, **row, "as_of": as_of.isoformat()})


async def publish(conn: Conn, settings: Settings, deltas: Iterable[Key], as_of: date) -> int:
    """Write outbox rows for the public rows a batch changed; returns how many."""
    return await publish_work(conn, settings, affected(deltas, as_of), as_of)


async def publish_work(
    conn: Conn, settings: Settings, work: dict[tuple[str, str], Affected], as_of: date, pending: bool = False
) -> int:
    """Write outbox rows for the public rows among ``work`` (and, with ``pending``, every deferred cell) whose
    value differs from the one last published; returns how many."""
    if not work and not pending:
        return 0
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
    if pending:
        await _take_pending(conn, work)
    with shared_stock_reads():
        return await _publish(conn, settings, work, as_of)


async def _publish(conn: Conn, settings: Settings, work: dict[tuple[str, str], Affected], as_of: date) -> int:
    topic = settings.topic(INDICATORS)
    threshold = settings.suppression_threshold
    out: list[outbox.OutRow] = []
    upserts: list[tuple[str, str, str, date, dict[str, str], Row]] = []
    deletes: list[str] = []
    for (ind_id, period), a in sorted(work.items()):
        ind = CATALOGUE[ind_id]
        scope = Scope(period, ind.dimensions, as_of, a.values, a.lo, a.hi)
        current = {
            topic_key(ind.id, period, r["start"], r["dims"]): public(ind, r, threshold)
            for r in await exact_rows(conn, ind, scope)
        }
        old_rows = await conn.fetch(
            "SELECT key, start, dims, row FROM monitor.published WHERE indicator = $1 AND period = $2"
            " AND start >= $3 AND ($4::date IS NULL OR start < $4)",
            ind.id,
            period,
            a.lo,
            a.hi,
        )
        old: dict[str, Any] = {
            r["key"]: r for r in old_rows if all(r["dims"][d] in a.values[d] for d in ind.dimensions)
        }
        for key, row in current.items():
            if key not in old or old[key]["row"] != row:
                out.append(outbox.OutRow(topic, key.encode(), _message(ind, row, as_of)))
                upserts.append((key, ind.id, period, date.fromisoformat(row["start"]), row["dims"], row))
        for key in old.keys() - current.keys():
            gone = empty_row(ind, period, old[key]["start"], old[key]["dims"])
            out.append(outbox.OutRow(topic, key.encode(), _message(ind, gone, as_of)))
            deletes.append(key)
    if upserts:
        await conn.execute(
            """INSERT INTO monitor.published (key, indicator, period, start, dims, row)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::jsonb[], $6::jsonb[])
               ON CONFLICT (key) DO UPDATE SET row = EXCLUDED.row""",
            *[list(col) for col in zip(*upserts, strict=True)],
        )
    if deletes:
        await conn.execute("DELETE FROM monitor.published WHERE key = ANY($1::text[])", deletes)
    await outbox.write(conn, PRODUCER, out)
    return len(out)
