"""The ground truth: every indicator of docs/indicators.md, straight from what the senders sent.

Deliberately plain and separate from the registry and the monitor (it shares no code with them): for one
child at a time it takes the events as sent, drops the invalid ones (intake rejects them), counts each
(sender, id) once, applies the corrections (a withdrawn event is gone, a replaced event is its
replacement), describes each episode by its latest event, and adds the child's items to per-day
aggregates. ``result`` rolls those up into the rows of every period, with suppression off.

Children are independent for every indicator except one global input, the registry's watermark (the
latest event time seen), which only decides whether an ``achttien_in_pleegzorg`` fact of a placement
that is still open exists; such facts wait until ``result``.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jeugdstroom.common import geography
from jeugdstroom.simulator.kinds import INST, KINDS, G, R

V = TypeVar("V")

AMS = ZoneInfo("Europe/Amsterdam")
PERIODS = ("day", "month", "half_year", "year")
FAMILY_FORMS = ("pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis")
FOSTER_FORMS = ("pleegzorg_bestand", "pleegzorg_netwerk")
VERLENGDE_TOT = 21  # verlengde pleegzorg and gezinshuis 18+: from the 18th up to this birthday
CONTINUERING_DAYS = 30  # continuering_18: still in pleegzorg this many days after the 18th birthday
PROTECTION = ("ots", "voorlopige_ots", "voogdij")
OVERPLAATSING_DAYS = 31
HERHAALD_DAYS = 365
WATERMARK_GRACE_DAYS = 7

#: id → (kind, dimensions), in the order of docs/indicators.md; the indicators of the types with their own module
#: (simulator/kinds) come before those of the aanmeldingen.
CATALOGUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "gesloten_actief": ("stock", (G, R, INST)),
    "gesloten_instroom": ("count", (G, R, INST)),
    "gesloten_duur": ("duration", (G, R, INST)),
    "verblijf_actief": ("stock", (G, R, INST, "vorm")),
    "verblijf_jeugdigen": ("stock", (G, R, INST)),
    "aandeel_gezinsgericht": ("ratio", (G, R)),
    "verblijf_instroom": ("count", (G, R, INST, "vorm")),
    "overplaatsingen": ("count", (G, R, INST, "vorm")),
    "voortijdig_beeindigd": ("count", (G, R, INST, "vorm")),
    "voortijdig_aandeel": ("ratio", (G, R, INST)),
    "verlengde_pleegzorg": ("stock", (G, R, INST)),
    "gezinshuis_18plus": ("stock", (G, R, INST)),
    "continuering_18": ("ratio", (G, R, INST)),
    "wachtlijst_pleegzorg": ("stock", (G, R, "urgent")),
    "wachtend_pleegzorg_dagen": ("waiting", (G, R, "urgent")),
    "wachttijd_beschikking": ("duration", (G, R, "urgent", "zorgvorm")),
    "wachttijd_plaatsing": ("duration", (G, R, "urgent", "zorgvorm")),
    "jeugdbescherming_actief": ("stock", (G, R, INST, "soort")),
    "jeugdbescherming_duur": ("duration", (G, R, INST, "soort")),
    "jeugdbescherming_in_periode": ("distinct", (G, R, INST, "soort")),
    "verblijf_jeugdigen_in_periode": ("distinct", (G, R, INST)),
    "verblijf_in_periode": ("distinct", (G, R, INST, "vorm")),
    "gesloten_in_periode": ("distinct", (G, R, INST)),
    **{indicator: spec for kind in KINDS for indicator, spec in kind.indicators.items()},
    "verwijzers": ("count", (G, R, "verwijzer")),
    "herhaald_beroep": ("count", (G, R)),
}
AGE = "leeftijdsklasse"
#: The indicators about children that CBS publishes by age: their last dimension is the child's CBS age class on
#: the item's day (a stock's: on the day read).
BY_AGE = frozenset(
    {
        "gesloten_actief",
        "verblijf_actief",
        "verblijf_jeugdigen",
        "jeugdbescherming_actief",
        "jeugdbescherming_in_periode",
        "verblijf_jeugdigen_in_periode",
        "verblijf_in_periode",
        "gesloten_in_periode",
        "gesloten_instroom",
        "verblijf_instroom",
        "wachtlijst_pleegzorg",
    }
).union(*(kind.by_age for kind in KINDS))
CATALOGUE = {ind: (kind, (*names, AGE) if ind in BY_AGE else names) for ind, (kind, names) in CATALOGUE.items()}
GESLACHT, AANBIEDER = "geslacht", "aanbieder"
#: The indicators by geslacht (the child's latest known one: man, vrouw, onbekend): those by age class.
BY_GESLACHT = BY_AGE
#: The placement indicators and the waiting times/list by aanbieder: the provider of the placement (of the placement
#: a child's day is attributed to), or the one the aanmelding names ("onbekend" where it names none).
BY_AANBIEDER = frozenset(
    {
        "gesloten_actief",
        "gesloten_instroom",
        "gesloten_duur",
        "verblijf_actief",
        "verblijf_jeugdigen",
        "verblijf_instroom",
        "overplaatsingen",
        "voortijdig_beeindigd",
        "verlengde_pleegzorg",
        "gezinshuis_18plus",
        "wachtlijst_pleegzorg",
        "wachtend_pleegzorg_dagen",
        "wachttijd_beschikking",
        "wachttijd_plaatsing",
    }
).union(*(kind.by_aanbieder for kind in KINDS))
CATALOGUE = {
    ind: (kind, (*names, *((GESLACHT,) if ind in BY_GESLACHT else ()), *((AANBIEDER,) if ind in BY_AANBIEDER else ())))
    for ind, (kind, names) in CATALOGUE.items()
}
#: The first age (whole years) of each CBS class above the youngest, with the class it starts.
AGE_STARTS = ((4, "4-12"), (12, "12-18"), (18, "18-23"), (23, "23+"))
#: Ratios built from two stocks (the others are built from two counts, except the one below).
STOCK_RATIOS = ("aandeel_gezinsgericht",)
#: Ratios whose denominator is the sum of a stock over the period's days (verblijfsdagen).
DAY_RATIOS = frozenset[str]().union(*(kind.day_ratios for kind in KINDS))
#: A ratio's value is numerator / denominator × this.
RATIO_PER = {indicator: per for kind in KINDS for indicator, per in kind.ratio_per.items()}
#: Indicators counting distinct children per cell from the days they are active: on the day read (a stock of
#: children whose maatregelen may overlap: jeugdbescherming_actief v2) or on any day of the period (*_in_periode).
CHILD_DAYS = frozenset(
    {
        "jeugdbescherming_actief",
        "jeugdbescherming_in_periode",
        "verblijf_jeugdigen_in_periode",
        "verblijf_in_periode",
        "gesloten_in_periode",
    }
).union(*(kind.child_days for kind in KINDS))
#: The stock whose segments also give the children "in de periode" (the same attributed days).
IN_PERIODE = {
    "verblijf_jeugdigen": "verblijf_jeugdigen_in_periode",
    "verblijf_actief": "verblijf_in_periode",
    "gesloten_actief": "gesloten_in_periode",
}

Dims = tuple[str, ...]


def local_date(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(AMS).date()


def birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # born on 29 February
        return date(birth.year + years, 3, 1)


def period_start(kind: str, day: date) -> date:
    if kind == "day":
        return day
    if kind == "month":
        return day.replace(day=1)
    if kind == "half_year":
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


def period_last(kind: str, start: date) -> date:
    if kind == "day":
        return start
    if kind == "year":
        return date(start.year, 12, 31)
    months = 1 if kind == "month" else 6
    month = start.month + months
    year = start.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1) - timedelta(days=1)


def period_starts(kind: str, first: date, last: date) -> Iterator[date]:
    current = period_start(kind, first)
    while current <= last:
        yield current
        current = period_last(kind, current) + timedelta(days=1)


def nearest_rank(values: list[int], p: float) -> int:
    """The nearest-rank p-quantile of sorted ``values``: v[ceil(p·n)] (1-based)."""
    return values[max(1, math.ceil(p * len(values))) - 1]


@dataclass(slots=True)
class Episode:
    """An entity as its latest event describes it."""

    sender: str
    gemeente: str
    data: dict[str, Any]


class Truth:
    """Per-day aggregates of every indicator; feed it children with ``add_child``, read it with ``result``."""

    def __init__(
        self,
        grace_days: int = WATERMARK_GRACE_DAYS,
        verlengde_tot: int = VERLENGDE_TOT,
        continuering_days: int = CONTINUERING_DAYS,
    ) -> None:
        self.grace_days = grace_days
        self.verlengde_tot = verlengde_tot
        self.continuering_days = continuering_days
        self.counts: dict[tuple[str, Dims], Counter[date]] = defaultdict(Counter)
        self.durations: dict[tuple[str, Dims], dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.distinct: dict[tuple[str, Dims], dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.stocks: dict[tuple[str, Dims], Counter[date]] = defaultdict(Counter)
        #: waiting items: (start, end or None) per indicator and dims
        self.waits: dict[tuple[str, Dims], list[tuple[date, date | None]]] = defaultdict(list)
        self.open_achttien: list[tuple[date, Dims]] = []
        #: days a child is active, per indicator of CHILD_DAYS and dims: (start, end or None, child)
        self.child_days: dict[tuple[str, Dims], list[tuple[date, date | None, str]]] = defaultdict(list)
        self.bsn = ""  # the child being added
        self.latest: datetime | None = None
        self.birth = date.min  # the birth date of the child being added
        self.geslacht = "onbekend"  # the latest known geslacht of the child being added

    # -- items ------------------------------------------------------------------------------------------------
    def _dims(self, indicator: str, values: dict[str, str], day: date | None = None) -> Dims:
        """The dimension values; the age class (indicators in BY_AGE) is the child's on ``day``."""
        names = CATALOGUE[indicator.split(":")[0]][1]
        if AGE not in names:
            return tuple(values[d] for d in names)
        assert day is not None, indicator
        return tuple(age_class(self.birth, day) if d == AGE else values[d] for d in names)

    def add_count(self, indicator: str, values: dict[str, str], day: date, n: int = 1) -> None:
        self.counts[indicator, self._dims(indicator, values, day)][day] += n

    def add_stock(self, indicator: str, values: dict[str, str], start: date, end: date | None) -> None:
        if end is not None and end <= start:
            return
        if indicator in BY_AGE:  # one piece per age class the child passes through while active
            cuts = [birthday(self.birth, age) for age, _ in AGE_STARTS]
            bounds = [start, *(c for c in cuts if c > start and (end is None or c < end))]
            for i, lo in enumerate(bounds):
                hi = bounds[i + 1] if i + 1 < len(bounds) else end
                piece = self.stocks[indicator, self._dims(indicator, values, lo)]
                piece[lo] += 1
                if hi is not None:
                    piece[hi] -= 1
            return
        diffs = self.stocks[indicator, self._dims(indicator, values)]
        diffs[start] += 1
        if end is not None:
            diffs[end] -= 1

    def add_child_days(self, indicator: str, values: dict[str, str], start: date, end: date | None) -> None:
        """The child is active on ``start <= d < end`` (in the cell of ``values``; cut at its class birthdays)."""
        if end is not None and end <= start:
            return
        cuts = [birthday(self.birth, age) for age, _ in AGE_STARTS] if indicator in BY_AGE else []
        bounds = [start, *(c for c in cuts if c > start and (end is None or c < end))]
        for i, lo in enumerate(bounds):
            hi = bounds[i + 1] if i + 1 < len(bounds) else end
            self.child_days[indicator, self._dims(indicator, values, lo)].append((lo, hi, self.bsn))

    def add_distinct(self, indicator: str, values: dict[str, str], day: date, member: str) -> None:
        self.distinct[indicator, self._dims(indicator, values, day)][day].add(member)

    def add_duration(self, indicator: str, values: dict[str, str], day: date, value: int) -> None:
        self.durations[indicator, self._dims(indicator, values)][day].append(value)

    # -- one child ----------------------------------------------------------------------------------------------
    def add_child(self, sent: Iterable[tuple[dict[str, Any], bool]]) -> None:
        """Add one child's events as sent (``(event, invalid)`` in send order)."""
        events: dict[tuple[str, str], dict[str, Any]] = {}
        corrections: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for event, invalid in sent:
            if invalid:
                continue  # intake rejects it: it never counts
            key = (event["sender"], event["id"])
            if key in seen:
                continue  # a duplicate counts once
            seen.add(key)
            at = datetime.fromisoformat(event["occurred_at"]).astimezone(UTC)
            self.latest = at if self.latest is None or at > self.latest else self.latest
            if event["type"] == "correctie":
                corrections.append(event)
            else:
                events[key] = event
        for corr in sorted(corrections, key=lambda c: datetime.fromisoformat(c["occurred_at"])):
            target = (corr["sender"], corr["data"]["target_id"])
            if target not in events:
                continue
            if corr["data"]["action"] == "intrekken":
                del events[target]
            else:
                events[target] = corr["data"]["replacement"]
        if events:
            self._add_story(list(events.values()))

    def _add_story(self, events: list[dict[str, Any]]) -> None:
        child = events[0]["child"]
        bsn, birth = child["bsn"], date.fromisoformat(child["birth_date"])
        self.birth, self.bsn = birth, bsn
        # the latest known geslacht: that of the latest event (event time, then sender/id) that gives man or vrouw
        known = [e for e in events if e["child"].get("geslacht") in ("man", "vrouw")]
        self.geslacht = (
            max(known, key=lambda e: (datetime.fromisoformat(e["occurred_at"]), f"{e['sender']}/{e['id']}"))["child"][
                "geslacht"
            ]
            if known
            else "onbekend"
        )
        aanmeldingen: dict[str, list[dict[str, Any]]] = defaultdict(list)
        latest: dict[tuple[str, str, str], tuple[tuple[datetime, bool], dict[str, Any]]] = {}
        # the woonplaats when the episode began: the earliest event that is not an end report (else the earliest)
        first: dict[tuple[str, str, str], tuple[tuple[bool, datetime, str], str]] = {}
        for ev in events:
            data = ev["data"]
            if ev["type"] == "aanmelding":
                aanmeldingen[data["aanmelding_id"]].append(ev)
                continue
            key = (ev["type"], ev["sender"], data[f"{ev['type']}_id"])
            at = datetime.fromisoformat(ev["occurred_at"])
            rank = (at, "end" in data)
            if key not in latest or rank > latest[key][0]:
                latest[key] = (rank, ev)
            early = (data.get("status") == "beeindigd", at, f"{ev['sender']}/{ev['id']}")
            if key not in first or early < first[key][0]:
                first[key] = (early, ev["child"]["gemeente"])
        episodes: dict[str, list[Episode]] = defaultdict(list)
        for key, (_, ev) in sorted(latest.items()):
            episodes[key[0]].append(Episode(ev["sender"], first[key][1], ev["data"]))
        plaatsingen = episodes["plaatsing"]
        beschikkingen = episodes["beschikking"]
        for pl in plaatsingen:
            self._plaatsing(pl, plaatsingen, birth)
        self._continuering(plaatsingen, birth)
        self._children_in_care(plaatsingen, birth)
        for b in beschikkingen:
            self._beschikking(b)
        for kind in KINDS:  # the types with their own module (simulator/kinds)
            kind.add_truth(self, episodes)
        for aid, reports in aanmeldingen.items():
            # the day of the first report; what it is (and whether it was closed) from the latest one
            def reported(e: dict[str, Any]) -> tuple[datetime, str]:
                return datetime.fromisoformat(e["occurred_at"]), f"{e['sender']}/{e['id']}"

            day = local_date(min(reports, key=reported)["occurred_at"])
            naming = [e for e in reports if e["data"].get("aanbieder")]  # the latest report that names a provider
            aanbieder = max(naming, key=reported)["data"]["aanbieder"] if naming else "onbekend"
            self._aanmelding(aid, max(reports, key=reported), day, plaatsingen, beschikkingen, aanbieder)

    def _beschikking(self, b: Episode) -> None:
        values = self.values_of(b)
        start = date.fromisoformat(b.data["start"])
        end = date.fromisoformat(b.data["end"]) if "end" in b.data else None
        values["soort"] = b.data["soort"]
        if b.data["soort"] in PROTECTION:  # v2: children, not maatregelen (each child once per cell)
            self.add_child_days("jeugdbescherming_actief", values, start, end)
            self.add_child_days("jeugdbescherming_in_periode", values, start, end)
        if b.data["soort"] in ("ots", "voogdij") and end is not None:
            self.add_duration("jeugdbescherming_duur", values, end, (end - start).days)

    def values_of(self, ep: Episode) -> dict[str, str]:
        return {
            G: geography.gemeente(ep.gemeente),
            R: geography.jeugdregio(ep.gemeente),
            INST: ep.sender,
            GESLACHT: self.geslacht,
            AANBIEDER: ep.data.get("provider", "onbekend"),  # a plaatsing's provider
        }

    def _plaatsing(self, pl: Episode, all_of_child: list[Episode], birth: date) -> None:
        vorm = pl.data["vorm"]
        values = {**self.values_of(pl), "vorm": vorm}
        start = date.fromisoformat(pl.data["start"])
        end = date.fromisoformat(pl.data["end"]) if "end" in pl.data else None
        if _is_transfer(pl, all_of_child):
            self.add_count("overplaatsingen", values, start)
        else:
            self.add_count("verblijf_instroom", values, start)
        if vorm == "gesloten":
            if not _is_transfer(pl, [o for o in all_of_child if o.data["vorm"] == "gesloten"]):
                self.add_count("gesloten_instroom", values, start)
            if end is not None:
                self.add_duration("gesloten_duur", values, end, (end - start).days)
        if end is not None:
            reden = pl.data["reden_einde"]
            self.add_count("voortijdig_aandeel:den", values, end)
            if reden == "voortijdig":
                self.add_count("voortijdig_beeindigd", values, end)
                self.add_count("voortijdig_aandeel:num", values, end)

    def _children_in_care(self, plaatsingen: list[Episode], birth: date) -> None:
        """The stocks about children: per set of forms, the child counts once on each day it is in one of them,
        under the placement that started last among those it is in that day (ties: the larger sender/id)."""
        bd18, upper = birthday(birth, 18), birthday(birth, self.verlengde_tot)
        every = (*FAMILY_FORMS, "residentieel", "gesloten")
        stocks: list[tuple[str, tuple[str, ...], tuple[date, date | None]]] = [
            ("verblijf_jeugdigen", every, (date.min, None)),
            ("aandeel_gezinsgericht:den", every, (date.min, None)),
            ("aandeel_gezinsgericht:num", FAMILY_FORMS, (date.min, None)),
            ("gesloten_actief", ("gesloten",), (date.min, None)),
            ("verlengde_pleegzorg", FOSTER_FORMS, (bd18, upper)),
            ("gezinshuis_18plus", ("gezinshuis",), (bd18, upper)),
            *(("verblijf_actief", (form,), (date.min, None)) for form in every),
        ]
        for indicator, forms, (lo, hi) in stocks:
            spans = []
            for pl in plaatsingen:
                if pl.data["vorm"] in forms:
                    start = date.fromisoformat(pl.data["start"])
                    end = date.fromisoformat(pl.data["end"]) if "end" in pl.data else None
                    if end is None or end > start:
                        spans.append((start, f"{pl.sender}/{pl.data['plaatsing_id']}", end, pl))
            days = sorted({d for start, _, end, _ in spans for d in (start, end) if d is not None})
            for i, day in enumerate(days):
                nxt = days[i + 1] if i + 1 < len(days) else None
                here = [sp for sp in spans if sp[0] <= day and (sp[2] is None or sp[2] > day)]
                if not here:
                    continue
                pl = max(here, key=lambda sp: (sp[0], sp[1]))[3]
                values = {**self.values_of(pl), "vorm": pl.data["vorm"]}
                a = max(day, lo)
                b = nxt if hi is None else (hi if nxt is None else min(nxt, hi))
                if b is None or a < b:
                    self.add_stock(indicator, values, a, b)
                    if indicator in IN_PERIODE:
                        self.add_child_days(IN_PERIODE[indicator], values, a, b)

    def _continuering(self, plaatsingen: list[Episode], birth: date) -> None:
        """One continuering_18 item per child in pleegzorg on its 18th birthday (the latest started such
        placement gives the dimensions): it continues when in pleegzorg ``continuering_days`` after it."""
        bd18 = birthday(birth, 18)
        check = bd18 + timedelta(days=self.continuering_days)
        spans = []
        for pl in plaatsingen:
            if pl.data["vorm"] in FOSTER_FORMS:
                end = date.fromisoformat(pl.data["end"]) if "end" in pl.data else None
                spans.append((date.fromisoformat(pl.data["start"]), f"{pl.sender}/{pl.data['plaatsing_id']}", end, pl))
        on_birthday = [sp for sp in spans if sp[0] <= bd18 and (sp[2] is None or sp[2] >= bd18)]
        if not on_birthday:
            return
        pl = max(on_birthday, key=lambda sp: (sp[0], sp[1]))[3]
        dims = self._dims("continuering_18", {**self.values_of(pl), "vorm": pl.data["vorm"]})
        if any(end is None and start <= check for start, _, end, _ in spans):
            self.open_achttien.append((check, dims))  # decided once the watermark has passed the check day
            return
        self.counts["continuering_18:den", dims][bd18] += 1
        if any(start <= check < end for start, _, end, _ in spans if end is not None):
            self.counts["continuering_18:num", dims][bd18] += 1

    def _aanmelding(
        self,
        aid: str,
        ev: dict[str, Any],
        day: date,
        plaatsingen: list[Episode],
        beschikkingen: list[Episode],
        aanbieder: str,
    ) -> None:
        gemeente = ev["child"]["gemeente"]
        data = ev["data"]
        values = {
            G: geography.gemeente(gemeente),
            R: geography.jeugdregio(gemeente),
            GESLACHT: self.geslacht,
            AANBIEDER: aanbieder,
            "verwijzer": data["verwijzer"],
            "zorgvorm": data["zorgvorm"],
            "urgent": "true" if data.get("urgent") else "false",
        }
        self.add_count("verwijzers", values, day)
        # a decision counts from its besluitdatum where the beschikking carries one
        b_starts = [
            date.fromisoformat(b.data.get("besluitdatum") or b.data["start"])
            for b in beschikkingen
            if b.data.get("aanmelding_id") == aid
        ]
        closed = date.fromisoformat(data["afgesloten_op"]) if data.get("status") == "afgesloten" else None
        p_starts = _placement_starts(aid, data["zorgvorm"], day, closed, plaatsingen)
        if b_starts:
            first = min(b_starts)
            self.add_duration("wachttijd_beschikking", values, first, max(0, (first - day).days))
        placed = min(p_starts) if p_starts else None
        if placed is not None:
            self.add_duration("wachttijd_plaatsing", values, placed, max(0, (placed - day).days))
        if data["zorgvorm"] == "pleegzorg":
            wait_end = min(d for d in (placed, closed, date.max) if d is not None)
            wait_end_or_open = None if wait_end == date.max else wait_end
            self.add_stock("wachtlijst_pleegzorg", values, day, wait_end_or_open)
            if wait_end > day:
                self.waits["wachtend_pleegzorg_dagen", self._dims("wachtend_pleegzorg_dagen", values)].append(
                    (day, wait_end_or_open)
                )
        self._herhaald(values, day, plaatsingen, beschikkingen)

    def _herhaald(
        self, values: dict[str, str], day: date, plaatsingen: list[Episode], beschikkingen: list[Episode]
    ) -> None:
        ends = [date.fromisoformat(p.data["end"]) for p in plaatsingen if "end" in p.data]
        ends += [
            date.fromisoformat(b.data["end"])
            for b in beschikkingen
            if b.data["soort"] == "toewijzing" and "end" in b.data
        ]
        previous = [e for e in ends if e <= day]
        if previous and (day - max(previous)).days <= HERHAALD_DAYS:
            self.add_count("herhaald_beroep", values, day)

    # -- rows ---------------------------------------------------------------------------------------------------
    def watermark(self) -> date | None:
        """The registry's watermark as a local date: the latest event time seen minus the grace days."""
        if self.latest is None:
            return None
        return (self.latest - timedelta(days=self.grace_days)).astimezone(AMS).date()

    def result(self, as_of: date, periods: Iterable[str] = PERIODS) -> dict[str, list[dict[str, Any]]]:
        """Rows of every indicator, as of ``as_of``, for the given period kinds."""
        kinds = [k for k in PERIODS if k in set(periods)]
        counts = self._counts_as_of()
        out: dict[str, list[dict[str, Any]]] = {}
        for indicator, (kind, names) in CATALOGUE.items():
            rows = self._indicator_rows(indicator, kind, counts, kinds, as_of)
            rows.sort(key=lambda r: (r[0], r[1], r[2]))
            out[indicator] = [
                {"period": PERIODS[pk], "start": start.isoformat(), "dims": dict(zip(names, dims, strict=True)), **rest}
                for pk, start, dims, rest in rows
            ]
        return out

    def _counts_as_of(self) -> dict[tuple[str, Dims], Counter[date]]:
        """The counts, with the open pleegzorg placements still placed on their continuering check day."""
        counts = dict(self.counts)  # the added days go into copies: the truth itself stays as it is (callable twice)
        copied: set[tuple[str, Dims]] = set()
        wm = self.watermark()
        for check, dims in self.open_achttien:
            if wm is not None and wm > check:  # an open pleegzorg placement: still placed on the check day
                bd18 = check - timedelta(days=self.continuering_days)
                for key in (("continuering_18:den", dims), ("continuering_18:num", dims)):
                    if key not in copied:
                        counts[key] = Counter(counts.get(key, ()))
                        copied.add(key)
                    counts[key][bd18] += 1
        return counts

    def _indicator_rows(
        self, indicator: str, kind: str, counts: dict[tuple[str, Dims], Counter[date]], kinds: list[str], as_of: date
    ) -> list[tuple[int, date, Dims, dict[str, Any]]]:
        """One indicator's rows as (period index, start, dims, values), unsorted."""
        rows: list[tuple[int, date, Dims, dict[str, Any]]] = []
        if indicator in CHILD_DAYS:
            whole = kind == "distinct"
            for (ind, dims), days in self.child_days.items():
                if ind == indicator:
                    for pk, start, n in _children(days, kinds, as_of, whole):
                        rows.append((PERIODS.index(pk), start, dims, {"value": n}))
        elif kind == "count":
            for (ind, dims), per_day in counts.items():
                if ind == indicator:
                    for pk, start, n in _roll(per_day, kinds, as_of, operator.add):
                        rows.append((PERIODS.index(pk), start, dims, {"value": n}))
        elif kind == "distinct":
            for (ind, dims), sets in self.distinct.items():
                if ind == indicator:
                    for pk, start, members in _roll(sets, kinds, as_of, operator.or_):
                        rows.append((PERIODS.index(pk), start, dims, {"value": len(members)}))
        elif kind == "duration":
            for (ind, dims), lists in self.durations.items():
                if ind == indicator:
                    for pk, start, values in _roll(lists, kinds, as_of, operator.add):
                        values = sorted(values)  # may be the per-day list itself: never sort in place
                        rows.append(
                            (
                                PERIODS.index(pk),
                                start,
                                dims,
                                {
                                    "value": nearest_rank(values, 0.5),
                                    "n": len(values),
                                    "p90": nearest_rank(values, 0.9),
                                },
                            )
                        )
        elif kind == "waiting":
            for (ind, dims), spans in self.waits.items():
                if ind == indicator:
                    for pk, start, waited in _waiting(spans, kinds, as_of):
                        waited.sort()
                        stats = {
                            "value": nearest_rank(waited, 0.5),
                            "n": len(waited),
                            "p90": nearest_rank(waited, 0.9),
                        }
                        rows.append((PERIODS.index(pk), start, dims, stats))
        elif kind == "stock":
            for (ind, dims), diffs in self.stocks.items():
                if ind == indicator:
                    for (pk, start), n in _stock_values(diffs, kinds, as_of).items():
                        if n:
                            rows.append((PERIODS.index(pk), start, dims, {"value": n}))
        else:
            rows.extend(self._ratio_rows(indicator, counts, kinds, as_of))
        return rows

    def _ratio_rows(
        self, indicator: str, counts: dict[tuple[str, Dims], Counter[date]], kinds: list[str], as_of: date
    ) -> Iterator[tuple[int, date, Dims, dict[str, Any]]]:
        num: dict[tuple[Dims, str, date], int] = defaultdict(int)
        den: dict[tuple[Dims, str, date], int] = defaultdict(int)
        if indicator in DAY_RATIOS:
            for (ind, dims), per_day in counts.items():
                if ind == f"{indicator}:num":
                    for pk, start, n in _roll(per_day, kinds, as_of, operator.add):
                        num[dims, pk, start] += n
            for (ind, dims), diffs in self.stocks.items():
                if ind == f"{indicator}:den":
                    for (pk, start), n in _stock_days(diffs, kinds, as_of).items():
                        den[dims, pk, start] += n
        elif indicator in STOCK_RATIOS:
            for (ind, dims), diffs in self.stocks.items():
                if ind in (f"{indicator}:num", f"{indicator}:den"):
                    target = num if ind.endswith(":num") else den
                    for (pk, start), n in _stock_values(diffs, kinds, as_of).items():
                        target[dims, pk, start] += n
        else:
            for (ind, dims), per_day in counts.items():
                if ind in (f"{indicator}:num", f"{indicator}:den"):
                    target = num if ind.endswith(":num") else den
                    for pk, start, n in _roll(per_day, kinds, as_of, operator.add):
                        target[dims, pk, start] += n
        for (dims, pk, start), d in den.items():
            if d > 0:
                n = num.get((dims, pk, start), 0)
                value = round(n * RATIO_PER.get(indicator, 1) / d, 4)
                yield PERIODS.index(pk), start, dims, {"value": value, "numerator": n, "denominator": d}


