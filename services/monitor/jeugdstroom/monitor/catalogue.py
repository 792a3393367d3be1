"""The indicator catalogue: one declarative definition per indicator (docs/indicators.md is the contract).

An indicator of kind count, distinct, stock, duration or waiting owns a :class:`Series` (the entity it is folded
from, the dimensions stored and its pure fold function in :mod:`jeugdstroom.monitor.fold`). A ratio
names a numerator and a denominator :class:`Part`: a series (another indicator's or an internal one)
with an optional filter on a dimension that the ratio rolls up. Adding an indicator is one definition
here plus, if needed, one fold function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from jeugdstroom.monitor import fold
from jeugdstroom.monitor.fold import FoldFn
from jeugdstroom.monitor.periods import PERIODS

Kind = Literal["count", "distinct", "stock", "duration", "waiting", "ratio"]
SeriesKind = Literal["count", "distinct", "stock", "duration", "waiting"]
Direction = Literal["down", "up", "operational"]
Entity = Literal[
    "separatie",
    "aanmelding",
    "beschikking",
    "plaatsing",
    "achttien_in_pleegzorg",
    "verblijf_segment",
    "jeugdreclassering",
]

TargetRule = Literal["below", "at_most", "vs_nulmeting"]

__all__ = [
    "CATALOGUE",
    "DIMENSIONS",
    "FOLDS",
    "NULMETING_JAAR",
    "PERIODS",
    "SERIES",
    "Indicator",
    "Part",
    "Series",
    "Target",
]

G, R, INST = "gemeente", "jeugdregio", "instelling"
_ACTIEPROGRAMMA = "Actieprogramma Zorg voor de Jeugd (2018) and progress reports (2020)"
_RVN = "Regioprogramma Jeugd Rijk van Nijmegen (2023)"


@dataclass(frozen=True, slots=True)
class Series:
    """Stored aggregates: folded from one entity type, at the finest grain of ``dims`` and day."""

    id: str
    entity: Entity
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
    fold.AGE: Dimension(
        "the child's CBS age class on the item's day (a stock's: on the day read): 0-4, 4-12, 12-18, 18-23, 23+",
        filter=True,
    ),
    fold.GESLACHT: Dimension(
        "the child's latest known geslacht: man, vrouw or onbekend (names: Man, Vrouw, Onbekend)", filter=True
    ),
    fold.AANBIEDER: Dimension(
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


def _ind(
    id: str,
    nl: str,
    en: str,
    unit: str,
    kind: SeriesKind,
    entity: Entity,
    dims: tuple[str, ...],
    direction: Direction,
    source: str,
    targets: tuple[Target, ...] = (),
    headline: bool = False,
    baseline: Baseline = Baseline(),
    version: int = 1,
    members: bool = False,
) -> Indicator:
    """An indicator with its own series (fold function ``fold.<id>``)."""
    series = Series(id, entity, kind, dims, getattr(fold, id), members)
    return Indicator(
        id,
        nl,
        en,
        unit,
        kind,
        dims,
        direction,
        targets,
        source,
        series=series,
        headline=headline,
        baseline=baseline,
        version=version,
    )


#: Series that no public indicator owns, used as ratio parts.
INTERNAL: tuple[Series, ...] = (
    Series("plaatsingen_beeindigd", "plaatsing", "count", (G, R, INST), fold.plaatsingen_beeindigd),
    Series("gesloten_verblijf", "plaatsing", "stock", (INST,), fold.gesloten_verblijf),
    Series("gesloten_opnames", "plaatsing", "count", (INST,), fold.gesloten_opnames),
    Series("verblijf_gezinsgericht", "verblijf_segment", "stock", (G, R, INST), fold.verblijf_gezinsgericht),
    Series(
        "achttien_in_pleegzorg", "achttien_in_pleegzorg", "count", (G, R, INST, "continues"), fold.achttien_in_pleegzorg
    ),
)

_INDICATORS: tuple[Indicator, ...] = (
    _ind(
        "separaties",
        "Separaties en afzonderingen gestart",
        "Seclusion episodes started",
        "episodes",
        "count",
        "separatie",
        (G, R, INST, "vorm"),
        "down",
        f"{_ACTIEPROGRAMMA}, 'Stop separeren'",
        targets=(
            Target(
                "per instelling: -50% vs its nulmeting (default: its first full calendar year) the year after,"
                " then towards 0",
                "vs_nulmeting",
                INST,
                factor=0.5,
                periods=frozenset({"year"}),
                pro_rata=True,
                alert_for="1h",
            ),
        ),
        headline=True,
        baseline=Baseline(first_full_year=True),
    ),
    _ind(
        "separatie_interventies",
        "Separatie- en afzonderingsinterventies (Argus)",
        "Seclusion interventions, episodes of a child less than 24 hours apart counted once (Argus)",
        "interventions",
        "count",
        "separatie",
        (G, R, INST, "vorm"),
        "down",
        f"{_ACTIEPROGRAMMA}; Argus (GGZ): episodes within 24 hours are one intervention",
    ),
    _ind(
        "separaties_separeerruimte",
        "Separaties in een separeerruimte",
        "Seclusions in a seclusion room",
        "episodes",
        "count",
        "separatie",
        (G, R, INST),
        "down",
        f"{_ACTIEPROGRAMMA}, 'Stoppen met separeren'",
        targets=(
            Target(
                "per instelling: 0 (stoppen met separeren)",
                "at_most",
                INST,
                value=0,
                periods=frozenset({"year"}),
                alert_for="1h",
            ),
        ),
    ),
    _ind(
        "afzonderingen_overig",
        "Overige afzonderingen (time-out, eigen kamer op slot, leeggemaakte kamer)",
        "Other seclusion (time-out room, own room locked, emptied room)",
        "episodes",
        "count",
        "separatie",
        (G, R, INST, "vorm"),
        "down",
        f"{_ACTIEPROGRAMMA}, 'overige vormen van afzondering zoveel mogelijk terugdringen'",
        targets=(
            Target(
                "per instelling: -50% vs its nulmeting (default: its first full calendar year), then as low as"
                " possible",
                "vs_nulmeting",
                INST,
                factor=0.5,
                periods=frozenset({"year"}),
                pro_rata=True,
                alert_for="1h",
            ),
        ),
        baseline=Baseline(first_full_year=True),
    ),
    Indicator(
        "separaties_per_1000_verblijfsdagen",
        "Separatie-interventies per 1.000 verblijfsdagen gesloten jeugdhulp",
        "Seclusion interventions per 1,000 days of stay in closed care at the institution",
        "per 1,000 days",
        "ratio",
        (INST,),
        "down",
        (),
        "Argus (GGZ) rates; Actieprogramma Zorg voor de Jeugd",
        numerator=Part("separatie_interventies"),
        denominator=Part("gesloten_verblijf", days=True),
        per=1000,
    ),
    Indicator(
        "separaties_per_100_opnames",
        "Separatie-interventies per 100 opnames gesloten jeugdhulp",
        "Seclusion interventions per 100 admissions to closed care at the institution",
        "per 100 admissions",
        "ratio",
        (INST,),
        "down",
        (),
        "Argus (GGZ) rates; Actieprogramma Zorg voor de Jeugd",
        numerator=Part("separatie_interventies"),
        denominator=Part("gesloten_opnames"),
        per=100,
    ),
    _ind(
        "gesepareerde_jeugdigen",
        "Gesepareerde jeugdigen",
        "Children secluded (distinct)",
        "children",
        "distinct",
        "separatie",
        (G, R, INST),
        "down",
        f"{_ACTIEPROGRAMMA}, national seclusion indicator",
        headline=True,
    ),
    _ind(
        "separatie_duur",
        "Duur van separaties",
        "Seclusion duration (median, p90)",
        "minutes",
        "duration",
        "separatie",
        (G, R, INST, "vorm"),
        "down",
        f"{_ACTIEPROGRAMMA}; Argus (GGZ)",
    ),
    _ind(
        "gesloten_actief",
        "Jeugdigen in gesloten jeugdhulp",
        "Children in closed youth care",
        "children",
        "stock",
        "verblijf_segment",
        (G, R, INST),
        "down",
        f"{_ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (distinct children)",
        headline=True,
        version=2,
    ),
    _ind(
        "gesloten_instroom",
        "Instroom gesloten jeugdhulp",
        "Children entering closed youth care (transfers from another closed placement excluded)",
        "entries",
        "count",
        "plaatsing",
        (G, R, INST),
        "down",
        f"{_ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (instroom)",
        version=2,
    ),
    _ind(
        "gesloten_duur",
        "Verblijfsduur gesloten jeugdhulp",
        "Length of stay in closed care (median, p90)",
        "days",
        "duration",
        "plaatsing",
        (G, R, INST),
        "down",
        _ACTIEPROGRAMMA,
    ),
    _ind(
        "verblijf_actief",
        "Jeugdigen in verblijf per vorm",
        "Children in residential or family care by form (a child in two forms counts in each)",
        "children",
        "stock",
        "verblijf_segment",
        (G, R, INST, "vorm"),
        "operational",
        f"{_ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd",
        headline=True,
        version=2,
    ),
    _ind(
        "verblijf_jeugdigen",
        "Jeugdigen in verblijf",
        "Children in residential or family care, any form (each child once)",
        "children",
        "stock",
        "verblijf_segment",
        (G, R, INST),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf)",
    ),
    _ind(
        "verblijf_jeugdigen_in_periode",
        "Jeugdigen in verblijf in de periode",
        "Children in residential or family care on any day of the period, any form (each child once per cell)",
        "children",
        "distinct",
        "verblijf_segment",
        (G, R, INST),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf in de verslagperiode)",
        members=True,
    ),
    _ind(
        "verblijf_in_periode",
        "Jeugdigen in verblijf in de periode per vorm",
        "Children in residential or family care on any day of the period, by form (a child in two forms counts in each)",
        "children",
        "distinct",
        "verblijf_segment",
        (G, R, INST, "vorm"),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf in de verslagperiode, per vorm)",
        members=True,
    ),
    _ind(
        "gesloten_in_periode",
        "Jeugdigen in gesloten jeugdhulp in de periode",
        "Children in closed youth care on any day of the period",
        "children",
        "distinct",
        "verblijf_segment",
        (G, R, INST),
        "down",
        f"{_ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (jeugdigen in de verslagperiode)",
        members=True,
    ),
    Indicator(
        "aandeel_gezinsgericht",
        "Aandeel gezinsgericht verblijf (pleegzorg, gezinshuis)",
        "Share of children in verblijf who are in family-style care (foster care, gezinshuis)",
        "share",
        "ratio",
        (G, R),
        "up",
        (),
        f"{_ACTIEPROGRAMMA}, 'Zo thuis mogelijk'",
        numerator=Part("verblijf_gezinsgericht"),
        denominator=Part("verblijf_jeugdigen"),
        headline=True,
        version=2,
    ),
    _ind(
        "verblijf_instroom",
        "Instroom verblijf",
        "Children entering verblijf (transfers between placements excluded)",
        "entries",
        "count",
        "plaatsing",
        (G, R, INST, "vorm"),
        "down",
        f"{_RVN}; CBS Beleidsinformatie Jeugd (instroom)",
        version=2,
    ),
    _ind(
        "overplaatsingen",
        "Overplaatsingen (doorstroom)",
        "Placements started as a transfer from another placement, by the form transferred to",
        "placements",
        "count",
        "plaatsing",
        (G, R, INST, "vorm"),
        "down",
        f"{_ACTIEPROGRAMMA}; {_RVN}",
        version=2,
    ),
    _ind(
        "voortijdig_beeindigd",
        "Voortijdig beëindigde plaatsingen",
        "Placements ended prematurely",
        "placements",
        "count",
        "plaatsing",
        (G, R, INST, "vorm"),
        "down",
        _ACTIEPROGRAMMA,
    ),
    Indicator(
        "voortijdig_aandeel",
        "Aandeel voortijdig beëindigd",
        "Share of ended placements ended prematurely",
        "share",
        "ratio",
        (G, R, INST),
        "down",
        (),
        _ACTIEPROGRAMMA,
        numerator=Part("voortijdig_beeindigd"),
        denominator=Part("plaatsingen_beeindigd"),
    ),
    _ind(
        "verlengde_pleegzorg",
        "Verlengde pleegzorg (18 tot 21–23 jaar)",
        "Young adults from 18 to 21 (configurable up to 23) in foster care (pleegzorg bestand or netwerk)",
        "young adults",
        "stock",
        "verblijf_segment",
        (G, R, INST),
        "up",
        f"{_ACTIEPROGRAMMA}, 'Verlengde pleegzorg' (Jeugdwet 2020); CBS Beleidsinformatie Jeugd (pleegzorg)",
        headline=True,
        version=2,
    ),
    _ind(
        "gezinshuis_18plus",
        "Gezinshuis 18+",
        "Young adults from 18 to 21 (configurable up to 23) in a gezinshuis",
        "young adults",
        "stock",
        "verblijf_segment",
        (G, R, INST),
        "up",
        f"{_ACTIEPROGRAMMA} (continuation in a gezinshuis, apart from verlengde pleegzorg)",
    ),
    Indicator(
        "continuering_18",
        "Continuering op 18e verjaardag",
        "Share of children in foster care on their 18th birthday still in foster care 30 (configurable) days later",
        "share",
        "ratio",
        (G, R, INST),
        "up",
        (),
        f"{_ACTIEPROGRAMMA}, 'Verlengde pleegzorg'",
        numerator=Part("achttien_in_pleegzorg", {"continues": frozenset({"true"})}),
        denominator=Part("achttien_in_pleegzorg"),
        version=2,
    ),
    _ind(
        "wachtlijst_pleegzorg",
        "Wachtlijst pleegzorg",
        "Children waiting for foster care",
        "children",
        "stock",
        "aanmelding",
        (G, R, "urgent"),
        "down",
        _RVN,
        targets=(
            Target(
                "JZ32 (Rijk van Nijmegen): fewer than 5",
                "below",
                R,
                value=5,
                where=frozenset({"JZ32"}),
                alert_for="30m",
            ),
        ),
        headline=True,
        version=2,  # v2: the wait ends at a pleegzorg placement linked by child and date, or the closing
    ),
    _ind(
        "wachtend_pleegzorg_dagen",
        "Wachtenden pleegzorg: dagen gewacht",
        "Days waited so far by children still waiting for foster care (median, p90)",
        "days",
        "waiting",
        "aanmelding",
        (G, R, "urgent"),
        "down",
        f"{_RVN}; {_ACTIEPROGRAMMA} (transparent waiting times)",
    ),
    _ind(
        "wachttijd_beschikking",
        "Wachttijd aanmelding → beschikking",
        "Waiting time referral → decision (median, p90)",
        "days",
        "duration",
        "aanmelding",
        (G, R, "urgent", "zorgvorm"),
        "down",
        _ACTIEPROGRAMMA,
        version=2,  # v2: to the decision date (besluitdatum) where the beschikking carries one
    ),
    _ind(
        "wachttijd_plaatsing",
        "Wachttijd aanmelding → plaatsing",
        "Waiting time referral → placement (median, p90)",
        "days",
        "duration",
        "aanmelding",
        (G, R, "urgent", "zorgvorm"),
        "down",
        _ACTIEPROGRAMMA,
        version=2,  # v2: pleegzorg waits end at a pleegzorg placement, linked by child and date
    ),
    _ind(
        "jeugdbescherming_actief",
        "Jeugdigen met jeugdbescherming",
        "Children with a child-protection measure (distinct children; a child with two soorten counts in each)",
        "children",
        "stock",
        "beschikking",
        (G, R, INST, "soort"),
        "down",
        f"{_ACTIEPROGRAMMA}; {_RVN}; CBS Beleidsinformatie Jeugd (jeugdigen met jeugdbescherming)",
        headline=True,
        version=2,  # v2: distinct children per cell on the day read, not maatregelen
        members=True,
    ),
    _ind(
        "jeugdbescherming_in_periode",
        "Jeugdigen met jeugdbescherming in de periode",
        "Children with a child-protection measure on any day of the period (distinct children)",
        "children",
        "distinct",
        "beschikking",
        (G, R, INST, "soort"),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdbescherming in de verslagperiode)",
        members=True,
    ),
    _ind(
        "jeugdbescherming_duur",
        "Duur ondertoezichtstelling en voogdij",
        "Duration of ended OTS and voogdij (median, p90)",
        "days",
        "duration",
        "beschikking",
        (G, R, INST, "soort"),
        "down",
        f"{_RVN}; CBS Beleidsinformatie Jeugd (jeugdbeschermingsmaatregelen)",
        version=2,  # v2: voogdij as well as OTS, by soort
    ),
    _ind(
        "jeugdreclassering_actief",
        "Jeugdigen met jeugdreclassering",
        "Children with a jeugdreclassering trajectory (distinct children)",
        "children",
        "stock",
        "jeugdreclassering",
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdreclassering); iJw product category 47",
        members=True,
    ),
    _ind(
        "jeugdreclassering_in_periode",
        "Jeugdigen met jeugdreclassering in de periode",
        "Children with a jeugdreclassering trajectory on any day of the period (distinct children)",
        "children",
        "distinct",
        "jeugdreclassering",
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdreclassering in de verslagperiode)",
        members=True,
    ),
    _ind(
        "jeugdreclassering_instroom",
        "Gestarte jeugdreclasseringstrajecten",
        "Jeugdreclassering trajectories started",
        "trajectories",
        "count",
        "jeugdreclassering",
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (instroom jeugdreclassering)",
    ),
    _ind(
        "jeugdreclassering_duur",
        "Duur jeugdreclassering",
        "Duration of ended jeugdreclassering trajectories (median, p90)",
        "days",
        "duration",
        "jeugdreclassering",
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (beëindigde jeugdreclassering)",
    ),
    _ind(
        "verwijzers",
        "Aanmeldingen per verwijzer",
        "Referrals by referrer",
        "referrals",
        "count",
        "aanmelding",
        (G, R, "verwijzer"),
        "operational",
        f"{_RVN}; iJw COD327",
    ),
    _ind(
        "herhaald_beroep",
        "Herhaald beroep",
        "New referrals within 12 months after previous care ended",
        "referrals",
        "count",
        "aanmelding",
        (G, R),
        "down",
        _RVN,
    ),
)

#: The indicators about children that CBS publishes by age class: they get the dimension ``leeftijdsklasse``
#: (docs/indicators.md, Dimensions). Not every indicator: each dimension multiplies the stored cells.
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
        "jeugdreclassering_actief",
        "jeugdreclassering_in_periode",
        "jeugdreclassering_instroom",
        "gesloten_instroom",
        "verblijf_instroom",
        "gesepareerde_jeugdigen",
        "wachtlijst_pleegzorg",
    }
)


def _with_leeftijdsklasse(ind: Indicator) -> Indicator:
    """``ind`` with the last dimension ``leeftijdsklasse``, its series folded by the wrapped fold function."""
    assert ind.series is not None, ind.id
    series = replace(ind.series, dims=(*ind.series.dims, fold.AGE), fold=fold.with_leeftijdsklasse(ind.series.fold))
    return replace(ind, dimensions=(*ind.dimensions, fold.AGE), series=series)


_INDICATORS = tuple(_with_leeftijdsklasse(i) if i.id in BY_AGE else i for i in _INDICATORS)

#: The indicators about children by geslacht: the same as by age class (CBS publishes both), docs/indicators.md.
BY_GESLACHT = BY_AGE
#: The placement indicators by aanbieder, and the waiting times/list where the aanmelding names one. Not the ratios
#: (their parts would need it too) and not the separatie series (their instelling is the provider already).
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
)


def _with_dimension(ind: Indicator, name: str, wrap: Callable[[FoldFn], FoldFn]) -> Indicator:
    """``ind`` with the last dimension ``name``, its series folded by ``wrap`` of its fold function."""
    assert ind.series is not None, ind.id
    series = replace(ind.series, dims=(*ind.series.dims, name), fold=wrap(ind.series.fold))
    return replace(ind, dimensions=(*ind.dimensions, name), series=series)


_INDICATORS = tuple(
    _with_dimension(i, fold.GESLACHT, fold.with_geslacht) if i.id in BY_GESLACHT else i for i in _INDICATORS
)
_INDICATORS = tuple(
    _with_dimension(i, fold.AANBIEDER, fold.with_aanbieder) if i.id in BY_AANBIEDER else i for i in _INDICATORS
)

CATALOGUE: dict[str, Indicator] = {i.id: i for i in _INDICATORS}

#: Every stored series by id.
SERIES: dict[str, Series] = {
    **{i.series.id: i.series for i in _INDICATORS if i.series is not None},
    **{s.id: s for s in INTERNAL},
}

#: Entity name → the (series id, fold function) pairs folded from it.
FOLDS: dict[str, list[tuple[str, FoldFn]]] = {}
for _s in SERIES.values():
    FOLDS.setdefault(_s.entity, []).append((_s.id, _s.fold))


def parts_of(ind: Indicator) -> list[Part]:
    """The series an indicator is computed from."""
    if ind.kind == "ratio":
        assert ind.numerator is not None and ind.denominator is not None
        return [ind.numerator, ind.denominator]
    assert ind.series is not None
    return [Part(ind.series.id)]


#: Series id → the indicators computed from it (for the indicator topic).
USERS: dict[str, list[Indicator]] = {}
for _i in CATALOGUE.values():
    for _p in parts_of(_i):
        if _i not in USERS.setdefault(_p.series, []):
            USERS[_p.series].append(_i)

for _i in CATALOGUE.values():  # a ratio's parts must carry the ratio's dimensions
    for _p in parts_of(_i):
        assert set(_i.dimensions) <= set(SERIES[_p.series].dims), _i.id
