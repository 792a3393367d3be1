"""Pure fold functions: what one entity version contributes to the aggregates.

Each series of the catalogue has one fold function ``entity version → items``; the item type depends
on the series kind:

* ``count`` → :class:`Item` (one item on a day),
* ``distinct`` → :class:`Member` (a child with an item on a day),
* ``stock`` → :class:`Episode` (active on the days ``start <= d < end``),
* ``duration`` → :class:`Duration` (a value on a day).

:func:`contributions` turns items into additive keys (a stock episode into +1 at its start and −1 at
its end), and :func:`deltas` folds a batch of changes as ``contributions(after) − contributions(before)``,
so aggregates are additive and a compensating change undoes exactly. Definitions: docs/indicators.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jeugdstroom.common.contracts.changes import (
    AanmeldingEpisode,
    AchttienFact,
    AnyChange,
    BeschikkingEpisode,
    PlaatsingEpisode,
    SeparatieEpisode,
)
from jeugdstroom.monitor.regions import jeugdregio

TZ = ZoneInfo("Europe/Amsterdam")
Dims = tuple[tuple[str, str], ...]
Table = Literal["count", "stock", "member", "duration"]

GEZINSGERICHT = frozenset({"pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis"})
JEUGDBESCHERMING = frozenset({"ots", "voorlopige_ots", "voogdij"})


# -- items ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Item:
    day: date
    dims: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Member:
    day: date
    dims: Mapping[str, str]
    pseudonym: str


@dataclass(frozen=True, slots=True)
class Episode:
    start: date
    end: date | None
    dims: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Duration:
    day: date
    dims: Mapping[str, str]
    value: int


AnyItem = Item | Member | Episode | Duration
FoldFn = Callable[[Any], Sequence[AnyItem]]


@dataclass(frozen=True, slots=True)
class Key:
    """One additive cell at the finest grain: series × day × dims (× pseudonym or duration value)."""

    table: Table
    series: str
    day: date
    dims: Dims
    member: str = ""
    value: int = 0

    @property
    def dims_key(self) -> str:
        return dims_key(self.dims)


def dims_key(dims: Dims) -> str:
    return ";".join(f"{k}={v}" for k, v in dims)


def _dims(d: Mapping[str, str]) -> Dims:
    return tuple(sorted(d.items()))


def contributions(series: str, items: Iterable[AnyItem]) -> list[tuple[Key, int]]:
    """The additive keys (with weights) of a series' items."""
    out: list[tuple[Key, int]] = []
    for it in items:
        if isinstance(it, Item):
            out.append((Key("count", series, it.day, _dims(it.dims)), 1))
        elif isinstance(it, Member):
            out.append((Key("member", series, it.day, _dims(it.dims), member=it.pseudonym), 1))
        elif isinstance(it, Duration):
            out.append((Key("duration", series, it.day, _dims(it.dims), value=it.value), 1))
        else:
            if it.end is not None and it.end <= it.start:
                continue  # never active (start <= d < end is empty)
            dims = _dims(it.dims)
            out.append((Key("stock", series, it.start, dims), 1))
            if it.end is not None:
                out.append((Key("stock", series, it.end, dims), -1))
    return out


def deltas(changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]]) -> dict[Key, int]:
    """Net deltas of a batch of changes (zero entries dropped); ``folds`` maps an entity name to its
    series' (id, fold function)."""
    out: Counter[Key] = Counter()
    for ch in changes:
        for series, fn in folds.get(ch.entity, ()):
            if ch.before is not None:
                for key, w in contributions(series, fn(ch.before)):
                    out[key] -= w
            if ch.after is not None:
                for key, w in contributions(series, fn(ch.after)):
                    out[key] += w
    return {k: v for k, v in out.items() if v != 0}


# -- helpers ----------------------------------------------------------------------------------------
def local_day(moment: datetime) -> date:
    """The Europe/Amsterdam calendar day of an aware datetime."""
    return moment.astimezone(TZ).date()


