"""monitor aggregates in PostgreSQL: additive upserts (one round trip per table per batch) and exact
period/dimension roll-ups at query time."""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jeugdstroom.common.db import Conn
from jeugdstroom.monitor.fold import Key
from jeugdstroom.monitor.periods import PERIOD_SQL, last_day, next_start, start_of

#: (period start, values of the group-by dimensions in order)
Cell = tuple[date, tuple[str, ...]]
_NAME = re.compile(r"^[a-z_]+$")

_UPSERT = {
    "count": """INSERT INTO monitor.counts (indicator, day, dims_key, dims, value)
                SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[])
                ON CONFLICT (indicator, day, dims_key) DO UPDATE SET value = monitor.counts.value + EXCLUDED.value""",
    "stock": """INSERT INTO monitor.stock_deltas (indicator, day, dims_key, dims, delta)
                SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[])
                ON CONFLICT (indicator, day, dims_key)
                DO UPDATE SET delta = monitor.stock_deltas.delta + EXCLUDED.delta""",
    "member": """INSERT INTO monitor.members (indicator, day, dims_key, dims, n, pseudonym)
                 SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[], $6::text[])
                 ON CONFLICT (indicator, day, dims_key, pseudonym) DO UPDATE SET n = monitor.members.n + EXCLUDED.n""",
    "duration": """INSERT INTO monitor.durations (indicator, day, dims_key, dims, n, value)
                   SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[], $6::bigint[])
                   ON CONFLICT (indicator, day, dims_key, value)
                   DO UPDATE SET n = monitor.durations.n + EXCLUDED.n""",
}


async def apply_deltas(conn: Conn, deltas: Mapping[Key, int]) -> None:
    """Add a batch's net deltas: one statement per table (keys in a stable order, so concurrent
    instances lock rows in the same order)."""
    by_table: dict[str, list[Key]] = defaultdict(list)
    for k in deltas:
        by_table[k.table].append(k)
    for table, keys in sorted(by_table.items()):
        keys.sort(key=lambda k: (k.series, k.day, k.dims_key, k.member, k.value))
        args: list[Any] = [
            [k.series for k in keys],
            [k.day for k in keys],
            [k.dims_key for k in keys],
            [dict(k.dims) for k in keys],
            [deltas[k] for k in keys],
        ]
        if table == "member":
            args.append([k.member for k in keys])
        elif table == "duration":
            args.append([k.value for k in keys])
        await conn.execute(_UPSERT[table], *args)


# -- queries ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scope:
    """What to compute: per ``period`` and ``group_by`` dimensions, for items whose dimensions are in
    ``filters``, in the periods from ``lo`` (a period start) to ``hi`` (exclusive, a period start),
    as of day ``as_of`` (items after it do not count; a stock is read on min(last day, as_of))."""

    period: str
    group_by: tuple[str, ...]
    as_of: date
    filters: Mapping[str, Collection[str]] = field(default_factory=dict)
    lo: date | None = None
    hi: date | None = None

    def with_filters(self, extra: Mapping[str, Collection[str]]) -> Scope:
        merged: dict[str, Collection[str]] = dict(self.filters)
        for name, values in extra.items():
            merged[name] = set(values) & set(merged[name]) if name in merged else values
        return Scope(self.period, self.group_by, self.as_of, merged, self.lo, self.hi)


