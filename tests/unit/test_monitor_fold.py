"""Pure fold functions of the monitor: entity version → contributions, and change → deltas."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from jeugdstroom.common import geography
from jeugdstroom.common.contracts.changes import AchttienChange, AchttienFact, VerblijfSegment, VerblijfSegmentChange
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingChange, AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.beschikking import BeschikkingChange, BeschikkingEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingChange, PlaatsingEpisode
from jeugdstroom.common.contracts.kinds.separatie import SeparatieChange, SeparatieEpisode
from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.monitor import fold
from jeugdstroom.monitor.catalogue import CATALOGUE, FOLDS, SERIES, Part
from jeugdstroom.monitor.fold import Duration, Episode, Item, Key, Member, Span
from jeugdstroom.monitor.indicators import verblijf_segment
from jeugdstroom.monitor.indicators.aanmelding import (
    herhaald_beroep,
    verwijzers,
    wachtend_pleegzorg_dagen,
    wachtlijst_pleegzorg,
)
from jeugdstroom.monitor.indicators.beschikking import jeugdbescherming_actief, jeugdbescherming_duur
from jeugdstroom.monitor.indicators.plaatsing import (
    gesloten_instroom,
    gesloten_opnames,
    gesloten_verblijf,
    overplaatsingen,
    verblijf_instroom,
    voortijdig_beeindigd,
)
from jeugdstroom.monitor.indicators.separatie import gesepareerde_jeugdigen, separatie_duur, separaties
from jeugdstroom.monitor.indicators.verblijf_segment import gezinshuis_18plus, verblijf_actief, verlengde_pleegzorg
from tests.integration.monitor_stream import BY_AANBIEDER, BY_AGE, build_stream

P1, P2 = "a" * 64, "b" * 64
CET = timezone(timedelta(hours=1))
NIJMEGEN = {"gemeente": "GM0268", "jeugdregio": "JZ32", "instelling": "12345678"}


def base(pseudonym: str = P1, gemeente: str = "GM0268", birth: date = date(2010, 4, 12)) -> dict[str, Any]:
    return {"instelling": "12345678", "pseudonym": pseudonym, "gemeente": gemeente, "birth_date": birth}


def sep(
    start: datetime | None, end: datetime | None = None, vorm: str = "separeerruimte", **kw: Any
) -> SeparatieEpisode:
    return SeparatieEpisode(**base(**kw), separatie_id="s1", vorm=vorm, start=start, end=end)  # type: ignore[arg-type]


def segment(groep: str, start: date, end: date | None = None, vorm: str | None = None, **kw: Any) -> VerblijfSegment:
    return VerblijfSegment(
        **base(**kw),
        segment_id=f"{groep}:p1:{start}",
        groep=groep,  # type: ignore[arg-type]
        plaatsing_id="p1",
        vorm=vorm or (groep if groep not in ("verblijf", "gezinsgericht", "pleegzorg") else "pleegzorg_bestand"),  # type: ignore[arg-type]
        start=start,
        end=end,
    )


def plaatsing(
    start: date | None,
    end: date | None = None,
    vorm: str = "gesloten",
    reden: str | None = None,
    overplaatsing: bool = False,
    instroom: bool = True,
    instroom_gesloten: bool = True,
    **kw: Any,
) -> PlaatsingEpisode:
    return PlaatsingEpisode(
        **base(**kw),
        plaatsing_id="p1",
        provider="87654321",
        vorm=vorm,  # type: ignore[arg-type]
        start=start,
        end=end,
        reden_einde=reden,
        overplaatsing=overplaatsing,
        instroom=instroom,
        instroom_gesloten=instroom_gesloten,
    )


def aanmelding(
    day: date,
    zorgvorm: str = "pleegzorg",
    beschikking: date | None = None,
    plaatsing_date: date | None = None,
    herhaald: bool = False,
    **kw: Any,
) -> AanmeldingEpisode:
    return AanmeldingEpisode(
        **base(**kw),
        aanmelding_id="a1",
        verwijzer="wijkteam",  # type: ignore[arg-type]
        zorgvorm=zorgvorm,
        day=day,
        beschikking_date=beschikking,
        plaatsing_date=plaatsing_date,
        herhaald=herhaald,
    )


def beschikking(start: date, end: date | None = None, soort: str = "ots") -> BeschikkingEpisode:
    return BeschikkingEpisode(**base(), beschikking_id="b1", soort=soort, start=start, end=end)  # type: ignore[arg-type]


def change(n: int, before: Any, after: Any) -> AnyChange:
    entity = before or after
    cls = {
        SeparatieEpisode: SeparatieChange,
        PlaatsingEpisode: PlaatsingChange,
        AanmeldingEpisode: AanmeldingChange,
        BeschikkingEpisode: BeschikkingChange,
        AchttienFact: AchttienChange,
        VerblijfSegment: VerblijfSegmentChange,
    }[type(entity)]
    return cls(change_id=f"c{n}", pseudonym=entity.pseudonym, before=before, after=after)  # type: ignore[no-any-return]


def fold_all(changes: list[AnyChange]) -> Counter[Key]:
    """Accumulate deltas of several batches, as the repository does."""
    total: Counter[Key] = Counter()
    for ch in changes:
        total.update(fold.deltas([ch], FOLDS))
    return Counter({k: v for k, v in total.items() if v})


def stock_on(deltas: Counter[Key], series: str, day: date) -> int:
    return sum(v for k, v in deltas.items() if k.series == series and k.day <= day)


def of(deltas: Counter[Key], series: str) -> dict[Key, int]:
    return {k: v for k, v in deltas.items() if k.series == series}


# -- separatie --------------------------------------------------------------------------------------
def test_separatie_day_is_the_local_start_date_and_duration_is_floored_minutes() -> None:
    start = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 1 April 01:30 in Amsterdam (CEST)
    ep = sep(start, start + timedelta(minutes=90, seconds=59))
    assert separaties(ep) == [Item(date(2026, 4, 1), fold.dims({**NIJMEGEN, "vorm": "separeerruimte"}))]
    assert gesepareerde_jeugdigen(ep) == [Member(date(2026, 4, 1), fold.dims(NIJMEGEN), P1)]
    assert separatie_duur(ep) == [
        Duration(
            date(2026, 4, 1),
            fold.dims({**NIJMEGEN, "vorm": "separeerruimte"}),
            90,
        )
    ]
    # Without a start nothing counts; without an end no duration.
    assert separaties(sep(None, start)) == [] and separatie_duur(sep(start)) == []


@pytest.mark.parametrize(
    ("gemeente", "when"),
    [
        ("GM0241", datetime(2014, 6, 1, 10, tzinfo=UTC)),  # Groesbeek, before its 2015/2016 herindeling
        ("GM0241", datetime(2026, 6, 1, 10, tzinfo=UTC)),  # the old code still sent years later
        ("GM1945", datetime(2014, 6, 1, 10, tzinfo=UTC)),  # the successor's code before it existed
    ],
)
def test_a_merged_gemeente_counts_in_its_current_successor_whatever_the_date(gemeente: str, when: datetime) -> None:
    """docs/geography.md: events are counted in the current indeling, as CBS republishes its series."""
    [item] = separaties(sep(when, gemeente=gemeente))
    dims = dict(item.dims)
    assert (dims["gemeente"], dims["jeugdregio"]) == ("GM1945", "JZ32")  # Berg en Dal, Rijk van Nijmegen


def test_a_gemeente_outside_rijk_van_nijmegen_has_its_jeugdregio_and_unknown_codes_stay_onbekend() -> None:
    start = datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert dict(separaties(sep(start, gemeente="GM0599"))[0].dims)["jeugdregio"] == "JZ29"  # Rotterdam, Rijnmond
    assert dict(separaties(sep(start, gemeente="GM0457"))[0].dims)["gemeente"] == "GM0363"  # Weesp → Amsterdam
    dims = dict(separaties(sep(start, gemeente="GM9999"))[0].dims)
    assert (dims["gemeente"], dims["jeugdregio"]) == ("onbekend", "onbekend")


def test_end_added_later_keeps_the_count_and_adds_the_duration() -> None:
    start = datetime(2026, 2, 3, 10, 0, tzinfo=CET)
    v1, v2 = sep(start), sep(start, start + timedelta(minutes=45))
    deltas = fold_all([change(1, None, v1), change(2, v1, v2)])
    assert sum(of(deltas, "separaties").values()) == 1
    assert of(deltas, "separatie_duur") == {
        Key(
            "duration",
            "separatie_duur",
            date(2026, 2, 3),
            (*sorted(NIJMEGEN.items()), ("vorm", "separeerruimte")),
            value=45,
        ): 1
    }


def test_compensating_change_undoes_exactly() -> None:
    start = datetime(2026, 2, 3, 10, 0, tzinfo=CET)
    v1 = sep(start, start + timedelta(minutes=20))
    assert fold_all([change(1, None, v1), change(2, v1, None)]) == Counter()
    # a batch with both changes nets to nothing as well
    assert fold.deltas([change(1, None, v1), change(2, v1, None)], FOLDS) == {}


def test_vervangen_moves_the_contribution_to_the_replacement() -> None:
    start = datetime(2026, 2, 3, 10, 0, tzinfo=CET)
    wrong = sep(start, vorm="separeerruimte", gemeente="GM0268")
    right = sep(start + timedelta(days=40), vorm="eigen_kamer_op_slot", gemeente="GM0363")
    deltas = of(fold_all([change(1, None, wrong), change(2, wrong, right)]), "separaties")
    assert deltas == {
        Key(
            "count",
            "separaties",
            date(2026, 3, 15),
            (
                ("gemeente", "GM0363"),
                ("instelling", "12345678"),
                ("jeugdregio", "JZ13"),
                ("vorm", "eigen_kamer_op_slot"),
            ),
        ): 1
    }


def test_distinct_children_across_days() -> None:
    d1 = sep(datetime(2026, 5, 1, 9, tzinfo=CET))
    d2 = SeparatieEpisode(**{**d1.model_dump(), "separatie_id": "s2", "start": datetime(2026, 5, 20, 9, tzinfo=CET)})
    other = sep(datetime(2026, 5, 20, 9, tzinfo=CET), pseudonym=P2)
    deltas = of(fold_all([change(1, None, d1), change(2, None, d2), change(3, None, other)]), "gesepareerde_jeugdigen")
    assert {(k.day, k.member) for k in deltas} == {
        (date(2026, 5, 1), P1),
        (date(2026, 5, 20), P1),
        (date(2026, 5, 20), P2),
    }
    in_may = {k.member for k, n in deltas.items() if n > 0 and k.day.month == 5}
    assert len(in_may) == 2  # three items, two children


# -- plaatsing --------------------------------------------------------------------------------------
def test_stock_value_at_a_past_date() -> None:
    v1 = plaatsing(date(2025, 1, 10))
    v2 = plaatsing(date(2025, 1, 10), date(2025, 3, 5), reden="volgens_plan")
    s1, s2 = segment("gesloten", date(2025, 1, 10)), segment("gesloten", date(2025, 1, 10), date(2025, 3, 5))
    deltas = fold_all([change(1, None, v1), change(2, v1, v2), change(3, None, s1), change(4, s1, s2)])
    assert stock_on(deltas, "gesloten_actief", date(2025, 1, 9)) == 0
    assert stock_on(deltas, "gesloten_actief", date(2025, 1, 10)) == 1
    assert stock_on(deltas, "gesloten_actief", date(2025, 3, 4)) == 1
    assert stock_on(deltas, "gesloten_actief", date(2025, 3, 5)) == 0  # the end day is not counted
    assert stock_on(deltas, "verblijf_actief", date(2025, 2, 1)) == 1
    assert stock_on(deltas, "verblijf_jeugdigen", date(2025, 2, 1)) == 0  # only from the "verblijf" segments
    assert sum(of(deltas, "gesloten_instroom").values()) == 1
    assert of(deltas, "verblijf_instroom") == {
        Key(
            "count",
            "verblijf_instroom",
            date(2025, 1, 10),
            # born 2010-04-12; geslacht onbekend (not given); aanbieder: the provider, not the sender
            fold.dims({**NIJMEGEN, "vorm": "gesloten", "leeftijdsklasse": "12-18", "geslacht": "onbekend",
                       "aanbieder": "87654321"}),
        ): 1
    }
    assert of(deltas, "gesloten_duur") == {
        Key(
            "duration",
            "gesloten_duur",
            date(2025, 3, 5),
            fold.dims({**NIJMEGEN, "aanbieder": "87654321"}),
            value=54,
        ): 1
    }
    assert [k.day for k in of(deltas, "plaatsingen_beeindigd")] == [date(2025, 3, 5)]


def test_episode_ending_on_or_before_its_start_is_never_active() -> None:
    assert fold.contributions("x", [Episode(date(2025, 1, 1), date(2025, 1, 1), ())]) == []
    assert fold.contributions("x", [Episode(date(2025, 1, 2), date(2025, 1, 1), ())]) == []


def test_voortijdig_counts_on_the_end_day_a_transfer_on_its_start_instead_of_instroom() -> None:
    v = plaatsing(date(2025, 1, 1), date(2025, 6, 30), vorm="pleegzorg_netwerk", reden="voortijdig")
    assert voortijdig_beeindigd(v) == [
        Item(date(2025, 6, 30), fold.dims({**NIJMEGEN, "vorm": "pleegzorg_netwerk"}))
    ]
    assert overplaatsingen(v) == []
    assert verblijf_instroom(v) == [Item(date(2025, 1, 1), fold.dims({**NIJMEGEN, "vorm": "pleegzorg_netwerk"}))]
    o = plaatsing(date(2025, 1, 1), date(2025, 6, 30), vorm="residentieel", reden="overplaatsing", overplaatsing=True)
    assert overplaatsingen(o) == [] and voortijdig_beeindigd(o) == []
    t = plaatsing(date(2025, 7, 2), vorm="gesloten", instroom=False, instroom_gesloten=True)
    assert overplaatsingen(t) == [Item(date(2025, 7, 2), fold.dims({**NIJMEGEN, "vorm": "gesloten"}))]
    assert verblijf_instroom(t) == []
    assert gesloten_instroom(t) == [Item(date(2025, 7, 2), fold.dims(NIJMEGEN))]  # enters gesloten
    assert gesloten_instroom(plaatsing(date(2025, 7, 2), instroom=False, instroom_gesloten=False)) == []


def test_verlengde_pleegzorg_is_pleegzorg_from_18_to_the_configured_age_gezinshuis_apart() -> None:
    birth = date(2007, 6, 15)
    open_ = segment("pleegzorg", date(2020, 1, 1), birth=birth)
    assert verlengde_pleegzorg(open_) == [Episode(date(2025, 6, 15), date(2028, 6, 15), fold.dims(NIJMEGEN))]
    assert gezinshuis_18plus(open_) == []
    assert verlengde_pleegzorg(segment("pleegzorg_bestand", date(2020, 1, 1), birth=birth)) == []  # per form
    ended = segment("gezinshuis", date(2020, 1, 1), date(2026, 1, 1), birth=birth)
    assert verlengde_pleegzorg(ended) == []  # v1 counted gezinshuis as verlengde pleegzorg
    assert gezinshuis_18plus(ended) == [Episode(date(2025, 6, 15), date(2026, 1, 1), fold.dims(NIJMEGEN))]
    on_birthday = segment("pleegzorg", date(2020, 1, 1), date(2025, 6, 15), birth=birth)
    assert verlengde_pleegzorg(on_birthday) == []  # ended on the birthday: never 18 in care
    leap = segment("pleegzorg", date(2020, 1, 1), birth=date(2008, 2, 29))
    assert verlengde_pleegzorg(leap)[0].start == date(2026, 3, 1)
    try:
        fold.configure(23)
        assert verlengde_pleegzorg(open_)[0].end == date(2030, 6, 15)
        assert gezinshuis_18plus(ended)[0].end == date(2026, 1, 1)
        with pytest.raises(ValueError):
            fold.configure(24)
    finally:
        fold.configure(21)


def test_children_stocks_come_from_their_segment_group() -> None:
    day = date(2025, 5, 1)
    every = {g: segment(g, day) for g in ("verblijf", "gezinsgericht", "pleegzorg", "gezinshuis", "gesloten")}
    by_series = {
        series: [g for g, seg in every.items() if getattr(verblijf_segment, series)(seg)]
        for series in ("verblijf_actief", "verblijf_jeugdigen", "verblijf_gezinsgericht", "gesloten_actief")
    }
    assert by_series == {
        "verblijf_actief": ["gezinshuis", "gesloten"],
        "verblijf_jeugdigen": ["verblijf"],
        "verblijf_gezinsgericht": ["gezinsgericht"],
        "gesloten_actief": ["gesloten"],
    }
    assert verblijf_actief(every["gezinshuis"])[0].dims == fold.dims({**NIJMEGEN, "vorm": "gezinshuis"})


def test_achttien_fact_feeds_both_ratio_parts() -> None:
    fact = AchttienFact(
        **base(), plaatsing_id="p1", vorm="pleegzorg_bestand", birthday=date(2026, 4, 12), continues=True
    )
    deltas = fold_all([change(1, None, fact)])
    [(key, n)] = of(deltas, "achttien_in_pleegzorg").items()
    assert key.day == date(2026, 4, 12) and dict(key.dims)["continues"] == "true" and n == 1
    ratio = CATALOGUE["continuering_18"]
    assert ratio.numerator is not None and ratio.numerator.where == {"continues": frozenset({"true"})}


# -- aanmelding -------------------------------------------------------------------------------------
def test_wachtlijst_ends_when_the_first_plaatsing_starts() -> None:
    v1 = aanmelding(date(2025, 3, 1))
    v2 = aanmelding(date(2025, 3, 1), beschikking=date(2025, 2, 20), plaatsing_date=date(2025, 4, 10))
    deltas = fold_all([change(1, None, v1), change(2, v1, v2)])
    assert stock_on(deltas, "wachtlijst_pleegzorg", date(2025, 4, 9)) == 1
    assert stock_on(deltas, "wachtlijst_pleegzorg", date(2025, 4, 10)) == 0
    gr = (("aanbieder", "onbekend"), ("gemeente", "GM0268"), ("jeugdregio", "JZ32"), ("urgent", "false"),
          ("zorgvorm", "pleegzorg"))  # the aanmelding names no aanbieder
    assert of(deltas, "wachttijd_plaatsing") == {
        Key("duration", "wachttijd_plaatsing", date(2025, 4, 10), gr, value=40): 1
    }
    # a beschikking before the aanmelding day: waiting time clamped to 0, on the beschikking date
    assert of(deltas, "wachttijd_beschikking") == {
        Key("duration", "wachttijd_beschikking", date(2025, 2, 20), gr, value=0): 1
    }
    assert wachtlijst_pleegzorg(aanmelding(date(2025, 3, 1), zorgvorm="ambulant")) == []
    # the span of the wait: keyed by its start, with the end day (as an ordinal) so a read knows who still waits
    assert of(deltas, "wachtend_pleegzorg_dagen") == {
        Key("span", "wachtend_pleegzorg_dagen", date(2025, 3, 1), gr[:4], value=date(2025, 4, 10).toordinal()): 1
    }


def test_wait_ends_at_the_closing_and_is_split_by_urgent() -> None:
    urgent = aanmelding(date(2025, 3, 1)).model_copy(update={"urgent": True})
    closed = urgent.model_copy(update={"afgesloten_op": date(2025, 3, 20), "reden_afsluiting": "geplaatst_elders"})
    deltas = fold_all([change(1, None, urgent), change(2, urgent, closed)])
    assert stock_on(deltas, "wachtlijst_pleegzorg", date(2025, 3, 19)) == 1
    assert stock_on(deltas, "wachtlijst_pleegzorg", date(2025, 3, 20)) == 0
    assert {dict(k.dims)["urgent"] for k in of(deltas, "wachtlijst_pleegzorg")} == {"true"}
    assert of(deltas, "wachttijd_plaatsing") == {}  # closed without a placement: no completed wait to a placement
    # a placement before the closing ends the wait at the placement
    placed = closed.model_copy(update={"plaatsing_date": date(2025, 3, 10)})
    assert wachtlijst_pleegzorg(placed)[0].end == date(2025, 3, 10)
    # open: the span has no end (value 0)
    [(key, n)] = fold.contributions("wachtend_pleegzorg_dagen", wachtend_pleegzorg_dagen(urgent))
    assert (key.table, key.day, key.value, n) == ("span", date(2025, 3, 1), 0, 1)
    # a wait that ends on its first day never waited
    same_day = urgent.model_copy(update={"afgesloten_op": date(2025, 3, 1), "reden_afsluiting": "anders"})
    assert fold.contributions("wachtend_pleegzorg_dagen", wachtend_pleegzorg_dagen(same_day)) == []
    assert of(fold_all([change(3, None, same_day)]), "wachtend_pleegzorg_dagen") == {}


def test_verwijzers_and_herhaald_beroep() -> None:
    a = aanmelding(date(2025, 3, 1), herhaald=True)
    assert verwijzers(a) == [
        Item(
            date(2025, 3, 1),
            fold.dims({"gemeente": "GM0268", "jeugdregio": "JZ32", "verwijzer": "wijkteam"}),
        )
    ]
    assert herhaald_beroep(a) == [
        Item(date(2025, 3, 1), fold.dims({"gemeente": "GM0268", "jeugdregio": "JZ32"}))
    ]
    assert herhaald_beroep(aanmelding(date(2025, 3, 1))) == []


# -- beschikking ------------------------------------------------------------------------------------
def test_jeugdbescherming_by_soort_and_ots_duration() -> None:
    v1 = beschikking(date(2025, 1, 1))
    v2 = beschikking(date(2025, 1, 1), date(2025, 12, 1))
    deltas = fold_all([change(1, None, v1), change(2, v1, v2)])
    # v2: a member span of the child (start, end) per cell; the correction replaced the open one exactly
    spans = of(deltas, "jeugdbescherming_actief")
    assert [(k.table, k.day, k.value, k.member, n) for k, n in spans.items()] == [
        ("member_span", date(2025, 1, 1), date(2025, 12, 1).toordinal(), v2.pseudonym, 1)
    ]
    assert {k for k in of(deltas, "jeugdbescherming_in_periode")} == {
        k._replace(series="jeugdbescherming_in_periode") for k in spans
    }
    assert [(k.day, k.value) for k in of(deltas, "jeugdbescherming_duur")] == [(date(2025, 12, 1), 334)]
    assert jeugdbescherming_actief(beschikking(date(2025, 1, 1), soort="toewijzing")) == []
    voogdij = jeugdbescherming_duur(beschikking(date(2025, 1, 1), date(2025, 2, 1), soort="voogdij"))
    assert [(d.value, dict(d.dims)["soort"], dict(d.dims)["gemeente"]) for d in voogdij] == [(31, "voogdij", "GM0268")]
    assert jeugdbescherming_duur(beschikking(date(2025, 1, 1), date(2025, 2, 1), soort="voorlopige_ots")) == []


def test_argus_interventions_forms_and_the_rates_series() -> None:
    first = sep(datetime(2026, 3, 1, 10, 0, tzinfo=CET), vorm="separeerruimte")
    follow = first.model_copy(update={"separatie_id": "s2", "vervolg": True, "vorm": "afzonderingsruimte"})
    deltas = fold_all([change(1, None, first), change(2, None, follow)])
    assert sum(of(deltas, "separatie_interventies").values()) == 1  # the continuation is the same intervention
    assert sum(of(deltas, "separaties").values()) == 2  # the raw episode count stays
    assert sum(of(deltas, "separaties_separeerruimte").values()) == 1
    assert [dict(k.dims)["vorm"] for k in of(deltas, "afzonderingen_overig")] == ["afzonderingsruimte"]
    closed = plaatsing(date(2026, 1, 1), date(2026, 2, 1), vorm="gesloten")
    assert gesloten_verblijf(closed) == [
        Episode(date(2026, 1, 1), date(2026, 2, 1), (("instelling", "87654321"),))
    ]
    assert gesloten_opnames(closed) == [Item(date(2026, 1, 1), (("instelling", "87654321"),))]
    assert gesloten_opnames(plaatsing(date(2026, 1, 1), vorm="residentieel")) == []
    ratio = CATALOGUE["separaties_per_1000_verblijfsdagen"]
    assert (ratio.per, ratio.denominator) == (1000, Part("gesloten_verblijf", days=True))


def test_catalogue_covers_every_series_with_a_fold() -> None:
    assert len(CATALOGUE) == 37
    for s in SERIES.values():
        assert (s.id, s.fold) in FOLDS[s.entity]


# -- the batch fold is the sum of its definition -----------------------------------------------------
def stream_changes(seed: int, children: int) -> list[AnyChange]:
    """The mixed stream of the monitor tests (every entity, corrections, withdrawals), decoded as the monitor does."""
    adapter: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)
    return [adapter.validate_json(orjson.dumps(raw)) for _, raw in build_stream(seed, children).changes]


def straightforward_deltas(changes: list[AnyChange]) -> dict[Key, int]:
    """The definition, one item at a time: every series' items of ``after`` minus those of ``before``, each item
    keyed by its dims sorted by name (whatever order they come in)."""
    total: Counter[Key] = Counter()
    for ch in changes:
        for series, fn in FOLDS[ch.entity]:
            for version, sign in ((ch.before, -1), (ch.after, 1)):
                if version is None:
                    continue
                for it in fn(version):
                    dims = tuple(sorted(dict(it.dims).items()))
                    if isinstance(it, Episode):
                        if it.end is None or it.start < it.end:
                            total[Key("stock", series, it.start, dims)] += sign
                            if it.end is not None:
                                total[Key("stock", series, it.end, dims)] -= sign
                    elif isinstance(it, Member):
                        total[Key("member", series, it.day, dims, member=it.pseudonym)] += sign
                    elif isinstance(it, Duration):
                        total[Key("duration", series, it.day, dims, value=it.value)] += sign
                    elif isinstance(it, Span):
                        if it.end is None or it.start < it.end:
                            end = 0 if it.end is None else it.end.toordinal()
                            total[Key("span", series, it.start, dims, value=end)] += sign
                    elif isinstance(it, fold.MemberSpan):
                        if it.end is None or it.start < it.end:
                            end = 0 if it.end is None else it.end.toordinal()
                            total[Key("member_span", series, it.start, dims, member=it.pseudonym, value=end)] += sign
                    else:
                        total[Key("count", series, it.day, dims)] += sign
    return {k: v for k, v in total.items() if v}


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_deltas_equal_the_item_by_item_definition_on_a_mixed_stream(seed: int) -> None:
    changes = stream_changes(seed, 300)
    rng = random.Random(seed)
    rng.shuffle(changes)  # (additive: order within and across batches does not matter)
    total: Counter[Key] = Counter()
    i = 0
    while i < len(changes):
        batch = changes[i : i + rng.choice([1, 2, 7, 50, 400])]
        i += len(batch)
        got = fold.deltas(batch, FOLDS)
        assert got == straightforward_deltas(batch)
        assert all(type(k) is Key and v != 0 for k, v in got.items())
        total.update(got)
    assert {k: v for k, v in total.items() if v} == straightforward_deltas(changes)
    assert {k.table for k in total} == {"count", "stock", "member", "duration", "span", "member_span"}  # every path


def test_items_carry_their_series_dims_in_canonical_order() -> None:
    """Dims are stored as built (their dims_key is the table key): sorted by name, exactly the series' dims."""
    seen: set[str] = set()
    for ch in stream_changes(3, 200):
        for version in (ch.before, ch.after):
            if version is None:
                continue
            for series, fn in FOLDS[ch.entity]:
                for it in fn(version):
                    assert [n for n, _ in it.dims] == sorted(SERIES[series].dims), series
                    if "jeugdregio" in SERIES[series].dims:  # (the separatie rates are per provider only)
                        assert dict(it.dims)["jeugdregio"] == geography.jeugdregio(version.gemeente)
                    seen.add(series)
    assert seen == set(SERIES)


