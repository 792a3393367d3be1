"""The monitor's SQL roll-ups on a real PostgreSQL: nearest-rank quantiles, stocks at past dates, distinct
children across days and dimension subsets, ratios and targets, from hand-built deltas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from jeugdstroom.common.settings import NulmetingSetting, Settings
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.catalogue import CATALOGUE
from jeugdstroom.monitor.fold import Key
from jeugdstroom.monitor.repository import Scope

pytestmark = pytest.mark.integration

A = (("gemeente", "GM0268"), ("instelling", "11111111"), ("jeugdregio", "JZ32"))
B = (("gemeente", "GM0296"), ("instelling", "22222222"), ("jeugdregio", "JZ32"))
AS_OF = date(2026, 6, 30)


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    from jeugdstroom.common.db import create_pool

    pool = await create_pool(settings.database_url)
    async with pool.acquire() as c:
        yield c
    await pool.close()


def dur(day: date, value: int, dims: tuple[tuple[str, str], ...] = A) -> Key:
    return Key("duration", "gesloten_duur", day, tuple(x for x in dims if x[0] != "gemeente"), value=value)


async def test_nearest_rank_median_and_p90(conn: asyncpg.Connection) -> None:
    # month 1: ten values 1..10 → median v[5] = 5, p90 v[9] = 9; month 2: values 3, 3, 8 → v[2]=3, v[3]=8
    deltas = {dur(date(2026, 1, d), d): 1 for d in range(1, 11)}
    deltas[dur(date(2026, 2, 1), 3)] = 2
    deltas[dur(date(2026, 2, 9), 8)] = 1
    await repo.apply_deltas(conn, deltas)
    scope = Scope("month", (), AS_OF)
    assert await repo.duration_values(conn, "gesloten_duur", scope) == {
        (date(2026, 1, 1), ()): (10, 5, 9),
        (date(2026, 2, 1), ()): (3, 3, 8),
    }
    # year: 13 values 1,2,3,3,3,4..10 → median v[7] = 5, p90 v[ceil(11.7)=12] = 9
    year = await repo.duration_values(conn, "gesloten_duur", Scope("year", (), AS_OF))
    assert year == {(date(2026, 1, 1), ()): (13, 5, 9)}
    # a compensating delta removes a value exactly
    await repo.apply_deltas(conn, {dur(date(2026, 2, 9), 8): -1})
    assert (await repo.duration_values(conn, "gesloten_duur", scope))[(date(2026, 2, 1), ())] == (2, 3, 3)


async def test_stock_at_past_dates_and_as_of(conn: asyncpg.Connection) -> None:
    s = "gesloten_actief"
    await repo.apply_deltas(
        conn,
        {
            Key("stock", s, date(2026, 1, 10), A): 1,
            Key("stock", s, date(2026, 3, 5), A): -1,
            Key("stock", s, date(2026, 2, 1), B): 1,  # open
            Key("stock", s, date(2026, 8, 1), B): -1,  # planned end after as_of
        },
    )
    months = await repo.stock_values(conn, s, Scope("month", ("instelling",), AS_OF))
    assert months == {
        (date(2026, 1, 1), ("11111111",)): 1,
        (date(2026, 2, 1), ("11111111",)): 1,
        (date(2026, 2, 1), ("22222222",)): 1,
        (date(2026, 3, 1), ("22222222",)): 1,
        (date(2026, 4, 1), ("22222222",)): 1,
        (date(2026, 5, 1), ("22222222",)): 1,
        (date(2026, 6, 1), ("22222222",)): 1,
    }
    days = await repo.stock_values(conn, s, Scope("day", (), AS_OF, lo=date(2026, 3, 3), hi=date(2026, 3, 7)))
    assert days == {
        (date(2026, 3, 3), ()): 2,
        (date(2026, 3, 4), ()): 2,
        (date(2026, 3, 5), ()): 1,
        (date(2026, 3, 6), ()): 1,
    }
    # as of a past day, the year row is read on that day
    assert await repo.stock_values(conn, s, Scope("year", (), date(2026, 2, 15))) == {(date(2026, 1, 1), ()): 2}


async def test_distinct_children_across_days_and_dims(conn: asyncpg.Connection) -> None:
    s = "gesepareerde_jeugdigen"
    await repo.apply_deltas(
        conn,
        {
            Key("member", s, date(2026, 1, 5), A, member="p1"): 1,
            Key("member", s, date(2026, 1, 20), A, member="p1"): 2,
            Key("member", s, date(2026, 1, 20), B, member="p1"): 1,
            Key("member", s, date(2026, 2, 2), B, member="p2"): 1,
        },
    )
    assert await repo.distinct_values(conn, s, Scope("month", (), AS_OF)) == {
        (date(2026, 1, 1), ()): 1,
        (date(2026, 2, 1), ()): 1,
    }
    assert await repo.distinct_values(conn, s, Scope("year", ("instelling",), AS_OF)) == {
        (date(2026, 1, 1), ("11111111",)): 1,
        (date(2026, 1, 1), ("22222222",)): 2,
    }
    # withdrawing p1's items of 20 January at instelling B leaves p1 counted once, via A
    await repo.apply_deltas(conn, {Key("member", s, date(2026, 1, 20), B, member="p1"): -1})
    assert await repo.distinct_values(conn, s, Scope("year", ("instelling",), AS_OF)) == {
        (date(2026, 1, 1), ("11111111",)): 1,
        (date(2026, 1, 1), ("22222222",)): 1,
    }


async def test_ratio_of_two_stock_series(conn: asyncpg.Connection) -> None:
    num, den = "verblijf_gezinsgericht", "verblijf_jeugdigen"
    await repo.apply_deltas(
        conn,
        {
            Key("stock", num, date(2026, 1, 1), A): 1,
            Key("stock", den, date(2026, 1, 1), A): 3,
            Key("stock", den, date(2026, 2, 1), A): -2,
        },
    )
    ind = CATALOGUE["aandeel_gezinsgericht"]
    rows = await rowlib.exact_rows(conn, ind, Scope("month", ("gemeente",), date(2026, 2, 10)))
    assert rows == [
        {
            "period": "month",
            "start": "2026-01-01",
            "dims": {"gemeente": "GM0268"},
            "names": {"gemeente": "Nijmegen"},
            "value": 0.3333,
            "numerator": 1,
            "denominator": 3,
        },
        {
            "period": "month",
            "start": "2026-02-01",
            "dims": {"gemeente": "GM0268"},
            "names": {"gemeente": "Nijmegen"},
            "value": 1.0,
            "numerator": 1,
            "denominator": 1,
        },
    ]


async def test_separatie_target_against_default_nulmeting(conn: asyncpg.Connection) -> None:
    sep = (*A, ("vorm", "separeerruimte"))
    # first data 2024-03-01 → first full year 2025 is the nulmeting (20); target 2026 = 10
    await repo.apply_deltas(
        conn,
        {
            Key("count", "separaties", date(2024, 3, 1), sep): 4,
            Key("count", "separaties", date(2025, 5, 1), sep): 20,
            Key("count", "separaties", date(2026, 2, 1), sep): 6,
            # the latest event day seen (any series) decides how much of the running year has elapsed
            Key("count", "verwijzers", AS_OF, (("gemeente", "GM0268"), ("verwijzer", "huisarts"))): 1,
        },
    )
    ind = CATALOGUE["separaties"]
    # as of 2026-06-30 (181 of 365 days), the pro-rata target is 10·181/365 ≈ 4.96: 6 is off track
    scope = Scope("year", ("instelling",), AS_OF)
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, {})
    by_year = {r["start"]: (r["value"], r.get("target"), r.get("target_status")) for r in rows}
    assert by_year == {
        "2024-01-01": (4, None, None),
        "2025-01-01": (20, None, None),
        "2026-01-01": (6, 10.0, "off_track"),
    }
    # a configured nulmeting wins: 15·181/365 ≈ 7.4 ≥ 6
    rows = await rowlib.add_targets(
        conn,
        ind,
        scope,
        await rowlib.exact_rows(conn, ind, scope),
        {},
        {"11111111": NulmetingSetting(year=2025, value=30)},
    )
    assert rows[-1]["target"] == 15.0 and rows[-1]["target_status"] == "on_track"
    # split by vorm: no target (the target is per instelling)
    split = Scope("year", ("instelling", "vorm"), AS_OF)
    rows = await rowlib.add_targets(conn, ind, split, await rowlib.exact_rows(conn, ind, split), {}, {})
    assert all("target_status" not in r for r in rows)

    # every row of the instelling carries its nulmeting and the change against it (the computed one: 20 in 2025)
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, {})
    assert [(r["baseline_year"], r["baseline"], r["change"]) for r in rows] == [
        (2025, 20, -16),
        (2025, 20, 0),
        (2025, 20, -14),
    ]
    # public output publishes the nulmeting as the baseline cell's own public (noisy) value, never its exact value,
    # and the change between public values; a small value hides the change; the operator sees exact values
    secret = b"test-noise-key"
    public = [rowlib.public(ind, r, 10, secret) for r in rows]
    shown = public[1]["value"]  # the 2025 row is the baseline cell itself
    assert shown is not None and abs(shown - 20) <= 10
    assert [p["baseline"] for p in public] == [shown, shown, shown]
    assert [p["change"] for p in public] == [
        None if p["value"] is None else p["value"] - shown for p in public
    ]
    assert public[0]["value"] is None and public[0]["change"] is None  # 4 children: suppressed
    assert all("_baseline" not in p for p in public)
    assert rowlib.public(ind, rows[1], 50, secret)["baseline"] is None  # a baseline below the threshold is hidden
    assert "_baseline" not in rowlib.exact(rows[0])


async def test_regional_nulmeting_and_target_as_catalogue_data(conn: asyncpg.Connection) -> None:
    """wachtlijst_pleegzorg: the catalogue's target (JZ32 below 5) and nulmeting year (JZ32: 2022) apply to the
    jeugdregio's rows (dimension value: the CBS code)."""
    s = "wachtlijst_pleegzorg"
    g = (("gemeente", "GM0268"), ("jeugdregio", "JZ32"))
    await repo.apply_deltas(
        conn,
        {
            Key("stock", s, date(2021, 12, 1), g): 7,  # the data cover all of 2022
            Key("stock", s, date(2022, 6, 1), g): 14,
            Key("stock", s, date(2023, 3, 1), g): -17,
            # the data's first and latest days are read from count items (here the aanmeldingen)
            Key("count", "verwijzers", date(2021, 12, 1), (("gemeente", "GM0268"), ("verwijzer", "huisarts"))): 7,
            Key("count", "verwijzers", date(2023, 3, 1), (("gemeente", "GM0268"), ("verwijzer", "huisarts"))): 1,
        },
    )
    ind = CATALOGUE[s]
    scope = Scope("year", ("jeugdregio",), date(2023, 6, 30))
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, {})
    got = [(r["start"], r["value"], r["baseline_year"], r["baseline"], r["change"], r["target_status"]) for r in rows]
    assert got == [
        ("2021-01-01", 7, 2022, 21, -14, "off_track"),
        ("2022-01-01", 21, 2022, 21, 0, "off_track"),
        ("2023-01-01", 4, 2022, 21, -17, "on_track"),
    ]
    assert {r["target"] for r in rows} == {5}
    # a gemeente row has the nulmeting of its jeugdregio but no target (the target is about the jeugdregio)
    by_gm = Scope("year", ("gemeente",), date(2023, 6, 30))
    rows = await rowlib.add_targets(conn, ind, by_gm, await rowlib.exact_rows(conn, ind, by_gm), {}, {})
    assert rows[-1]["baseline"] == 21 and "target_status" not in rows[-1]
    # a configured year and value for the jeugdregio win; a year the data do not cover has no value
    conf = {"JZ32": NulmetingSetting(year=2021, values={s: 30})}
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, conf)
    assert (rows[-1]["baseline_year"], rows[-1]["baseline"], rows[-1]["change"]) == (2021, 30, -26)
    conf = {"JZ32": NulmetingSetting(year=2020)}
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, conf)
    assert (rows[-1]["baseline_year"], rows[-1]["baseline"], rows[-1]["change"]) == (2020, None, None)
    # the gauge states come from the same catalogue data
    from jeugdstroom.monitor.app import target_states

    secret = b"test-noise-key"
    # the gauge is public output: the 2023 stock (4) is suppressed below 10, so it has no status and no sample;
    # with threshold 2 its status is that of the public (noisy) value, whatever the exact one says
    assert await target_states(conn, date(2023, 6, 30), {}, 10, secret) == {}
    scope = Scope("year", ("jeugdregio",), date(2023, 6, 30))
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, {})
    pub = rowlib.public(ind, rows[-1], 1, secret)
    expected = {("wachtlijst_pleegzorg", "", "JZ32"): (pub["value"] or 0) >= 5}  # a noisy 0 is an empty row
    targets: dict[tuple[str, str, str], float] = {}
    assert await target_states(conn, date(2023, 6, 30), {}, 1, secret, targets) == expected
    assert targets == {("wachtlijst_pleegzorg", "", "JZ32"): 5.0}  # the catalogue's target, exported as a gauge
    # the nulmeting gauge: the public baseline of the headline cell (JZ32's 2022 value, 21, noised), hidden when
    # the baseline cell is small
    from jeugdstroom.monitor.app import headline_values

    baselines: dict[tuple[str, str, str, str], float] = {}
    await headline_values(conn, 2, date(2023, 6, 30), secret, {}, baselines)
    regional = baselines[("wachtlijst_pleegzorg", "JZ32", "", "")]
    assert abs(regional - 21) <= 10 and abs(baselines[("wachtlijst_pleegzorg", "JZ32", "GM0268", "")] - 21) <= 10
    baselines = {}
    await headline_values(conn, 50, date(2023, 6, 30), secret, {}, baselines)
    assert ("wachtlijst_pleegzorg", "JZ32", "", "") not in baselines