def age_class(birth: date, day: date) -> str:
    """The CBS age class of a child born on ``birth`` on ``day``, from its age in whole years (born 29 February:
    a year older on 1 March in other years; before birth: 0-4)."""
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    label = "0-4"
    for first, name in AGE_STARTS:
        if age >= first:
            label = name
    return label


def _is_transfer(pl: Episode, others: list[Episode]) -> bool:
    """A placement that starts within 31 days after another one ended with reden overplaatsing, or while another
    one that started earlier (on the same day: the smaller "sender/plaatsing_id") has not ended yet."""
    start = date.fromisoformat(pl.data["start"])
    me = (start, f"{pl.sender}/{pl.data['plaatsing_id']}")
    for other in others:
        if other is pl:
            continue
        o_start = date.fromisoformat(other.data["start"])
        o_end = date.fromisoformat(other.data["end"]) if "end" in other.data else None
        overplaatst = o_end is not None and other.data["reden_einde"] == "overplaatsing"
        if overplaatst and o_end is not None and 0 <= (start - o_end).days <= OVERPLAATSING_DAYS:
            return True
        if (o_start, f"{other.sender}/{other.data['plaatsing_id']}") < me and (o_end is None or o_end > start):
            return True
    return False


def _roll(
    per_day: Mapping[date, V], kinds: list[str], as_of: date, combine: Callable[[V, V], V]
) -> Iterator[tuple[str, date, V]]:
    """Per period kind, the per-day values up to ``as_of`` combined per period; empty results are left out."""
    for pk in kinds:
        merged: dict[date, V] = {}
        for day, value in per_day.items():
            if day <= as_of:
                start = period_start(pk, day)
                merged[start] = combine(merged[start], value) if start in merged else value
        for start, value in merged.items():
            if value:
                yield pk, start, value


