"""An indicator definition as data: :class:`Indicator` with its :class:`Series` (or the :class:`Part` s of a ratio),
:class:`Target` s and :class:`Baseline`, the :data:`DIMENSIONS`, and :func:`indicator`, the builder the entity
modules of :mod:`jeugdstroom.monitor.indicators` declare their indicators with (the catalogue assembles them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from jeugdstroom.monitor.fold import (
    AANBIEDER,
    AGE,
    GESLACHT,
    FoldFn,
    with_aanbieder,
    with_geslacht,
    with_leeftijdsklasse,
)
from jeugdstroom.monitor.periods import PERIODS

Kind = Literal["count", "distinct", "stock", "duration", "waiting", "ratio"]
SeriesKind = Literal["count", "distinct", "stock", "duration", "waiting"]
Direction = Literal["down", "up", "operational"]
TargetRule = Literal["below", "at_most", "vs_nulmeting"]

G, R, INST = "gemeente", "jeugdregio", "instelling"
#: Dimensions that break an indicator down by what it counts (not by where or who): published on the indicator topic
#: with every place (:attr:`Indicator.topic_groupings`).
BREAKDOWNS = ("vorm", "soort", "zorgvorm", "verwijzer", "urgent")
#: Sources the indicators of several entities cite.
ACTIEPROGRAMMA = "Actieprogramma Zorg voor de Jeugd (2018) and progress reports (2020)"
RVN = "Regioprogramma Jeugd Rijk van Nijmegen (2023)"


@dataclass(frozen=True, slots=True)
class Series:
    """Stored aggregates: folded from one entity type, at the finest grain of ``dims`` and day."""

    id: str
    entity: str  # the registry entity (its change contract's ``entity``) the series is folded from
    kind: SeriesKind
    dims: tuple[str, ...]
    fold: FoldFn
    #: children counted distinct per cell from member spans (fold items :class:`~jeugdstroom.monitor.fold.MemberSpan`):
    #: a ``stock`` on the day read, a ``distinct`` series on any day of the period ("jeugdigen met … in de periode")
    members: bool = False


@dataclass(frozen=True, slots=True)
class Part:
    """Numerator or denominator of a ratio: a series, optionally restricted to some dimension values; with
    ``days`` (a stock series) the sum over the period's days (up to as_of) of its value: e.g. verblijfsdagen."""

    series: str
    where: Mapping[str, frozenset[str]] = field(default_factory=dict)
    days: bool = False


@dataclass(frozen=True, slots=True)
class Dimension:
    """A dimension as data: what its values mean; ``filter``: the JSON API takes it as a filter parameter."""

    description: str
    filter: bool = False


#: Every dimension an indicator may have (the API lists them at ``/v1/dimensions``).
DIMENSIONS: dict[str, Dimension] = {
    G: Dimension("the child's gemeente (CBS code GM####) of the episode", filter=True),
    R: Dimension("the jeugdregio of that gemeente (after the geography change its CBS code, e.g. JZ32)", filter=True),
    INST: Dimension(
        "the instelling: the sender of the events describing the episode (AGB code or GM####); for the separatie"
        " rates the provider of the gesloten placements",
        filter=True,
    ),
    "vorm": Dimension("separatie form or placement form (docs/glossary.md)"),
    "soort": Dimension("beschikking soort: ots, voorlopige_ots, voogdij"),
    "zorgvorm": Dimension("the care form an aanmelding asks for"),
    "verwijzer": Dimension("who referred the child (iJw COD327)"),
    "urgent": Dimension("the aanmelding's urgent flag: true or false"),
    "continues": Dimension("internal: the placement continued past the 18th birthday (true or false)"),
    AGE: Dimension(
        "the child's CBS age class on the item's day (a stock's: on the day read): 0-4, 4-12, 12-18, 18-23, 23+",
        filter=True,
    ),
    GESLACHT: Dimension(
        "the child's latest known geslacht: man, vrouw or onbekend (names: Man, Vrouw, Onbekend)", filter=True
    ),
    AANBIEDER: Dimension(
        "the provider (AGB code) of the placement, or the one an aanmelding names (onbekend where none); not the"
        " sender of the last event",
        filter=True,
    ),
}


@dataclass(frozen=True, slots=True)
class Target:
    """A target as data (docs/indicators.md, Targets). It applies to rows of exactly one dimension, ``scope``
    (a cell split further is not what the target is about), restricted to the scope values in ``where`` (empty:
    every value) and to the periods in ``periods``:

    * ``below``: on track while the value is below ``value``;
    * ``at_most``: on track while the value is at most ``value``;
    * ``vs_nulmeting``: in every year after the row's nulmeting year, the target is ``factor`` × the nulmeting
      value; ``pro_rata``: a running year is compared with the part of the year elapsed.

    ``alert_for`` is the ``for`` of the Prometheus alert on this target (deploy/prometheus/rules.yml is
    checked against it by tests/unit/test_deploy.py)."""

    text: str
    rule: TargetRule
    scope: str
    value: float | None = None
    factor: float | None = None
    where: frozenset[str] = frozenset()
    periods: frozenset[str] = frozenset(PERIODS)
    pro_rata: bool = False
    alert_for: str = "1h"

    def __post_init__(self) -> None:
        assert (self.rule == "vs_nulmeting") == (self.factor is not None), self.text
        assert (self.rule != "vs_nulmeting") == (self.value is not None), self.text


