"""monitor aggregates in PostgreSQL: additive upserts (one round trip per batch) and exact
period/dimension roll-ups at query time.

Stocks are stored twice, additively and in the same transaction: as day-level deltas (``monitor.stock_deltas``,
+1 on an episode's start day, −1 on its end day) and as their sums per month (``monitor.stock_month_deltas``).
A stock's value on a day is the sum of all deltas up to that day; :func:`stock_values` reads it per period from
the month sums of complete months plus the day deltas of the month of the day read, and sums everything before
the first requested period in SQL into one opening balance per cell, so a read returns a few rows per requested
period and cell whatever the length of the history.

Within :func:`shared_reads` (one publication of the indicator topic), the month, half-year and year rows of a
stock or count series are computed from one read of month sums instead of one query per period.
"""

from __future__ import annotations

import contextlib
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import Any, TypeVar

import orjson

from jeugdstroom.common.db import Conn, jsonb_as_text
from jeugdstroom.common.sql import load_queries
from jeugdstroom.monitor.fold import Dims, Key, dims_key, span_end
from jeugdstroom.monitor.periods import PERIOD_SQL, last_day, next_start, start_of, starts

#: (period start, values of the group-by dimensions in order)
Cell = tuple[date, tuple[str, ...]]
_NAME = re.compile(r"^[a-z_]+$")
T = TypeVar("T")

#: The static statements (``queries.sql``); the roll-ups below are built from the scope at run time.
Q = load_queries(__name__.rpartition(".")[0], "queries.sql")
#: A batch's net deltas in one statement (``queries.sql``, ``apply_deltas``).
_UPSERT = Q.apply_deltas


#: Every aggregate table :func:`apply_deltas` writes (in schema ``monitor``): ``jeugdstroom rebuild monitor`` builds
#: a copy of each in schema ``monitor_rebuild`` and swaps them in (rebuild.py). Add a new aggregate table here too.
AGGREGATE_TABLES: tuple[str, ...] = (
    "counts",
    "stock_deltas",
    "stock_month_deltas",
    "members",
    "durations",
    "member_spans",
)


@lru_cache(maxsize=4)
def _upsert_sql(schema: str) -> str:
    """:data:`_UPSERT` into the aggregate tables of ``schema`` (every ``monitor.`` in it names one of them)."""
    return _UPSERT.replace("monitor.", f"{schema}.")


@lru_cache(maxsize=1 << 16)
def _dims_text(dims: Dims) -> tuple[str, str]:
    """(dims_key, dims as JSON text) of canonical dims, once per distinct dims."""
    return dims_key(dims), orjson.dumps(dict(dims)).decode()