async def test_public_target_status_from_the_public_value(conn: asyncpg.Connection) -> None:
    """Issue 20: public rows compute target and status from the public value and the public nulmeting (an exact
    status would tell on which side of the target a suppressed cell lies); exact readers get the exact status."""
    s = "wachtlijst_pleegzorg"
    g = (("gemeente", "GM0268"), ("jeugdregio", "JZ32"))
    await repo.apply_deltas(
        conn,
        {
            Key("stock", s, date(2022, 2, 1), g): 3,  # 2022: 3 waiting (on track, exact)
            Key("stock", s, date(2023, 2, 1), g): 40,  # 2023: 43 waiting (off track)
            Key("count", "verwijzers", date(2021, 12, 1), (("gemeente", "GM0268"), ("verwijzer", "huisarts"))): 1,
        },
    )
    ind = CATALOGUE[s]
    scope = Scope("year", ("jeugdregio",), date(2023, 6, 30))
    rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, {})
    assert [(r["value"], r["target_status"]) for r in rows] == [(3, "on_track"), (43, "off_track")]
    secret = b"test-noise-key"
    public = [rowlib.public(ind, r, 10, secret) for r in rows]
    assert public[0]["value"] is None and public[0]["target_status"] is None  # suppressed: no status
    assert public[0]["target"] == 5  # the target itself is catalogue data, public
    assert public[1]["value"] is not None and public[1]["target_status"] == "off_track"
    assert all("_target" not in p for p in public)
    exact = [rowlib.exact(r) for r in rows]
    assert [e["target_status"] for e in exact] == ["on_track", "off_track"] and all("_target" not in e for e in exact)

    # vs_nulmeting (separaties per instelling): the public target is factor × the public nulmeting, and the status
    # compares the public value with it
    sep = (("gemeente", "GM0268"), ("instelling", "11111111"), ("jeugdregio", "JZ32"), ("vorm", "separeerruimte"))
    await repo.apply_deltas(
        conn,
        {
            Key("count", "separaties", date(2022, 1, 1), sep): 30,
            Key("count", "separaties", date(2023, 1, 5), sep): 14,
            Key("count", "verwijzers", date(2023, 12, 31), (("gemeente", "GM0268"), ("verwijzer", "huisarts"))): 1,
        },
    )
    sep_ind = CATALOGUE["separaties"]
    scope = Scope("year", ("instelling",), date(2023, 12, 31))
    rows = await rowlib.add_targets(conn, sep_ind, scope, await rowlib.exact_rows(conn, sep_ind, scope), {}, {})
    assert (rows[-1]["value"], rows[-1]["target"], rows[-1]["target_status"]) == (14, 15.0, "on_track")
    pub = rowlib.public(sep_ind, rows[-1], 10, secret)
    assert pub["baseline"] is not None and pub["value"] is not None
    assert pub["target"] == pub["baseline"] * 0.5
    assert pub["target_status"] == ("on_track" if pub["value"] <= pub["target"] else "off_track")
    small = rowlib.public(sep_ind, rows[-1], 50, secret)  # value and nulmeting below the threshold
    assert small["value"] is None and small["target"] is None and small["target_status"] is None


