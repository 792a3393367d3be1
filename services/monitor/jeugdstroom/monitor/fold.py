"""Pure fold functions: what one entity version contributes to the aggregates.

Each series of the catalogue has one fold function ``entity version → items``; the item type depends
on the series kind:

* ``count`` → :class:`Item` (one item on a day),
* ``distinct`` → :class:`Member` (a child with an item on a day),
* ``stock`` → :class:`Episode` (active on the days ``start <= d < end``),
* ``duration`` → :class:`Duration` (a value on a day),
* ``waiting`` → :class:`Span` (an item waiting on the days ``start <= d < end``; stored keyed by its start and end
  day, so a read knows how long each item still waiting on a day has waited).
* a series of children counted **distinct per cell** on the day read (``stock``) or over the period's days
  (``distinct`` "in de periode") → :class:`MemberSpan` (a child active on the days ``start <= d < end``; stored
  keyed by start day, pseudonym and end day, so a read counts each child once per cell however many of its
  episodes overlap).

An item's dimensions are canonical :data:`Dims` (``(name, value)`` pairs sorted by name, as stored), built by the
cached helpers below, so equal dimensions are built and sorted once rather than per item.

:func:`contributions` turns items into additive keys (a stock episode into +1 at its start and −1 at
its end), and :func:`deltas` folds a batch of changes as ``contributions(after) − contributions(before)``,
so aggregates are additive and a compensating change undoes exactly. Definitions: docs/indicators.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from jeugdstroom.common import geography
from jeugdstroom.common.calendar import birthday, local_day
from jeugdstroom.common.contracts.changes import AchttienFact, VerblijfSegment
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.beschikking import BeschikkingEpisode
from jeugdstroom.common.contracts.kinds.jeugdreclassering import JeugdreclasseringEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.common.contracts.kinds.separatie import SeparatieEpisode
from jeugdstroom.common.contracts.unions import AnyChange
from jeugdstroom.common.vocabulary import JEUGDBESCHERMING, VORMEN

Dims = tuple[tuple[str, str], ...]
Table = Literal["count", "stock", "member", "duration", "span", "member_span"]

#: Entries of each dimension cache (distinct gemeente × instelling × value combinations seen).
_CACHE = 1 << 16


# -- items ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Item:
    day: date
    dims: Dims


@dataclass(frozen=True, slots=True)
class Member:
    day: date
    dims: Dims
    pseudonym: str


@dataclass(frozen=True, slots=True)
class Episode:
    start: date
    end: date | None
    dims: Dims


@dataclass(frozen=True, slots=True)
class Duration:
    day: date
    dims: Dims
    value: int


@dataclass(frozen=True, slots=True)
class Span:
    start: date
    end: date | None
    dims: Dims


@dataclass(frozen=True, slots=True)
class MemberSpan:
    start: date
    end: date | None
    dims: Dims
    pseudonym: str


def span_end(value: int) -> date | None:
    """The end day of a stored span (its ``value``: the end's proleptic ordinal, 0 while open)."""
    return None if value == 0 else date.fromordinal(value)


AnyItem = Item | Member | Episode | Duration | Span | MemberSpan
FoldFn = Callable[[Any], Sequence[AnyItem]]


class Key(NamedTuple):
    """One additive cell at the finest grain: series × day × dims (× pseudonym or duration value). A named
    tuple: hashed and compared in C on the fold's hot path."""

    table: Table
    series: str
    day: date
    dims: Dims
    member: str = ""
    value: int = 0


def dims_key(dims: Dims) -> str:
    return ";".join(f"{k}={v}" for k, v in dims)


def dims(values: Mapping[str, str]) -> Dims:
    """Canonical dims of a mapping (sorted by name)."""
    return tuple(sorted(values.items()))


def contributions(series: str, items: Iterable[AnyItem]) -> list[tuple[Key, int]]:
    """The additive keys (with weights) of a series' items: the definition :func:`deltas` folds by."""
    out: list[tuple[Key, int]] = []
    for it in items:
        if isinstance(it, Item):
            out.append((Key("count", series, it.day, it.dims), 1))
        elif isinstance(it, Member):
            out.append((Key("member", series, it.day, it.dims, member=it.pseudonym), 1))
        elif isinstance(it, Duration):
            out.append((Key("duration", series, it.day, it.dims, value=it.value), 1))
        elif isinstance(it, Span):
            if it.end is None or it.end > it.start:  # else never waiting
                out.append((Key("span", series, it.start, it.dims, value=_end_value(it.end)), 1))
        elif isinstance(it, MemberSpan):
            if it.end is None or it.end > it.start:  # else never active
                out.append(
                    (Key("member_span", series, it.start, it.dims, member=it.pseudonym, value=_end_value(it.end)), 1)
                )
        else:
            if it.end is not None and it.end <= it.start:
                continue  # never active (start <= d < end is empty)
            out.append((Key("stock", series, it.start, it.dims), 1))
            if it.end is not None:
                out.append((Key("stock", series, it.end, it.dims), -1))
    return out


def deltas(changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]]) -> dict[Key, int]:
    """Net deltas of a batch of changes (zero entries dropped); ``folds`` maps an entity name to its
    series' (id, fold function). The sum of :func:`contributions` (after) − (before), inlined with plain tuples:
    this is the monitor's per-change hot path (tests/unit/test_monitor_fold.py pins it to an item-by-item sum)."""
    out: dict[tuple[Any, ...], int] = {}
    accumulate(changes, folds, out)
    make = Key._make
    return {make(k): v for k, v in out.items() if v}