def _delta_rows(deltas: Mapping[Key, int] | Mapping[tuple[Any, ...], int], ordered: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of each aggregate table (``count``, ``stock``, ``stock_month``, ``member``, ``duration``,
    ``member_span``) for ``deltas``, with ``ordered`` each table's rows in a stable order (so concurrent instances
    lock rows in the same order): (series, day, dims_key, dims as JSON text, delta[, member or value][, end])."""
    rows: dict[str, list[tuple[Any, ...]]] = {"count": [], "stock": [], "member": [], "duration": [], "member_span": []}
    months: dict[tuple[str, date, str], list[Any]] = {}
    for (table, series, day, dims, member, value), delta in deltas.items():
        key, text = _dims_text(dims)
        if table == "member":
            rows[table].append((series, day, key, text, delta, member))
        elif table == "member_span":  # (start day, pseudonym, end day as its ordinal, 0 = open)
            rows[table].append((series, day, key, text, delta, member, value))
        elif table in ("duration", "span"):  # a span: (start day, end day as its ordinal, 0 = open)
            rows["duration"].append((series, day, key, text, delta, value))
        else:
            rows[table].append((series, day, key, text, delta))
            if table == "stock":
                cell = (series, day.replace(day=1), key)
                m = months.get(cell)
                if m is None:
                    months[cell] = [text, delta]
                else:
                    m[1] += delta
    rows["stock_month"] = [(c[0], c[1], c[2], t, d) for c, (t, d) in months.items() if d != 0]
    for kind, batch in rows.items() if ordered else ():
        if kind == "member_span":  # (series, day, dims_key, member, end)
            batch.sort(key=lambda r: (r[0], r[1], r[2], r[5], r[6]))
        elif kind in ("member", "duration"):  # (series, day, dims_key, member/value)
            batch.sort(key=lambda r: (r[0], r[1], r[2], r[5]))
        else:
            batch.sort(key=lambda r: r[:3])
    return rows


async def apply_deltas(conn: Conn, deltas: Mapping[Key, int] | Mapping[tuple[Any, ...], int], schema: str = "monitor") -> None:
    """Add a batch's net deltas in one statement: each table's rows, and for stocks also their month sums
    (in a stable order per table, so concurrent instances lock rows in the same order). ``schema``: where the
    aggregate tables are (``monitor_rebuild`` while a rebuild folds). A key may be a :class:`Key` or a plain tuple
    of its fields (``fold.net``)."""
    if not deltas:
        return
    rows = _delta_rows(deltas)
    args: list[Any] = []
    widths = (("count", 5), ("stock", 5), ("stock_month", 5), ("member", 6), ("duration", 6), ("member_span", 7))
    for table, width in widths:
        batch = rows[table]
        if batch:
            args.extend(list(col) for col in zip(*batch, strict=True))
        else:
            args.extend([] for _ in range(width))
    await conn.execute(_upsert_sql(schema), *args)


#: (table, columns) of each kind of row of :func:`_delta_rows`, for :func:`copy_deltas`.
_COPY_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("count", "counts", ("indicator", "day", "dims_key", "dims", "value")),
    ("stock", "stock_deltas", ("indicator", "day", "dims_key", "dims", "delta")),
    ("stock_month", "stock_month_deltas", ("indicator", "month", "dims_key", "dims", "delta")),
    ("member", "members", ("indicator", "day", "dims_key", "dims", "n", "pseudonym")),
    ("duration", "durations", ("indicator", "day", "dims_key", "dims", "n", "value")),
    ("member_span", "member_spans", ("indicator", "day", "dims_key", "dims", "n", "pseudonym", "end_day")),
)


async def copy_deltas(conn: Conn, deltas: Mapping[Key, int], schema: str) -> dict[str, int]:
    """Write ``deltas`` into EMPTY aggregate tables of ``schema`` with COPY (no conflicts to resolve: the keys of a
    mapping are distinct, and the tables have no rows yet): the bulk path of ``jeugdstroom rebuild monitor``, whose
    deltas are the sum over the whole snapshot. Returns the number of rows written per table."""
    rows = _delta_rows(deltas, ordered=False)  # nobody else writes these tables: no lock order to keep
    written: dict[str, int] = {}
    async with jsonb_as_text(conn):  # binary COPY; the dims go as their JSON text
        for kind, table, columns in _COPY_TABLES:
            if rows[kind]:
                await conn.copy_records_to_table(table, schema_name=schema, columns=list(columns), records=rows[kind])
                written[table] = len(rows[kind])
    return written


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

    @property
    def last_day(self) -> date:
        """The last day any period is read on: ``as_of``, and nothing from ``hi`` on."""
        return self.as_of if self.hi is None else min(self.as_of, self.hi - timedelta(days=1))

    def with_filters(self, extra: Mapping[str, Collection[str]]) -> Scope:
        merged: dict[str, Collection[str]] = dict(self.filters)
        for name, values in extra.items():
            merged[name] = set(values) & set(merged[name]) if name in merged else values
        return Scope(self.period, self.group_by, self.as_of, merged, self.lo, self.hi)


def _dim(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad dimension name {name!r}")
    return f"dims->>'{name}'"


def _series_where(series: str, scope: Scope, args: list[Any]) -> list[str]:
    """Conditions on the series and the dimension filters of ``scope`` (parameters appended to ``args``)."""
    args.append(series)
    where = [f"indicator = ${len(args)}"]
    for name, values in sorted(scope.filters.items()):
        args.append(sorted(values))
        where.append(f"{_dim(name)} = ANY(${len(args)}::text[])")
    return where


def _where(series: str, scope: Scope, args: list[Any]) -> str:
    where = _series_where(series, scope, args)
    if scope.lo is not None:
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


async def _read_shared(
    conn: Conn, sql: str, args: list[Any], shape: Callable[[list[Any]], T], tag: str = ""
) -> T:
    """``shape`` of the rows of a query; within :func:`shared_reads` an identical query (same SQL and arguments)
    is read and shaped once. ``tag`` names the shape (the same query shaped differently is a different entry)."""
    reads = _SHARED_READS.get()
    if reads is None:
        return shape(await conn.fetch(sql, *args))
    key = (tag, sql, *(tuple(a) if isinstance(a, list) else a for a in args))
    if key not in reads:
        reads[key] = shape(await conn.fetch(sql, *args))
    out: T = reads[key]
    return out


async def count_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    if _SHARED_READS.get() is not None and scope.period != "day" and _month_aligned(scope):
        return await _counts_from_months(conn, series, scope)
    args: list[Any] = []
    where = _where(series, scope, args)
    select, names = _cols(scope)
    rows = await conn.fetch(
        f"SELECT {PERIOD_SQL[scope.period]} AS p{select}, sum(value)::bigint AS v FROM monitor.counts"
        f" WHERE {where} GROUP BY p{names} HAVING sum(value) <> 0",
        *args,
    )
    return {_cell(r, scope): r["v"] for r in rows}


def _month_aligned(scope: Scope) -> bool:
    return (scope.lo is None or scope.lo.day == 1) and (scope.hi is None or scope.hi.day == 1)


async def _counts_from_months(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    """:func:`count_values` of a month, half-year or year scope whose bounds are month starts, from one read of
    month sums over the whole years of [lo, hi) that the three periods share (within :func:`shared_reads`). With
    month-aligned bounds a month is either wholly inside [lo, hi) or wholly outside, so the sums are exact."""
    lo = None if scope.lo is None else start_of(scope.lo, "year")
    hi = None if scope.hi is None else next_start(start_of(scope.hi - timedelta(days=1), "year"), "year")
    args: list[Any] = []
    wide = Scope("month", scope.group_by, scope.as_of, scope.filters, lo, hi)
    where = _where(series, wide, args)
    select, names = _cols(wide)
    sql = (
        f"SELECT {PERIOD_SQL['month']} AS p{select}, sum(value)::bigint AS v FROM monitor.counts"
        f" WHERE {where} GROUP BY p{names} HAVING sum(value) <> 0"
    )
    months = await _read_shared(conn, sql, args, lambda rows: [(_cell(r, wide), int(r["v"])) for r in rows])
    out: dict[Cell, int] = defaultdict(int)
    for (month, dims), v in months:
        if (scope.lo is None or month >= scope.lo) and (scope.hi is None or month < scope.hi):
            out[(start_of(month, scope.period), dims)] += v
    return {c: v for c, v in out.items() if v != 0}


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


async def stock_days(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    """Per period: the sum over its days up to min(last day, as_of) of a stock's value (e.g. verblijfsdagen), from
    the day-level deltas; cells with 0 are left out."""
    cap = scope.last_day
    args: list[Any] = []
    where = _series_where(series, scope, args)
    args.append(cap)
    select, names = _cols(scope)
    rows = await conn.fetch(
        f"SELECT day AS p, sum(delta)::bigint AS v{select} FROM monitor.stock_deltas"
        f" WHERE {' AND '.join(where)} AND day <= ${len(args)} GROUP BY day{names} HAVING sum(delta) <> 0",
        *args,
    )
    deltas: dict[tuple[str, ...], dict[date, int]] = defaultdict(dict)
    for r in rows:
        day, dims = _cell(r, scope)
        deltas[dims][day] = r["v"]
    return _day_sums(deltas, scope)


def _day_sums(deltas: Mapping[tuple[Any, ...], Mapping[date, int]], scope: Scope) -> dict[Cell, int]:
    """:func:`stock_days` of the (non-zero) day deltas of each cell's dims."""
    cap, period, lo = scope.last_day, scope.period, scope.lo
    stop = cap + timedelta(days=1)
    out: dict[Cell, int] = defaultdict(int)
    for dims, per_day in deltas.items():
        days = sorted(per_day)
        level = 0
        for k, day in enumerate(days):
            if day > cap:
                break
            level += per_day[day]
            if not level:
                continue
            # the level holds from this delta's day up to the next one's (or the last day read): its days per period
            end = days[k + 1] if k + 1 < len(days) and days[k + 1] < stop else stop
            while day < end:
                p = start_of(day, period)
                upto = min(end, next_start(p, period))
                if lo is None or p >= lo:
                    out[(p, dims)] += level * (upto - day).days
                day = upto
    return {c: v for c, v in out.items() if v}


