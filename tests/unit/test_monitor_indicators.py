"""The monitor's share of an event type is one module (issue 21 item 2): each registry entity's indicators and fold
functions live in ``monitor/indicators/<entity>.py``, and no other monitor module knows a particular entity."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path
from types import ModuleType

from jeugdstroom.common.contracts.unions import AnyChange
from jeugdstroom.monitor.catalogue import CATALOGUE, FOLDS, MODULES, SERIES
from jeugdstroom.monitor.definition import Series

MONITOR = Path(__file__).resolve().parents[2] / "services/monitor/jeugdstroom/monitor"
#: Entity name → the entity version class of its change contract (``after``), from the contracts' change union.
EPISODES: dict[str, type] = {
    c.model_fields["entity"].default: typing.get_args(c.model_fields["after"].annotation)[0]
    for c in typing.get_args(AnyChange)
}
#: The catalogue's order as the indicator topic, the API and docs/indicators.md have it (before the split by entity).
ORDER = [
    "separaties",
    "separatie_interventies",
    "separaties_separeerruimte",
    "afzonderingen_overig",
    "separaties_per_1000_verblijfsdagen",
    "separaties_per_100_opnames",
    "gesepareerde_jeugdigen",
    "separatie_duur",
    "gesloten_actief",
    "gesloten_instroom",
    "gesloten_duur",
    "verblijf_actief",
    "verblijf_jeugdigen",
    "verblijf_jeugdigen_in_periode",
    "verblijf_in_periode",
    "gesloten_in_periode",
    "aandeel_gezinsgericht",
    "verblijf_instroom",
    "overplaatsingen",
    "voortijdig_beeindigd",
    "voortijdig_aandeel",
    "verlengde_pleegzorg",
    "gezinshuis_18plus",
    "continuering_18",
    "wachtlijst_pleegzorg",
    "wachtend_pleegzorg_dagen",
    "wachttijd_beschikking",
    "wachttijd_plaatsing",
    "jeugdbescherming_actief",
    "jeugdbescherming_in_periode",
    "jeugdbescherming_duur",
    "jeugdreclassering_actief",
    "jeugdreclassering_in_periode",
    "jeugdreclassering_instroom",
    "jeugdreclassering_duur",
    "verwijzers",
    "herhaald_beroep",
]


def _series(module: ModuleType) -> list[Series]:
    return [*(i.series for i in module.INDICATORS if i.series is not None), *module.INTERNAL]


def _episode_of(fn: typing.Callable[..., object]) -> object:
    """The annotated type of a fold function's (first) parameter, the wrappers of age, geslacht, aanbieder undone."""
    raw = inspect.unwrap(fn)
    first = next(iter(inspect.signature(raw).parameters))
    return typing.get_type_hints(raw)[first]


def test_the_catalogue_keeps_its_order_and_every_indicator_once() -> None:
    assert list(CATALOGUE) == ORDER


def test_every_entity_module_folds_only_its_own_entity() -> None:
    assert {m.ENTITY for m in MODULES} == set(FOLDS) <= set(EPISODES)  # every module folds something
    assert len({m.ENTITY for m in MODULES}) == len(MODULES)
    for module in MODULES:
        assert module.__name__.rpartition(".")[2] == module.ENTITY  # found by its entity's name
        for s in _series(module):
            assert s.entity == module.ENTITY, (module.ENTITY, s.id)
            assert inspect.unwrap(s.fold).__module__ == module.__name__, (module.ENTITY, s.id)
            assert _episode_of(s.fold) is EPISODES[module.ENTITY], (module.ENTITY, s.id)
        for ind in module.INDICATORS:  # a ratio is declared with the entity of its numerator
            if ind.numerator is not None:
                assert SERIES[ind.numerator.series].entity == module.ENTITY, ind.id
    assert sorted(s.id for m in MODULES for s in _series(m)) == sorted(SERIES)  # no series outside the modules


def test_no_monitor_module_outside_the_indicators_names_an_entity() -> None:
    """Neither an entity's version class nor its name (as an identifier or a string) appears in the monitor's code
    outside ``indicators/``: adding an entity needs no edit there."""
    classes = {c.__name__ for c in EPISODES.values()} | {c.__name__ for c in typing.get_args(AnyChange)}
    files = [p for p in MONITOR.rglob("*.py") if "indicators" not in p.relative_to(MONITOR).parts]
    assert len(files) > 10 and MONITOR / "fold.py" in files and MONITOR / "catalogue.py" in files
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom | ast.Import) else []
            if isinstance(node, ast.Name | ast.Attribute):
                names.append(node.id if isinstance(node, ast.Name) else node.attr)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.append(node.value)
            found += [(path.name, n) for n in names if n in classes or n in EPISODES]
    assert found == []
