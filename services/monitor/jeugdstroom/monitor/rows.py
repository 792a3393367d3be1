"""Indicator rows (the row format of docs/indicators.md): exact values, targets and public suppression.

Shared by the JSON API, the indicator topic and the Prometheus gauges, so all public outputs suppress
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from jeugdstroom.common.db import Conn
from jeugdstroom.monitor import disclosure
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import SERIES, Indicator, Part
from jeugdstroom.monitor.repository import Cell, Scope

Row = dict[str, Any]
RVN = "rijk-van-nijmegen"
WACHTLIJST_TARGET = 5


async def _part(conn: Conn, part: Part, scope: Scope) -> dict[Cell, int]:
    series = SERIES[part.series]
    scope = scope.with_filters(part.where)
    if series.kind == "stock":
        return await repo.stock_values(conn, series.id, scope)
    if series.kind == "count":
        return await repo.count_values(conn, series.id, scope)
    raise AssertionError(f"ratio part {series.id} must be a count or stock series")


async def cells(conn: Conn, ind: Indicator, scope: Scope) -> dict[Cell, Row]:
    """Exact value fields of every non-empty cell (value 0 / empty population omitted)."""
    if ind.kind == "ratio":
        assert ind.numerator is not None and ind.denominator is not None
        num = await _part(conn, ind.numerator, scope)
        den = await _part(conn, ind.denominator, scope)
        return {
            c: {"value": round(num.get(c, 0) / d, 4), "numerator": num.get(c, 0), "denominator": d}
            for c, d in den.items()
            if d >= 1
        }
    assert ind.series is not None
    sid = ind.series.id
    if ind.kind == "duration":
        return {
            c: {"value": med, "n": n, "p90": p90}
            for c, (n, med, p90) in (await repo.duration_values(conn, sid, scope)).items()
        }
    if ind.kind == "distinct":
        values = await repo.distinct_values(conn, sid, scope)
    elif ind.kind == "stock":
        values = await repo.stock_values(conn, sid, scope)
    else:
        values = await repo.count_values(conn, sid, scope)
    return {c: {"value": v} for c, v in values.items() if v != 0}


def to_row(period: str, group_by: tuple[str, ...], cell: Cell, fields: Row) -> Row:
    start, dims = cell
    return {"period": period, "start": start.isoformat(), "dims": dict(zip(group_by, dims, strict=True)), **fields}


def to_rows(scope: Scope, values: Mapping[Cell, Row]) -> list[Row]:
    return [to_row(scope.period, scope.group_by, cell, values[cell]) for cell in sorted(values)]


async def exact_rows(conn: Conn, ind: Indicator, scope: Scope) -> list[Row]:
    return to_rows(scope, await cells(conn, ind, scope))


# -- suppression ------------------------------------------------------------------------------------
def small(ind: Indicator, row: Row, threshold: int) -> bool:
    """Whether a row is computed from fewer than ``threshold`` children or items (exact; public output rounds
    first, see :func:`public`)."""
    if ind.kind == "duration":
        return int(row["n"]) < threshold
    if ind.kind == "ratio":
        return int(row["denominator"]) < threshold
    return 0 < abs(int(row["value"])) < threshold


def quantity(ind: Indicator) -> tuple[str, str]:
    """What a row's numbers count, for the noise key: the series (a ratio: its numerator and denominator parts), so
    the same cell of a series has the same public value wherever it is published."""

    def name(part: Part) -> str:
        return part.series + "".join(f"|{k}={','.join(sorted(v))}" for k, v in sorted(part.where.items()))

    if ind.kind == "ratio":
        assert ind.numerator is not None and ind.denominator is not None
        return name(ind.numerator), name(ind.denominator)
    assert ind.series is not None
    return (ind.series.id + ("#n" if ind.kind == "duration" else ""), "")


def stock(ind: Indicator) -> bool:
    """Whether an indicator's numbers are levels (stocks) rather than flows."""
    part = ind.denominator if ind.kind == "ratio" else None
    series = SERIES[part.series] if part is not None else ind.series
    assert series is not None
    return series.kind == "stock"