async def _spans(
    conn: Conn, table: str, end: str, member: str | None, having: str, series: str, scope: Scope
) -> dict[tuple[str, ...], list[tuple[date, date | None, Any]]]:
    """The spans of ``series`` in ``table`` that start by the scope's last day, grouped by the scope's dims: (start,
    end or None when open, item) with ``end`` the column holding the end (``span_end``). The item is the ``member``
    column (one row per member and span, kept where ``having`` holds), or with ``member`` None the multiplicity
    ``sum(n)`` of the spans with that start and end."""
    args: list[Any] = []
    where = _series_where(series, scope, args)
    args.append(scope.last_day)
    select, names = _cols(scope)
    item, group = (member, f", {member}") if member is not None else ("sum(n)::bigint", "")
    rows = await conn.fetch(
        f"SELECT day AS p, {end} AS e, {item} AS i{select} FROM {table}"
        f" WHERE {' AND '.join(where)} AND day <= ${len(args)} GROUP BY day, {end}{group}{names} HAVING {having}",
        *args,
    )
    spans: dict[tuple[str, ...], list[tuple[date, date | None, Any]]] = defaultdict(list)
    for r in rows:
        start, dims = _cell(r, scope)
        spans[dims].append((start, span_end(r["e"]), r["i"]))
    return spans


async def member_span_values(conn: Conn, series: str, scope: Scope, whole_period: bool) -> dict[Cell, int]:
    """Distinct children per cell from member spans (``monitor.member_spans``): with ``whole_period`` those active
    on any day of the period up to min(last day, as_of) ("jeugdigen met … in de periode"), else those active on
    that last day (a stock of children). Each child counts once per cell however many of its spans meet it."""
    spans = await _spans(conn, "monitor.member_spans", "end_day", "pseudonym", "sum(n) > 0", series, scope)
    return _member_counts(_by_start_end(spans), scope, whole_period)


_Span = tuple[date, date | None, Any]
_START, _END = itemgetter(0), itemgetter(1)


#: A cell's member spans for :func:`_member_counts`: their starts in order with their members, and the ends of
#: those with an end in order with their members.
_Sweep = tuple[Sequence[date], Sequence[Any], Sequence[Any], Sequence[Any]]


def _by_start_end(spans: Mapping[tuple[Any, ...], list[_Span]]) -> dict[tuple[Any, ...], _Sweep]:
    """The member spans of each cell's dims by start, and those with an end by end (for :func:`_member_counts`;
    the same for every period, so the views' reads sort them once)."""
    out: dict[tuple[Any, ...], _Sweep] = {}
    for dims, items in spans.items():
        starts_, _, start_whos = zip(*sorted(items, key=_START), strict=True)
        ended = sorted([it for it in items if it[1] is not None], key=_END)
        _, ends, end_whos = zip(*ended, strict=True) if ended else ((), (), ())
        out[dims] = (starts_, start_whos, ends, end_whos)
    return out