def _stock_days(diffs: Counter[date], kinds: list[str], as_of: date) -> dict[tuple[str, date], int]:
    """Per period up to ``as_of``: the sum of the stock's value over its days up to ``as_of`` (e.g. verblijfsdagen)."""
    days = [d for d in diffs if d <= as_of]
    out: dict[tuple[str, date], int] = defaultdict(int)
    if not days:
        return out
    level, day = 0, min(days)
    while day <= as_of:
        level += diffs.get(day, 0)
        if level:
            for pk in kinds:
                out[pk, period_start(pk, day)] += level
        day += timedelta(days=1)
    return out


def _waiting(
    spans: list[tuple[date, date | None]], kinds: list[str], as_of: date
) -> Iterator[tuple[str, date, list[int]]]:
    """Per period (up to ``as_of``), the days waited so far by the items still waiting on the period's last day
    (or ``as_of`` when earlier): ``day − start`` for ``start <= day < end``."""
    first = min(start for start, _ in spans)
    for pk in kinds:
        for start in period_starts(pk, first, as_of):
            day = min(period_last(pk, start), as_of)
            waited = [(day - s).days for s, e in spans if s <= day and (e is None or day < e)]
            if waited:
                yield pk, start, waited


def _children(
    days: list[tuple[date, date | None, str]], kinds: list[str], as_of: date, whole: bool
) -> Iterator[tuple[str, date, int]]:
    """Per period up to ``as_of``: the number of distinct children active on its last day (or ``as_of``), or with
    ``whole`` on any of its days up to then (``start <= d < end``)."""
    first = min(start for start, _, _ in days)
    for pk in kinds:
        for start in period_starts(pk, first, as_of):
            last = min(period_last(pk, start), as_of)
            lo = start if whole else last
            n = len({child for s, e, child in days if s <= last and (e is None or e > lo)})
            if n:
                yield pk, start, n


