"""Reads from month sums equal straightforward day-level computations: stocks (``monitor.stock_month_deltas``)
and the shared count reads of a publication (``repository.shared_reads``).

Random stock deltas over several years (openings and removals, deltas in the month of ``as_of`` and after it)
are folded in several batches; every period, group-by, filter and [lo, hi) combination is then compared with a
plain-Python sum of the day deltas up to each period's read day, min(last day, as_of, hi − 1 day). The period
arithmetic of the reference comes from the test oracle (tests/integration/monitor_stream.py), not from the
monitor. The migration's backfill is checked by rebuilding the month sums from day rows written directly. Counts
read within ``shared_reads`` (one month-grouped read for month, half-year and year) are compared with the
direct per-period query.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta

import asyncpg
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.fold import Key, dims_key
from jeugdstroom.monitor.repository import Cell, Scope, shared_reads
from tests.integration.monitor_stream import period_last, period_start

pytestmark = pytest.mark.integration

SERIES = "verblijf_actief"
NAMES = ("gemeente", "instelling", "jeugdregio", "vorm")
GEMEENTEN = ("GM0268", "GM0296", "GM0363")
INSTELLINGEN = ("11111111", "22222222")
VORMEN = ("gezinshuis", "residentieel", "pleegzorg_bestand")
FIRST, LAST = date(2022, 11, 14), date(2026, 9, 20)
Dims = tuple[tuple[str, str], ...]


def _dims(rng: random.Random) -> Dims:
    g = rng.choice(GEMEENTEN)
    values = {
        "gemeente": g,
        "instelling": rng.choice(INSTELLINGEN),
        "jeugdregio": "JZ13" if g == "GM0363" else "JZ32",
        "vorm": rng.choice(VORMEN),
    }
    return tuple(sorted(values.items()))


def _day(rng: random.Random, lo: date = FIRST, hi: date = LAST) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def episodes_batches(seed: int) -> list[dict[Key, int]]:
    """Batches of stock deltas: episodes opened (+1 start, −1 end), some ended or withdrawn in later batches, some
    clustered in June 2026 (the month of the as_of days used below)."""
    rng = random.Random(seed)
    batches: list[dict[Key, int]] = []
    open_eps: list[tuple[date, date | None, Dims]] = []
    for b in range(8):
        batch: Counter[Key] = Counter()
        for _ in range(60):
            start = _day(rng, date(2026, 6, 1), date(2026, 6, 30)) if rng.random() < 0.25 else _day(rng)
            end = None if rng.random() < 0.3 else start + timedelta(days=rng.randint(0, 500))
            dims = _dims(rng)
            batch[Key("stock", SERIES, start, dims)] += 1
            if end is not None:
                batch[Key("stock", SERIES, end, dims)] -= 1
            open_eps.append((start, end, dims))
        if b:  # removals: withdraw or end earlier episodes of previous batches
            for _ in range(15):
                start, end, dims = open_eps.pop(rng.randrange(len(open_eps)))
                if end is not None:
                    batch[Key("stock", SERIES, end, dims)] += 1
                if rng.random() < 0.5:
                    batch[Key("stock", SERIES, start, dims)] -= 1  # withdrawn
                else:
                    new_end = start + timedelta(days=rng.randint(0, 90))
                    batch[Key("stock", SERIES, new_end, dims)] -= 1  # ended earlier
        batches.append({k: v for k, v in batch.items() if v})
    return batches


def reference(deltas: Mapping[tuple[date, Dims], int], scope: Scope) -> dict[Cell, int]:
    """The stock per period straight from day deltas: for each period from lo (or the first delta's) on, the sum
    of every delta up to its read day; 0 left out."""
    cap = scope.as_of if scope.hi is None else min(scope.as_of, scope.hi - timedelta(days=1))
    rows = [
        (day, dict(dims), d)
        for (day, dims), d in deltas.items()
        if all(dict(dims)[n] in values for n, values in scope.filters.items())
    ]
    if not rows:
        return {}
    s = period_start(scope.lo if scope.lo is not None else min(r[0] for r in rows), scope.period)
    out: dict[Cell, int] = {}
    while s <= cap:
        read = min(period_last(s, scope.period), cap)
        sums: Counter[tuple[str, ...]] = Counter()
        for day, dims, d in rows:
            if day <= read:
                sums[tuple(dims[n] for n in scope.group_by)] += d
        out.update({(s, k): v for k, v in sums.items() if v})
        s = period_last(s, scope.period) + timedelta(days=1)
    return out


def scopes() -> list[Scope]:
    out: list[Scope] = []
    as_ofs = [date(2026, 6, 17), date(2026, 6, 30), date(2025, 12, 31), date(2024, 3, 1), date(2022, 10, 1), LAST]
    groups: list[tuple[str, ...]] = [(), ("gemeente",), ("jeugdregio", "vorm"), NAMES]
    filters: list[dict[str, list[str]]] = [{}, {"vorm": ["gezinshuis", "pleegzorg_bestand"]}, {"gemeente": ["GM0296"]}]
    bounds: list[tuple[date | None, date | None]] = [
        (None, None),
        (date(2026, 6, 1), None),
        (date(2025, 1, 1), date(2026, 1, 1)),
        (date(2024, 7, 1), None),
        (date(2023, 2, 14), date(2025, 5, 9)),  # not period starts
        (date(2026, 7, 1), None),  # after some as_of days: nothing
    ]
    for period in ("month", "half_year", "year"):
        for i, as_of in enumerate(as_ofs):
            for j, (lo, hi) in enumerate(bounds):
                out.append(Scope(period, groups[(i + j) % 4], as_of, filters[(i + 2 * j) % 3], lo, hi))
    day_bounds = [
        (date(2026, 5, 20), date(2026, 7, 3)),
        (date(2024, 12, 30), date(2025, 1, 3)),
        (date(2022, 1, 1), None),
    ]
    for i, (lo, hi) in enumerate(day_bounds):
        for as_of in (date(2026, 6, 17), date(2025, 1, 1)):
            out.append(Scope("day", groups[i % 4], as_of, filters[i % 3], lo, hi))
    out.append(Scope("day", ("vorm",), date(2023, 3, 1)))  # no lo: from the first delta
    return out


async def test_stock_reads_equal_the_day_level_sums(conn: asyncpg.Connection) -> None:
    total: Counter[tuple[date, Dims]] = Counter()
    for batch in episodes_batches(11):
        async with conn.transaction():
            await repo.apply_deltas(conn, batch)
        total.update({(k.day, k.dims): v for k, v in batch.items()})
    assert any(v < 0 for v in total.values()) and any(d.month == 6 and d.year == 2026 for d, _ in total)
    checked = nonempty = 0
    for scope in scopes():
        expected = reference(total, scope)
        assert await repo.stock_values(conn, SERIES, scope) == expected, scope
        checked += 1
        nonempty += bool(expected)
    assert checked > 100 and nonempty > 60
    # shared reads (one read for the month, half-year and year rows) give the same values
    with shared_reads():
        for period in ("month", "half_year", "year"):
            lo = period_start(date(2025, 8, 9), period)
            scope = Scope(period, ("gemeente",), date(2026, 6, 17), {"vorm": ["residentieel"]}, lo)
            assert await repo.stock_values(conn, SERIES, scope) == reference(total, scope)
    # the month sums are exactly the day deltas per month
    assert await _month_sums(conn) == await _month_sums_from_days(conn)


async def _month_sums(conn: asyncpg.Connection) -> dict[tuple[str, date, str], int]:
    rows = await conn.fetch("SELECT indicator, month, dims_key, delta FROM monitor.stock_month_deltas WHERE delta <> 0")
    return {(r["indicator"], r["month"], r["dims_key"]): r["delta"] for r in rows}


async def _month_sums_from_days(conn: asyncpg.Connection) -> dict[tuple[str, date, str], int]:
    rows = await conn.fetch(
        "SELECT indicator, date_trunc('month', day)::date AS month, dims_key, sum(delta)::bigint AS delta"
        " FROM monitor.stock_deltas GROUP BY 1, 2, 3 HAVING sum(delta) <> 0"
    )
    return {(r["indicator"], r["month"], r["dims_key"]): r["delta"] for r in rows}


async def test_migration_backfills_month_sums_from_day_deltas(settings: Settings, conn: asyncpg.Connection) -> None:
    # day rows as a monitor before migration 0004 wrote them (no month sums), plus a stale month row
    total: Counter[tuple[date, Dims]] = Counter()
    for batch in episodes_batches(5):
        total.update({(k.day, k.dims): v for k, v in batch.items()})
    items = sorted(total.items())
    await conn.execute(
        """INSERT INTO monitor.stock_deltas (indicator, day, dims_key, dims, delta)
           SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[])""",
        [SERIES] * len(items),
        [day for (day, _), _ in items],
        [dims_key(dims) for (_, dims), _ in items],
        [dict(dims) for (_, dims), _ in items],
        [v for _, v in items],
    )
    await conn.execute(
        "INSERT INTO monitor.stock_month_deltas VALUES ($1, '2024-01-01', 'x=y', '{\"x\": \"y\"}', 7)", SERIES
    )
    await conn.execute("DELETE FROM schema_migrations WHERE component = 'monitor' AND version = 4")
    assert await db.migrate(settings.database_url, ("monitor",)) == ["monitor/0004_stock_months.sql"]
    months = await _month_sums(conn)
    assert months == await _month_sums_from_days(conn)
    assert len(months) > 100
    for scope in scopes()[::7]:
        assert await repo.stock_values(conn, SERIES, scope) == reference(total, scope), scope


async def test_shared_count_reads_equal_the_direct_query(conn: asyncpg.Connection) -> None:
    rng = random.Random(8)
    series = "verblijf_instroom"
    for _ in range(4):
        batch: Counter[Key] = Counter()
        for _ in range(150):
            batch[Key("count", series, _day(rng), _dims(rng))] += rng.choice([1, 1, 1, 2, -1])
        await repo.apply_deltas(conn, {k: v for k, v in batch.items() if v})
    checked = 0
    for scope in scopes():
        direct = await repo.count_values(conn, series, scope)
        with shared_reads():
            shared = await repo.count_values(conn, series, scope)
            again = await repo.count_values(conn, series, scope)  # from the shared read
        assert shared == direct == again, scope
        checked += bool(direct)
    assert checked > 60
    # one publication: the three periods of one affected range share a read
    publication = [
        Scope(
            period,
            NAMES,
            date(2026, 6, 17),
            {"vorm": ["residentieel", "gezinshuis"]},
            period_start(date(2025, 8, 9), period),
            period_last(period_start(date(2026, 2, 3), period), period) + timedelta(days=1),
        )
        for period in ("month", "half_year", "year")
    ]
    expected = [await repo.count_values(conn, series, scope) for scope in publication]
    with shared_reads():
        assert [await repo.count_values(conn, series, scope) for scope in publication] == expected
    assert all(expected)
