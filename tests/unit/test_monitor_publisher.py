"""The indicator topic's bookkeeping without I/O: which cells a batch affects, and topic keys."""

from __future__ import annotations

import random
from datetime import date, timedelta

from jeugdstroom.monitor import publisher
from jeugdstroom.monitor.catalogue import CATALOGUE, SERIES, USERS
from jeugdstroom.monitor.fold import Key, Table
from jeugdstroom.monitor.periods import next_start, start_of
from jeugdstroom.monitor.publisher import TOPIC_PERIODS, Affected

AS_OF = date(2026, 6, 17)
TABLES: dict[str, Table] = {"count": "count", "stock": "stock", "distinct": "member", "duration": "duration", "waiting": "span"}


def per_key(keys: list[Key], as_of: date) -> dict[tuple[str, str], Affected]:
    """The definition, one key at a time: each key's periods (for stocks: up to as_of) and dimension values."""
    out: dict[tuple[str, str], Affected] = {}
    for key in keys:
        if key.day > as_of:
            continue
        dims = dict(key.dims)
        for ind in USERS[key.series]:
            for period in TOPIC_PERIODS:
                lo = start_of(key.day, period)
                span = SERIES[key.series].kind in ("stock", "waiting") or SERIES[key.series].members
                hi = None if span else next_start(lo, period)
                a = out.setdefault((ind.id, period), Affected(lo, hi))
                a.lo = min(a.lo, lo)
                a.hi = None if a.hi is None or hi is None else max(a.hi, hi)
                for d in ind.dimensions:
                    a.values.setdefault(d, set()).add(dims[d])
    return out


def random_keys(rng: random.Random, n: int) -> list[Key]:
    keys = []
    for _ in range(n):
        series = SERIES[rng.choice(sorted(SERIES))]
        dims = tuple(sorted((d, rng.choice(["a", "b", "c"]) + d[:2]) for d in series.dims))
        day = AS_OF + timedelta(days=rng.randint(-900, 60))
        keys.append(
            Key(TABLES[series.kind], series.id, day, dims, member=rng.choice(["p1", "p2"]), value=rng.randint(0, 9))
        )
    return keys


def test_affected_cells_equal_the_per_key_definition() -> None:
    rng = random.Random(3)
    for n in (1, 5, 40, 400):
        keys = random_keys(rng, n)
        got = publisher.affected(keys, AS_OF)
        assert got == per_key(keys, AS_OF)
    assert publisher.affected(random_keys(rng, 50), date(2020, 1, 1)) == {}  # every day after as_of


def test_affected_spans_every_period_of_a_stock_up_to_as_of() -> None:
    dims = (
        ("aanbieder", "11111111"),
        ("gemeente", "GM0268"),
        ("geslacht", "vrouw"),
        ("instelling", "11111111"),
        ("jeugdregio", "JZ32"),
        ("leeftijdsklasse", "4-12"),
    )
    keys = [
        Key("stock", "gesloten_actief", date(2025, 3, 9), dims),
        Key("count", "gesloten_instroom", date(2025, 3, 9), dims),
        Key("count", "gesloten_instroom", date(2025, 11, 2), dims),
    ]
    work = publisher.affected(keys, AS_OF)
    assert work[("gesloten_actief", "month")] == Affected(
        date(2025, 3, 1),
        None,
        {
            "gemeente": {"GM0268"},
            "jeugdregio": {"JZ32"},
            "instelling": {"11111111"},
            "leeftijdsklasse": {"4-12"},
            "geslacht": {"vrouw"},
            "aanbieder": {"11111111"},
        },
    )
    assert (work[("gesloten_instroom", "month")].lo, work[("gesloten_instroom", "month")].hi) == (
        date(2025, 3, 1),
        date(2025, 12, 1),
    )
    assert (work[("gesloten_instroom", "half_year")].lo, work[("gesloten_instroom", "half_year")].hi) == (
        date(2025, 1, 1),
        date(2026, 1, 1),
    )


def test_topic_key_sorts_dimensions() -> None:
    key = publisher.topic_key("x", "month", "2026-01-01", {"vorm": "gezinshuis", "gemeente": "GM0268"})
    assert key == "x|month|2026-01-01|gemeente=GM0268;vorm=gezinshuis"


def test_cell_keys_equal_topic_keys_for_every_indicator() -> None:
    for ind in CATALOGUE.values():
        values = tuple(f"{d[::-1]}-{i}" for i, d in enumerate(ind.dimensions))
        expected = publisher.topic_key(ind.id, "year", "2026-01-01", dict(zip(ind.dimensions, values, strict=True)))
        assert publisher._cell_keys(ind)("year", "2026-01-01", values) == expected


def test_digest_of_a_published_row_tells_changed_rows_apart_and_fits_a_bigint() -> None:
    row = {"period": "month", "start": "2026-05-01", "dims": {"gemeente": "GM0268"}, "value": 12, "suppressed": False}
    same = {"period": "month", "start": "2026-05-01", "dims": {"gemeente": "GM0268"}, "value": 12, "suppressed": False}
    assert publisher.digest(row) == publisher.digest(same)
    changed = [
        {**row, "value": 13},
        {**row, "value": None, "suppressed": True},
        {**row, "dims": {"gemeente": "GM0203"}},
        {**row, "per_1000": 1.5},
    ]
    digests = {publisher.digest(r) for r in [row, *changed]}
    assert len(digests) == 1 + len(changed)
    assert all(-(2**63) <= d < 2**63 for d in digests)