def public(ind: Indicator, row: Row, threshold: int, secret: bytes, filters: Mapping[str, str] | None = None) -> Row:
    """The public version of a row: keyed noise on its counts, then small cells with their numbers replaced by null
    (:mod:`jeugdstroom.monitor.disclosure`, docs/privacy.md). Rows for which :func:`shown` is false are not
    published. ``filters``: the request's filters (part of the cell's identity)."""
    return disclosure.protect(ind.kind, quantity(ind), stock(ind), row, threshold, secret, filters)


def shown(ind: Indicator, row: Row) -> bool:
    """Whether a public row is published (a row that rounds to 0 is left out like an empty cell)."""
    return disclosure.published(ind.kind, row)


def exact(row: Row) -> Row:
    return {**row, "suppressed": False}


def empty_row(ind: Indicator, period: str, start: date, dims: Mapping[str, str]) -> Row:
    """The row of a cell that no longer has a value (for the indicator topic)."""
    row: Row = {"period": period, "start": start.isoformat(), "dims": dict(dims), "value": 0}
    if ind.kind == "duration":
        row.update(value=None, n=0, p90=None)
    elif ind.kind == "ratio":
        row.update(value=None, numerator=0, denominator=0)
    return {**row, "suppressed": False}


# -- targets ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Nulmeting:
    year: int
    value: int
    configured: bool


async def nulmetingen(conn: Conn, as_of: date, configured: Mapping[str, Mapping[str, int]]) -> dict[str, Nulmeting]:
    """The separatie nulmeting per instelling: configured, or its first full calendar year of data once
    that year is complete (by the latest event day seen)."""
    out = {i: Nulmeting(int(c["year"]), int(c["value"]), True) for i, c in configured.items()}
    latest = await repo.latest_day(conn, as_of)
    if latest is None:
        return out
    firsts = await repo.first_days(conn, "separaties", "instelling", as_of)
    per_year = await repo.count_values(conn, "separaties", Scope("year", ("instelling",), latest))
    for inst, first in firsts.items():
        if inst in out:
            continue
        year = first.year if (first.month, first.day) == (1, 1) else first.year + 1
        if date(year, 12, 31) <= latest:
            out[inst] = Nulmeting(year, per_year.get((date(year, 1, 1), (inst,)), 0), False)
    return out


def _effective_dims(row: Row, filters: Mapping[str, str]) -> dict[str, str]:
    return {**filters, **row["dims"]}


async def add_targets(
    conn: Conn,
    ind: Indicator,
    scope: Scope,
    rows: list[Row],
    filters: Mapping[str, str],
    configured: Mapping[str, Mapping[str, int]],
) -> list[Row]:
    """Add ``target`` and ``target_status`` (on_track/off_track) to the rows where a target applies:

    * separaties, period year, one instelling (no other split): the year after the nulmeting and later,
      the target is 50% of the nulmeting; a running year is compared pro rata with the days elapsed
      (up to the latest event day seen);
    * wachtlijst_pleegzorg, jeugdregio rijk-van-nijmegen (no other split): on track when below 5.
    """
    if ind.id == "separaties" and scope.period == "year":
        split = [r for r in rows if set(_effective_dims(r, filters)) == {"instelling"}]
        if not split:
            return rows
        nms = await nulmetingen(conn, scope.as_of, configured)
        latest = await repo.latest_day(conn, scope.as_of) or scope.as_of
        out = []
        for r in rows:
            dims = _effective_dims(r, filters)
            nm = nms.get(dims["instelling"]) if set(dims) == {"instelling"} else None
            year = date.fromisoformat(r["start"]).year
            if nm is None or year <= nm.year:
                out.append({**r, "target": None, "target_status": None} if set(dims) == {"instelling"} else r)
                continue
            target = Fraction(nm.value, 2)
            first, last = date(year, 1, 1), date(year, 12, 31)
            allowed = target if last <= latest else target * ((latest - first).days + 1) / ((last - first).days + 1)
            status = "on_track" if r["value"] <= allowed else "off_track"
            out.append({**r, "target": float(target), "target_status": status})
        return out
    if ind.id == "wachtlijst_pleegzorg":
        out = []
        for r in rows:
            dims = _effective_dims(r, filters)
            if dims == {"jeugdregio": RVN}:
                status = "on_track" if r["value"] < WACHTLIJST_TARGET else "off_track"
                out.append({**r, "target": WACHTLIJST_TARGET, "target_status": status})
            else:
                out.append(r)
        return out
    return rows