async def test_children_not_maatregelen_and_children_in_the_period(conn: asyncpg.Connection) -> None:
    """jeugdbescherming_actief (v2) counts distinct children per cell on the day read: a child with OTS and voogdij
    at once counts once in the total and once per soort; *_in_periode counts the children active on any day of
    the period; a correction (before − after) moves a child exactly."""
    from jeugdstroom.monitor.fold import MemberSpan, contributions

    g = (("gemeente", "GM0268"), ("instelling", "GI1"), ("jeugdregio", "JZ32"))

    def spans(series: str, items: list[tuple[date, date | None, str, str]], sign: int = 1) -> dict[Key, int]:
        out: dict[Key, int] = {}
        for start, end, soort, child in items:
            for k, w in contributions(series, [MemberSpan(start, end, (*g, ("soort", soort)), child)]):
                out[k] = out.get(k, 0) + w * sign
        return out

    items = [
        (date(2025, 1, 10), None, "ots", "kind-a"),  # a: OTS and voogdij at once
        (date(2025, 3, 1), date(2025, 9, 1), "voogdij", "kind-a"),
        (date(2025, 2, 1), date(2025, 2, 15), "ots", "kind-b"),  # b: only in February
        (date(2025, 2, 20), date(2025, 3, 5), "ots", "kind-b"),  # b again: one child in the period
    ]
    for series in ("jeugdbescherming_actief", "jeugdbescherming_in_periode"):
        await repo.apply_deltas(conn, spans(series, items))
    as_of = date(2025, 12, 31)

    async def values(series: str, period: str, group: tuple[str, ...], whole: bool) -> dict[tuple[str, ...], int]:
        got = await repo.member_span_values(conn, series, Scope(period, group, as_of), whole)
        return {(s.isoformat(), *dims): v for (s, dims), v in got.items()}

    stock = "jeugdbescherming_actief"
    total = await values(stock, "month", ("jeugdregio",), False)
    assert total[("2025-03-01", "JZ32")] == 1  # 31 March: a only (with two maatregelen)
    assert total[("2025-02-01", "JZ32")] == 2  # 28 February: a and b (b's second OTS runs until 5 March)
    by_soort = await values(stock, "month", ("soort",), False)
    assert by_soort[("2025-05-01", "ots")] == 1 and by_soort[("2025-05-01", "voogdij")] == 1
    assert (await values(stock, "month", ("jeugdregio",), False))[("2025-05-01", "JZ32")] == 1  # not 2
    assert ("2025-09-01", "voogdij") not in by_soort
    period = await values("jeugdbescherming_in_periode", "month", ("jeugdregio",), True)
    assert period[("2025-02-01", "JZ32")] == 2  # a and b (b's two maatregelen: once)
    assert period[("2025-03-01", "JZ32")] == 2  # b until 5 March
    assert period[("2025-04-01", "JZ32")] == 1
    year = await values("jeugdbescherming_in_periode", "year", ("soort",), True)
    assert year == {("2025-01-01", "ots"): 2, ("2025-01-01", "voogdij"): 1}
    # a correction withdraws b's first OTS: b still counts in February (its second one), once
    await repo.apply_deltas(conn, spans("jeugdbescherming_in_periode", items[2:3], -1))
    assert (await values("jeugdbescherming_in_periode", "month", ("jeugdregio",), True))[("2025-02-01", "JZ32")] == 2
    await repo.apply_deltas(conn, spans("jeugdbescherming_in_periode", items[3:4], -1))
    period = await values("jeugdbescherming_in_periode", "month", ("jeugdregio",), True)
    assert period[("2025-02-01", "JZ32")] == 1 and period[("2025-03-01", "JZ32")] == 1
    days = await values("jeugdbescherming_in_periode", "day", ("jeugdregio",), True)
    assert days[("2025-01-10", "JZ32")] == 1 and ("2025-01-09", "JZ32") not in days
