"""Indicator rows (the row format of docs/indicators.md): exact values, targets and public suppression.

Shared by the JSON API, the indicator topic and the Prometheus gauges, so all public outputs suppress
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from jeugdstroom.common import geography
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import NulmetingSetting
from jeugdstroom.monitor import disclosure, fold
from jeugdstroom.monitor import population as poplib
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import NULMETING_JAAR, SERIES, Indicator, Part, Target
from jeugdstroom.monitor.repository import Cell, Scope, View

Row = dict[str, Any]


async def _part(conn: Conn, part: Part, scope: Scope) -> dict[Cell, int]:
    series = SERIES[part.series]
    scope = scope.with_filters(part.where)
    if part.days:
        return await repo.stock_days(conn, series.id, scope)
    if series.members:
        return await repo.member_span_values(conn, series.id, scope, whole_period=series.kind == "distinct")
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
            c: {"value": round(num.get(c, 0) * ind.per / d, 4), "numerator": num.get(c, 0), "denominator": d}
            for c, d in den.items()
            if d >= 1
        }
    assert ind.series is not None
    sid = ind.series.id
    if ind.kind in ("duration", "waiting"):
        read = repo.duration_values if ind.kind == "duration" else repo.waiting_values
        return {c: {"value": med, "n": n, "p90": p90} for c, (n, med, p90) in (await read(conn, sid, scope)).items()}
    if ind.series.members:  # children distinct per cell over days: on the day read, or in the period
        values = await repo.member_span_values(conn, sid, scope, whole_period=ind.kind == "distinct")
    elif ind.kind == "distinct":
        values = await repo.distinct_values(conn, sid, scope)
    elif ind.kind == "stock":
        values = await repo.stock_values(conn, sid, scope)
    else:
        values = await repo.count_values(conn, sid, scope)
    return {c: {"value": v} for c, v in values.items() if v != 0}


async def _part_views(conn: Conn, part: Part, scope: Scope, views: Sequence[View]) -> list[dict[Cell, int]]:
    series = SERIES[part.series]
    scope = scope.with_filters(part.where)
    if part.days:
        return await repo.stock_days_views(conn, series.id, scope, views)
    if series.members:
        return await repo.member_span_values_views(conn, series.id, scope, series.kind == "distinct", views)
    if series.kind == "stock":
        return await repo.stock_values_views(conn, series.id, scope, views)
    if series.kind == "count":
        return await repo.count_values_views(conn, series.id, scope, views)
    raise AssertionError(f"ratio part {series.id} must be a count or stock series")


async def cells_views(conn: Conn, ind: Indicator, scope: Scope, views: Sequence[View]) -> list[dict[Cell, Row]]:
    """:func:`cells` of each view (``scope`` grouped by the view's dims, with its filters added), each series read
    once at the finest level the views need (:func:`repository.fine_scope`) and every view's cells derived from it:
    sums add up, children are counted distinct per view cell, medians and ratios come from their summed parts. The
    indicator topic's path (one read per indicator × period instead of one per topic grouping); equal to
    :func:`cells` of each view (tests/integration/test_monitor_views.py)."""
    assert not scope.group_by, "the views say what to group by"
    if ind.kind == "ratio":
        assert ind.numerator is not None and ind.denominator is not None
        nums = await _part_views(conn, ind.numerator, scope, views)
        dens = await _part_views(conn, ind.denominator, scope, views)
        return [
            {
                c: {"value": round(num.get(c, 0) * ind.per / d, 4), "numerator": num.get(c, 0), "denominator": d}
                for c, d in den.items()
                if d >= 1
            }
            for num, den in zip(nums, dens, strict=True)
        ]
    assert ind.series is not None
    sid = ind.series.id
    if ind.kind in ("duration", "waiting"):
        read = repo.duration_values_views if ind.kind == "duration" else repo.waiting_values_views
        return [
            {c: {"value": med, "n": n, "p90": p90} for c, (n, med, p90) in values.items()}
            for values in await read(conn, sid, scope, views)
        ]
    if ind.series.members:
        views_values = await repo.member_span_values_views(conn, sid, scope, ind.kind == "distinct", views)
    elif ind.kind == "distinct":
        views_values = await repo.distinct_values_views(conn, sid, scope, views)
    elif ind.kind == "stock":
        views_values = await repo.stock_values_views(conn, sid, scope, views)
    else:
        views_values = await repo.count_values_views(conn, sid, scope, views)
    return [{c: {"value": v} for c, v in values.items() if v != 0} for values in views_values]


def with_names(row: Row) -> Row:
    """``row`` with ``names``: the name of each gemeente and jeugdregio value among its dims (added only when
    the row has such a dimension; an additive field, docs/monitor.md), and the Dutch label of a geslacht value."""
    names = geography.names(row["dims"])
    if (g := row["dims"].get(fold.GESLACHT)) is not None:
        names[fold.GESLACHT] = fold.GESLACHT_NAMES.get(g, g)
    return {**row, "names": names} if names else row


def to_row(period: str, group_by: tuple[str, ...], cell: Cell, fields: Row) -> Row:
    start, dims = cell
    row = {"period": period, "start": start.isoformat(), "dims": dict(zip(group_by, dims, strict=True))}
    return {**with_names(row), **fields}


def to_rows(scope: Scope, values: Mapping[Cell, Row]) -> list[Row]:
    return [to_row(scope.period, scope.group_by, cell, values[cell]) for cell in sorted(values)]


async def exact_rows(conn: Conn, ind: Indicator, scope: Scope) -> list[Row]:
    return to_rows(scope, await cells(conn, ind, scope))


# -- suppression ------------------------------------------------------------------------------------
def small(ind: Indicator, row: Row, threshold: int) -> bool:
    """Whether a row is computed from fewer than ``threshold`` children or items (exact; public output rounds
    first, see :func:`public`)."""
    if ind.kind in ("duration", "waiting"):
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
    return (ind.series.id + ("#n" if ind.kind in ("duration", "waiting") else ""), "")


def stock(ind: Indicator) -> bool:
    """Whether an indicator's numbers are levels (stocks) rather than flows."""
    part = ind.denominator if ind.kind == "ratio" else None
    series = SERIES[part.series] if part is not None else ind.series
    assert series is not None
    return series.kind == "stock"


#: :func:`quantity` and :func:`stock` per indicator (by identity; the indicator kept so that its id stays its own).
_NOISE_OF: dict[int, tuple[Indicator, tuple[str, str], bool]] = {}


def _noise_of(ind: Indicator) -> tuple[tuple[str, str], bool]:
    known = _NOISE_OF.get(id(ind))
    if known is None or known[0] is not ind:
        known = _NOISE_OF[id(ind)] = (ind, quantity(ind), stock(ind))
    return known[1], known[2]


def public(ind: Indicator, row: Row, threshold: int, secret: bytes, filters: Mapping[str, str] | None = None) -> Row:
    """The public version of a row: keyed noise on its counts, then small cells with their numbers replaced by null
    (:mod:`jeugdstroom.monitor.disclosure`, docs/privacy.md). Rows for which :func:`shown` is false are not
    published. ``filters``: the request's filters (part of the cell's identity)."""
    row = dict(row)
    base = row.pop(_BASELINE, None)
    rated, pop = poplib.KEY in row, row.pop(poplib.KEY, None)
    inputs = row.pop(_TARGET, None)
    qty, stk = _noise_of(ind)
    out = disclosure.protect(ind.kind, qty, stk, row, threshold, secret, filters, ind.per)
    if rated:  # the rate of the public (noisy, or suppressed) value, never of the exact one
        out["per_1000"] = poplib.per_1000(out.get("value"), pop)
    if "baseline" in out and base is not None:
        # the nulmeting is the public value of the same cell in the nulmeting year (never its exact value)
        cell = {**base, "period": "year", "start": f"{row['baseline_year']}-01-01", "dims": row["dims"]}
        pb = disclosure.protect(ind.kind, quantity(ind), stock(ind), cell, threshold, secret, filters, ind.per)
        out["baseline"] = None if pb.get("suppressed") else pb.get("value")
    if "change" in out:
        out["change"] = _change(out.get("value"), out.get("baseline"))
    if isinstance(inputs, _TargetInputs):
        # target and status from the public value and the public nulmeting, never from exact ones (issue 20)
        out.update(
            _target(
                inputs.target,
                out.get("value"),
                date.fromisoformat(row["start"]),
                inputs.baseline_year,
                out.get("baseline"),
                inputs.latest,
            )
        )
    return out


def public_cell(ind: Indicator, row: Row, threshold: int, secret: bytes, where: str) -> Row:
    """:func:`public` of a row of a cell's exact value fields alone (as :func:`to_row` makes from :func:`cells`:
    no nulmeting, targets or population; the indicator topic's rows), whose :func:`disclosure.noise_dims` is
    ``where``: its noise and suppression, without looking for the fields such a row does not have."""
    qty, stk = _noise_of(ind)
    return disclosure.protect(ind.kind, qty, stk, row, threshold, secret, None, ind.per, where)


def shown(ind: Indicator, row: Row) -> bool:
    """Whether a public row is published (a row that rounds to 0 is left out like an empty cell)."""
    return disclosure.published(ind.kind, row)


def exact(row: Row) -> Row:
    out = {**{k: v for k, v in row.items() if k not in (*_PRIVATE, poplib.KEY)}, "suppressed": False}
    if poplib.KEY in row:
        out["per_1000"] = poplib.per_1000(row["value"], row[poplib.KEY])
    return out


def empty_row(ind: Indicator, period: str, start: date, dims: Mapping[str, str]) -> Row:
    """The row of a cell that no longer has a value (for the indicator topic)."""
    row: Row = with_names({"period": period, "start": start.isoformat(), "dims": dict(dims)})
    row["value"] = 0
    if ind.kind in ("duration", "waiting"):
        row.update(value=None, n=0, p90=None)
    elif ind.kind == "ratio":
        row.update(value=None, numerator=0, denominator=0)
    return {**row, "suppressed": False}


# -- baselines (nulmeting) and targets ------------------------------------------------------------
Configured = Mapping[str, NulmetingSetting]
_BASELINE = "_baseline"  # private row key: the baseline cell's fields, for suppression (removed by exact/public)
_TARGET = "_target"  # private row key: the inputs of the target fields, for public output (removed by exact/public)
_PRIVATE = (_BASELINE, _TARGET)


@dataclass(frozen=True, slots=True)
class Nulmeting:
    year: int
    value: float | None  # None: the year is not covered by the data (and no value is configured)
    configured: bool
    fields: Row | None = None  # the baseline cell's value fields (None when configured or empty)


def _effective_dims(row: Row, filters: Mapping[str, str]) -> dict[str, str]:
    return {**filters, **row["dims"]}


def _first_full_year(first: date) -> int:
    return first.year if (first.month, first.day) == (1, 1) else first.year + 1


def comparable(ind: Indicator, period: str) -> bool:
    """Whether a row of ``period`` can be compared with a (calendar-year) nulmeting: counts only on year rows;
    stocks, durations and shares (levels) on rows of every period."""
    return period == "year" or ind.kind not in ("count", "distinct")


class _Baselines:
    """Resolves the nulmeting of the rows of one indicator and scope (docs/indicators.md, Nulmeting)."""

    def __init__(self, conn: Conn, ind: Indicator, scope: Scope, configured: Configured) -> None:
        self.conn, self.ind, self.scope, self.configured = conn, ind, scope, configured
        self._bounds: tuple[date | None, date | None] | None = None
        self._first_full: dict[str, int] | None = None
        self._cells: dict[int, dict[Cell, Row]] = {}

    async def bounds(self) -> tuple[date | None, date | None]:
        """(first, latest) event day seen (items of count series) up to as_of."""
        if self._bounds is None:
            self._bounds = (
                await repo.first_day(self.conn, self.scope.as_of),
                await repo.latest_day(self.conn, self.scope.as_of),
            )
        return self._bounds

    async def first_full(self, inst: str) -> int | None:
        """An instelling's first full calendar year of data, once that year is complete."""
        if self._first_full is None:
            assert self.ind.series is not None
            firsts = await repo.first_days(self.conn, self.ind.series.id, "instelling", self.scope.as_of)
            latest = (await self.bounds())[1]
            self._first_full = {
                i: _first_full_year(f)
                for i, f in firsts.items()
                if latest is not None and date(_first_full_year(f), 12, 31) <= latest
            }
        return self._first_full.get(inst)

    async def year(self, dims: Mapping[str, str]) -> tuple[int, NulmetingSetting | None] | None:
        """The nulmeting year of a row: configured for its instelling, else (``first_full_year``) the instelling's
        first full year of data; else configured for its jeugdregio, else the catalogue's year of the jeugdregio
        (the row's, or its gemeente's)."""
        inst = dims.get("instelling")
        if inst is not None:
            if inst in self.configured:
                return self.configured[inst].year, self.configured[inst]
            if self.ind.baseline.first_full_year:
                first = await self.first_full(inst)
                return None if first is None else (first, None)
        regio = dims.get("jeugdregio") or (geography.jeugdregio(dims["gemeente"]) if "gemeente" in dims else None)
        if regio is None:
            return None
        if regio in self.configured:
            return self.configured[regio].year, self.configured[regio]
        return (NULMETING_JAAR[regio], None) if regio in NULMETING_JAAR else None

    async def of(self, row: Row, dims: Mapping[str, str]) -> Nulmeting | None:
        found = await self.year(dims)
        if found is None:
            return None
        year, setting = found
        value = None if setting is None else setting.value_of(self.ind.id)
        if value is not None:
            return Nulmeting(year, value, True)
        first, latest = await self.bounds()
        if first is None or latest is None or not (first <= date(year, 1, 1) and date(year, 12, 31) <= latest):
            return Nulmeting(year, None, False)  # the data do not cover the nulmeting year
        if year not in self._cells:
            s = self.scope
            base = Scope("year", s.group_by, s.as_of, s.filters, lo=date(year, 1, 1), hi=date(year + 1, 1, 1))
            self._cells[year] = await cells(self.conn, self.ind, base)
        fields = self._cells[year].get((date(year, 1, 1), tuple(row["dims"][g] for g in self.scope.group_by)))
        if fields is None:  # an empty cell: 0 for counts and stocks, no population for durations and shares
            return Nulmeting(year, 0 if self.ind.kind in ("count", "distinct", "stock") else None, False)
        return Nulmeting(year, fields["value"], False, fields)


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None:
        return None
    diff = value - base
    return diff if isinstance(diff, int) else round(diff, 4)


def _applies(t: Target, period: str, dims: Mapping[str, str]) -> bool:
    if set(dims) != {t.scope} or period not in t.periods:
        return False
    value = dims[t.scope]
    return not t.where or value in t.where


@dataclass(frozen=True, slots=True)
class _TargetInputs:
    """What a row's target fields are computed from, kept (private key ``_target``) so that public output computes
    them again from the public value and the public nulmeting (:func:`public`; issue 20: a status computed from the
    exact value would tell on which side of the target a suppressed cell lies)."""

    target: Target
    baseline_year: int | None
    latest: date | None


def _target(
    t: Target, value: float | None, start: date, base_year: int | None, base: float | None, latest: date | None
) -> Row:
    """``target`` and ``target_status`` of a row that target ``t`` applies to: its ``value`` (null: status unknown),
    the start of its period, and its nulmeting (year and value) for ``vs_nulmeting``."""
    if t.rule in ("below", "at_most"):
        assert t.value is not None
        if value is None:
            return {"target": t.value, "target_status": None}
        on = value < t.value if t.rule == "below" else value <= t.value
        return {"target": t.value, "target_status": "on_track" if on else "off_track"}
    assert t.factor is not None
    if base_year is None or base is None or start.year <= base_year or value is None:
        return {"target": None, "target_status": None}
    target = Fraction(base) * Fraction(t.factor)
    allowed = target
    first, last = date(start.year, 1, 1), date(start.year, 12, 31)
    if t.pro_rata and latest is not None and latest < last:
        allowed = target * ((latest - first).days + 1) / ((last - first).days + 1)
    return {"target": float(target), "target_status": "on_track" if value <= allowed else "off_track"}


async def add_targets(
    conn: Conn,
    ind: Indicator,
    scope: Scope,
    rows: list[Row],
    filters: Mapping[str, str],
    configured: Configured,
) -> list[Row]:
    """Add the nulmeting and the catalogue's targets to the rows (docs/indicators.md, Nulmeting and Targets):

    * ``baseline_year``, ``baseline`` (the value of the same cell in the nulmeting year: configured, or computed
      when the data cover that year, else null) and ``change`` (value − baseline) on rows that have a nulmeting
      (by their instelling or jeugdregio) and can be compared with a year (:func:`comparable`);
    * ``target`` and ``target_status`` (on_track/off_track, null while it cannot be evaluated) on the rows of
      exactly the target's dimension (:class:`~jeugdstroom.monitor.catalogue.Target`).
    """
    base = _Baselines(conn, ind, scope, configured)
    out = []
    for r in rows:
        dims = _effective_dims(r, filters)
        nm = await base.of(r, dims) if comparable(ind, scope.period) else None
        row = dict(r)
        if nm is not None:
            row.update(baseline_year=nm.year, baseline=nm.value, change=_change(r["value"], nm.value))
            row[_BASELINE] = nm.fields
        for t in ind.targets:
            if _applies(t, scope.period, dims):
                latest = (await base.bounds())[1]
                year, value = (None, None) if nm is None else (nm.year, nm.value)
                row.update(_target(t, row["value"], date.fromisoformat(row["start"]), year, value, latest))
                row[_TARGET] = _TargetInputs(t, year, latest)
        out.append(row)
    return out