@dataclass(frozen=True, slots=True)
class Baseline:
    """Where an indicator's nulmeting (baseline year) comes from, for a row: a year configured for the row's
    instelling or jeugdregio (``JEUGDSTROOM_NULMETING``); with ``first_full_year`` the instelling's first full
    calendar year of data; else the catalogue's default per jeugdregio (:data:`NULMETING_JAAR`)."""

    first_full_year: bool = False


#: Default nulmeting year per jeugdregio (CBS code): the Rijk van Nijmegen programme compares every indicator with
#: 2022 (Regioprogramma Jeugd Rijk van Nijmegen 2023).
NULMETING_JAAR: Mapping[str, int] = {"JZ32": 2022}


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    title_nl: str
    title_en: str
    unit: str
    kind: Kind
    dimensions: tuple[str, ...]
    direction: Direction
    targets: tuple[Target, ...]
    source: str
    series: Series | None = None
    numerator: Part | None = None
    denominator: Part | None = None
    headline: bool = False
    baseline: Baseline = Baseline()
    per: int = 1  # a ratio's value is numerator / denominator × per (e.g. per 1,000 verblijfsdagen)
    version: int = 1
    #: the indicator's place in the catalogue (ascending; the order of the API, the docs and the indicator topic)
    order: int = 0

    @property
    def topic_groupings(self) -> tuple[tuple[str, ...], ...]:
        """The dimension sets of the indicator's cells on the indicator topic: the whole country, and per jeugdregio,
        gemeente and instelling where the indicator has them, each alone and with the indicator's breakdowns
        (:data:`BREAKDOWNS`: vorm, soort, …), in :attr:`dimensions` order. The JSON API serves every other
        combination (by age class, geslacht, aanbieder, or several places at once): at its full dimension set the
        topic would be mostly suppressed cells, as many as there are children (docs/monitor.md)."""
        breakdown = tuple(d for d in self.dimensions if d in BREAKDOWNS)
        out: list[tuple[str, ...]] = []
        for place in ((), *((d,) for d in (R, G, INST) if d in self.dimensions)):
            for dims in (place, place + breakdown):
                ordered = tuple(d for d in self.dimensions if d in dims)
                if ordered not in out:
                    out.append(ordered)
        return tuple(out)

    @property
    def target(self) -> str | None:
        """The targets in words (the catalogue's ``target`` field), None without one."""
        return "; ".join(t.text for t in self.targets) or None

    def __post_init__(self) -> None:
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None, self.id
        else:
            assert self.series is not None and self.series.kind == self.kind, self.id
            assert set(self.dimensions) == set(self.series.dims), self.id
        for t in self.targets:
            assert t.scope in self.dimensions, self.id
        assert set(self.dimensions) <= set(DIMENSIONS), self.id


def indicator(
    id: str,
    nl: str,
    en: str,
    unit: str,
    kind: SeriesKind,
    entity: str,
    dims: tuple[str, ...],
    direction: Direction,
    source: str,
    *,
    fold: FoldFn,
    order: int,
    targets: tuple[Target, ...] = (),
    headline: bool = False,
    baseline: Baseline = Baseline(),
    version: int = 1,
    members: bool = False,
    by_age: bool = False,
    by_geslacht: bool = False,
    by_aanbieder: Callable[[Any], str] | None = None,
) -> Indicator:
    """An indicator with its own series, folded from ``entity`` by ``fold``. ``by_age``, ``by_geslacht``: it gets the
    last dimension ``leeftijdsklasse``, then ``geslacht`` (the indicators about children CBS publishes by age class
    and geslacht, docs/indicators.md, Dimensions; not every indicator: each dimension multiplies the stored cells);
    ``by_aanbieder``: then ``aanbieder``, valued by this function of the entity version."""
    ind = Indicator(
        id,
        nl,
        en,
        unit,
        kind,
        dims,
        direction,
        targets,
        source,
        series=Series(id, entity, kind, dims, fold, members),
        headline=headline,
        baseline=baseline,
        version=version,
        order=order,
    )
    if by_age:
        ind = _with_dimension(ind, AGE, with_leeftijdsklasse)
    if by_geslacht:
        ind = _with_dimension(ind, GESLACHT, with_geslacht)
    if by_aanbieder is not None:
        value_of = by_aanbieder
        ind = _with_dimension(ind, AANBIEDER, lambda fn: with_aanbieder(fn, value_of))
    return ind


def _with_dimension(ind: Indicator, name: str, wrap: Callable[[FoldFn], FoldFn]) -> Indicator:
    """``ind`` with the last dimension ``name``, its series folded by ``wrap`` of its fold function."""
    assert ind.series is not None, ind.id
    series = replace(ind.series, dims=(*ind.series.dims, name), fold=wrap(ind.series.fold))
    return replace(ind, dimensions=(*ind.dimensions, name), series=series)