def birthday(birth_date: date, years: int) -> date:
    """The day a child turns ``years`` old (29 February → 1 March in non-leap years, as ``age_on``)."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def _gri(ep: SeparatieEpisode | PlaatsingEpisode | BeschikkingEpisode | AchttienFact) -> dict[str, str]:
    return {"gemeente": ep.gemeente, "jeugdregio": jeugdregio(ep.gemeente), "instelling": ep.instelling}


def _gr(ep: AanmeldingEpisode) -> dict[str, str]:
    return {"gemeente": ep.gemeente, "jeugdregio": jeugdregio(ep.gemeente)}


# -- separatie --------------------------------------------------------------------------------------
def separaties(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None:
        return []
    return [Item(local_day(ep.start), {**_gri(ep), "vorm": ep.vorm})]


def gesepareerde_jeugdigen(ep: SeparatieEpisode) -> list[Member]:
    if ep.start is None:
        return []
    return [Member(local_day(ep.start), _gri(ep), ep.pseudonym)]


def separatie_duur(ep: SeparatieEpisode) -> list[Duration]:
    if ep.start is None or ep.end is None:
        return []
    minutes = (ep.end - ep.start) // timedelta(minutes=1)
    dims = {"jeugdregio": jeugdregio(ep.gemeente), "instelling": ep.instelling, "vorm": ep.vorm}
    return [Duration(local_day(ep.start), dims, minutes)]


# -- plaatsing --------------------------------------------------------------------------------------
def gesloten_actief(ep: PlaatsingEpisode) -> list[Episode]:
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Episode(ep.start, ep.end, _gri(ep))]


def gesloten_instroom(ep: PlaatsingEpisode) -> list[Item]:
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Item(ep.start, _gri(ep))]


def gesloten_duur(ep: PlaatsingEpisode) -> list[Duration]:
    if ep.vorm != "gesloten" or ep.start is None or ep.end is None:
        return []
    dims = {"jeugdregio": jeugdregio(ep.gemeente), "instelling": ep.instelling}
    return [Duration(ep.end, dims, (ep.end - ep.start).days)]


def verblijf_actief(ep: PlaatsingEpisode) -> list[Episode]:
    if ep.start is None:
        return []
    return [Episode(ep.start, ep.end, {**_gri(ep), "vorm": ep.vorm})]


def verblijf_instroom(ep: PlaatsingEpisode) -> list[Item]:
    if ep.start is None:
        return []
    return [Item(ep.start, {**_gri(ep), "vorm": ep.vorm})]


def overplaatsingen(ep: PlaatsingEpisode) -> list[Item]:
    if not ep.overplaatsing or ep.end is None:
        return []
    return [Item(ep.end, {**_gri(ep), "vorm": ep.vorm})]


def voortijdig_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    if ep.reden_einde != "voortijdig" or ep.end is None:
        return []
    return [Item(ep.end, {**_gri(ep), "vorm": ep.vorm})]


def plaatsingen_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    """Internal series: every ended plaatsing (the denominator of ``voortijdig_aandeel``)."""
    if ep.end is None:
        return []
    return [Item(ep.end, _gri(ep))]


def verlengde_pleegzorg(ep: PlaatsingEpisode) -> list[Episode]:
    if ep.vorm not in GEZINSGERICHT or ep.start is None:
        return []
    start = max(ep.start, birthday(ep.birth_date, 18))
    b21 = birthday(ep.birth_date, 21)
    end = b21 if ep.end is None else min(ep.end, b21)
    if start >= end:
        return []
    return [Episode(start, end, {**_gri(ep), "vorm": ep.vorm})]


# -- achttien_in_pleegzorg --------------------------------------------------------------------------
def achttien_in_pleegzorg(fact: AchttienFact) -> list[Item]:
    """Internal series: the facts by ``continues`` (numerator and denominator of ``continuering_18``)."""
    return [Item(fact.birthday, {**_gri(fact), "continues": "true" if fact.continues else "false"})]


# -- aanmelding -------------------------------------------------------------------------------------
def wachtlijst_pleegzorg(ep: AanmeldingEpisode) -> list[Episode]:
    if ep.zorgvorm != "pleegzorg":
        return []
    return [Episode(ep.day, ep.plaatsing_date, _gr(ep))]


def wachttijd_beschikking(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.beschikking_date is None:
        return []
    return [
        Duration(ep.beschikking_date, {**_gr(ep), "zorgvorm": ep.zorgvorm}, max(0, (ep.beschikking_date - ep.day).days))
    ]


def wachttijd_plaatsing(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.plaatsing_date is None:
        return []
    return [
        Duration(ep.plaatsing_date, {**_gr(ep), "zorgvorm": ep.zorgvorm}, max(0, (ep.plaatsing_date - ep.day).days))
    ]


def verwijzers(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, {**_gr(ep), "verwijzer": ep.verwijzer})]


def herhaald_beroep(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, _gr(ep))] if ep.herhaald else []


# -- beschikking ------------------------------------------------------------------------------------
def jeugdbescherming_actief(ep: BeschikkingEpisode) -> list[Episode]:
    if ep.soort not in JEUGDBESCHERMING:
        return []
    return [Episode(ep.start, ep.end, {**_gri(ep), "soort": ep.soort})]


def jeugdbescherming_duur(ep: BeschikkingEpisode) -> list[Duration]:
    if ep.soort != "ots" or ep.end is None:
        return []
    dims = {"jeugdregio": jeugdregio(ep.gemeente), "instelling": ep.instelling}
    return [Duration(ep.end, dims, (ep.end - ep.start).days)]