def _stock_values(diffs: Counter[date], kinds: list[str], as_of: date) -> dict[tuple[str, date], int]:
    """Active episodes on each period's last day (or ``as_of`` when earlier), for periods up to ``as_of``;
    for days, only the days with a non-zero stock."""
    days = sorted(d for d in diffs if d <= as_of)
    if not days:
        return {}
    levels: list[int] = []
    level = 0
    for d in days:
        level += diffs[d]
        levels.append(level)

    def at(day: date) -> int:
        i = bisect.bisect_right(days, day) - 1
        return levels[i] if i >= 0 else 0

    out: dict[tuple[str, date], int] = {}
    for pk in kinds:
        if pk == "day":
            for i, d in enumerate(days):
                if levels[i]:
                    stop = days[i + 1] if i + 1 < len(days) else as_of + timedelta(days=1)
                    current = d
                    while current < stop:
                        out[pk, current] = levels[i]
                        current += timedelta(days=1)
            continue
        for start in period_starts(pk, days[0], as_of):
            out[pk, start] = at(min(period_last(pk, start), as_of))
    return out


# -- rates (docs/indicators.md, Rates) -------------------------------------------------------------------------
#: Kinds that get a rate (of the indicators about children, BY_AGE): not durations, waits or shares.
RATE_KINDS = ("count", "distinct", "stock")
YOUTH_AGES = 23  # the population of the rates: ages 0 to 22


