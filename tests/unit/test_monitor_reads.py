"""The monitor's read helpers without I/O, against their definitions written plainly (the fast forms must give the
same numbers): stock days per period, quantiles of (value, multiplicity) pairs, distinct children per period."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.periods import PERIODS, start_of
from jeugdstroom.monitor.repository import Cell, Scope

AS_OF = date(2026, 6, 17)


def day_sums_by_day(deltas: dict[tuple[str, ...], dict[date, int]], scope: Scope) -> dict[Cell, int]:
    """Per period, the sum over its days (from the first delta to the last day read) of the level on that day."""
    out: dict[Cell, int] = defaultdict(int)
    for dims, per_day in deltas.items():
        day, level = min(per_day), 0
        while day <= scope.last_day:
            level += per_day.get(day, 0)
            p = start_of(day, scope.period)
            if level and (scope.lo is None or p >= scope.lo):
                out[(p, dims)] += level
            day += timedelta(days=1)
    return {c: v for c, v in out.items() if v}


def test_stock_days_per_period_equal_the_sum_day_by_day() -> None:
    rng = random.Random(5)
    for _ in range(60):
        deltas: dict[tuple[str, ...], dict[date, int]] = {}
        for g in range(rng.randint(1, 4)):
            days = {AS_OF - timedelta(days=rng.randint(-20, 900)) for _ in range(rng.randint(1, 12))}
            per_day = {d: rng.choice([-2, -1, 1, 1, 2, 3]) for d in days}
            deltas[(f"g{g}",)] = per_day
        for period in PERIODS:
            lo = rng.choice([None, start_of(AS_OF - timedelta(days=rng.randint(0, 700)), period)])
            hi = rng.choice([None, AS_OF - timedelta(days=rng.randint(0, 60))])
            scope = Scope(period, ("g",), AS_OF, {}, lo, hi)
            assert repo._day_sums(deltas, scope) == day_sums_by_day(deltas, scope), (period, lo, hi)


def test_quantiles_of_pairs_equal_those_of_summed_multiplicities() -> None:
    rng = random.Random(6)
    for _ in range(500):
        pairs = [(rng.randint(0, 30), rng.choice([-2, -1, 1, 1, 2, 5])) for _ in range(rng.randint(1, 25))]
        if rng.random() < 0.5:
            pairs = [(v, abs(n)) for v, n in pairs]  # every multiplicity positive
        sums: dict[int, int] = defaultdict(int)
        for v, n in pairs:
            sums[v] += n
        positive = {v: n for v, n in sums.items() if n > 0}
        want = repo._quantiles(positive) if positive else None
        assert repo._pair_quantiles(list(pairs)) == want, pairs


def member_counts_by_period(spans: list[tuple[date, date | None, str]], scope: Scope, whole: bool) -> dict[date, int]:
    """Distinct members per period whose span [start, end) meets the period up to its last day read (``whole``: a
    span ending on or after the period's start, so a span of no days on a day of the period counts), or covers that
    last day."""
    out: dict[date, int] = {}
    p = start_of(min(s for s, _, _ in spans), scope.period)
    while p <= scope.last_day:
        read = min(repo.last_day(p, scope.period), scope.last_day)
        lo = p if whole else read
        members = {who for s, e, who in spans if s <= read and (e is None or e > lo)}
        if members and (scope.lo is None or p >= scope.lo):
            out[p] = len(members)
        p = repo.next_start(p, scope.period)
    return out


def test_member_counts_equal_the_definition_day_by_day() -> None:
    rng = random.Random(7)
    for _ in range(40):
        spans: list[tuple[date, date | None, Any]] = []
        for _ in range(rng.randint(1, 10)):
            s = AS_OF - timedelta(days=rng.randint(0, 800))
            e = rng.choice([None, s + timedelta(days=rng.randint(0, 300))])
            spans.append((s, e, rng.choice("abcd")))
        for period in ("month", "half_year", "year"):
            for whole in (True, False):
                lo = rng.choice([None, start_of(AS_OF - timedelta(days=rng.randint(0, 500)), period)])
                scope = Scope(period, ("g",), AS_OF, {}, lo, None)
                got = repo._member_counts(repo._by_start_end({("x",): spans}), scope, whole)
                assert {p: n for (p, _), n in got.items()} == member_counts_by_period(spans, scope, whole)