def _member_counts(spans: Mapping[tuple[Any, ...], _Sweep], scope: Scope, whole_period: bool) -> dict[Cell, int]:
    """:func:`member_span_values` of the member spans (start, end or None, pseudonym) of each cell's dims, sorted by
    start and (those with an end) by end (:func:`_by_start_end`)."""
    cap, period, scope_lo = scope.last_day, scope.period, scope.lo
    out: dict[Cell, int] = {}
    for dims, (starts_, start_whos, ends, end_whos) in spans.items():
        active: dict[Any, int] = {}  # pseudonym → its spans started and not ended before the window
        i = j = 0
        n_start = len(starts_)
        first = starts_[0]
        if scope_lo is not None:
            first = max(first, scope_lo)
        ps, lasts, index = _windows(period, start_of(first, period), cap)
        k = 0
        while k < len(ps):
            p, last = ps[k], lasts[k]
            if not active and i < n_start and starts_[i] > last:
                # nobody active until the next span starts: skip ahead
                k = index.get(start_of(starts_[i], period), len(ps))
                continue
            if not active and i == n_start:
                break  # every span counted and ended
            hi = last if last < cap else cap
            lo = p if whole_period else hi
            if (i2 := bisect_right(starts_, hi, i)) > i:  # spans started by the window's last day
                for who in start_whos[i:i2]:
                    active[who] = active.get(who, 0) + 1
                i = i2
            if (j2 := bisect_right(ends, lo, j)) > j:  # ended before the window
                for who in end_whos[j:j2]:
                    if left := active.get(who, 0) - 1:
                        active[who] = left
                    else:
                        del active[who]
                j = j2
            if active and (scope_lo is None or p >= scope_lo):
                out[(p, dims)] = len(active)
            k += 1
    return out


@lru_cache(maxsize=256)
def _windows(period: str, first: date, cap: date) -> tuple[list[date], list[date], dict[date, int]]:
    """The starts of the periods from ``first`` (a start) to the one containing ``cap``, their last days, and each
    start's position."""
    ps = list(starts(first, cap, period))
    return ps, [last_day(p, period) for p in ps], {p: k for k, p in enumerate(ps)}


async def waiting_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, tuple[int, int, int]]:
    """(n, median, p90) per cell of the waiting times on the day each period is read (min(last day, as_of)): the
    items waiting on that day (``start <= d < end``, end open or later) have waited ``d − start`` days. Spans are
    stored in ``monitor.durations`` keyed by their start day with the end day's ordinal as ``value`` (0 = open)."""
    spans = await _spans(conn, "monitor.durations", "value", None, "sum(n) <> 0", series, scope)
    return _waiting(spans, scope)


def _waiting(
    spans: Mapping[tuple[Any, ...], list[tuple[date, date | None, Any]]], scope: Scope
) -> dict[Cell, tuple[int, int, int]]:
    """:func:`waiting_values` of the spans (start, end or None, multiplicity) of each cell's dims."""
    cap = scope.last_day
    out: dict[Cell, tuple[int, int, int]] = {}
    for dims, items in spans.items():
        first = min(s for s, _, _ in items)
        if scope.lo is not None:
            first = max(first, scope.lo)
        for p in starts(first, cap, scope.period):
            day = min(last_day(p, scope.period), scope.as_of)
            waits: dict[int, int] = defaultdict(int)  # days waited → how many (each span's multiplicity, if > 0)
            for s, e, n in items:
                if n > 0 and s <= day and (e is None or day < e):
                    waits[(day - s).days] += n
            if waits:
                out[(p, dims)] = _quantiles(waits)
    return out


#: Within :func:`shared_reads`: stock and count reads already made (their rows), by query and arguments.
_SHARED_READS: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("shared_reads", default=None)


@contextlib.contextmanager
def shared_reads() -> Iterator[None]:
    """Within the block, the month, half-year and year rows of a stock or count series share one read of month
    sums (see :func:`stock_values`, :func:`count_values`), and identical reads are made once. Only for code that
    reads inside one transaction and does not write aggregates meanwhile."""
    token = _SHARED_READS.set({})
    try:
        yield
    finally:
        _SHARED_READS.reset(token)


def forget_shared_reads() -> None:
    """Drop the reads :func:`shared_reads` kept so far (the block goes on sharing the reads made after)."""
    reads = _SHARED_READS.get()
    if reads is not None:
        reads.clear()


async def stock_values(conn: Conn, series: str, scope: Scope) -> dict[Cell, int]:
    """Active episodes on min(last day of the period, as_of): the sum of all deltas up to that day (and before
    ``hi``), per period from ``lo`` (or the first delta) on; cells with value 0 are left out.

    The read returns, per cell (group-by values), the net delta of each *bucket* up to the last day read, and one
    opening balance (the sum of everything before a base day) at ``base - 1 day``:

    * period ``day``: base = ``lo``; buckets are days; month sums of the months before ``lo``'s month and day
      deltas from that month on;
    * month, half-year, year: base = 1 January of ``lo``'s year (the same for the three periods, so one
      publication's reads of them are shared); buckets are months: month sums of the complete months, and
      the day deltas of the month of the last day read, up to that day, as that month's bucket.

    A bucket dated ``b`` then counts for a period exactly when ``b <=`` the day the period is read on: a month
    bucket holds only days up to the last day read, and every period boundary is a month boundary.
    """
    read = _stock_read(series, scope)
    if read is None:
        return {}
    sql, args, opening, first, cap = read
    n = len(scope.group_by)

    def by_cell(rows: list[Any]) -> dict[tuple[str, ...], list[tuple[date, int]]]:
        groups: dict[tuple[str, ...], list[tuple[date, int]]] = defaultdict(list)
        for r in rows:
            groups[tuple(r[i] for i in range(1, n + 1))].append((opening if r[0] is None else r[0], r[n + 1]))
        return groups

    return _running_totals(await _read_shared(conn, sql, args, by_cell), scope.period, first, cap)


