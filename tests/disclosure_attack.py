"""An attacker against the monitor's public tables (docs/privacy.md): interval propagation over every additive
relation between published cells.

A *family* is one additive quantity of an indicator (a count, stock or distinct value, a duration's ``n``, a ratio's
numerator or denominator). Its cells are (group_by, period, start, dims values); the attacker knows, for every cell
of every table the system serves, an integer interval from what was published (a rounded value, a suppression
marker, or the absence of a row), and the relations: a cell is the sum of its cells one dimension finer (over every
value of that dimension) and, for additive-in-time quantities, the sum of its cells one period finer (year = two
half years = twelve months, month = its days); a stock is its value on the period's last day, so a year equals its
December and its 31 December. Bounds are tightened over all relations until nothing changes (integer rounding of
every bound). A cell is *recovered* when its lower and upper bound meet.

This attacker is exact on what it derives (every bound it computes contains the true value; the test asserts
that) and it finds every subtraction of published totals and every pinning by bounds (twelve day cells each at
least 1 in a month of 12), though not every consequence a full linear program over all relations could draw.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations

CellKey = tuple[tuple[str, ...], str, date, tuple[str, ...]]  # group_by, period, start, dims values
Interval = tuple[int, int]
PERIODS = ("day", "month", "half_year", "year")


def subsets(dims: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [c for n in range(len(dims) + 1) for c in combinations(dims, n)]


def starts(period: str, lo: date, hi: date) -> list[date]:
    """Period starts from ``lo`` (a year start) to ``hi`` (exclusive, a year start)."""
    out, d = [], lo
    while d < hi:
        out.append(d)
        d = _next(d, period)
    return out


def _next(d: date, period: str) -> date:
    if period == "day":
        return d + timedelta(days=1)
    months = {"month": 1, "half_year": 6, "year": 12}[period]
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


@dataclass
class Family:
    """One additive quantity: the dimensions, whether it adds over time (else it is a stock), the true value and the
    published interval of every cell (cells missing from ``truth`` are 0; from ``published``: ``absent``)."""

    dims: tuple[str, ...]
    additive_in_time: bool
    truth: dict[CellKey, int] = field(default_factory=dict)
    published: dict[CellKey, Interval] = field(default_factory=dict)


def relations(
    fam: Family, lo: date, hi: date, periods: tuple[str, ...] = PERIODS
) -> list[tuple[CellKey, list[CellKey]]]:
    """(parent, children) for every relation between the family's cells, over the dimension values seen, in the
    tables of ``periods`` (a period relates to the next shorter one only where that one is among them)."""
    values: dict[str, set[str]] = defaultdict(set)
    for gb, _, _, vals in fam.truth:
        for d, v in zip(gb, vals, strict=True):
            values[d].add(v)
    # the combinations of values that occur per group_by (a generous universe: the attacker is told which occur)
    combos: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    full = [k for k in fam.truth if k[0] == fam.dims]
    for gb in subsets(fam.dims):
        idx = [fam.dims.index(d) for d in gb]
        for _, _, _, vals in full:
            combos[gb].add(tuple(vals[i] for i in idx))
    # per (group_by, one more dimension): the finer value combinations under each coarser one
    finer_of: dict[tuple[tuple[str, ...], str], dict[tuple[str, ...], list[tuple[str, ...]]]] = {}
    for gb in subsets(fam.dims):
        for d in fam.dims:
            if d in gb:
                continue
            finer = tuple(x for x in fam.dims if x in gb or x == d)
            idx = [finer.index(g) for g in gb]
            groups: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
            for fv in combos[finer]:
                groups[tuple(fv[i] for i in idx)].append(fv)
            finer_of[gb, d] = groups
    out: list[tuple[CellKey, list[CellKey]]] = []
    for gb in subsets(fam.dims):
        for period in periods:
            for start in starts(period, lo, hi):
                for vals in combos[gb]:
                    parent: CellKey = (gb, period, start, vals)
                    for d in fam.dims:  # one dimension finer
                        if d in gb:
                            continue
                        finer = tuple(x for x in fam.dims if x in gb or x == d)
                        out.append((parent, [(finer, period, start, fv) for fv in finer_of[gb, d][vals]]))
                    sub = {"day": "", "month": "day", "half_year": "month", "year": "half_year"}[period]
                    if sub not in periods:
                        continue
                    kids_t = [(gb, sub, s, vals) for s in starts(sub, start, _next(start, period))]
                    if fam.additive_in_time:
                        out.append((parent, kids_t))
                    else:  # a stock: its value on the last day, which the last finer period also has
                        out.append((parent, [kids_t[-1]]))
    return out


Relation = tuple[CellKey, list[CellKey]]


def attack(
    fam: Family, lo: date, hi: date, absent: Interval, rels: list[Relation] | None = None
) -> dict[CellKey, Interval]:
    """The bounds of every cell after propagation to a fixed point (``rels``: :func:`relations`, if known)."""
    if rels is None:
        rels = relations(fam, lo, hi)
    bounds: dict[CellKey, list[int]] = {}

    def b(k: CellKey) -> list[int]:
        if k not in bounds:
            bounds[k] = list(fam.published.get(k, absent))
        return bounds[k]

    by_cell: dict[CellKey, list[int]] = defaultdict(list)
    for i, (p, kids) in enumerate(rels):
        for k in (p, *kids):
            b(k)
            by_cell[k].append(i)
    todo = set(range(len(rels)))
    while todo:
        i = todo.pop()
        p, kids = rels[i]
        changed: list[CellKey] = []
        pb = bounds[p]
        slo = sum(bounds[k][0] for k in kids)
        shi = sum(bounds[k][1] for k in kids)
        if slo > pb[0] or shi < pb[1]:
            pb[0], pb[1] = max(pb[0], slo), min(pb[1], shi)
            changed.append(p)
        for k in kids:
            kb = bounds[k]
            nlo = max(kb[0], pb[0] - (shi - kb[1]))
            nhi = min(kb[1], pb[1] - (slo - kb[0]))
            if (nlo, nhi) != (kb[0], kb[1]):
                kb[0], kb[1] = nlo, nhi
                changed.append(k)
        for k in changed:
            todo.update(by_cell[k])
    return {k: (v[0], v[1]) for k, v in bounds.items()}


def recovered(
    fam: Family,
    lo: date,
    hi: date,
    absent: Interval,
    sensitive: Callable[[int], bool],
    rels: list[Relation] | None = None,
) -> list[tuple[CellKey, int]]:
    """The sensitive cells (by true value) whose value the attacker pins down. Asserts that every bound holds the
    true value (else the attack model is wrong about the system, and a result of zero would mean nothing)."""
    bounds = attack(fam, lo, hi, absent, rels)
    out = []
    for k, (blo, bhi) in bounds.items():
        true = fam.truth.get(k, 0)
        assert blo <= true <= bhi, (k, true, (blo, bhi))
        if blo == bhi and sensitive(true) and fam.published.get(k, absent) != (true, true):
            out.append((k, true))
    return out
