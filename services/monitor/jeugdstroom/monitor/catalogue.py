"""The indicator catalogue: one declarative definition per indicator (docs/indicators.md is the contract).

An indicator of kind count, distinct, stock or duration owns a :class:`Series` (the entity it is folded
from, the dimensions stored and its pure fold function in :mod:`jeugdstroom.monitor.fold`). A ratio
names a numerator and a denominator :class:`Part`: a series (another indicator's or an internal one)
with an optional filter on a dimension that the ratio rolls up. Adding an indicator is one definition
here plus, if needed, one fold function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from jeugdstroom.monitor import fold
from jeugdstroom.monitor.fold import FoldFn
from jeugdstroom.monitor.periods import PERIODS

Kind = Literal["count", "distinct", "stock", "duration", "ratio"]
SeriesKind = Literal["count", "distinct", "stock", "duration"]
Direction = Literal["down", "up", "operational"]
Entity = Literal["separatie", "aanmelding", "beschikking", "plaatsing", "achttien_in_pleegzorg", "verblijf_segment"]

__all__ = ["CATALOGUE", "FOLDS", "PERIODS", "SERIES", "Indicator", "Part", "Series"]

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


@dataclass(frozen=True, slots=True)
class Part:
    """Numerator or denominator of a ratio: a series, optionally restricted to some dimension values."""

    series: str
    where: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    title_nl: str
    title_en: str
    unit: str
    kind: Kind
    dimensions: tuple[str, ...]
    direction: Direction
    target: str | None
    source: str
    series: Series | None = None
    numerator: Part | None = None
    denominator: Part | None = None
    headline: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None, self.id
        else:
            assert self.series is not None and self.series.kind == self.kind, self.id
            assert set(self.dimensions) == set(self.series.dims), self.id


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
    target: str | None = None,
    headline: bool = False,
    version: int = 1,
) -> Indicator:
    """An indicator with its own series (fold function ``fold.<id>``)."""
    series = Series(id, entity, kind, dims, getattr(fold, id))
    return Indicator(
        id, nl, en, unit, kind, dims, direction, target, source, series=series, headline=headline, version=version
    )


#: Series that no public indicator owns, used as ratio parts.
INTERNAL: tuple[Series, ...] = (
    Series("plaatsingen_beeindigd", "plaatsing", "count", (G, R, INST), fold.plaatsingen_beeindigd),
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
        target="per instelling: -50% vs its nulmeting (default: its first full calendar year) the year after,"
        " then towards 0",
        headline=True,
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
        (R, INST, "vorm"),
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
        (R, INST),
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
    Indicator(
        "aandeel_gezinsgericht",
        "Aandeel gezinsgericht verblijf (pleegzorg, gezinshuis)",
        "Share of children in verblijf who are in family-style care (foster care, gezinshuis)",
        "share",
        "ratio",
        (G, R),
        "up",
        None,
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
        None,
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
        None,
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
        (G, R),
        "down",
        _RVN,
        target="rijk-van-nijmegen: fewer than 5",
        headline=True,
    ),
    _ind(
        "wachttijd_beschikking",
        "Wachttijd aanmelding → beschikking",
        "Waiting time referral → decision (median, p90)",
        "days",
        "duration",
        "aanmelding",
        (G, R, "zorgvorm"),
        "down",
        _ACTIEPROGRAMMA,
    ),
    _ind(
        "wachttijd_plaatsing",
        "Wachttijd aanmelding → plaatsing",
        "Waiting time referral → placement (median, p90)",
        "days",
        "duration",
        "aanmelding",
        (G, R, "zorgvorm"),
        "down",
        _ACTIEPROGRAMMA,
    ),
    _ind(
        "jeugdbescherming_actief",
        "Lopende jeugdbeschermingsmaatregelen",
        "Active child-protection measures",
        "measures",
        "stock",
        "beschikking",
        (G, R, INST, "soort"),
        "down",
        f"{_ACTIEPROGRAMMA}; {_RVN}",
        headline=True,
    ),
    _ind(
        "jeugdbescherming_duur",
        "Duur ondertoezichtstelling",
        "Duration of ended OTS (median, p90)",
        "days",
        "duration",
        "beschikking",
        (R, INST),
        "down",
        _RVN,
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
