"""The indicator topic's grouped reads (``rows.cells_views``: one read per indicator × period at the finest level its
topic groupings need, every grouping derived in Python) equal the per-grouping reads (``rows.cells``, the JSON API's
path) exactly, on the monitor test stream (every entity, corrections and withdrawals): for every indicator, topic
period and topic grouping, for a whole publication (all cells, and the cells the whole stream affected) and for the
cells a few late changes affected (filters on the grouping dims, a later ``lo``), inside and outside
``shared_reads``; and for spans and durations whose multiplicities in some fine cells are negative."""

from __future__ import annotations

from datetime import date

import asyncpg
import orjson
import pytest
from pydantic import TypeAdapter

from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.monitor import fold
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import CATALOGUE, FOLDS
from jeugdstroom.monitor.publisher import TOPIC_PERIODS, Affected, affected
from jeugdstroom.monitor.repository import Scope, View, shared_reads
from jeugdstroom.monitor.rows import cells, cells_views
from tests.integration.monitor_stream import LAST, build_stream

pytestmark = pytest.mark.integration

_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)


def _changes(children: int) -> list[AnyChange]:
    seen: set[str] = set()
    out: list[AnyChange] = []
    for _, raw in build_stream(11, children).changes:
        if raw["change_id"] not in seen:  # the consumer's dedupe
            seen.add(raw["change_id"])
            out.append(_CHANGE.validate_json(orjson.dumps(raw)))
    return out


async def _compare(conn: asyncpg.Connection, ind_id: str, period: str, a: Affected, as_of: date) -> int:
    """Compare both paths for every topic grouping of one work item; returns the number of cells compared."""
    ind = CATALOGUE[ind_id]
    groupings = ind.topic_groupings
    views = [View(dims, {d: a.values[d] for d in dims if d in a.values}) for dims in groupings]
    derived = await cells_views(conn, ind, Scope(period, (), as_of, {}, a.lo, a.hi), views)
    assert len(derived) == len(groupings)
    n = 0
    for view, got in zip(views, derived, strict=True):
        want = await cells(conn, ind, Scope(period, view.group_by, as_of, view.filters, a.lo, a.hi))
        assert got == want, (ind_id, period, view, a.lo, a.hi)
        n += len(want)
    return n


async def test_grouped_reads_equal_per_grouping_reads(conn: asyncpg.Connection) -> None:
    changes = _changes(250)
    late = changes[-40:]  # the last changes of the stream, folded after the rest (as a steady batch)
    for batch in (changes[:-40], late):
        async with conn.transaction():
            await repo.apply_deltas(conn, fold.deltas(batch, FOLDS))
    whole = affected(fold.deltas(changes, FOLDS), LAST)
    recent = affected(fold.deltas(late, FOLDS), LAST)
    assert any(len(vs) < 3 for a in recent.values() for vs in a.values.values())  # some narrow filters
    works = [
        {(i, p): Affected(date(2020, 1, 1), None) for i in CATALOGUE for p in TOPIC_PERIODS},  # every cell
        whole,
        recent,
    ]
    compared = 0
    for shared in (True, False):
        for work in works:
            for (ind_id, period), a in sorted(work.items()):
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    if shared:
                        with shared_reads():
                            compared += await _compare(conn, ind_id, period, a, LAST)
                    else:
                        compared += await _compare(conn, ind_id, period, a, LAST)
    assert compared > 10_000  # the stream fills the cells of every kind of indicator
    # multiplicities that do not add up to a positive number in some fine cells (a withdrawal folded twice, say):
    # the spans and durations are then summed per view cell before anything is counted, as the SQL reads do
    spans = {k: -2 * v for k, v in fold.deltas(late, FOLDS).items() if k.table in ("duration", "span", "member_span")}
    assert any(v < 0 for v in spans.values())
    tr = conn.transaction()
    await tr.start()
    try:
        await repo.apply_deltas(conn, spans)
        negative = await conn.fetchval(
            "SELECT (SELECT count(*) FROM monitor.durations WHERE n < 0)"
            " + (SELECT count(*) FROM monitor.member_spans WHERE n < 0)"
        )
        for (ind_id, period), a in sorted(recent.items()):
            ind = CATALOGUE[ind_id]
            if ind.kind in ("duration", "waiting") or (ind.series is not None and ind.series.members):
                with shared_reads():
                    await _compare(conn, ind_id, period, a, LAST)
                await _compare(conn, ind_id, period, a, LAST)
    finally:
        await tr.rollback()
    assert negative > 0
    for kind in ("count", "distinct", "stock", "duration", "waiting", "ratio"):
        assert any(ind.kind == kind for ind in CATALOGUE.values())