def _stock_read(series: str, scope: Scope) -> tuple[str, list[Any], date, date | None, date] | None:
    """The statement of :func:`stock_values` (rows: bucket or NULL for the opening balance, d0…, delta), its
    arguments, the day of the opening balance, the first period and the last day read; None when nothing is read."""
    cap = scope.last_day
    first = None if scope.lo is None else start_of(scope.lo, scope.period)
    if first is not None and first > cap:
        return None
    args: list[Any] = []
    where = " AND ".join(_series_where(series, scope, args))
    select, names = _cols(scope)
    if scope.period == "day":
        base = first
        split = date.min if first is None else first.replace(day=1)
        args.append(split)
        label = "day"
    else:
        base = None if first is None else start_of(first, "year")
        split = cap.replace(day=1)
        args.append(split)
        label = f"${len(args)}::date"
    m = len(args)
    args.append(cap)
    c = len(args)
    bucket = "b"
    if base is not None:
        args.append(base)
        bucket = f"CASE WHEN b < ${len(args)} THEN NULL ELSE b END"
    sql = (
        f"SELECT {bucket} AS b{names}, sum(delta)::bigint AS v FROM ("
        f"SELECT month AS b{select}, delta FROM monitor.stock_month_deltas WHERE {where} AND month < ${m}"
        f" UNION ALL SELECT {label} AS b{select}, delta FROM monitor.stock_deltas"
        f" WHERE {where} AND day >= ${m} AND day <= ${c}) x"
        f" GROUP BY 1{names} HAVING sum(delta) <> 0 ORDER BY 1 NULLS FIRST"
    )
    opening = date.min if base is None else base - timedelta(days=1)  # (no NULL bucket without a base)
    return sql, args, opening, first, cap


def _running_totals(
    groups: Mapping[tuple[str, ...], list[tuple[date, int]]], period: str, first: date | None, cap: date
) -> dict[Cell, int]:
    """Per cell, the running total of its (day, delta) buckets (in day order) on min(last day, ``cap``) of each
    period from ``first`` (or the period of its first bucket) to the one containing ``cap``; 0 left out."""
    out: dict[Cell, int] = {}
    for dims, deltas in groups.items():
        s = start_of(deltas[0][0], period)
        if first is not None and first > s:
            s = first
        cum, i = 0, 0
        while s <= cap:
            upto = min(last_day(s, period), cap)
            while i < len(deltas) and deltas[i][0] <= upto:
                cum += deltas[i][1]
                i += 1
            if cum:
                out[(s, dims)] = cum
            elif i == len(deltas):
                break
            s = next_start(s, period)
    return out


async def latest_day(conn: Conn, as_of: date) -> date | None:
    """The latest event day seen (items of count series), at most ``as_of``."""
    day: date | None = await conn.fetchval(Q.latest_day, as_of)
    return day


async def first_day(conn: Conn, as_of: date) -> date | None:
    """The first event day seen (items of count series), at most ``as_of``: where the monitor's data begin."""
    day: date | None = await conn.fetchval(Q.first_day, as_of)
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


# -- grouped reads (the indicator topic: one read at the finest level, every grouping derived) -----------------------
@dataclass(frozen=True, slots=True)
class View:
    """A grouping derived from a finer read: its ``group_by`` dimensions, and ``filters`` on them (exactly as a
    :class:`Scope`'s ``filters`` would restrict a read of that grouping)."""

    group_by: tuple[str, ...]
    filters: Mapping[str, Collection[str]] = field(default_factory=dict)