def _class_of_age(age: int) -> str:
    label = "0-4"
    for first, name in AGE_STARTS:
        if age >= first:
            label = name
    return label


def add_rates(result: dict[str, list[dict[str, Any]]], population: Mapping[tuple[int, str, int, str], int]) -> None:
    """Add ``per_1000`` to the rows of the indicators about children: value × 1000 / the population aged 0 to 22
    of the row's gemeente (else jeugdregio, else the country), of its age class and geslacht where the row has
    them, in the period's year (else the latest earlier year given), rounded to 2 decimals; None without one.
    ``population``: (year, gemeente, age, geslacht) → people, as the simulator wrote it."""
    years = sorted({y for y, _, _, _ in population})
    by_gemeente: dict[tuple[int, str], list[tuple[str, str, int]]] = defaultdict(list)
    for (y, code, age, geslacht), n in population.items():
        if age < YOUTH_AGES:
            by_gemeente[y, geography.gemeente(code)].append((_class_of_age(age), geslacht, n))
    cache: dict[tuple[int, str, str, str, str], int] = {}

    def denominator(year: int, dims: Mapping[str, str]) -> int:
        earlier = [y for y in years if y <= year]
        if not earlier:
            return 0
        use = earlier[-1]
        klasse, geslacht = dims.get(AGE, ""), dims.get("geslacht", "")
        if "gemeente" in dims:
            area = ("gemeente", dims["gemeente"])
        elif "jeugdregio" in dims:
            area = ("jeugdregio", dims["jeugdregio"])
        else:
            area = ("", "")
        key = (use, *area, klasse, geslacht)
        if key not in cache:
            total = 0
            for (y, gemeente), people in by_gemeente.items():
                if y != use:
                    continue
                if area[0] == "gemeente" and gemeente != area[1]:
                    continue
                if area[0] == "jeugdregio" and geography.jeugdregio(gemeente) != area[1]:
                    continue
                total += sum(n for k, s, n in people if (not klasse or k == klasse) and (not geslacht or s == geslacht))
            cache[key] = total
        return cache[key]

    for indicator, rows in result.items():
        kind = CATALOGUE[indicator][0]
        if indicator not in BY_AGE or kind not in RATE_KINDS:
            continue
        for row in rows:
            den = denominator(int(row["start"][:4]), row["dims"])
            row["per_1000"] = round(row["value"] * 1000 / den, 2) if den else None


def _placement_starts(aid: str, zorgvorm: str, day: date, closed: date | None, plaatsingen: list[Episode]) -> list[date]:
    """The start days of the placements that end an aanmelding's wait."""
    if zorgvorm == "pleegzorg":
        # only a pleegzorg placement ends a pleegzorg wait: one that names this aanmelding, else one that
        # names none and starts between the aanmelding's day and its closing
        foster = [p for p in plaatsingen if p.data["vorm"] in FOSTER_FORMS]
        p_starts = [date.fromisoformat(p.data["start"]) for p in foster if p.data.get("aanmelding_id") == aid]
        if not p_starts:
            p_starts = [
                start
                for p in foster
                if "aanmelding_id" not in p.data
                and day <= (start := date.fromisoformat(p.data["start"]))
                and (closed is None or start <= closed)
            ]
        return p_starts
    return [date.fromisoformat(p.data["start"]) for p in plaatsingen if p.data.get("aanmelding_id") == aid]