# -- leeftijdsklasse --------------------------------------------------------------------------------
def test_age_class_is_the_cbs_class_on_the_items_day() -> None:
    birth = date(2008, 2, 29)  # birthdays in other years on 1 March
    assert fold.leeftijdsklasse(birth, date(2012, 2, 28)) == "0-4"  # the day before the 4th birthday
    assert fold.leeftijdsklasse(birth, date(2012, 2, 29)) == "4-12"
    assert fold.leeftijdsklasse(birth, date(2026, 2, 28)) == "12-18"
    assert fold.leeftijdsklasse(birth, date(2026, 3, 1)) == "18-23"
    assert fold.leeftijdsklasse(birth, date(2031, 3, 1)) == "23+"
    assert fold.leeftijdsklasse(birth, date(2007, 1, 1)) == "0-4"  # before birth: the youngest class


def test_only_the_indicators_published_by_age_have_the_age_class() -> None:
    """The entries' ``by_age`` flags give exactly the indicators the test's own reference publishes by age."""
    with_age = {i for i, ind in CATALOGUE.items() if "leeftijdsklasse" in ind.dimensions}
    assert with_age == set(BY_AGE)
    assert "leeftijdsklasse" in SERIES["verblijf_jeugdigen"].dims
    assert "leeftijdsklasse" not in SERIES["verblijf_gezinsgericht"].dims  # internal: the ratio sums over it