class Projection(dict[tuple[Any, ...], tuple[Any, ...] | None]):
    """The dimension values of a view's cell for those of a fine cell (``projection[fine_values]``), or None when the
    view's filters exclude it; computed on first use (a fine cell's dims recur in every period and read)."""

    def __init__(self, fine: tuple[str, ...], view: View) -> None:
        super().__init__()
        self._index = [fine.index(d) for d in view.group_by]
        self._checks = [(fine.index(d), frozenset(vs)) for d, vs in sorted(view.filters.items())]

    def __missing__(self, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        out: tuple[Any, ...] | None = tuple([values[i] for i in self._index])
        for i, allowed in self._checks:
            v = values[i]
            if v is None or v not in allowed:  # as SQL's dims->>'d' = ANY(...): a missing value never matches
                out = None
                break
        self[values] = out
        return out


def fine_scope(scope: Scope, views: Sequence[View]) -> Scope:
    """The scope of one read that every view can be derived from: grouped by every dimension any view groups or
    filters by, with the filters every view shares (the rest are applied per view in Python, :class:`Projection`).
    ``scope``'s own filters (e.g. a ratio part's) restrict every view."""
    dims: list[str] = []
    for v in views:
        for d in (*v.group_by, *sorted(v.filters)):
            if d not in dims:
                dims.append(d)
    first, *rest = views
    common = {d: vs for d, vs in first.filters.items() if all(set(o.filters.get(d, ())) == set(vs) for o in rest)}
    return Scope(scope.period, tuple(dims), scope.as_of, scope.filters, scope.lo, scope.hi).with_filters(common)


def projection(fine: tuple[str, ...], view: View) -> Projection:
    """The :class:`Projection` of cells of ``fine`` dims onto ``view``; within :func:`shared_reads` one per fine
    dims and view (what it learnt of the fine cells kept for the other series and periods of a chunk)."""
    reads = _SHARED_READS.get()
    if reads is None:
        return Projection(fine, view)
    key = ("projection", fine, view.group_by, *sorted((d, frozenset(vs)) for d, vs in view.filters.items()))
    known: Projection | None = reads.get(key)
    if known is None:
        known = reads[key] = Projection(fine, view)
    return known


async def _fine_rows(conn: Conn, sql: str, args: list[Any], n: int, shared: bool = True) -> list[tuple[Any, ...]]:
    """Rows of a grouped read whose columns are the period (or day), ``n`` dims d0…, then values, as tuples
    (period, dims as a tuple, values…); with ``shared``, shared within :func:`shared_reads` (not for a read grouped
    by the period itself: the other periods' reads differ, and keeping it would only hold memory)."""

    def shape(rows: list[Any]) -> list[tuple[Any, ...]]:
        k = n + 1
        return [(t[0], t[1:k], *t[k:]) for t in map(tuple, rows)]

    if not shared:
        return shape(await conn.fetch(sql, *args))
    return await _read_shared(conn, sql, args, shape, tag="tuples")


async def _grouped_read(
    conn: Conn,
    read: Scope,
    where: Callable[[Scope, list[Any]], str],
    sql: Callable[[str, str, str], str],
    shared: bool = True,
) -> list[tuple[Any, ...]]:
    """One read grouped by ``read``'s dims (:func:`_fine_rows`): ``where`` appends its arguments and returns its
    condition, ``sql`` builds the statement from (condition, dims selected, dims grouped by)."""
    args: list[Any] = []
    condition = where(read, args)
    select, names = _cols(read)
    return await _fine_rows(conn, sql(condition, select, names), args, len(read.group_by), shared)


def _of(series: str) -> Callable[[Scope, list[Any]], str]:
    """The condition of a read of ``series`` at a scope (:func:`_where`)."""
    return lambda read, args: _where(series, read, args)


def _of_until_last_day(series: str) -> Callable[[Scope, list[Any]], str]:
    """The condition of a read of ``series``' day rows up to the scope's last day (stock days, spans)."""

    def where(read: Scope, args: list[Any]) -> str:
        conditions = _series_where(series, read, args)
        args.append(read.last_day)
        return f"{' AND '.join(conditions)} AND day <= ${len(args)}"

    return where


def _per_view(rows: object, fine: Scope, views: Sequence[View], derive: Callable[[Projection], T], tag: str) -> list[T]:
    """``derive`` (given the view's :func:`projection`) for each view; within :func:`shared_reads`, once per read
    (``rows``) and view whatever the period (what is derived must not depend on it)."""
    reads = _SHARED_READS.get()
    out = []
    for view in views:
        if reads is None:
            out.append(derive(projection(fine.group_by, view)))
            continue
        key = (tag, id(rows), fine.group_by, view.group_by, tuple(sorted((d, frozenset(v)) for d, v in view.filters.items())))
        if key not in reads:
            reads[key] = (rows, derive(projection(fine.group_by, view)))  # (rows kept: their id stays theirs)
        out.append(reads[key][1])
    return out


async def count_values_views(conn: Conn, series: str, scope: Scope, views: Sequence[View]) -> list[dict[Cell, int]]:
    """:func:`count_values` of each view, from one read at :func:`fine_scope` (sums add up)."""
    fine = fine_scope(scope, views)
    if _SHARED_READS.get() is not None and scope.period != "day" and _month_aligned(scope):
        lo = None if scope.lo is None else start_of(scope.lo, "year")
        hi = None if scope.hi is None else next_start(start_of(scope.hi - timedelta(days=1), "year"), "year")
        read = Scope("month", fine.group_by, fine.as_of, fine.filters, lo, hi)
        keep_lo, keep_hi = scope.lo, scope.hi  # months of the wider read outside [lo, hi) left out
    else:
        read, keep_lo, keep_hi = fine, None, None
    rows = await _grouped_read(
        conn, read, _of(series),
        lambda where, select, names: f"SELECT {PERIOD_SQL[read.period]} AS p{select}, sum(value)::bigint AS v"
        f" FROM monitor.counts WHERE {where} GROUP BY p{names} HAVING sum(value) <> 0",
    )
    periods: dict[date, date] = {}
    fine_sums: dict[tuple[Any, ...], dict[date, int]] = defaultdict(lambda: defaultdict(int))  # per fine cell, period
    for p, dims, v in rows:
        if (keep_lo is not None and p < keep_lo) or (keep_hi is not None and p >= keep_hi):
            continue
        if (start := periods.get(p)) is None:
            start = periods[p] = start_of(p, scope.period)
        fine_sums[dims][start] += v
    out = []
    for view in views:
        project = projection(fine.group_by, view)
        sums: dict[Cell, int] = defaultdict(int)
        for dims, per_start in fine_sums.items():
            if (view_dims := project[dims]) is not None:
                for start, v in per_start.items():
                    sums[(start, view_dims)] += v
        out.append({c: v for c, v in sums.items() if v != 0})
    return out


async def distinct_values_views(
    conn: Conn, series: str, scope: Scope, views: Sequence[View]
) -> list[dict[Cell, int]]:
    """:func:`distinct_values` of each view: the distinct pseudonyms per fine cell, united per view cell."""
    fine = fine_scope(scope, views)
    rows = await _grouped_read(
        conn, fine, _of(series),
        lambda where, select, _names: f"SELECT DISTINCT {PERIOD_SQL[fine.period]} AS p{select}, pseudonym"
        f" FROM monitor.members WHERE n > 0 AND pseudonym IS NOT NULL AND {where}",
        shared=False,
    )
    out = []
    for view in views:
        project = projection(fine.group_by, view)
        members: dict[Cell, set[Any]] = defaultdict(set)
        for r in rows:
            if (dims := project[r[1]]) is not None:
                members[(r[0], dims)].add(r[2])
        out.append({c: len(m) for c, m in members.items()})
    return out


def _quantiles(values: Mapping[Any, int]) -> tuple[int, Any, Any]:
    """(n, median, p90) by nearest rank of values with their multiplicities (all > 0), as :func:`duration_values`."""
    total = sum(values.values())
    half, ninety = (total + 1) // 2, (9 * total + 9) // 10
    cum, median, p90 = 0, None, None
    for value in sorted(values):
        cum += values[value]
        if median is None and cum >= half:
            median = value
        if cum >= ninety:
            p90 = value
            break
    return total, median, p90


def _pair_quantiles(pairs: list[tuple[Any, int]]) -> tuple[int, Any, Any] | None:
    """:func:`_quantiles` of the values with a positive multiplicity among (value, multiplicity) pairs, a value's
    multiplicity the sum of its pairs' (None: no such value); sorts ``pairs``."""
    if min(map(_MULTIPLICITY, pairs)) <= 0:  # sums decide which values count
        sums: dict[Any, int] = defaultdict(int)
        for value, n in pairs:
            sums[value] += n
        positive = {v: n for v, n in sums.items() if n > 0}
        return _quantiles(positive) if positive else None
    pairs.sort(key=_VALUE)  # every multiplicity positive: a value's pairs are adjacent once sorted, count as their sum
    cums = list(accumulate(map(_MULTIPLICITY, pairs)))  # increasing: the nearest ranks found by bisection
    total = cums[-1]
    half, ninety = (total + 1) // 2, (9 * total + 9) // 10
    return total, pairs[bisect_left(cums, half)][0], pairs[bisect_left(cums, ninety)][0]


_VALUE, _MULTIPLICITY = itemgetter(0), itemgetter(1)


async def duration_values_views(
    conn: Conn, series: str, scope: Scope, views: Sequence[View]
) -> list[dict[Cell, tuple[int, int, int]]]:
    """:func:`duration_values` of each view: the multiplicity of each value per fine cell, summed per view cell."""
    fine = fine_scope(scope, views)
    rows = await _grouped_read(
        conn, fine, _of(series),
        lambda where, select, names: f"SELECT {PERIOD_SQL[fine.period]} AS p{select}, value, sum(n)::bigint AS n"
        f" FROM monitor.durations WHERE {where} GROUP BY p{names}, value HAVING sum(n) <> 0",
        shared=False,
    )
    # a view cell's quantiles from its fine cells' (value, multiplicity) pairs together (summed value by value
    # only where a multiplicity is not positive: :func:`_pair_quantiles`)
    by_fine: dict[tuple[Any, ...], list[tuple[Any, int]]] = defaultdict(list)
    for r in rows:
        by_fine[(r[0], r[1])].append((r[2], r[3]))
    out = []
    for view in views:
        project = projection(fine.group_by, view)
        joined: dict[Cell, list[tuple[Any, int]]] = defaultdict(list)
        for (p, fine_dims), pairs in by_fine.items():
            if (dims := project[fine_dims]) is not None:
                joined[(p, dims)].extend(pairs)
        cells: dict[Cell, tuple[int, int, int]] = {}
        for cell, pairs in joined.items():
            if (q := _pair_quantiles(pairs)) is not None:
                cells[cell] = q
        out.append(cells)
    return out


async def stock_values_views(conn: Conn, series: str, scope: Scope, views: Sequence[View]) -> list[dict[Cell, int]]:
    """:func:`stock_values` of each view: the bucket deltas of the fine cells summed per view cell (a level is the
    sum of the levels of its parts)."""
    fine = fine_scope(scope, views)
    read = _stock_read(series, fine)
    if read is None:
        return [{} for _ in views]
    sql, args, opening, first, cap = read
    n = len(fine.group_by)
    rows = await _fine_rows(conn, sql, args, n)

    def buckets(project: Projection) -> dict[tuple[Any, ...], list[tuple[date, int]]]:
        sums: dict[tuple[Any, ...], dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for b, dims, delta in rows:
            if (view_dims := project[dims]) is not None:
                sums[view_dims][opening if b is None else b] += delta
        groups = {dims: [(b, d) for b, d in sorted(per.items()) if d != 0] for dims, per in sums.items()}
        return {dims: g for dims, g in groups.items() if g}

    # the month, half-year and year reads of a stock are one read (stock_values): its buckets are the same
    return [_running_totals(g, scope.period, first, cap) for g in _per_view(rows, fine, views, buckets, "stock")]


async def stock_days_views(conn: Conn, series: str, scope: Scope, views: Sequence[View]) -> list[dict[Cell, int]]:
    """:func:`stock_days` of each view: the day deltas of the fine cells summed per view cell."""
    fine = fine_scope(scope, views)
    rows = await _grouped_read(
        conn, fine, _of_until_last_day(series),
        lambda where, select, names: f"SELECT day AS p{select}, sum(delta)::bigint AS v FROM monitor.stock_deltas"
        f" WHERE {where} GROUP BY day{names} HAVING sum(delta) <> 0",
    )
    out = []
    for view in views:
        project = projection(fine.group_by, view)
        sums: dict[tuple[Any, ...], dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            if (dims := project[r[1]]) is not None:
                sums[dims][r[0]] += r[2]
        deltas = {dims: {d: v for d, v in days.items() if v != 0} for dims, days in sums.items()}
        out.append(_day_sums({dims: days for dims, days in deltas.items() if days}, scope))
    return out


@dataclass(slots=True)
class _FineSpans:
    """A span read of :func:`_span_views`: each fine cell's spans (start, end or None, member or multiplicity), the
    rows as read (p, fine dims…, e[, i], s), the fine cells with a multiplicity that is not positive, and the end
    days of the ``e`` read."""

    by_fine: dict[tuple[Any, ...], list[tuple[date, date | None, Any]]]
    rows: list[tuple[Any, ...]]
    summed: set[tuple[Any, ...]]
    ends: dict[int, date | None]


def _sum_spans(
    read: _FineSpans, project: Projection, to_sum: set[tuple[Any, ...]], k: int, members: bool,
    keep: Callable[[int], bool], joined: dict[tuple[Any, ...], list[tuple[date, date | None, Any]]],
) -> None:
    """:func:`_span_views`' view cells ``to_sum`` (a fine multiplicity not positive): their spans summed span by span
    over ``read``'s rows and kept by ``keep``, replacing the concatenation in ``joined`` (removed when none is kept)."""
    sums: dict[tuple[Any, ...], dict[tuple[date, int, Any], int]] = defaultdict(lambda: defaultdict(int))
    for t in read.rows:
        if (dims := project[t[1:k]]) in to_sum:
            sums[dims][(t[0], t[k], t[k + 1] if members else None)] += t[-1]
    for dims in to_sum:
        kept = [(start, read.ends[e], who if members else s) for (start, e, who), s in sums[dims].items() if keep(s)]
        if kept:
            joined[dims] = kept
        else:
            del joined[dims]


async def _span_views(
    conn: Conn, table: str, end: str, member: str | None, keep: Callable[[int], bool], series: str, scope: Scope,
    views: Sequence[View], prepare: Callable[[dict[tuple[Any, ...], list[tuple[date, date | None, Any]]]], T],
) -> list[T]:
    """``prepare`` of :func:`_spans` of each view (``keep``: the condition on a span's summed multiplicity, as its
    ``having``), from one read of the multiplicities per fine cell summed per view cell; within
    :func:`shared_reads` prepared once per view for a chunk's periods (``prepare`` must not depend on the period)."""
    fine = fine_scope(scope, views)
    item, group = (f", {member} AS i", f", {member}") if member is not None else ("", "")
    args: list[Any] = []
    condition = _of_until_last_day(series)(fine, args)
    select, names = _cols(fine)
    sql = (
        f"SELECT day AS p{select}, {end} AS e{item}, sum(n)::bigint AS s FROM {table}"
        f" WHERE {condition} GROUP BY day, {end}{group}{names} HAVING sum(n) <> 0"
    )
    k = len(fine.group_by) + 1  # a row: p, the fine dims, e[, i], s

    # A view cell whose fine cells' multiplicities are all positive: every sum of them is positive too, and a span's
    # parts in several fine cells count as their sum would (a child once, a waiting item with its multiplicity), so
    # the fine cells' spans are concatenated. Summed span by span (and kept by ``keep``) only in the view cells
    # with a fine multiplicity that is not positive.
    def by_fine_cell(records: list[Any]) -> _FineSpans:
        read = _FineSpans(defaultdict(list), [], set(), {})
        by_fine, ends = read.by_fine, read.ends
        for t in map(tuple, records):
            dims, e, mult = t[1:k], t[k], t[-1]
            end_day = ends[e] if e in ends else ends.setdefault(e, span_end(e))
            by_fine[dims].append((t[0], end_day, t[k + 1] if member is not None else mult))
            read.rows.append(t)
            if mult <= 0:
                read.summed.add(dims)
        return read

    # the read depends on the periods only through the last day read: shared by a chunk's periods
    read = await _read_shared(conn, sql, args, by_fine_cell, tag="spans")

    def spans(project: Projection) -> T:
        joined: dict[tuple[Any, ...], list[tuple[date, date | None, Any]]] = defaultdict(list)
        to_sum: set[tuple[Any, ...]] = set()
        for fine_dims, fine_spans in read.by_fine.items():
            if (dims := project[fine_dims]) is not None:
                joined[dims].extend(fine_spans)
                if fine_dims in read.summed:
                    to_sum.add(dims)
        if to_sum:
            _sum_spans(read, project, to_sum, k, member is not None, keep, joined)
        return prepare(dict(joined))

    return _per_view(read, fine, views, spans, f"spans {prepare.__name__}")


async def member_span_values_views(
    conn: Conn, series: str, scope: Scope, whole_period: bool, views: Sequence[View]
) -> list[dict[Cell, int]]:
    """:func:`member_span_values` of each view: a child's span counts in a view cell when its multiplicities in the
    fine cells of that view cell add up to more than 0 (children are counted distinct per view cell, never summed)."""
    spans = await _span_views(
        conn, "monitor.member_spans", "end_day", "pseudonym", lambda s: s > 0, series, scope, views, _by_start_end
    )
    return [_member_counts(s, scope, whole_period) for s in spans]


async def waiting_values_views(
    conn: Conn, series: str, scope: Scope, views: Sequence[View]
) -> list[dict[Cell, tuple[int, int, int]]]:
    """:func:`waiting_values` of each view, from one read of the span multiplicities per fine cell."""
    spans = await _span_views(
        conn, "monitor.durations", "value", None, lambda s: s != 0, series, scope, views, _as_they_are
    )
    return [_waiting(s, scope) for s in spans]


def _as_they_are(spans: T) -> T:
    return spans
