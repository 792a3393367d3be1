"""The indicator catalogue: one declarative definition per indicator (docs/indicators.md is the contract).

An indicator of kind count, distinct, stock, duration or waiting owns a :class:`Series` (the entity it is folded
from, the dimensions stored and its pure fold function). A ratio names a numerator and a denominator :class:`Part`:
a series (another indicator's or an internal one) with an optional filter on a dimension that the ratio rolls up.

The definitions live with their fold functions in the entity modules of :mod:`jeugdstroom.monitor.indicators` (one
module per registry entity); this module discovers them and assembles :data:`CATALOGUE` (in the indicators'
``order``), :data:`SERIES`, :data:`FOLDS` and :data:`USERS`. Adding an indicator is one definition and its fold
function in its entity's module; adding an entity is one new module there.
"""

from __future__ import annotations

from types import ModuleType

from jeugdstroom.common.discovery import submodules
from jeugdstroom.monitor import indicators
from jeugdstroom.monitor.definition import (
    DIMENSIONS,
    NULMETING_JAAR,
    Baseline,
    Dimension,
    Direction,
    Indicator,
    Kind,
    Part,
    Series,
    SeriesKind,
    Target,
    TargetRule,
)
from jeugdstroom.monitor.fold import FoldFn
from jeugdstroom.monitor.periods import PERIODS

__all__ = [
    "CATALOGUE",
    "DIMENSIONS",
    "FOLDS",
    "MODULES",
    "NULMETING_JAAR",
    "PERIODS",
    "SERIES",
    "USERS",
    "Baseline",
    "Dimension",
    "Direction",
    "Indicator",
    "Kind",
    "Part",
    "Series",
    "SeriesKind",
    "Target",
    "TargetRule",
    "parts_of",
]


def _entity_modules() -> tuple[ModuleType, ...]:
    """The entity modules of :mod:`jeugdstroom.monitor.indicators`, by name (each with ``ENTITY``, ``INDICATORS`` and
    ``INTERNAL``)."""
    return submodules(indicators.__name__, indicators.__path__)


#: The entity modules the catalogue is assembled from.
MODULES: tuple[ModuleType, ...] = _entity_modules()
_INDICATORS: tuple[Indicator, ...] = tuple(sorted((i for m in MODULES for i in m.INDICATORS), key=lambda i: i.order))
assert len({i.order for i in _INDICATORS}) == len(_INDICATORS), "two indicators with the same order"
assert len({i.id for i in _INDICATORS}) == len(_INDICATORS), "two indicators with the same id"

#: Indicator id → its definition, in the catalogue's order (of the API, the docs and the indicator topic).
CATALOGUE: dict[str, Indicator] = {i.id: i for i in _INDICATORS}

#: Every stored series by id: the indicators' (in catalogue order), then the internal ones.
SERIES: dict[str, Series] = {
    **{i.series.id: i.series for i in _INDICATORS if i.series is not None},
    **{s.id: s for m in MODULES for s in m.INTERNAL},
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
