"""Pending cells: the cells a fold's deltas may have changed (:func:`affected`, one range per indicator ×
period), recorded with :func:`defer` in ``monitor.publish_pending`` inside the fold's transaction and taken (deleted)
by the next publication with :func:`take_pending`, under the publication lock."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jeugdstroom.common import tracing
from jeugdstroom.common.db import Conn
from jeugdstroom.common.sql import load_queries
from jeugdstroom.monitor.catalogue import CATALOGUE, SERIES, USERS
from jeugdstroom.monitor.fold import Dims, Key
from jeugdstroom.monitor.periods import next_start, start_of

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

#: Held by a publication (transaction-level advisory lock, shared among publications): the rebuild's swap and
#: :func:`republish_all` take it exclusively to read and change monitor.published exactly.
PUBLICATION_LOCK = zlib.crc32(b"monitor:indicator-topic")
#: The class (first key) of the advisory locks of indicator × period pairs (:func:`pair_key`): a publication holds
#: its pairs' locks, so that publications of the same pair (several publisher processes, several monitor instances)
#: follow each other in commit order, and publications of different pairs run side by side.
PAIR_LOCKS = zlib.crc32(b"monitor:indicator-pair") - 2**31


def pair_key(pair: tuple[str, str]) -> int:
    """The second key of an indicator × period pair's advisory lock (a signed 32-bit CRC; pairs that share a key
    merely wait for each other)."""
    return zlib.crc32(f"{pair[0]}|{pair[1]}".encode()) - 2**31

#: Periods on the indicator topic (day rows would multiply the topic without adding information).
TOPIC_PERIODS = ("month", "half_year", "year")


@dataclass
class Affected:
    """The cells of one indicator × period a batch may have changed: periods from ``lo`` to ``hi``
    (exclusive; None = up to as_of, for stocks) with dimension values in ``values`` (a superset)."""

    lo: date
    hi: date | None
    values: dict[str, set[str]] = field(default_factory=dict)


def affected(deltas: Iterable[Key | tuple[Any, ...]], as_of: date) -> dict[tuple[str, str], Affected]:
    """The cells a batch's deltas may have changed, per indicator × topic period: from the period of the earliest
    delta day (to the period after the latest one; for stocks, up to as_of) with the dimension values of the
    deltas. Deltas after ``as_of`` do not count yet. A key may also be a plain tuple of :class:`Key`'s fields (the
    rebuild's ``fold.accumulate``): only its series, day and dims are read, by position."""
    spans: dict[str, tuple[list[date], set[Dims]]] = {}  # series → ([first day, last day], dims)
    for key in deltas:
        day = key[2]
        if day > as_of:
            continue  # does not count yet
        span = spans.get(key[1])
        if span is None:
            spans[key[1]] = ([day, day], {key[3]})
            continue
        days, dims = span
        if day < days[0]:
            days[0] = day
        elif day > days[1]:
            days[1] = day
        dims.add(key[3])
    out: dict[tuple[str, str], Affected] = {}
    for series, ((first, last), dims) in spans.items():
        # a value on every later day (a member span: in every period it meets, up to its end or as_of)
        stock = SERIES[series].kind in ("stock", "waiting") or SERIES[series].members
        seen = [dict(d) for d in dims]
        for ind in USERS.get(series, ()):
            values = {d: {v[d] for v in seen} for d in ind.dimensions}
            for period in TOPIC_PERIODS:
                hi = None if stock else next_start(start_of(last, period), period)
                merge(out, (ind.id, period), Affected(start_of(first, period), hi, values))
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
        Q.defer_pending,
        [k[0] for k, _ in items],
        [k[1] for k, _ in items],
        [a.lo for _, a in items],
        [a.hi for _, a in items],
        [{d: sorted(v) for d, v in a.values.items()} for _, a in items],
        tracing.traceparent(),  # the fold's (NULL while tracing is off)
    )


async def pending_pairs(conn: Conn) -> list[tuple[str, str]]:
    """The indicator × period pairs with pending cells, in order."""
    return [(r["indicator"], r["period"]) for r in await conn.fetch(Q.pending_pairs)]


async def take_pending(
    conn: Conn, work: dict[tuple[str, str], Affected], pairs: Sequence[tuple[str, str]]
) -> tuple[set[str], list[int]]:
    """Merge the deferred cells of ``pairs`` (indicator × period, whose pair locks the caller holds) into ``work``;
    returns the traceparents of the folds that recorded them and the records' ids, for :func:`done_pending` in the
    same transaction once they are published (records a fold adds meanwhile have other ids and stay pending)."""
    rows = await conn.fetch(Q.take_pending_pairs, [i for i, _ in pairs], [p for _, p in pairs])
    parents = {r["traceparent"] for r in rows if r["traceparent"] is not None}
    for r in rows:
        if r["indicator"] in CATALOGUE:
            values = {d: set(v) for d, v in r["dims"].items()}
            merge(work, (r["indicator"], r["period"]), Affected(r["lo"], r["hi"], values))
    return parents, [r["id"] for r in rows]


async def done_pending(conn: Conn, ids: Sequence[int]) -> None:
    """Delete the pending records :func:`take_pending` read, their cells published (the publication's last write)."""
    if ids:
        await conn.execute(Q.done_pending, list(ids))


async def published_cells(conn: Conn, work: dict[tuple[str, str], Affected]) -> None:
    """Add every cell the indicator topic holds to ``work`` (one statement): a rebuild's new tables may give any of
    them another row, or none (then it is published with its empty value)."""
    for r in await conn.fetch(Q.published_cells):
        merge(work, (r["indicator"], r["period"]), Affected(r["lo"], None, {r["dim"]: set(r["dim_values"])}))


async def republish_all(conn: Conn) -> int:
    """Make the next publication send every visible cell again (after a broker lost the indicator topic, or after a
    restore): forget what was published (``monitor.published``'s digests, ``forget_published``: a cell that is now
    hidden or empty gets its empty record too) and queue every published cell, under the publication lock. Returns
    the cells queued."""
    await conn.execute(Q.publish_lock, PUBLICATION_LOCK)
    work: dict[tuple[str, str], Affected] = {}
    await published_cells(conn, work)
    n = await conn.fetchval(Q.forget_published)
    await defer(conn, work)
    return int(n)