def test_a_stock_episode_is_cut_where_the_age_class_changes() -> None:
    """A stock is read on a day, so the class of an active episode is the child's class on the day read."""
    birth = date(2008, 6, 15)
    v = plaatsing(date(2026, 1, 10), reden=None, vorm="pleegzorg_bestand", birth=birth)
    seg = segment("verblijf", date(2026, 1, 10), birth=birth)
    deltas = fold_all([change(1, None, v), change(2, None, seg)])
    young = [k for k in deltas if k.series == "verblijf_jeugdigen" and dict(k.dims)["leeftijdsklasse"] == "12-18"]
    assert sorted((k.day, deltas[k]) for k in young) == [(date(2026, 1, 10), 1), (date(2026, 6, 15), -1)]
    adult = [k for k in deltas if k.series == "verblijf_jeugdigen" and dict(k.dims)["leeftijdsklasse"] == "18-23"]
    assert sorted((k.day, deltas[k]) for k in adult) == [(date(2026, 6, 15), 1), (date(2031, 6, 15), -1)]  # open: 23+
    assert stock_on(deltas, "verblijf_jeugdigen", date(2026, 6, 15)) == 1  # the total does not move
    # the item of a count falls in the class of its own day
    assert {dict(k.dims)["leeftijdsklasse"] for k in deltas if k.series == "verblijf_instroom"} == {"12-18"}
    assert fold.age_spans(birth, date(2026, 7, 1), date(2026, 7, 1)) == [(date(2026, 7, 1), date(2026, 7, 1), "18-23")]


