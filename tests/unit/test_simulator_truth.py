"""The simulator's ground truth on tiny hand-built stories, checked by hand against docs/indicators.md."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from jeugdstroom.common import geography
from jeugdstroom.common.contracts.validation import parse_submitted
from jeugdstroom.simulator.truth import CATALOGUE, Truth, nearest_rank, period_last
from tests.factories import bsn

AS_OF = date(2026, 6, 30)
RVN = "JZ32"  # jeugdregio Rijk van Nijmegen
PROVIDER = "87030001"
CLOSED = "87050001"


class Kid:
    """Builds valid submitted events for one child."""

    def __init__(self, seed: int, birth: str = "2012-05-10", gemeente: str = "GM0268") -> None:
        self.child = {"bsn": bsn(seed), "birth_date": birth, "gemeente": gemeente}
        self.n = 0

    def event(
        self, etype: str, sender: str, at: str, data: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        self.n += 1
        ev = {
            "id": event_id or f"e{self.n}",
            "type": etype,
            "schema_version": 1,
            "occurred_at": at,
            "sender": sender,
            "child": self.child,
            "data": data,
        }
        parse_submitted(orjson.dumps(ev))  # a hand-built story is a valid one
        return ev

    def aanmelding(
        self, aid: str, day: str, zorgvorm: str = "ambulant", verwijzer: str = "wijkteam", event_id: str | None = None
    ) -> dict[str, Any]:
        return self.event(
            "aanmelding",
            self.child["gemeente"],
            f"{day}T10:00:00+02:00",
            {"aanmelding_id": aid, "verwijzer": verwijzer, "zorgvorm": zorgvorm},
            event_id,
        )

    def plaatsing(
        self,
        pid: str,
        start: str,
        end: str | None = None,
        reden: str | None = None,
        vorm: str = "residentieel",
        sender: str = PROVIDER,
        aid: str | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plaatsing_id": pid,
            "status": "beeindigd" if end else "gestart",
            "vorm": vorm,
            "provider": sender,
            "start": start,
        }
        if end:
            data.update(end=end, reden_einde=reden)
        if aid:
            data["aanmelding_id"] = aid
        return self.event("plaatsing", sender, f"{end or start}T12:00:00+02:00", data)

    def beschikking(
        self,
        bid: str,
        soort: str,
        start: str,
        end: str | None = None,
        aid: str | None = None,
        sender: str = "87010001",
        status: str = "afgegeven",
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"beschikking_id": bid, "soort": soort, "status": status, "start": start}
        if end:
            data["end"] = end
        if aid:
            data["aanmelding_id"] = aid
        return self.event("beschikking", sender, f"{start}T09:00:00+02:00", data)

    def separatie(
        self, sid: str, start: str, end: str | None = None, vorm: str = "separeerruimte", event_id: str | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"separatie_id": sid, "vorm": vorm, "start": start}
        if end:
            data["end"] = end
        return self.event("separatie", CLOSED, end or start, data, event_id)

    def correctie(
        self,
        target: dict[str, Any],
        action: str,
        replacement: dict[str, Any] | None = None,
        at: str = "2026-06-20T09:00:00+02:00",
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"target_id": target["id"], "action": action}
        if replacement is not None:
            data["replacement"] = replacement
        return self.event("correctie", target["sender"], at, data)


def truth_of(
    *stories: list[dict[str, Any]], invalid: tuple[dict[str, Any], ...] = (), as_of: date = AS_OF
) -> dict[str, list[dict[str, Any]]]:
    t = Truth()
    for story in stories:
        t.add_child([(e, e in invalid) for e in story])
    # Keep the watermark at the end of the window, as a whole stream would.
    t.add_child([(Kid(999, gemeente="GM0944").aanmelding("late", as_of.isoformat(), verwijzer="anders"), False)])
    return t.result(as_of)


def rows(
    result: dict[str, list[dict[str, Any]]], indicator: str, period: str, **dims: str
) -> dict[str, dict[str, Any]]:
    """Rows of one period kind whose dims include ``dims``, by start."""
    return {
        r["start"]: r
        for r in result[indicator]
        if r["period"] == period and all(r["dims"].get(k) == v for k, v in dims.items())
    }


def values(result: dict[str, list[dict[str, Any]]], indicator: str, period: str, **dims: str) -> dict[str, Any]:
    return {start: r["value"] for start, r in rows(result, indicator, period, **dims).items()}


def test_counts_fall_on_the_local_day_and_roll_up_by_period() -> None:
    kid = Kid(1)
    story = [
        kid.separatie("s1", "2026-03-31T22:30:00+00:00", "2026-03-31T23:10:00+00:00"),  # 1 April in Amsterdam
        kid.separatie("s2", "2026-04-02T10:00:00+02:00", vorm="afzonderingsruimte"),
        kid.separatie("s3", "2025-12-31T10:00:00+01:00", "2025-12-31T10:20:00+01:00"),
    ]
    res = truth_of(story)
    assert values(res, "separaties", "day", vorm="separeerruimte") == {"2025-12-31": 1, "2026-04-01": 1}
    assert values(res, "separaties", "month", vorm="separeerruimte") == {"2025-12-01": 1, "2026-04-01": 1}
    assert len(res["separaties"]) == 12  # 3 rows (one per day/month/half-year/year and vorm) for each kind
    assert values(res, "separaties", "year", vorm="afzonderingsruimte") == {"2026-01-01": 1}
    assert values(res, "separaties", "half_year", vorm="separeerruimte") == {"2025-07-01": 1, "2026-01-01": 1}
    row = res["separaties"][0]
    assert row == {
        "period": "day",
        "start": "2025-12-31",
        "dims": {"gemeente": "GM0268", "jeugdregio": RVN, "instelling": CLOSED, "vorm": "separeerruimte"},
        "value": 1,
    }


def test_distinct_counts_children_not_episodes() -> None:
    a, b = Kid(1), Kid(2)
    res = truth_of(
        [a.separatie("s1", "2026-04-01T10:00:00+02:00"), a.separatie("s2", "2026-04-20T10:00:00+02:00")],
        [b.separatie("s3", "2026-04-21T10:00:00+02:00"), b.separatie("s4", "2026-05-01T10:00:00+02:00")],
    )
    assert values(res, "gesepareerde_jeugdigen", "month") == {"2026-04-01": 2, "2026-05-01": 1}
    assert values(res, "gesepareerde_jeugdigen", "year") == {"2026-01-01": 2}
    assert values(res, "separaties", "year") == {"2026-01-01": 4}


def test_durations_use_whole_minutes_and_nearest_rank_quantiles() -> None:
    kid = Kid(1)
    story = [
        kid.separatie("s1", "2026-04-01T10:00:00+02:00", "2026-04-01T10:10:59+02:00"),  # 10 min
        kid.separatie("s2", "2026-04-02T10:00:00+02:00", "2026-04-02T08:20:00+00:00"),  # 20 min (other offset)
        kid.separatie("s3", "2026-04-03T10:00:00+02:00", "2026-04-03T10:45:00+02:00"),  # 45 min
        kid.separatie("s4", "2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"),  # 60 min across DST
        kid.separatie("s5", "2026-04-04T10:00:00+02:00"),  # no end: counted, but no duration
    ]
    res = truth_of(story)
    month = rows(res, "separatie_duur", "month")
    assert {k: (r["value"], r["n"], r["p90"]) for k, r in month.items()} == {
        "2026-03-01": (60, 1, 60),
        "2026-04-01": (20, 3, 45),
    }
    assert set(month["2026-04-01"]["dims"]) == {"gemeente", "jeugdregio", "instelling", "vorm"}
    assert values(res, "separaties", "month") == {"2026-03-01": 1, "2026-04-01": 4}
    assert nearest_rank([1, 2, 3, 4], 0.5) == 2 and nearest_rank([1, 2, 3, 4], 0.9) == 4
    assert nearest_rank(list(range(1, 11)), 0.9) == 9


def test_stock_is_counted_on_the_last_day_of_each_period_or_as_of() -> None:
    kid, other = Kid(1), Kid(2)
    res = truth_of(
        [kid.plaatsing("p1", "2026-01-10"), kid.plaatsing("p1", "2026-01-10", "2026-03-01", "volgens_plan")],
        [other.plaatsing("p2", "2026-06-10", vorm="pleegzorg_bestand")],  # open: active on as_of
    )
    res_month = values(res, "verblijf_actief", "month", vorm="residentieel")
    assert res_month == {"2026-01-01": 1, "2026-02-01": 1}  # active on 31 Jan and 28 Feb, not on 31 Mar
    day = values(res, "verblijf_actief", "day", vorm="residentieel")
    assert len(day) == 50 and min(day) == "2026-01-10" and max(day) == "2026-02-28"
    assert values(res, "verblijf_actief", "month", vorm="pleegzorg_bestand") == {"2026-06-01": 1}
    assert values(res, "verblijf_actief", "half_year") == {"2026-01-01": 1}  # evaluated on as_of (30 June)
    assert max(values(res, "verblijf_actief", "day", vorm="pleegzorg_bestand")) == AS_OF.isoformat()
    assert values(res, "verblijf_instroom", "month") == {"2026-01-01": 1, "2026-06-01": 1}
    assert values(res, "gesloten_actief", "year") == {}
    gezins = rows(res, "aandeel_gezinsgericht", "month")
    assert {k: (r["value"], r["numerator"], r["denominator"]) for k, r in gezins.items()} == {
        "2026-01-01": (0.0, 0, 1),
        "2026-02-01": (0.0, 0, 1),
        "2026-06-01": (1.0, 1, 1),
    }


def test_ratios_of_ended_placements_round_to_four_decimals() -> None:
    kid = Kid(1)
    story = [
        kid.plaatsing("p1", "2026-01-01", "2026-02-01", "voortijdig"),
        kid.plaatsing("p2", "2026-02-03", "2026-02-20", "overplaatsing"),
        kid.plaatsing("p3", "2026-02-25", "2026-04-01", "anders"),
    ]
    res = truth_of(story)
    year = rows(res, "voortijdig_aandeel", "year")["2026-01-01"]
    assert (year["value"], year["numerator"], year["denominator"]) == (0.3333, 1, 3)
    assert values(res, "voortijdig_beeindigd", "month") == {"2026-02-01": 1}
    assert values(res, "overplaatsingen", "month") == {"2026-02-01": 1}  # p3 starts 5 days after p2 ended
    assert rows(res, "voortijdig_aandeel", "month")["2026-04-01"]["value"] == 0.0  # kept: denominator 1


def test_overplaatsing_needs_a_next_placement_within_31_days() -> None:
    kid = Kid(1)
    res = truth_of(
        [
            kid.plaatsing("p1", "2026-01-01", "2026-02-01", "overplaatsing"),
            kid.plaatsing("p2", "2026-03-04", "2026-03-10", "overplaatsing"),  # 31 days after p1's end: counts
            kid.plaatsing("p3", "2026-04-11"),  # 32 days after p2's end: p2 is no transfer
        ]
    )
    # p2 starts 31 days after p1 ended in an overplaatsing: a transfer (counted on its start), not instroom
    assert values(res, "overplaatsingen", "day") == {"2026-03-04": 1}
    assert values(res, "verblijf_instroom", "day") == {"2026-01-01": 1, "2026-04-11": 1}


def test_instroom_excludes_transfers_by_category_and_a_withdrawn_predecessor_restores_it() -> None:
    kid = Kid(1)
    g1 = kid.plaatsing("g1", "2026-01-01", "2026-02-01", "overplaatsing", vorm="gesloten", sender=CLOSED)
    g2 = kid.plaatsing("g2", "2026-02-03", vorm="gesloten", sender=CLOSED)
    r1 = kid.plaatsing("r1", "2026-03-01", vorm="residentieel")  # while g2 is active: a transfer within verblijf
    res = truth_of([g1, g2, r1])
    assert values(res, "gesloten_instroom", "year") == {"2026-01-01": 1}
    assert values(res, "verblijf_instroom", "year") == {"2026-01-01": 1}
    assert values(res, "overplaatsingen", "year", vorm="gesloten") == {"2026-01-01": 1}  # g2
    assert values(res, "overplaatsingen", "year", vorm="residentieel") == {"2026-01-01": 1}  # r1
    withdrawn = truth_of([g1, g2, r1, kid.correctie(g1, "intrekken")])
    assert values(withdrawn, "gesloten_instroom", "year") == {"2026-01-01": 1}  # g2 is instroom now
    assert values(withdrawn, "verblijf_instroom", "year") == {"2026-01-01": 1}  # g2, no longer a transfer
    assert values(withdrawn, "overplaatsingen", "year", vorm="gesloten") == {}
    assert values(withdrawn, "overplaatsingen", "year", vorm="residentieel") == {"2026-01-01": 1}


def test_gesloten_and_protection_durations_fall_on_the_end_day() -> None:
    kid = Kid(1)
    res = truth_of(
        [
            kid.plaatsing("g1", "2026-01-05", "2026-03-06", "volgens_plan", vorm="gesloten", sender=CLOSED),
            kid.beschikking("b1", "ots", "2025-03-01", "2026-02-01", status="beeindigd"),
            kid.beschikking("b2", "voogdij", "2026-02-01", "2030-05-10"),  # planned end after as_of: still active
            kid.beschikking("b3", "ots", "2026-05-01", "2026-12-01"),  # ends after as_of: no duration yet
        ]
    )
    assert {k: (r["value"], r["n"]) for k, r in rows(res, "gesloten_duur", "month").items()} == {"2026-03-01": (60, 1)}
    assert values(res, "gesloten_actief", "month") == {"2026-01-01": 1, "2026-02-01": 1}
    assert values(res, "gesloten_instroom", "year") == {"2026-01-01": 1}
    assert values(res, "jeugdbescherming_duur", "year") == {"2026-01-01": 337}
    assert values(res, "jeugdbescherming_actief", "month", soort="voogdij")["2026-06-01"] == 1
    # an ended voogdij has a duration too, by soort
    ended = truth_of([Kid(2).beschikking("v1", "voogdij", "2025-06-01", "2026-06-01", status="beeindigd")])
    assert values(ended, "jeugdbescherming_duur", "year", soort="voogdij") == {"2026-01-01": 365}
    assert rows(ended, "jeugdbescherming_duur", "year")["2026-01-01"]["dims"]["gemeente"] == "GM0268"
    assert values(res, "jeugdbescherming_actief", "month", soort="ots") == {
        **{f"2025-{m:02d}-01": 1 for m in range(3, 13)},
        "2026-01-01": 1,
        "2026-05-01": 1,
        "2026-06-01": 1,
    }


def test_turning_18_in_pleegzorg_continues_or_not() -> None:
    stays, leaves, waiting, recent, short, home = (
        Kid(1, birth="2008-03-15"),
        Kid(2, birth="2008-02-01"),
        Kid(3, birth="2008-06-25"),
        Kid(4, birth="2008-05-01"),
        Kid(5, birth="2008-01-10"),
        Kid(6, birth="2008-02-20"),
    )
    res = truth_of(
        # open: still in pleegzorg 30 days after 15 March 2026, which the watermark (30 June − 7 days) has passed
        [stays.plaatsing("a", "2020-01-01", vorm="pleegzorg_netwerk")],
        [leaves.plaatsing("b", "2024-01-01", "2026-02-01", "meerderjarig", vorm="pleegzorg_bestand")],  # on birthday
        # 18 on 25 June: the watermark has not passed 25 July yet, so no fact
        [waiting.plaatsing("c", "2025-01-01", vorm="pleegzorg_bestand")],
        [recent.plaatsing("d", "2026-05-02", vorm="pleegzorg_bestand")],  # placed after turning 18: no fact
        [short.plaatsing("e", "2024-01-01", "2026-01-20", "volgens_plan", vorm="pleegzorg_bestand")],  # 10 days on
        [home.plaatsing("f", "2023-01-01", vorm="gezinshuis")],  # gezinshuis: gezinshuis 18+, not continuering
    )
    year = rows(res, "continuering_18", "year")
    assert {r["dims"]["gemeente"]: (r["value"], r["numerator"], r["denominator"]) for r in year.values()} == {
        "GM0268": (0.3333, 1, 3)
    }
    assert values(res, "continuering_18", "month") == {"2026-01-01": 0.0, "2026-02-01": 0.0, "2026-03-01": 1.0}
    verlengd = values(res, "verlengde_pleegzorg", "day")
    assert min(verlengd) == "2026-01-10" and "2026-01-20" not in verlengd and "2026-02-01" not in verlengd
    assert (
        values(res, "verlengde_pleegzorg", "month")
        == {"2026-03-01": 1, "2026-04-01": 1, "2026-05-01": 2, "2026-06-01": 3}  # last day (none left in January)
    )
    assert values(res, "gezinshuis_18plus", "month")["2026-02-01"] == 1


def test_waiting_list_and_waiting_times_follow_the_linked_aanmelding() -> None:
    kid, never = Kid(1), Kid(2)
    res = truth_of(
        [
            kid.aanmelding("a1", "2026-02-01", "pleegzorg", "huisarts"),
            kid.beschikking("t1", "toewijzing", "2026-02-11", "2026-08-11", aid="a1", sender="GM0268"),
            kid.plaatsing("p1", "2026-03-15", vorm="pleegzorg_bestand", aid="a1"),
        ],
        [never.aanmelding("a2", "2026-05-01", "pleegzorg")],
    )
    assert values(res, "wachtlijst_pleegzorg", "month") == {"2026-02-01": 1, "2026-05-01": 1, "2026-06-01": 1}
    assert values(res, "wachtlijst_pleegzorg", "half_year") == {"2026-01-01": 1}  # only a2 on 30 June
    assert values(res, "wachttijd_plaatsing", "day", zorgvorm="pleegzorg") == {"2026-03-15": 42}
    assert values(res, "wachttijd_beschikking", "month") == {"2026-02-01": 10}
    assert values(res, "verwijzers", "year", verwijzer="huisarts") == {"2026-01-01": 1}
    assert values(res, "verwijzers", "year", verwijzer="wijkteam") == {"2026-01-01": 1}


def test_a_pleegzorg_wait_ends_at_a_pleegzorg_placement_by_child_and_date_or_at_its_closing() -> None:
    linked, closed, urgent = Kid(1), Kid(2), Kid(3)
    closing = {
        "aanmelding_id": "a2",
        "verwijzer": "wijkteam",
        "zorgvorm": "pleegzorg",
        "status": "afgesloten",
        "afgesloten_op": "2026-04-10",
        "reden_afsluiting": "zonder_plaatsing_beeindigd",
    }
    urgent_data = {"aanmelding_id": "a3", "verwijzer": "huisarts", "zorgvorm": "pleegzorg", "urgent": True}
    res = truth_of(
        [
            linked.aanmelding("a1", "2026-02-01", "pleegzorg"),
            # residentieel while waiting: does not end the wait; the pleegzorg placement names no aanmelding
            linked.plaatsing("r1", "2026-02-05", "2026-03-15", "volgens_plan", vorm="residentieel"),
            linked.plaatsing("p1", "2026-03-15", vorm="pleegzorg_netwerk"),
        ],
        [
            closed.aanmelding("a2", "2026-03-01", "pleegzorg"),
            closed.event("aanmelding", "GM0268", "2026-04-10T10:00:00+02:00", closing),
            closed.plaatsing("p2", "2026-05-01", vorm="pleegzorg_bestand"),  # after the closing: not its end
        ],
        [urgent.event("aanmelding", "GM0268", "2026-06-01T10:00:00+02:00", urgent_data)],
    )
    assert values(res, "wachtlijst_pleegzorg", "month", urgent="false") == {
        "2026-02-01": 1,
        "2026-03-01": 1,  # a2 on 31 March (a1 ended on 15 March)
    }
    assert values(res, "wachtlijst_pleegzorg", "month", urgent="true") == {"2026-06-01": 1}
    assert values(res, "wachttijd_plaatsing", "day") == {"2026-03-15": 42}  # a2 was closed: no completed wait
    # days waited so far by those still waiting on the day read
    assert rows(res, "wachtend_pleegzorg_dagen", "month", urgent="false")["2026-02-01"] == {
        "period": "month",
        "start": "2026-02-01",
        "dims": {"gemeente": "GM0268", "jeugdregio": RVN, "urgent": "false", "aanbieder": "onbekend"},
        "value": 27,
        "n": 1,
        "p90": 27,
    }
    assert values(res, "wachtend_pleegzorg_dagen", "month", urgent="false") == {"2026-02-01": 27, "2026-03-01": 30}
    assert values(res, "wachtend_pleegzorg_dagen", "half_year", urgent="true") == {"2026-01-01": 29}
    assert values(res, "wachtend_pleegzorg_dagen", "day", urgent="false")["2026-03-14"] == 13  # nearest rank of 13, 41
    assert rows(res, "wachtend_pleegzorg_dagen", "day", urgent="false")["2026-03-14"]["p90"] == 41


def test_wachttijd_beschikking_ends_at_the_besluitdatum_where_given() -> None:
    kid = Kid(1)
    t = kid.beschikking("t1", "toewijzing", "2026-02-20", aid="a1", sender="GM0268")
    t["data"]["besluitdatum"] = "2026-02-12"
    res = truth_of([kid.aanmelding("a1", "2026-02-01"), t])
    assert values(res, "wachttijd_beschikking", "day") == {"2026-02-12": 11}


def test_argus_interventions_forms_and_rates_per_instelling() -> None:
    kid, other = Kid(1), Kid(2)
    res = truth_of(
        [
            kid.plaatsing("g1", "2026-03-01", "2026-03-11", "volgens_plan", vorm="gesloten", sender=CLOSED),
            kid.separatie("s1", "2026-03-02T10:00:00+01:00", "2026-03-02T11:00:00+01:00"),
            # 23 hours after s1's end: the same intervention
            kid.separatie("s2", "2026-03-03T10:00:00+01:00", "2026-03-03T10:30:00+01:00", vorm="afzonderingsruimte"),
            kid.separatie("s3", "2026-03-05T10:00:00+01:00", vorm="leeggemaakte_kamer"),
        ],
        [
            other.plaatsing("g2", "2026-03-06", vorm="gesloten", sender=CLOSED),
            other.separatie("s4", "2026-03-06T20:00:00+01:00", "2026-03-06T21:00:00+01:00"),
        ],
    )
    def total(indicator: str, **dims: str) -> int:
        return sum(
            r["value"]
            for r in res[indicator]
            if r["period"] == "year" and all(r["dims"].get(k) == v for k, v in dims.items())
        )

    assert total("separaties") == 4  # the raw episode count stays
    assert total("separatie_interventies") == 3 and total("separatie_interventies", vorm="afzonderingsruimte") == 0
    assert total("separaties_separeerruimte", instelling=CLOSED) == 2
    assert total("afzonderingen_overig") == 2
    # 3 interventions; verblijfsdagen in March: g1 10 days + g2 26 days (6–31 March); opnames: 2
    per_days = rows(res, "separaties_per_1000_verblijfsdagen", "month", instelling=CLOSED)["2026-03-01"]
    assert (per_days["numerator"], per_days["denominator"], per_days["value"]) == (3, 36, round(3000 / 36, 4))
    per_admission = rows(res, "separaties_per_100_opnames", "month", instelling=CLOSED)["2026-03-01"]
    assert (per_admission["numerator"], per_admission["denominator"], per_admission["value"]) == (3, 2, 150.0)
    # the open placement goes on counting days up to as_of (30 June)
    assert (
        rows(res, "separaties_per_1000_verblijfsdagen", "month", instelling=CLOSED)["2026-06-01"]["denominator"] == 30
    )


def test_herhaald_beroep_when_previous_care_ended_within_365_days() -> None:
    kid = Kid(1)
    res = truth_of(
        [
            kid.beschikking("t1", "toewijzing", "2024-06-01", "2025-01-31", sender="GM0268"),
            kid.aanmelding("a1", "2025-06-01"),  # 121 days after: herhaald
            kid.plaatsing("p1", "2025-07-01", "2025-08-01", "volgens_plan"),
            kid.beschikking("t2", "toewijzing", "2025-09-01", "2026-09-01", sender="GM0268"),  # ends after a2
            kid.aanmelding("a2", "2026-06-01"),  # previous care ended 1 Aug 2025, 304 days before: herhaald
            kid.aanmelding("a0", "2024-05-01"),  # nothing before it
        ]
    )
    assert values(res, "herhaald_beroep", "day") == {"2025-06-01": 1, "2026-06-01": 1}


def test_corrections_duplicates_and_invalid_events_do_not_count_twice_or_at_all() -> None:
    kid = Kid(1)
    wrong = kid.aanmelding("a1", "2026-04-01", verwijzer="huisarts", event_id="aan-1")
    right = {**wrong, "data": {**wrong["data"], "verwijzer": "jeugdarts"}}
    spurious = kid.separatie("s9", "2026-04-03T10:00:00+02:00", event_id="sep-9")
    kept = kid.separatie("s1", "2026-04-04T10:00:00+02:00", event_id="sep-1")
    invalid = {**kid.separatie("s2", "2026-04-05T10:00:00+02:00", event_id="sep-2"), "sender": "87050001"}
    invalid = {**invalid, "child": {**invalid["child"], "bsn": "123456789"}}
    res = truth_of(
        [
            wrong,
            kept,
            kept,  # duplicate (same id, same content)
            spurious,
            kid.correctie(wrong, "vervangen", right),
            kid.correctie(spurious, "intrekken"),
            invalid,
        ],
        invalid=(invalid,),
    )
    assert values(res, "verwijzers", "year", verwijzer="jeugdarts") == {"2026-01-01": 1}
    assert values(res, "verwijzers", "year", verwijzer="huisarts") == {}
    assert values(res, "separaties", "day") == {"2026-04-04": 1}


def test_an_episode_is_described_by_its_latest_event_whatever_the_arrival_order() -> None:
    kid = Kid(1)
    start = kid.plaatsing("p1", "2026-01-10", vorm="gezinshuis")
    end = kid.plaatsing("p1", "2026-01-10", "2026-02-10", "voortijdig", vorm="gezinshuis")
    assert truth_of([end, start]) == truth_of([start, end])
    assert values(truth_of([end, start]), "voortijdig_beeindigd", "day") == {"2026-02-10": 1}


def test_rows_cover_every_indicator_and_period_with_the_full_dimension_set() -> None:
    res = truth_of([Kid(1).plaatsing("p1", "2026-01-10", vorm="gesloten", sender=CLOSED)])
    assert list(res) == list(CATALOGUE)
    for indicator, found in res.items():
        for row in found:
            assert tuple(row["dims"]) == CATALOGUE[indicator][1]
            assert row["period"] in ("day", "month", "half_year", "year")
    assert {r["period"] for r in res["gesloten_actief"]} == {"day", "month", "half_year", "year"}
    assert period_last("half_year", date(2026, 7, 1)) == date(2026, 12, 31)
    assert period_last("month", date(2026, 2, 1)) == date(2026, 2, 28)


def test_jeugdregio_and_herindelingen_come_from_the_common_geography() -> None:
    for code in ("GM1945", "GM0209", "GM0225", "GM0252", "GM0944", "GM0268", "GM0296"):
        assert geography.jeugdregio(code) == RVN
    assert geography.jeugdregio("GM0363") == "JZ13"  # Amsterdam-Amstelland
    assert geography.jeugdregio("GM9999") == "onbekend"
    # a child reported under Groesbeek's old code (merged into Berg en Dal) counts in Berg en Dal, in 2014 too
    old = Kid(7, gemeente="GM0241")
    res = truth_of([old.separatie("s1", "2014-05-01T10:00:00+02:00"), old.separatie("s2", "2026-05-01T10:00:00+02:00")])
    assert {tuple(r["dims"].values())[:2] for r in res["separaties"]} == {("GM1945", RVN)}
    unknown = Kid(8, gemeente="GM9999")
    res = truth_of([unknown.separatie("s1", "2026-05-01T10:00:00+02:00")])
    assert {tuple(r["dims"].values())[:2] for r in res["separaties"]} == {("onbekend", "onbekend")}


@pytest.mark.parametrize("period", ["day", "month", "half_year", "year"])
def test_periods_after_as_of_have_no_rows(period: str) -> None:
    res = truth_of([Kid(1).plaatsing("p1", "2026-06-01")], as_of=date(2026, 6, 30))
    assert all(r["start"] <= "2026-06-30" for r in res["verblijf_actief"] if r["period"] == period)


def test_age_class_is_the_childs_on_the_items_day_and_a_stock_moves_on_the_birthday() -> None:
    kid = Kid(40, birth="2008-02-29")  # turns 18 on 1 March 2026 (no 29 February that year)
    res = truth_of(
        [
            kid.plaatsing("p1", "2026-01-10", vorm="pleegzorg_bestand"),
            kid.separatie("s1", "2026-02-28T10:00:00+01:00", "2026-02-28T11:00:00+01:00"),
            kid.separatie("s2", "2026-03-01T10:00:00+01:00", "2026-03-01T11:00:00+01:00"),
        ]
    )
    assert "leeftijdsklasse" in CATALOGUE["verblijf_actief"][1]
    assert "leeftijdsklasse" not in CATALOGUE["separaties"][1]  # only the indicators CBS publishes by age
    by_class = {(r["start"], r["dims"]["leeftijdsklasse"]): r["value"] for r in res["verblijf_actief"] if r["period"] == "day"}
    assert by_class[("2026-02-28", "12-18")] == 1 and ("2026-02-28", "18-23") not in by_class
    assert by_class[("2026-03-01", "18-23")] == 1 and ("2026-03-01", "12-18") not in by_class
    month = {(r["start"], r["dims"]["leeftijdsklasse"]): r["value"] for r in res["verblijf_actief"] if r["period"] == "month"}
    assert month == {
        ("2026-01-01", "12-18"): 1,
        ("2026-02-01", "12-18"): 1,
        ("2026-03-01", "18-23"): 1,
        ("2026-04-01", "18-23"): 1,
        ("2026-05-01", "18-23"): 1,
        ("2026-06-01", "18-23"): 1,
    }
    assert {r["dims"]["leeftijdsklasse"] for r in res["verblijf_instroom"]} == {"12-18"}
    # one child, items on both sides of the birthday in one month: once in each class
    feb_mar = {
        r["dims"]["leeftijdsklasse"]: r["value"] for r in res["gesepareerde_jeugdigen"] if r["period"] == "year"
    }
    assert feb_mar == {"12-18": 1, "18-23": 1}


def test_geslacht_is_the_childs_latest_known_and_aanbieder_the_placements_provider_or_the_one_named() -> None:
    kid = Kid(31)

    def given(ev: dict[str, Any], geslacht: str) -> dict[str, Any]:
        return {**ev, "child": {**ev["child"], "geslacht": geslacht}}

    aanmelding = kid.aanmelding("a1", "2026-01-05", zorgvorm="pleegzorg")
    named = {**aanmelding, "data": {**aanmelding["data"], "aanbieder": "87040001"}}
    placed = kid.plaatsing("p1", "2026-02-01", vorm="pleegzorg_bestand", sender="87020001", aid="a1")
    placed["data"]["provider"] = "87030001"  # reported by another instelling than the provider
    story = [
        given(named, "vrouw"),
        given(kid.separatie("s1", "2026-02-10T10:00:00+01:00"), "man"),  # the latest that gives one wins
        given(kid.beschikking("b1", "ots", "2026-03-01"), "onbekend"),  # later, but says nothing
        placed,  # gives none
    ]
    res = truth_of(story)
    assert {r["dims"]["geslacht"] for r in res["verblijf_jeugdigen"]} == {"man"}
    assert {r["dims"]["geslacht"] for r in res["wachtlijst_pleegzorg"]} == {"man"}
    assert {r["dims"]["geslacht"] for r in res["jeugdbescherming_actief"]} == {"man"}
    assert "geslacht" not in CATALOGUE["separaties"][1] and "geslacht" not in CATALOGUE["wachttijd_plaatsing"][1]
    assert {(r["dims"]["instelling"], r["dims"]["aanbieder"]) for r in res["verblijf_instroom"]} == {
        ("87020001", "87030001")
    }
    assert {r["dims"]["aanbieder"] for r in res["wachttijd_plaatsing"]} == {"87040001"}
    assert "aanbieder" not in CATALOGUE["verwijzers"][1]
    # without any geslacht, and an aanmelding naming no provider: onbekend
    other = Kid(32)
    res = truth_of([other.aanmelding("a2", "2026-01-05", zorgvorm="pleegzorg")])
    assert {(r["dims"]["geslacht"], r["dims"]["aanbieder"]) for r in res["wachtlijst_pleegzorg"]} == {
        ("onbekend", "onbekend")
    }


def test_jeugdbescherming_counts_children_and_children_in_the_period() -> None:
    """jeugdbescherming_actief v2: two overlapping OTS of one child (two GI's reporting, or a new one before the old
    one's end is sent) count once; *_in_periode: a child with a maatregel or placement on any day of the period."""
    kid = Kid(3)
    res = truth_of(
        [
            kid.beschikking("b1", "ots", "2026-01-10", "2026-03-01", status="beeindigd"),
            kid.beschikking("b2", "ots", "2026-02-15", "2026-04-01", status="beeindigd"),  # overlaps b1
            kid.beschikking("b3", "ots", "2026-05-20", "2026-05-25", status="beeindigd"),  # again in May
            kid.plaatsing("p1", "2026-01-05", "2026-01-20", "overplaatsing", vorm="gesloten", sender=CLOSED),
            kid.plaatsing("p2", "2026-03-01", "2026-03-03", "volgens_plan", vorm="residentieel"),
        ]
    )
    assert values(res, "jeugdbescherming_actief", "month", soort="ots") == {
        "2026-01-01": 1,
        "2026-02-01": 1,
        "2026-03-01": 1,
    }
    assert values(res, "jeugdbescherming_actief", "day", soort="ots")["2026-02-20"] == 1  # not 2
    assert values(res, "jeugdbescherming_in_periode", "month", soort="ots") == {
        "2026-01-01": 1,
        "2026-02-01": 1,
        "2026-03-01": 1,
        "2026-05-01": 1,
    }
    assert values(res, "jeugdbescherming_in_periode", "year", soort="ots") == {"2026-01-01": 1}
    # the stock on the last day of the month misses both short placements; "in de periode" has them
    assert values(res, "gesloten_actief", "month") == {}
    assert values(res, "gesloten_in_periode", "month") == {"2026-01-01": 1}
    assert values(res, "verblijf_in_periode", "half_year", vorm="gesloten") == {"2026-01-01": 1}
    assert values(res, "verblijf_in_periode", "half_year", vorm="residentieel") == {"2026-01-01": 1}
    assert values(res, "verblijf_jeugdigen_in_periode", "half_year") == {"2026-01-01": 1}  # one child, two forms
    assert values(res, "verblijf_jeugdigen_in_periode", "month") == {"2026-01-01": 1, "2026-03-01": 1}


def test_the_result_can_be_asked_twice() -> None:
    """``result`` adds the open pleegzorg placements' continuering days to copies, not to the truth itself: a second
    call (e.g. another ``as_of`` or period set) gives the same rows, not the open placements counted twice."""
    t = Truth()
    stays, leaves = Kid(1, birth="2008-03-15"), Kid(2, birth="2008-02-01")
    t.add_child([(stays.plaatsing("a", "2020-01-01", vorm="pleegzorg_netwerk"), False)])  # open on its check day
    t.add_child([(leaves.plaatsing("b", "2024-01-01", "2026-02-01", "meerderjarig", vorm="pleegzorg_bestand"), False)])
    t.add_child([(Kid(999, gemeente="GM0944").aanmelding("late", AS_OF.isoformat(), verwijzer="anders"), False)])
    first = t.result(AS_OF)
    assert rows(first, "continuering_18", "year")  # the open placement is in it
    assert t.result(AS_OF) == first