def accumulate(
    changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]], out: dict[tuple[Any, ...], int]
) -> None:
    """Add the deltas of ``changes`` to ``out``, keyed by plain tuples of :class:`Key`'s fields and with zero entries
    kept: :func:`deltas` without building a :class:`Key` per entry (the rebuild sums a whole snapshot this way)."""
    get = out.get
    for ch in changes:
        fns = folds.get(ch.entity)
        if not fns:
            continue
        for version, w in ((ch.before, -1), (ch.after, 1)):
            if version is None:
                continue
            for series, fn in fns:
                for it in fn(version):
                    t = type(it)
                    if t is Item:
                        k: tuple[Any, ...] = ("count", series, it.day, it.dims, "", 0)  # type: ignore[union-attr]
                    elif t is Member:
                        k = ("member", series, it.day, it.dims, it.pseudonym, 0)  # type: ignore[union-attr]
                    elif t is Duration:
                        k = ("duration", series, it.day, it.dims, "", it.value)  # type: ignore[union-attr]
                    elif t is Span:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never waiting
                        k = ("span", series, start, it.dims, "", _end_value(end))
                    elif t is MemberSpan:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never active
                        k = ("member_span", series, start, it.dims, it.pseudonym, _end_value(end))  # type: ignore[union-attr]
                    else:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never active
                        k = ("stock", series, start, it.dims, "", 0)
                        out[k] = get(k, 0) + w
                        if end is None:
                            continue
                        k = ("stock", series, end, it.dims, "", 0)
                        out[k] = get(k, 0) - w
                        continue
                    out[k] = get(k, 0) + w


# -- helpers ----------------------------------------------------------------------------------------
def _end_value(end: date | None) -> int:
    return 0 if end is None else end.toordinal()


@lru_cache(maxsize=_CACHE)
def _place(gemeente: str, instelling: str | None, name: str, value: str) -> Dims:
    """Canonical dims: gemeente (its current code: a code merged away by a herindeling counts in its successor,
    docs/geography.md), its jeugdregio (CBS JZ code), instelling unless None, and ``name`` = ``value`` if named."""
    out = {"gemeente": geography.gemeente(gemeente), "jeugdregio": geography.jeugdregio(gemeente)}
    if instelling is not None:
        out["instelling"] = instelling
    if name:
        out[name] = value
    return dims(out)


Placed = (
    SeparatieEpisode | PlaatsingEpisode | BeschikkingEpisode | AchttienFact | VerblijfSegment | JeugdreclasseringEpisode
)