# -- geslacht, aanbieder ----------------------------------------------------------------------------
def test_geslacht_is_a_dimension_of_the_indicators_by_age_and_aanbieder_of_the_placement_ones() -> None:
    assert {i for i, ind in CATALOGUE.items() if "geslacht" in ind.dimensions} == set(BY_AGE)
    assert {i for i, ind in CATALOGUE.items() if "aanbieder" in ind.dimensions} == set(BY_AANBIEDER)
    assert "aanbieder" not in CATALOGUE["separaties"].dimensions and "aanbieder" not in CATALOGUE["verwijzers"].dimensions


def test_geslacht_and_aanbieder_values_come_from_the_entity() -> None:
    seg = VerblijfSegment(**{**segment("verblijf", date(2026, 1, 10)).model_dump(), "geslacht": "vrouw",
                             "aanbieder": "87654321"})
    old = segment("verblijf", date(2026, 1, 10))  # a segment from before the fields existed
    named = AanmeldingEpisode(**{**aanmelding(date(2026, 1, 5), plaatsing_date=date(2026, 2, 4)).model_dump(),
                                 "aanbieder": "11112222", "geslacht": "man"})
    pl = plaatsing(date(2026, 1, 10), reden=None, vorm="residentieel")
    deltas = fold_all([change(1, None, seg), change(2, None, old), change(3, None, named), change(4, None, pl)])

    def dims_of(series: str) -> list[dict[str, str]]:
        return sorted((dict(k.dims) for k in deltas if k.series == series), key=lambda d: sorted(d.items()))

    jeugdigen = dims_of("verblijf_jeugdigen")
    assert {(d["geslacht"], d["aanbieder"]) for d in jeugdigen} == {("vrouw", "87654321"), ("onbekend", "onbekend")}
    [wait] = dims_of("wachttijd_plaatsing")
    assert wait["aanbieder"] == "11112222" and "geslacht" not in wait  # waiting times are not by geslacht
    assert {d["geslacht"] for d in dims_of("wachtlijst_pleegzorg")} == {"man"}
    [instroom] = dims_of("verblijf_instroom")
    assert instroom["aanbieder"] == "87654321" and instroom["instelling"] == "12345678"  # the provider, not the sender
    # a changed geslacht moves the child's items from one cell to the other, exactly
    seg_man = VerblijfSegment(**{**seg.model_dump(), "geslacht": "man"})
    moved = fold_all([change(1, None, seg), change(5, seg, seg_man)])
    assert {dict(k.dims)["geslacht"] for k in moved if k.series == "verblijf_jeugdigen"} == {"man"}


