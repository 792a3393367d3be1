"""The registry's pure handlers, one by one, without I/O: projections, corrections, derived facts, findings, diff."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import orjson
import pytest

from jeugdstroom.common.contracts import parse_published
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.registry.handlers import (
    aanmelding,
    beschikking,
    care_path,
    child,
    correctie,
    derived,
    plaatsing,
    separatie,
)
from jeugdstroom.registry.handlers.facts import Correction, Fact

P1 = "a" * 64
P2 = "b" * 64
PROVIDER = "10000001"
GEM = "GM0268"


def event(
    typ: str,
    eid: str,
    occurred: str,
    data: dict[str, Any],
    *,
    sender: str = PROVIDER,
    p: str = P1,
    gemeente: str = GEM,
    birth: str = "2008-05-10",
    geslacht: str | None = None,
) -> dict[str, Any]:
    ev = {
        "id": eid,
        "type": typ,
        "schema_version": 1,
        "occurred_at": occurred,
        "sender": sender,
        "child": {"pseudonym": p, "birth_date": birth, "gemeente": gemeente},
        "data": data,
    }
    if geslacht is not None:
        ev["child"]["geslacht"] = geslacht
    parse_published(orjson.dumps(ev))  # every test event is a valid published event
    return ev


def fact(ev: dict[str, Any]) -> Fact:
    return Fact.from_json(f"{ev['sender']}/{ev['id']}", ev)


def corr(cid: str, target: dict[str, Any], occurred: str, replacement: dict[str, Any] | None = None) -> Correction:
    data: dict[str, Any] = {"target_id": target["id"], "action": "vervangen" if replacement else "intrekken"}
    if replacement:
        data["replacement"] = replacement
    ev = event("correctie", cid, occurred, data, sender=target["sender"], p=target["child"]["pseudonym"])
    return Correction.from_json(f"{ev['sender']}/{cid}", ev)


def plaats(
    eid: str,
    pid: str,
    start: str,
    *,
    end: str | None = None,
    reden: str | None = None,
    vorm: str = "pleegzorg_bestand",
    aanmelding_id: str | None = None,
    occurred: str | None = None,
    **kw: Any,
) -> Fact:
    data: dict[str, Any] = {
        "plaatsing_id": pid,
        "status": "beeindigd" if end else "gestart",
        "vorm": vorm,
        "provider": PROVIDER,
        "start": start,
    }
    if end:
        data |= {"end": end, "reden_einde": reden or "volgens_plan"}
    if aanmelding_id:
        data["aanmelding_id"] = aanmelding_id
    return fact(event("plaatsing", eid, occurred or f"{end or start}T12:00:00+01:00", data, **kw))


def besch(
    eid: str,
    bid: str,
    start: str,
    *,
    end: str | None = None,
    soort: str = "toewijzing",
    status: str | None = None,
    aanmelding_id: str | None = None,
    occurred: str | None = None,
) -> Fact:
    data: dict[str, Any] = {
        "beschikking_id": bid,
        "soort": soort,
        "status": status or ("beeindigd" if end else "afgegeven"),
        "start": start,
    }
    if end:
        data["end"] = end
    if aanmelding_id:
        data["aanmelding_id"] = aanmelding_id
    return fact(event("beschikking", eid, occurred or f"{end or start}T12:00:00+01:00", data, sender=GEM))


def aanm(eid: str, aid: str, occurred: str, *, zorgvorm: str = "pleegzorg", sender: str = GEM) -> Fact:
    return fact(
        event(
            "aanmelding",
            eid,
            occurred,
            {"aanmelding_id": aid, "verwijzer": "wijkteam", "zorgvorm": zorgvorm},
            sender=sender,
        )
    )


def sep(eid: str, start: str, end: str | None = None, occurred: str | None = None) -> Fact:
    data = {"separatie_id": "s1", "vorm": "separeerruimte", "start": start} | ({"end": end} if end else {})
    return fact(event("separatie", eid, occurred or end or start, data))


# -- correctie ---------------------------------------------------------------------------------------------------
def test_intrekken_withdraws_and_vervangen_replaces_whatever_the_arrival_order() -> None:
    ev = event(
        "aanmelding",
        "e1",
        "2025-01-10T10:00:00+01:00",
        {"aanmelding_id": "a1", "verwijzer": "huisarts", "zorgvorm": "ambulant"},
        sender=GEM,
    )
    original = fact(ev)
    fixed = {**ev, "data": {**ev["data"], "zorgvorm": "pleegzorg"}}
    replace = corr("c1", ev, "2025-01-11T10:00:00+01:00", fixed)
    withdraw = corr("c2", ev, "2025-01-12T10:00:00+01:00")
    replaced = correctie.effective({original.uid: original}, [replace])[original.uid]
    assert replaced is not None and replaced.data.zorgvorm == "pleegzorg"
    # the latest correctie (by event time) decides, in whatever order they are given
    assert correctie.effective({original.uid: original}, [withdraw, replace])[original.uid] is None
    # a correctie that arrived before its target: the target is already replaced when it arrives
    early = correctie.effective({}, [replace])[original.uid]
    assert early is not None and early.data.zorgvorm == "pleegzorg"


def test_a_correctie_of_an_unknown_event_is_a_finding_until_the_event_arrives() -> None:
    ev = event(
        "aanmelding",
        "e1",
        "2025-01-10T10:00:00+01:00",
        {"aanmelding_id": "a1", "verwijzer": "huisarts", "zorgvorm": "ambulant"},
        sender=GEM,
    )
    c = corr("c1", ev, "2025-01-11T10:00:00+01:00")
    [found] = correctie.findings(P1, {}, [c])
    assert (found.kind, found.subject, found.instelling) == ("correctie_onbekend_doel", f"{GEM}/c1", GEM)
    assert correctie.findings(P1, {fact(ev).uid: fact(ev)}, [c]) == []
    assert correctie.findings(P2, {}, [c]) == []  # a finding of the correctie's own child only


# -- separatie ---------------------------------------------------------------------------------------------------
def test_separatie_start_and_end_in_any_order() -> None:
    start = sep("e1", "2025-03-01T10:00:00+01:00")
    end = sep("e2", "2025-03-01T10:00:00+01:00", "2025-03-01T11:30:00+01:00")
    for facts in ([start, end], [end, start], [end]):
        ep, found = separatie.project(facts)
        assert ep.end is not None and ep.end.hour == 11 and ep.start is not None and found == []
    ep, _ = separatie.project([start])
    assert ep.end is None


def test_separatie_findings_too_long_and_end_before_corrected_start() -> None:
    long_ = sep("e2", "2025-03-01T10:00:00+01:00", "2025-03-09T10:00:01+01:00")
    ep, found = separatie.project([long_])
    assert [f.kind for f in found] == ["separatie_te_lang"] and ep.end is not None
    _, found = separatie.project([sep("e3", "2025-03-01T10:00:00+01:00", "2025-03-08T10:00:00+01:00")])
    assert found == []  # exactly 7 days is not longer than 7 days
    end = sep("e2", "2025-03-01T10:00:00+01:00", "2025-03-01T11:00:00+01:00")
    later_start = sep("e4", "2025-03-01T12:00:00+01:00", occurred="2025-03-02T09:00:00+01:00")
    ep, found = separatie.project([end, later_start])
    assert [f.kind for f in found] == ["separatie_einde_voor_start"] and ep.end is None


# -- beschikking -------------------------------------------------------------------------------------------------
def test_beschikking_projection_and_findings() -> None:
    start = besch("e1", "b1", "2025-01-01", aanmelding_id="a1")
    end = besch("e2", "b1", "2025-01-01", end="2025-06-30")
    ep, found = beschikking.project([end, start])
    assert (ep.start, ep.end, ep.soort, found) == (date(2025, 1, 1), date(2025, 6, 30), "toewijzing", [])
    assert beschikking.aanmelding_id([start, end]) == "a1"  # the end event need not repeat it
    _, found = beschikking.project([end])
    assert [f.kind for f in found] == ["beschikking_einde_zonder_start"]
    moved = besch("e3", "b1", "2025-08-01", occurred="2025-08-01T12:00:00+01:00")
    ep, found = beschikking.project([start, end, moved])
    assert "beschikking_einde_voor_start" in {f.kind for f in found} and ep.end is None


def test_jeugdreclassering_projection_and_findings() -> None:
    """Jeugdreclassering (iJw category 47) is an entity of its own, projected like a beschikking."""
    from jeugdstroom.registry.handlers import jeugdreclassering

    def jr(eid: str, start: str, end: str | None = None, occurred: str | None = None) -> Fact:
        data: dict[str, Any] = {"jeugdreclassering_id": "j1", "status": "beeindigd" if end else "gestart",
                                "start": start}
        if end:
            data["end"] = end
        return fact(event("jeugdreclassering", eid, occurred or f"{end or start}T12:00:00+01:00", data, sender=GEM))

    start, end = jr("e1", "2025-01-01"), jr("e2", "2025-01-01", "2025-06-30")
    ep, found = jeugdreclassering.project([end, start])
    assert (ep.jeugdreclassering_id, ep.start, ep.end, found) == ("j1", date(2025, 1, 1), date(2025, 6, 30), [])
    _, found = jeugdreclassering.project([end])
    assert [f.kind for f in found] == ["jeugdreclassering_einde_zonder_start"]
    moved = jr("e3", "2025-08-01", occurred="2025-08-01T12:00:00+01:00")
    ep, found = jeugdreclassering.project([start, end, moved])
    assert "jeugdreclassering_einde_voor_start" in {f.kind for f in found} and ep.end is None


# -- plaatsing ---------------------------------------------------------------------------------------------------
def test_plaatsing_projection_and_findings() -> None:
    start = plaats("e1", "p1", "2025-01-01", aanmelding_id="a1")
    end = plaats("e2", "p1", "2025-01-01", end="2025-03-01", reden="overplaatsing")
    for facts in ([start, end], [end, start]):
        ep, found = plaatsing.project(facts)
        assert (ep.start, ep.end, ep.reden_einde, found) == (date(2025, 1, 1), date(2025, 3, 1), "overplaatsing", [])
    assert plaatsing.aanmelding_id([start, end]) == "a1"
    ep, found = plaatsing.project([end])
    assert [f.kind for f in found] == ["plaatsing_einde_zonder_start"] and ep.start == date(2025, 1, 1)
    corrected_start = plaats("e3", "p1", "2025-04-01", occurred="2025-04-02T12:00:00+01:00")
    ep, found = plaatsing.project([start, end, corrected_start])
    assert "plaatsing_einde_voor_start" in {f.kind for f in found}
    assert (ep.end, ep.reden_einde) == (None, None)


# -- aanmelding --------------------------------------------------------------------------------------------------
def test_aanmelding_day_is_the_amsterdam_date_of_the_first_report() -> None:
    late = aanm("e1", "a1", "2025-01-10T23:30:00+00:00")  # 00:30 on 11 January in Amsterdam
    update = aanm("e2", "a1", "2025-01-20T10:00:00+01:00", zorgvorm="gezinshuis")
    ep, _ = aanmelding.project([update, late])
    assert ep.day == date(2025, 1, 11) and ep.zorgvorm == "gezinshuis"


# -- derived -----------------------------------------------------------------------------------------------------
def _a(day: date, aid: str = "a1") -> AanmeldingEpisode:
    return AanmeldingEpisode(
        instelling=GEM,
        pseudonym=P1,
        gemeente=GEM,
        birth_date=date(2010, 1, 1),
        aanmelding_id=aid,
        verwijzer="wijkteam",
        zorgvorm="pleegzorg",
        day=day,
    )


def _p(
    pid: str,
    start: date | None,
    end: date | None = None,
    reden: str | None = None,
    vorm: str = "pleegzorg_bestand",
    birth: date = date(2010, 1, 1),
) -> PlaatsingEpisode:
    return PlaatsingEpisode(
        instelling=PROVIDER,
        pseudonym=P1,
        gemeente=GEM,
        birth_date=birth,
        plaatsing_id=pid,
        provider=PROVIDER,
        vorm=vorm,  # type: ignore[arg-type]
        start=start,
        end=end,
        reden_einde=reden,  # type: ignore[arg-type]
    )


def test_links_take_the_earliest_linked_start() -> None:
    b1, _ = beschikking.project([besch("e1", "b1", "2025-02-01", aanmelding_id="a1")])
    b2, _ = beschikking.project([besch("e2", "b2", "2025-01-20", aanmelding_id="a1")])
    b3, _ = beschikking.project([besch("e3", "b3", "2025-01-05", aanmelding_id="other")])
    [a] = derived.aanmeldingen(
        [_a(date(2025, 1, 1))],
        [derived.Linked(b, i) for b, i in ((b1, "a1"), (b2, "a1"), (b3, "other"))],
        [derived.Linked(_p("p1", date(2025, 3, 1)), "a1"), derived.Linked(_p("p2", None), "a1")],
    )
    assert (a.beschikking_date, a.plaatsing_date) == (date(2025, 1, 20), date(2025, 3, 1))
    found = derived.link_findings({"a1"}, [derived.Linked(b3, "other"), derived.Linked(b1, "a1")])
    assert [(f.kind, f.subject) for f in found] == [("koppeling_onbekende_aanmelding", f"beschikking:{GEM}/b3")]


def test_a_pleegzorg_wait_ends_at_a_pleegzorg_placement_linked_by_child_and_date() -> None:
    a = _a(date(2025, 3, 1))
    unlinked = [
        derived.Linked(_p("early", date(2025, 2, 1)), None),  # before the aanmelding: not its end
        derived.Linked(_p("resi", date(2025, 3, 5), vorm="residentieel"), None),  # another form does not end it
        derived.Linked(_p("p1", date(2025, 4, 10), vorm="pleegzorg_netwerk"), None),
        derived.Linked(_p("p2", date(2025, 5, 1)), None),
    ]
    [got] = derived.aanmeldingen([a], [], unlinked)
    assert got.plaatsing_date == date(2025, 4, 10)
    # an explicit link wins over the link by date, but only a pleegzorg placement ends a pleegzorg wait
    explicit = [*unlinked, derived.Linked(_p("px", date(2025, 6, 1)), "a1")]
    assert derived.aanmeldingen([a], [], explicit)[0].plaatsing_date == date(2025, 6, 1)
    other = [derived.Linked(_p("rx", date(2025, 3, 2), vorm="gezinshuis"), "a1")]
    assert derived.aanmeldingen([a], [], other)[0].plaatsing_date is None
    # a placement naming another aanmelding is not linked by date
    assert derived.aanmeldingen([a], [], [derived.Linked(_p("q", date(2025, 4, 1)), "a9")])[0].plaatsing_date is None
    # closed by the sender: a placement after the closing is not the end of this wait
    closed = a.model_copy(update={"afgesloten_op": date(2025, 4, 1), "reden_afsluiting": "geplaatst_elders"})
    assert derived.aanmeldingen([closed], [], unlinked)[0].plaatsing_date is None
    # other zorgvormen keep explicit links only, in any form
    resi = a.model_copy(update={"zorgvorm": "residentieel"})
    assert derived.aanmeldingen([resi], [], unlinked)[0].plaatsing_date is None
    assert derived.aanmeldingen([resi], [], other)[0].plaatsing_date == date(2025, 3, 2)


def test_an_aanmelding_closing_and_the_decision_date() -> None:
    opened = aanm("e1", "a1", "2025-01-10T10:00:00+01:00")
    data = {
        "aanmelding_id": "a1",
        "verwijzer": "wijkteam",
        "zorgvorm": "pleegzorg",
        "status": "afgesloten",
        "afgesloten_op": "2025-02-01",
        "reden_afsluiting": "zonder_plaatsing_beeindigd",
    }
    closing_ev = event("aanmelding", "e2", "2025-02-01T09:00:00+01:00", data, sender=GEM)
    closing = fact(closing_ev)
    ep, _ = aanmelding.project([closing, opened])
    assert (ep.day, ep.afgesloten_op, ep.reden_afsluiting) == (
        date(2025, 1, 10),
        date(2025, 2, 1),
        "zonder_plaatsing_beeindigd",
    )
    assert aanmelding.project([opened])[0].afgesloten_op is None
    # withdrawing the closing (correctie) reopens it: the closing never happened
    withdrawn = corr("c1", closing_ev, "2025-02-02T10:00:00+01:00")
    state = care_path.project(P1, {f.uid: f for f in (opened, closing)}, [withdrawn], None)
    [a] = [e for e in state.entities.values() if isinstance(e, AanmeldingEpisode)]
    assert a.afgesloten_op is None
    # wachttijd_beschikking ends at the besluitdatum where the beschikking carries one
    data = {"beschikking_id": "b1", "soort": "toewijzing", "status": "afgegeven", "start": "2025-02-15"}
    with_besluit = fact(
        event(
            "beschikking",
            "e4",
            "2025-02-03T12:00:00+01:00",
            {**data, "aanmelding_id": "a1", "besluitdatum": "2025-02-03"},
        )
    )
    b, _ = beschikking.project([with_besluit])
    assert b.besluitdatum == date(2025, 2, 3)
    [got] = derived.aanmeldingen([_a(date(2025, 1, 10))], [derived.Linked(b, "a1")], [])
    assert got.beschikking_date == date(2025, 2, 3)
    b0, _ = beschikking.project([besch("e3", "b1", "2025-02-15", aanmelding_id="a1")])
    assert derived.aanmeldingen([_a(date(2025, 1, 10))], [derived.Linked(b0, "a1")], [])[0].beschikking_date == date(
        2025, 2, 15
    )


def test_separatie_episodes_less_than_24_hours_apart_are_one_intervention() -> None:
    def ep(sid: str, start: str, end: str | None = None, instelling: str = PROVIDER) -> Any:
        s, _ = separatie.project(
            [
                fact(
                    event(
                        "separatie",
                        sid,
                        start,
                        {"separatie_id": sid, "vorm": "separeerruimte", "start": start} | ({"end": end} if end else {}),
                        sender=instelling,
                    )
                )
            ]
        )
        return s

    a = ep("s1", "2025-03-01T10:00:00+01:00", "2025-03-01T11:00:00+01:00")
    b = ep("s2", "2025-03-02T10:59:00+01:00", "2025-03-02T12:00:00+01:00")  # 23h59 after a's end
    c = ep("s3", "2025-03-03T12:00:00+01:00")  # exactly 24h after b's end: a new intervention
    d = ep("s4", "2025-03-03T20:00:00+01:00")  # 8h after c's start (c's end unknown)
    e = ep("s5", "2025-03-03T21:00:00+01:00", instelling="10000002")  # another instelling
    got = {s.separatie_id: s.vervolg for s in derived.separaties([e, d, c, b, a])}
    assert got == {"s1": False, "s2": True, "s3": False, "s4": True, "s5": False}
    # withdrawing b (a correction) turns nothing else: c was 24h after b's end, and more after a's
    assert {s.separatie_id: s.vervolg for s in derived.separaties([a, c, d])} == {"s1": False, "s3": False, "s4": True}
    # the whole care path sets the flag
    facts = [
        fact(
            event(
                "separatie",
                "x1",
                "2025-03-01T10:00:00+01:00",
                {"separatie_id": "x1", "vorm": "separeerruimte", "start": "2025-03-01T10:00:00+01:00"},
            )
        ),
        fact(
            event(
                "separatie",
                "x2",
                "2025-03-01T18:00:00+01:00",
                {"separatie_id": "x2", "vorm": "afzonderingsruimte", "start": "2025-03-01T18:00:00+01:00"},
            )
        ),
    ]
    state = care_path.project(P1, {f.uid: f for f in facts}, [], None)
    flags = sorted((k[1], getattr(v, "vervolg", None)) for k, v in state.entities.items() if k[0] == "separatie")
    assert flags == [(f"{PROVIDER}/x1", False), (f"{PROVIDER}/x2", True)]


@pytest.mark.parametrize(("days_after_end", "herhaald"), [(0, True), (365, True), (366, False), (-1, False)])
def test_herhaald_when_previous_care_ended_at_most_365_days_before(days_after_end: int, herhaald: bool) -> None:
    end = date(2024, 3, 1)
    [a] = derived.aanmeldingen(
        [_a(end + timedelta(days=days_after_end))],
        [],
        [derived.Linked(_p("p1", date(2023, 1, 1), end, "volgens_plan"), None)],
    )
    assert a.herhaald is herhaald


def test_herhaald_counts_ended_toewijzingen_but_not_other_measures() -> None:
    ots, _ = beschikking.project([besch("e1", "b1", "2023-01-01", end="2024-01-01", soort="ots")])
    toew, _ = beschikking.project([besch("e2", "b2", "2023-01-01", end="2024-01-01")])
    day = date(2024, 6, 1)
    assert not derived.aanmeldingen([_a(day)], [derived.Linked(ots, None)], [])[0].herhaald
    assert derived.aanmeldingen([_a(day)], [derived.Linked(toew, None)], [])[0].herhaald


@pytest.mark.parametrize(
    ("gap", "reden", "transfer"),
    [
        (0, "overplaatsing", True),
        (31, "overplaatsing", True),
        (32, "overplaatsing", False),
        (5, "volgens_plan", False),
        (-1, "overplaatsing", False),
    ],
)
def test_overplaatsing(gap: int, reden: str, transfer: bool) -> None:
    end = date(2025, 3, 1)
    first = _p("p1", date(2025, 1, 1), end, reden)
    out, _ = derived.plaatsingen([first, _p("p2", end + timedelta(days=gap))])
    assert out[0].overplaatsing is transfer and out[1].overplaatsing is False


def test_overlapping_placements_are_a_finding_touching_ones_are_not() -> None:
    a = _p("p1", date(2025, 1, 1), date(2025, 3, 1), "overplaatsing")
    _, found = derived.plaatsingen([a, _p("p2", date(2025, 3, 1))])
    assert found == []
    _, found = derived.plaatsingen([a, _p("p2", date(2025, 2, 28))])
    assert [(f.kind, f.subject) for f in found] == [("plaatsing_overlap", f"plaatsing:{PROVIDER}/p1+{PROVIDER}/p2")]
    _, found = derived.plaatsingen([_p("p1", date(2025, 1, 1)), _p("p2", date(2026, 1, 1))])  # open ones overlap
    assert [f.kind for f in found] == ["plaatsing_overlap"]


def test_achttien_per_child_continues_when_still_in_pleegzorg_30_days_later_and_waits_for_the_watermark() -> None:
    birth = date(2007, 6, 15)
    bday = date(2025, 6, 15)
    check = bday + timedelta(days=30)

    def fact_of(*ps: PlaatsingEpisode, wm: date | None = None, days: int = 30) -> tuple[bool | None, date | None]:
        facts, pending = derived.achttien(list(ps), wm, days)
        assert len(facts) <= 1  # one per child
        return (facts[0].continues if facts else None), pending

    def p(pid: str, start: date, end: date | None = None, vorm: str = "pleegzorg_bestand") -> PlaatsingEpisode:
        return _p(pid, start, end, "volgens_plan" if end else None, vorm=vorm, birth=birth)

    assert fact_of(p("p", date(2024, 1, 1), bday)) == (False, None)  # ended on the birthday (meerderjarig)
    assert fact_of(p("p", date(2024, 1, 1), bday + timedelta(days=1))) == (False, None)  # v1: "continued"
    assert fact_of(p("p", date(2024, 1, 1), check)) == (False, None)  # not active on the check day
    assert fact_of(p("p", date(2024, 1, 1), check + timedelta(days=1))) == (True, None)
    assert fact_of(p("p", date(2024, 1, 1), bday + timedelta(days=5)), days=5) == (False, None)
    assert fact_of(p("p", date(2024, 1, 1), bday + timedelta(days=6)), days=5) == (True, None)
    assert fact_of(p("p", date(2024, 1, 1), bday - timedelta(days=1))) == (None, None)  # not in care on it
    assert fact_of(p("p", date(2024, 1, 1), vorm="gezinshuis"), wm=date(2030, 1, 1)) == (None, None)  # pleegzorg only
    # per child: a transfer to another pleegzorg placement after the birthday still continues
    first = p("p1", date(2024, 1, 1), bday + timedelta(days=3))
    assert fact_of(first, p("p2", bday + timedelta(days=4), date(2026, 1, 1))) == (True, None)
    # open placement: unknown until the watermark passes the check day, then it continues
    assert fact_of(p("p", date(2024, 1, 1)), wm=check) == (None, check)
    assert fact_of(p("p", date(2024, 1, 1)), wm=check + timedelta(days=1)) == (True, None)


def test_eighteenth_birthday_of_a_leap_day_child_is_the_first_of_march() -> None:
    assert derived.eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert derived.eighteenth_birthday(date(2006, 2, 28)) == date(2024, 2, 28)
    assert derived.watermark_of(date(2025, 1, 10), 7) == date(2025, 1, 3) and derived.watermark_of(None, 7) is None


# -- child -------------------------------------------------------------------------------------------------------
def test_child_gemeente_history_by_event_day() -> None:
    facts = [
        aanm("e1", "a1", "2025-01-10T10:00:00+01:00"),
        fact(
            event(
                "aanmelding",
                "e2",
                "2025-02-01T10:00:00+01:00",
                {"aanmelding_id": "a2", "verwijzer": "zelf", "zorgvorm": "ambulant"},
                sender=GEM,
                gemeente="GM0296",
            )
        ),
        fact(
            event(
                "aanmelding",
                "e3",
                "2025-03-01T10:00:00+01:00",
                {"aanmelding_id": "a3", "verwijzer": "zelf", "zorgvorm": "ambulant"},
                sender=GEM,
                gemeente="GM0296",
            )
        ),
    ]
    rec = child.project(list(reversed(facts)))
    assert rec is not None and rec.gemeente == "GM0296"
    assert rec.history == ((date(2025, 1, 10), GEM), (date(2025, 2, 1), "GM0296"))
    assert child.project([]) is None


# -- care path and diff ------------------------------------------------------------------------------------------
def test_a_plaatsing_before_its_aanmelding_links_once_the_aanmelding_arrives() -> None:
    p = plaats("e1", "p1", "2025-02-01", aanmelding_id="a1")
    a = aanm("e2", "a1", "2025-01-10T10:00:00+01:00")
    first = care_path.project(P1, {p.uid: p}, [], None)
    assert {k for k, _ in first.findings} == {"koppeling_onbekende_aanmelding"}
    second = care_path.project(P1, {p.uid: p, a.uid: a}, [], None)
    d = care_path.diff(first, second)
    assert [(c.entity, c.before is None) for c in d.changes] == [("aanmelding", True)]
    assert d.changes[0].after.plaatsing_date == date(2025, 2, 1)  # type: ignore[union-attr]
    assert [f.kind for f in d.resolved] == ["koppeling_onbekende_aanmelding"] and d.opened == []
    assert care_path.diff(second, care_path.project(P1, {p.uid: p, a.uid: a}, [], None)).empty


def test_a_replacement_may_move_an_event_to_another_child() -> None:
    ev = event(
        "plaatsing",
        "e1",
        "2025-02-01T12:00:00+01:00",
        {"plaatsing_id": "p1", "status": "gestart", "vorm": "gezinshuis", "provider": PROVIDER, "start": "2025-02-01"},
    )
    moved = {**ev, "child": {**ev["child"], "pseudonym": P2}}
    original = fact(ev)
    c = corr("c1", ev, "2025-02-03T12:00:00+01:00", moved)
    assert care_path.project(P1, {original.uid: original}, [c], None).entities == {}
    other = care_path.project(P2, {original.uid: original}, [c], None)
    assert [k for k in other.entities if k[0] == "plaatsing"] == [("plaatsing", f"{PROVIDER}/p1")]


def test_the_watermark_makes_an_open_placement_an_achttien_fact() -> None:
    p = plaats("e1", "p1", "2024-01-01", birth="2007-06-15")
    before = care_path.project(P1, {p.uid: p}, [], date(2025, 7, 15))
    assert before.child is not None and before.child.pending_birthday == date(2025, 7, 15)  # birthday + 30 days
    after = care_path.project(P1, {p.uid: p}, [], date(2025, 7, 16))
    assert after.child is not None and after.child.pending_birthday is None
    [change] = care_path.diff(before, after).changes
    assert change.entity == "achttien_in_pleegzorg" and change.before is None
    assert change.after is not None and change.after.continues is True  # type: ignore[union-attr]


def test_the_episode_gemeente_is_the_woonplaats_on_the_event_that_starts_it() -> None:
    start = plaats("e1", "p1", "2025-01-01", gemeente="GM0296")
    end = plaats("e2", "p1", "2025-01-01", end="2025-06-01", gemeente=GEM)  # the child moved meanwhile
    ep, _ = plaatsing.project([end, start])
    assert ep.gemeente == "GM0296" and ep.end == date(2025, 6, 1)
    only_end, _ = plaatsing.project([end])  # no start event (yet): the earliest report
    assert only_end.gemeente == GEM
    # a later restatement of the start does not move it either
    again = plaats("e3", "p1", "2025-01-01", occurred="2025-03-01T12:00:00+01:00", gemeente="GM0209")
    assert plaatsing.project([again, end, start])[0].gemeente == "GM0296"
    b1 = besch("b-e1", "b1", "2025-01-01")
    b2 = fact(
        {
            **event(
                "beschikking",
                "b-e2",
                "2025-05-01T12:00:00+02:00",
                {**b1.data.model_dump(mode="json", exclude_none=True), "status": "beeindigd", "end": "2025-05-01"},
                sender=GEM,
                gemeente="GM0209",
            )
        }
    )
    assert beschikking.project([b2, b1])[0].gemeente == GEM


@pytest.mark.parametrize(
    ("prev_vorm", "gap", "reden", "instroom", "instroom_gesloten"),
    [
        ("gesloten", 2, "overplaatsing", False, False),  # transfer within gesloten
        ("gesloten", 31, "overplaatsing", False, False),
        ("gesloten", 32, "overplaatsing", True, True),  # too late: the child enters again
        ("gesloten", 2, "volgens_plan", True, True),  # not an overplaatsing
        ("residentieel", 2, "overplaatsing", False, True),  # a transfer within verblijf, but entering gesloten
        ("gesloten", -10, None, False, False),  # the other one is still active on the start
    ],
)
def test_instroom_excludes_transfers_of_the_same_category(
    prev_vorm: str, gap: int, reden: str | None, instroom: bool, instroom_gesloten: bool
) -> None:
    end = date(2025, 3, 1)
    first = _p("p1", date(2025, 1, 1), end if reden else None, reden, vorm=prev_vorm)
    nxt = _p("p2", end + timedelta(days=gap), vorm="gesloten")
    out = {p.plaatsing_id: p for p in derived.instroom([nxt, first])}
    assert (out["p2"].instroom, out["p2"].instroom_gesloten) == (instroom, instroom_gesloten)
    assert out["p1"].instroom and out["p1"].instroom_gesloten is (prev_vorm == "gesloten")


def test_same_day_starts_one_of_them_is_instroom() -> None:
    out = derived.instroom([_p("p2", date(2025, 1, 1)), _p("p1", date(2025, 1, 1))])
    assert {p.plaatsing_id: p.instroom for p in out} == {"p1": True, "p2": False}  # the smaller key enters


def test_withdrawing_the_earlier_placement_turns_the_transfer_back_into_instroom() -> None:
    first = plaats("e1", "p1", "2025-01-01", end="2025-03-01", reden="overplaatsing", vorm="gesloten")
    second = plaats("e2", "p2", "2025-03-03", vorm="gesloten")
    originals = {first.uid: first, second.uid: second}
    key = ("plaatsing", f"{PROVIDER}/p2")
    before = care_path.project(P1, originals, [], None)
    assert not before.entities[key].instroom_gesloten  # type: ignore[union-attr]
    withdraw = corr("c1", {"id": "e1", "sender": PROVIDER, "child": {"pseudonym": P1}}, "2025-03-10T12:00:00+01:00")
    after = care_path.project(P1, originals, [withdraw], None)
    ep = after.entities[key]
    assert isinstance(ep, PlaatsingEpisode) and ep.instroom and ep.instroom_gesloten
    changed = {(c.entity, c.key) for c in care_path.diff(before, after).changes if c.entity == "plaatsing"}
    assert changed == {key, ("plaatsing", f"{PROVIDER}/p1")}


def _segs(*ps: PlaatsingEpisode, groep: str) -> list[tuple[str, str, date, date | None]]:
    return [(s.instelling, s.plaatsing_id, s.start, s.end) for s in derived.segmenten(list(ps)) if s.groep == groep]


def test_segments_count_each_child_once_per_group_each_day_attributed_to_the_latest_started_placement() -> None:
    a = _p("pa", date(2025, 1, 1), date(2025, 6, 1), "volgens_plan", vorm="residentieel")
    b = _p("pb", date(2025, 3, 1), date(2025, 4, 1), "volgens_plan", vorm="gesloten")  # inside a
    c = _p("pc", date(2025, 6, 1), vorm="pleegzorg_bestand")  # starts the day a ends: no gap
    d = _p("pd", date(2025, 8, 1), vorm="pleegzorg_netwerk")  # both pleegzorg forms at once
    verblijf = _segs(a, b, c, d, groep="verblijf")
    assert verblijf == [
        (PROVIDER, "pa", date(2025, 1, 1), date(2025, 3, 1)),
        (PROVIDER, "pb", date(2025, 3, 1), date(2025, 4, 1)),
        (PROVIDER, "pa", date(2025, 4, 1), date(2025, 6, 1)),
        (PROVIDER, "pc", date(2025, 6, 1), date(2025, 8, 1)),
        (PROVIDER, "pd", date(2025, 8, 1), None),
    ]
    # non-overlapping and contiguous: the child counts once on every day it is placed
    assert all(x[3] == y[2] for x, y in itertools.pairwise(verblijf))
    assert _segs(a, b, c, d, groep="pleegzorg") == [
        (PROVIDER, "pc", date(2025, 6, 1), date(2025, 8, 1)),
        (PROVIDER, "pd", date(2025, 8, 1), None),
    ]
    assert _segs(a, b, c, d, groep="gezinsgericht") == _segs(a, b, c, d, groep="pleegzorg")
    assert _segs(a, b, c, d, groep="residentieel") == [(PROVIDER, "pa", date(2025, 1, 1), date(2025, 6, 1))]
    assert _segs(a, b, c, d, groep="pleegzorg_netwerk") == [(PROVIDER, "pd", date(2025, 8, 1), None)]
    assert _segs(a, groep="gesloten") == []
    # a gap between placements is a gap between segments; an empty placement has none
    e = _p("pe", date(2025, 7, 1), date(2025, 7, 1), "volgens_plan", vorm="gesloten")
    f = _p("pf", date(2025, 9, 1), date(2025, 10, 1), "volgens_plan", vorm="gesloten")
    assert _segs(b, e, f, groep="gesloten") == [
        (PROVIDER, "pb", date(2025, 3, 1), date(2025, 4, 1)),
        (PROVIDER, "pf", date(2025, 9, 1), date(2025, 10, 1)),
    ]


def test_withdrawing_an_overlapping_placement_changes_the_segments_exactly() -> None:
    first = plaats("e1", "p1", "2025-01-01", vorm="residentieel")
    second = plaats("e2", "p2", "2025-02-01", end="2025-03-01", vorm="gesloten")
    both = care_path.project(P1, {first.uid: first, second.uid: second}, [], None)
    keys = {k for k in both.entities if k[0] == "verblijf_segment" and "/verblijf:" in k[1]}
    assert keys == {
        ("verblijf_segment", f"{PROVIDER}/verblijf:p1:2025-01-01"),
        ("verblijf_segment", f"{PROVIDER}/verblijf:p2:2025-02-01"),
        ("verblijf_segment", f"{PROVIDER}/verblijf:p1:2025-03-01"),
    }
    withdraw = corr("c1", {"id": "e2", "sender": PROVIDER, "child": {"pseudonym": P1}}, "2025-03-10T12:00:00+01:00")
    alone = care_path.project(P1, {first.uid: first, second.uid: second}, [withdraw], None)
    kept = [e for k, e in alone.entities.items() if k[0] == "verblijf_segment" and "/verblijf:" in k[1]]
    assert [(s.plaatsing_id, s.start, s.end) for s in kept] == [("p1", date(2025, 1, 1), None)]  # type: ignore[union-attr]


# -- geslacht, aanbieder ------------------------------------------------------------------------------------------
def test_geslacht_is_the_childs_latest_known_one_on_every_entity() -> None:
    a1 = fact(event("aanmelding", "e1", "2025-01-05T12:00:00+01:00",
                    {"aanmelding_id": "a1", "verwijzer": "wijkteam", "zorgvorm": "pleegzorg"}, sender=GEM,
                    geslacht="vrouw"))
    p1 = plaats("e2", "p1", "2025-02-01")  # gives none: does not erase the known one
    unknown = plaats("e3", "p1", "2025-02-01", end="2025-04-01", geslacht="onbekend")  # nor does onbekend
    originals = {f.uid: f for f in (a1, p1, unknown)}
    state = care_path.project(P1, originals, [], None)
    kinds = {k[0] for k in state.entities}
    assert {"aanmelding", "plaatsing", "verblijf_segment"} <= kinds
    assert {ep.geslacht for ep in state.entities.values()} == {"vrouw"}
    # a later event that gives another value wins, on every entity of the child (each one a change)
    b1 = besch("e4", "b1", "2025-03-01")
    b1 = fact(event("beschikking", "e4", "2025-03-01T12:00:00+01:00", dict(b1.data), sender=GEM, geslacht="man"))
    after = care_path.project(P1, {**originals, b1.uid: b1}, [], None)
    assert {ep.geslacht for ep in after.entities.values()} == {"man"}
    changed = {(c.entity, c.key) for c in care_path.diff(state, after).changes}
    assert changed == set(after.entities)
    # withdrawing that event brings the earlier value back; a child whose events give none is onbekend
    c = corr("c1", {"id": "e4", "sender": GEM, "child": {"pseudonym": P1}}, "2025-03-02T12:00:00+01:00")
    assert {ep.geslacht for ep in care_path.project(P1, {**originals, b1.uid: b1}, [c], None).entities.values()} == {
        "vrouw"
    }
    none = care_path.project(P1, {p1.uid: p1}, [], None)
    assert {ep.geslacht for ep in none.entities.values()} == {"onbekend"}


def test_aanbieder_of_an_aanmelding_and_of_a_verblijf_segment() -> None:
    data = {"aanmelding_id": "a1", "verwijzer": "wijkteam", "zorgvorm": "residentieel"}
    named = fact(event("aanmelding", "e1", "2025-01-05T12:00:00+01:00", {**data, "aanbieder": "20000002"},
                       sender=GEM))
    closing = {**data, "status": "afgesloten", "afgesloten_op": "2025-02-01", "reden_afsluiting": "anders"}
    closed = fact(event("aanmelding", "e2", "2025-02-01T12:00:00+01:00", closing, sender=GEM))
    ep, _ = aanmelding.project([named, closed])
    assert ep.aanbieder == "20000002"  # the latest report naming one; the closing leaves it out
    renamed = fact(event("aanmelding", "e3", "2025-01-06T12:00:00+01:00", {**data, "aanbieder": "30000003"},
                         sender=GEM))
    assert aanmelding.project([named, renamed, closed])[0].aanbieder == "30000003"
    assert aanmelding.project([aanm("e4", "a2", "2025-01-05T12:00:00+01:00")])[0].aanbieder is None
    p1 = plaats("e5", "p1", "2025-02-01", sender=GEM)  # reported by a gemeente: the aanbieder is the provider
    state = care_path.project(P1, {p1.uid: p1}, [], None)
    segments = [ep for (kind, _), ep in state.entities.items() if kind == "verblijf_segment"]
    assert segments and {s.aanbieder for s in segments} == {PROVIDER}  # type: ignore[union-attr]
    assert {s.instelling for s in segments} == {GEM}


def test_a_fact_carries_its_event_types_data_contract_read_from_the_stored_json() -> None:
    from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingData
    from jeugdstroom.common.contracts.kinds.separatie import SeparatieData
    from jeugdstroom.common.contracts.unions import EVENT_TYPES
    from jeugdstroom.registry.handlers.facts import DATA

    assert set(DATA) == set(EVENT_TYPES) - {"correctie"}  # derived from the published event union
    p = plaats("e1", "p1", "2025-01-01", end="2025-03-01")
    assert isinstance(p.data, PlaatsingData) and p.data.start == date(2025, 1, 1) and p.data.end == date(2025, 3, 1)
    assert p.entity_id == "p1"
    s = fact(event("separatie", "e2", "2025-02-01T10:00:00+01:00",
                   {"separatie_id": "s1", "vorm": "separeerruimte", "start": "2025-02-01T09:00:00+01:00"}))
    assert isinstance(s.data, SeparatieData) and s.data.start.utcoffset() == timedelta(hours=1)
    valid = event("plaatsing", "e3", "2025-01-01T10:00:00+01:00", p.data.model_dump(mode="json", exclude_none=True))
    with pytest.raises(ValueError, match="end"):  # stored data that breaks a contract rule is not taken silently
        fact({**valid, "data": {**valid["data"], "end": "2024-12-01"}})


def test_replaced_is_model_copy_and_differ_is_inequality() -> None:
    """``facts.replaced`` (the projection's copy of an episode) leaves the same instance state as pydantic's
    ``model_copy(update=...)``, and ``care_path._differ`` (the diff's comparison) agrees with ``!=``."""
    from jeugdstroom.registry.handlers.facts import replaced

    eps = [_a(date(2025, 1, 1)), _p("p1", date(2025, 1, 1)), *derived.segmenten([_p("p2", date(2025, 2, 1))])]
    for ep in eps:
        for update in ({"geslacht": "vrouw"}, {"geslacht": "onbekend"}, {"geslacht": "man", "gemeente": "GM0363"}):
            new, ref = replaced(ep, update), ep.model_copy(update=update)
            assert type(new) is type(ref) and new == ref
            assert new.__dict__ == ref.__dict__ and list(new.__dict__) == list(ref.__dict__)
            assert new.__pydantic_fields_set__ == ref.__pydantic_fields_set__
            assert new.__pydantic_extra__ == ref.__pydantic_extra__ and new.__pydantic_private__ == ref.__pydantic_private__
            assert new.model_dump_json() == ref.model_dump_json() and new.model_dump_json(exclude_unset=True) == ref.model_dump_json(exclude_unset=True)
            assert new.geslacht == update["geslacht"] and ep.geslacht == "onbekend"  # the original is left as it was
    for a, b in itertools.product([*eps, None, replaced(eps[0], {"geslacht": "man"})], repeat=2):
        assert care_path._differ(a, b) == (a != b)