def _gri(ep: Placed, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio, instelling (and ``name`` = ``value``)."""
    return _place(ep.gemeente, ep.instelling, name, value)


def _gr(ep: AanmeldingEpisode, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio (and ``name`` = ``value``)."""
    return _place(ep.gemeente, None, name, value)


# -- separatie --------------------------------------------------------------------------------------
def separaties(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None:
        return []
    return [Item(local_day(ep.start), _gri(ep, "vorm", ep.vorm))]


def gesepareerde_jeugdigen(ep: SeparatieEpisode) -> list[Member]:
    if ep.start is None:
        return []
    return [Member(local_day(ep.start), _gri(ep), ep.pseudonym)]


def separatie_duur(ep: SeparatieEpisode) -> list[Duration]:
    if ep.start is None or ep.end is None:
        return []
    minutes = (ep.end - ep.start) // timedelta(minutes=1)
    return [Duration(local_day(ep.start), _gri(ep, "vorm", ep.vorm), minutes)]


def separatie_interventies(ep: SeparatieEpisode) -> list[Item]:
    """Argus: an episode that does not continue an earlier one (``vervolg``) starts an intervention."""
    if ep.start is None or ep.vervolg:
        return []
    return [Item(local_day(ep.start), _gri(ep, "vorm", ep.vorm))]


def separaties_separeerruimte(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None or ep.vorm != "separeerruimte":
        return []
    return [Item(local_day(ep.start), _gri(ep))]


def afzonderingen_overig(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None or ep.vorm == "separeerruimte":
        return []
    return [Item(local_day(ep.start), _gri(ep, "vorm", ep.vorm))]


@lru_cache(maxsize=_CACHE)
def _provider(provider: str) -> Dims:
    return (("instelling", provider),)


def gesloten_verblijf(ep: PlaatsingEpisode) -> list[Episode]:
    """Internal series: gesloten placements by the institution where the child stays (``provider``); its days are
    the verblijfsdagen of the separatie rates."""
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Episode(ep.start, ep.end, _provider(ep.provider))]


def gesloten_opnames(ep: PlaatsingEpisode) -> list[Item]:
    """Internal series: gesloten placements started at the institution (``provider``), transfers into it included."""
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Item(ep.start, _provider(ep.provider))]


# -- plaatsing --------------------------------------------------------------------------------------
def gesloten_actief(seg: VerblijfSegment) -> list[Episode]:
    """Children in gesloten jeugdhulp (v2: distinct children, from the child's gesloten segments)."""
    if seg.groep != "gesloten":
        return []
    return [Episode(seg.start, seg.end, _gri(seg))]


def gesloten_instroom(ep: PlaatsingEpisode) -> list[Item]:
    """A child entering gesloten jeugdhulp: not a transfer from another gesloten placement (v2)."""
    if ep.vorm != "gesloten" or ep.start is None or not ep.instroom_gesloten:
        return []
    return [Item(ep.start, _gri(ep))]


def gesloten_duur(ep: PlaatsingEpisode) -> list[Duration]:
    if ep.vorm != "gesloten" or ep.start is None or ep.end is None:
        return []
    return [Duration(ep.end, _gri(ep), (ep.end - ep.start).days)]


#: Segment groups of one form (``verblijf_actief`` by vorm).


def verblijf_actief(seg: VerblijfSegment) -> list[Episode]:
    """Children in verblijf per form (v2: distinct children per form, from the child's segments of that form)."""
    if seg.groep not in VORMEN:
        return []
    return [Episode(seg.start, seg.end, _gri(seg, "vorm", seg.groep))]


def verblijf_jeugdigen(seg: VerblijfSegment) -> list[Episode]:
    """Children in verblijf, any form (the total: a child in two forms at once counts once)."""
    if seg.groep != "verblijf":
        return []
    return [Episode(seg.start, seg.end, _gri(seg))]


def verblijf_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in verblijf per form on any day of the period (CBS: jeugdigen met verblijf in de periode)."""
    if seg.groep not in VORMEN:
        return []
    return [MemberSpan(seg.start, seg.end, _gri(seg, "vorm", seg.groep), seg.pseudonym)]


def verblijf_jeugdigen_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in verblijf, any form, on any day of the period (each child once per cell)."""
    if seg.groep != "verblijf":
        return []
    return [MemberSpan(seg.start, seg.end, _gri(seg), seg.pseudonym)]


def gesloten_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in gesloten jeugdhulp on any day of the period."""
    if seg.groep != "gesloten":
        return []
    return [MemberSpan(seg.start, seg.end, _gri(seg), seg.pseudonym)]


def verblijf_gezinsgericht(seg: VerblijfSegment) -> list[Episode]:
    """Internal series: children in pleegzorg or a gezinshuis (the numerator of ``aandeel_gezinsgericht``)."""
    if seg.groep != "gezinsgericht":
        return []
    return [Episode(seg.start, seg.end, _gri(seg))]


def verblijf_instroom(ep: PlaatsingEpisode) -> list[Item]:
    """A child entering verblijf: a placement that is not a transfer (v2)."""
    if ep.start is None or not ep.instroom:
        return []
    return [Item(ep.start, _gri(ep, "vorm", ep.vorm))]


def overplaatsingen(ep: PlaatsingEpisode) -> list[Item]:
    """A placement that starts as a transfer (not ``instroom``), on its start, by the form transferred to (v2)."""
    if ep.start is None or ep.instroom:
        return []
    return [Item(ep.start, _gri(ep, "vorm", ep.vorm))]


def voortijdig_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    if ep.reden_einde != "voortijdig" or ep.end is None:
        return []
    return [Item(ep.end, _gri(ep, "vorm", ep.vorm))]


def plaatsingen_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    """Internal series: every ended plaatsing (the denominator of ``voortijdig_aandeel``)."""
    if ep.end is None:
        return []
    return [Item(ep.end, _gri(ep))]


#: The birthday up to which (not including) verlengde pleegzorg and gezinshuis 18+ count young adults: 21 by
#: default, 22 or 23 by setting (``Settings.verlengde_pleegzorg_tot``, applied by :func:`configure`).
VERLENGDE_PLEEGZORG_TOT = 21


def configure(verlengde_pleegzorg_tot: int) -> None:
    """Set the upper age of ``verlengde_pleegzorg``/``gezinshuis_18plus`` (the monitor's setting; a change needs a
    rebuild of the aggregates, as any change of a definition)."""
    global VERLENGDE_PLEEGZORG_TOT
    if not 21 <= verlengde_pleegzorg_tot <= 23:
        raise ValueError("verlengde_pleegzorg_tot must be 21, 22 or 23")
    VERLENGDE_PLEEGZORG_TOT = verlengde_pleegzorg_tot


def _adult_days(seg: VerblijfSegment) -> tuple[date, date] | None:
    """The segment's days from the 18th birthday up to the configured upper birthday, if any."""
    start = max(seg.start, birthday(seg.birth_date, 18))
    upper = birthday(seg.birth_date, VERLENGDE_PLEEGZORG_TOT)
    end = upper if seg.end is None else min(seg.end, upper)
    return (start, end) if start < end else None


def verlengde_pleegzorg(seg: VerblijfSegment) -> list[Episode]:
    """Young adults in pleegzorg (bestand, netwerk) from 18 to the configured upper age (v2: distinct children,
    gezinshuis apart)."""
    if seg.groep != "pleegzorg" or (days := _adult_days(seg)) is None:
        return []
    return [Episode(days[0], days[1], _gri(seg))]


def gezinshuis_18plus(seg: VerblijfSegment) -> list[Episode]:
    """Young adults in a gezinshuis from 18 to the configured upper age (distinct children)."""
    if seg.groep != "gezinshuis" or (days := _adult_days(seg)) is None:
        return []
    return [Episode(days[0], days[1], _gri(seg))]


# -- achttien_in_pleegzorg --------------------------------------------------------------------------
def achttien_in_pleegzorg(fact: AchttienFact) -> list[Item]:
    """Internal series: the facts by ``continues`` (numerator and denominator of ``continuering_18``)."""
    return [Item(fact.birthday, _gri(fact, "continues", "true" if fact.continues else "false"))]


# -- aanmelding -------------------------------------------------------------------------------------
def _wait_end(ep: AanmeldingEpisode) -> date | None:
    """When a pleegzorg wait ends: the (linked) pleegzorg placement's start or the sender's closing, the earlier."""
    ends = [d for d in (ep.plaatsing_date, ep.afgesloten_op) if d is not None]
    return min(ends, default=None)


def _urgent(ep: AanmeldingEpisode, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio, urgent (and ``name`` = ``value``)."""
    return _gr_urgent(ep.gemeente, "true" if ep.urgent else "false", name, value)


@lru_cache(maxsize=_CACHE)
def _gr_urgent(gemeente: str, urgent: str, name: str, value: str) -> Dims:
    out = {"gemeente": geography.gemeente(gemeente), "jeugdregio": geography.jeugdregio(gemeente), "urgent": urgent}
    if name:
        out[name] = value
    return dims(out)


def wachtlijst_pleegzorg(ep: AanmeldingEpisode) -> list[Episode]:
    if ep.zorgvorm != "pleegzorg":
        return []
    return [Episode(ep.day, _wait_end(ep), _urgent(ep))]


def wachtend_pleegzorg_dagen(ep: AanmeldingEpisode) -> list[Span]:
    if ep.zorgvorm != "pleegzorg":
        return []
    return [Span(ep.day, _wait_end(ep), _urgent(ep))]


def wachttijd_beschikking(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.beschikking_date is None:
        return []
    return [
        Duration(
            ep.beschikking_date, _urgent(ep, "zorgvorm", ep.zorgvorm), max(0, (ep.beschikking_date - ep.day).days)
        )
    ]


def wachttijd_plaatsing(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.plaatsing_date is None:
        return []
    return [
        Duration(ep.plaatsing_date, _urgent(ep, "zorgvorm", ep.zorgvorm), max(0, (ep.plaatsing_date - ep.day).days))
    ]


def verwijzers(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, _gr(ep, "verwijzer", ep.verwijzer))]


def herhaald_beroep(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, _gr(ep))] if ep.herhaald else []


# -- beschikking ------------------------------------------------------------------------------------
def jeugdbescherming_actief(ep: BeschikkingEpisode) -> list[MemberSpan]:
    """Children with a jeugdbeschermingsmaatregel (v2: distinct children per cell on the day read, not maatregelen:
    a child with OTS and voogdij at once counts once in the total and once per soort)."""
    if ep.soort not in JEUGDBESCHERMING:
        return []
    return [MemberSpan(ep.start, ep.end, _gri(ep, "soort", ep.soort), ep.pseudonym)]


def jeugdbescherming_in_periode(ep: BeschikkingEpisode) -> list[MemberSpan]:
    """Children with a jeugdbeschermingsmaatregel on any day of the period (CBS: jeugdigen met jeugdbescherming)."""
    return jeugdbescherming_actief(ep)


def jeugdbescherming_duur(ep: BeschikkingEpisode) -> list[Duration]:
    if ep.soort not in ("ots", "voogdij") or ep.end is None:
        return []
    return [Duration(ep.end, _gri(ep, "soort", ep.soort), (ep.end - ep.start).days)]


# -- jeugdreclassering ------------------------------------------------------------------------------
def jeugdreclassering_actief(ep: JeugdreclasseringEpisode) -> list[MemberSpan]:
    """Children with a jeugdreclassering trajectory on the day read (distinct children per cell)."""
    return [MemberSpan(ep.start, ep.end, _gri(ep), ep.pseudonym)]


def jeugdreclassering_in_periode(ep: JeugdreclasseringEpisode) -> list[MemberSpan]:
    """Children with a jeugdreclassering trajectory on any day of the period."""
    return jeugdreclassering_actief(ep)


def jeugdreclassering_instroom(ep: JeugdreclasseringEpisode) -> list[Item]:
    """Jeugdreclassering trajectories started; day = start."""
    return [Item(ep.start, _gri(ep))]


def jeugdreclassering_duur(ep: JeugdreclasseringEpisode) -> list[Duration]:
    """Duration of ended jeugdreclassering trajectories in days; day = end."""
    if ep.end is None:
        return []
    return [Duration(ep.end, _gri(ep), (ep.end - ep.start).days)]


# -- leeftijdsklasse --------------------------------------------------------------------------------
AGE = "leeftijdsklasse"
#: CBS age classes of youth-care statistics: (first birthday outside the class, label); from the 23rd birthday "23+".
AGE_CLASSES: tuple[tuple[int, str], ...] = ((4, "0-4"), (12, "4-12"), (18, "12-18"), (23, "18-23"))
AGE_OLDEST = "23+"
#: Every class label, youngest first.
AGE_LABELS: tuple[str, ...] = (*(label for _, label in AGE_CLASSES), AGE_OLDEST)


def leeftijdsklasse(birth_date: date, day: date) -> str:
    """The CBS age class of a child on ``day`` (age in whole years; a day before birth counts as 0-4)."""
    for upper, label in AGE_CLASSES:
        if day < birthday(birth_date, upper):
            return label
    return AGE_OLDEST


def age_spans(birth_date: date, start: date, end: date | None) -> list[tuple[date, date | None, str]]:
    """``[start, end)`` cut at the birthdays where the age class changes: ``(start, end, class)`` pieces. An empty
    episode (end on or before start) stays one piece, so it still contributes nothing."""
    if end is not None and end <= start:
        return [(start, end, leeftijdsklasse(birth_date, start))]
    spans: list[tuple[date, date | None, str]] = []
    lo = start
    for upper, label in AGE_CLASSES:
        b = birthday(birth_date, upper)
        if lo >= b:
            continue
        if end is not None and end <= b:
            spans.append((lo, end, label))
            return spans
        spans.append((lo, b, label))
        lo = b
    spans.append((lo, end, AGE_OLDEST))
    return spans


@lru_cache(maxsize=_CACHE)
def _with_dim(d: Dims, name: str, value: str) -> Dims:
    return dims({**dict(d), name: value})


def with_leeftijdsklasse(fn: FoldFn) -> FoldFn:
    """``fn`` with the dimension ``leeftijdsklasse``: the child's CBS age class on the item's day (for a stock, on
    the day read: an episode is cut at the birthdays where the class changes). Every entity carries the child's
    birth date. Only for the indicators about children that CBS publishes by age (docs/indicators.md)."""

    def folded(version: Any) -> list[AnyItem]:
        birth: date = version.birth_date
        out: list[AnyItem] = []
        for it in fn(version):
            if isinstance(it, Episode):
                out.extend(Episode(s, e, _with_dim(it.dims, AGE, k)) for s, e, k in age_spans(birth, it.start, it.end))
            elif isinstance(it, MemberSpan):
                out.extend(
                    MemberSpan(s, e, _with_dim(it.dims, AGE, k), it.pseudonym)
                    for s, e, k in age_spans(birth, it.start, it.end)
                )
            elif isinstance(it, Member):
                out.append(Member(it.day, _with_dim(it.dims, AGE, leeftijdsklasse(birth, it.day)), it.pseudonym))
            elif isinstance(it, Item):
                out.append(Item(it.day, _with_dim(it.dims, AGE, leeftijdsklasse(birth, it.day))))
            else:
                raise TypeError(f"no leeftijdsklasse for {type(it).__name__} items")
        return out

    folded.__name__ = getattr(fn, "__name__", "fold")
    return folded


# -- geslacht, aanbieder ----------------------------------------------------------------------------
GESLACHT = "geslacht"
#: Every geslacht value (the contract's ``Geslacht``); Dutch labels where a person reads them (API ``names``).
GESLACHT_NAMES: dict[str, str] = {"man": "Man", "vrouw": "Vrouw", "onbekend": "Onbekend"}
AANBIEDER = "aanbieder"
#: The aanbieder value of an aanmelding that names none (or an entity from before the field existed).
ONBEKEND = "onbekend"


def _provider_of(version: Any) -> str:
    """The aanbieder of a plaatsing (its provider), of a verblijf segment (its placement's provider) or of an
    aanmelding (the provider it names), ``onbekend`` where there is none."""
    if isinstance(version, PlaatsingEpisode):
        return version.provider
    value: str | None = getattr(version, AANBIEDER, None)
    return value or ONBEKEND


def with_dimension(fn: FoldFn, name: str, value_of: Callable[[Any], str]) -> FoldFn:
    """``fn`` with one more dimension ``name`` whose value is a property of the entity version (the same on every
    item it folds to): ``geslacht`` (the child's, carried by every entity) or ``aanbieder``."""

    def folded(version: Any) -> list[AnyItem]:
        value = value_of(version)
        out: list[AnyItem] = []
        for it in fn(version):
            d = _with_dim(it.dims, name, value)
            if isinstance(it, Episode):
                out.append(Episode(it.start, it.end, d))
            elif isinstance(it, Member):
                out.append(Member(it.day, d, it.pseudonym))
            elif isinstance(it, Duration):
                out.append(Duration(it.day, d, it.value))
            elif isinstance(it, Span):
                out.append(Span(it.start, it.end, d))
            elif isinstance(it, MemberSpan):
                out.append(MemberSpan(it.start, it.end, d, it.pseudonym))
            else:
                out.append(Item(it.day, d))
        return out

    folded.__name__ = getattr(fn, "__name__", "fold")
    return folded


def with_geslacht(fn: FoldFn) -> FoldFn:
    """``fn`` with the dimension ``geslacht``: the child's latest known geslacht (man, vrouw, onbekend) as the
    registry carries it on every entity of the child (docs/indicators.md, Dimensions)."""
    return with_dimension(fn, GESLACHT, _geslacht_of)


def _geslacht_of(version: Any) -> str:
    value: str = version.geslacht
    return value


def with_aanbieder(fn: FoldFn) -> FoldFn:
    """``fn`` with the dimension ``aanbieder``: the provider (AGB code) of the placement (for a verblijf segment: of
    the placement its days are attributed to) or the one the aanmelding names, ``onbekend`` where none."""
    return with_dimension(fn, AANBIEDER, _provider_of)