def test_the_processors_prepared_fold_serves_only_the_items_it_folded() -> None:
    """MonitorProcessor.prepare folds a batch while its dedupe runs; apply may use that fold only when the fresh
    items are exactly those (a batch with duplicates is folded again from its fresh items)."""
    from pydantic import SecretStr

    from jeugdstroom.common.consumer import Decoded
    from jeugdstroom.common.kafka import InRecord
    from jeugdstroom.common.settings import Settings
    from jeugdstroom.monitor.processor import MonitorProcessor

    s1 = sep(datetime(2024, 3, 1, 10, tzinfo=UTC), datetime(2024, 3, 1, 11, tzinfo=UTC))
    s2 = sep(datetime(2024, 4, 2, 10, tzinfo=UTC))
    items = [Decoded(InRecord("t", 0, i, None, b""), f"c{i}", change(i, None, s)) for i, s in enumerate((s1, s2))]
    processor = MonitorProcessor(Settings(operator_token=SecretStr("x")))
    processor.prepare(items)
    fresh = items[1:]  # the first was processed before
    assert processor.deltas(fresh) == fold.net([items[1].item], FOLDS) != fold.net([d.item for d in items], FOLDS)
    processor.prepare(items)
    assert processor.deltas(list(items)) == fold.net([d.item for d in items], FOLDS)
    assert processor.deltas(list(items)) == fold.net([d.item for d in items], FOLDS)  # folded anew: nothing prepared