def _dim(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad dimension name {name!r}")
    return f"dims->>'{name}'"


def _where(series: str, scope: Scope, args: list[Any], *, lower: bool = True) -> str:
    args.append(series)
    where = [f"indicator = ${len(args)}"]
    for name, values in sorted(scope.filters.items()):
        args.append(sorted(values))
        where.append(f"{_dim(name)} = ANY(${len(args)}::text[])")
    if lower and scope.lo is not None:
        args.append(scope.lo)
        where.append(f"day >= ${len(args)}")
    if scope.hi is not None:
        args.append(scope.hi)
        where.append(f"day < ${len(args)}")
    args.append(scope.as_of)
    where.append(f"day <= ${len(args)}")
    return " AND ".join(where)


def _cols(scope: Scope) -> tuple[str, str]:
    """(select list of the group-by dimensions as d0…, the same names for GROUP BY / PARTITION BY)."""
    select = "".join(f", {_dim(n)} AS d{i}" for i, n in enumerate(scope.group_by))
    names = "".join(f", d{i}" for i in range(len(scope.group_by)))
    return select, names


def _cell(r: Any, scope: Scope) -> Cell:
    return r["p"], tuple(r[f"d{i}"] for i in range(len(scope.group_by)))


async def count_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    args: list[Any] = []
    where = _where(series, scope, args)
    select, names = _cols(scope)
    rows = await conn.fetch(
        f"SELECT {PERIOD_SQL[scope.period]} AS p{select}, sum(value)::bigint AS v FROM monitor.counts"
        f" WHERE {where} GROUP BY p{names} HAVING sum(value) <> 0",
        *args,
    )
    return {_cell(r, scope): r["v"] for r in rows}


async def distinct_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    args: list[Any] = []
    where = _where(series, scope, args)
    select, names = _cols(scope)
    rows = await conn.fetch(
        f"SELECT {PERIOD_SQL[scope.period]} AS p{select}, count(DISTINCT pseudonym) AS v FROM monitor.members"
        f" WHERE n > 0 AND {where} GROUP BY p{names}",
        *args,
    )
    return {_cell(r, scope): r["v"] for r in rows}


async def duration_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, tuple[int, int, int]]:
    """(n, median, p90) per cell; quantiles by nearest rank, v[ceil(p·n)], in integer arithmetic."""
    args: list[Any] = []
    where = _where(series, scope, args)
    select, names = _cols(scope)
    rows = await conn.fetch(
        f"""WITH a AS (SELECT {PERIOD_SQL[scope.period]} AS p{select}, value, sum(n)::bigint AS n
                       FROM monitor.durations WHERE {where} GROUP BY p{names}, value HAVING sum(n) > 0),
                 c AS (SELECT *, sum(n) OVER (PARTITION BY p{names} ORDER BY value)::bigint AS cum,
                              sum(n) OVER (PARTITION BY p{names})::bigint AS total FROM a)
            SELECT p{names}, total,
                   min(value) FILTER (WHERE cum >= (total + 1) / 2) AS median,
                   min(value) FILTER (WHERE cum >= (9 * total + 9) / 10) AS p90
            FROM c GROUP BY p{names}, total""",
        *args,
    )
    return {_cell(r, scope): (r["total"], r["median"], r["p90"]) for r in rows}


#: Within :func:`shared_stock_reads`: the day rows of stock queries already read, by query and arguments.
_STOCK_READS: ContextVar[dict[tuple[Any, ...], list[Any]] | None] = ContextVar("stock_reads", default=None)


@contextlib.contextmanager
def shared_stock_reads() -> Iterator[None]:
    """Within the block, identical stock reads are read once (a stock's value in any period needs all its deltas
    up to the period's end, so the month, half-year and year rows of one publication share one read). Only for
    code that reads inside one transaction and does not write stock deltas meanwhile."""
    token = _STOCK_READS.set({})
    try:
        yield
    finally:
        _STOCK_READS.reset(token)


async def stock_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    """Active episodes on min(last day of the period, as_of): the sum of all deltas up to that day."""
    args: list[Any] = []
    where = _where(series, scope, args, lower=False)
    select, names = _cols(scope)
    sql = (
        f"SELECT day{select}, sum(delta)::bigint AS v FROM monitor.stock_deltas WHERE {where}"
        f" GROUP BY day{names} HAVING sum(delta) <> 0 ORDER BY day"
    )
    reads = _STOCK_READS.get()
    key = (sql, *(tuple(a) if isinstance(a, list) else a for a in args))
    if reads is not None and key in reads:
        rows = reads[key]
    else:
        rows = await conn.fetch(sql, *args)
        if reads is not None:
            reads[key] = rows
    groups: dict[tuple[str, ...], list[tuple[date, int]]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[f"d{i}"] for i in range(len(scope.group_by)))].append((r["day"], r["v"]))
    out: dict[Cell, int] = {}
    for dims, deltas in groups.items():
        s = start_of(deltas[0][0], scope.period)
        if scope.lo is not None and scope.lo > s:
            s = start_of(scope.lo, scope.period)
        cum, i = 0, 0
        while s <= scope.as_of and (scope.hi is None or s < scope.hi):
            upto = min(last_day(s, scope.period), scope.as_of)
            while i < len(deltas) and deltas[i][0] <= upto:
                cum += deltas[i][1]
                i += 1
            if cum:
                out[(s, dims)] = cum
            elif i == len(deltas):
                break
            s = next_start(s, scope.period)
    return out


async def latest_day(conn: Conn, as_of: date) -> date | None:
    """The latest event day seen (items of count series), at most ``as_of``."""
    day: date | None = await conn.fetchval("SELECT max(day) FROM monitor.counts WHERE day <= $1 AND value <> 0", as_of)
    return day


async def first_days(conn: Conn, series: str, dim: str, as_of: date) -> dict[str, date]:
    """Per value of ``dim``: the first day with an item of a count series."""
    rows = await conn.fetch(
        f"SELECT {_dim(dim)} AS k, min(day) AS d FROM monitor.counts WHERE indicator = $1 AND value > 0"
        f" AND day <= $2 GROUP BY 1",
        series,
        as_of,
    )
    return {r["k"]: r["d"] for r in rows}
