"""The simulator's event types with their own module (simulator/kinds): each module is the type's whole simulator
story (issue 21: adding an event type = its contract, projection, migration, fold and simulator story), and the rest
of the simulator names none of them."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from jeugdstroom.simulator import faults, kinds, truth

SIMULATOR = Path(kinds.__file__).resolve().parents[1]
KIND_COLUMNS = {"count", "distinct", "duration", "stock", "ratio", "waiting"}


def _named(etype: str, text: str) -> bool:
    """Whether ``text`` names the type: the word itself or a name built on it (``<type>_id``, ``<type>_actief``)."""
    return re.search(rf"\b{etype}(?:_|\b)", text, flags=re.IGNORECASE) is not None


def test_every_module_of_the_package_declares_its_kind() -> None:
    modules = [info.name for info in pkgutil.iter_modules(kinds.__path__)]
    assert modules, "no event type has its own simulator story"
    assert [k.type for k in kinds.KINDS] == sorted(modules)
    for name in modules:
        kind = importlib.import_module(f"{kinds.__name__}.{name}").KIND
        assert isinstance(kind, kinds.Kind)
        assert kind.type == name  # the module is named after its type
        assert kind.type in faults.DATA_MODELS  # ... which is a type of the event contract
        assert kind.side_stories, f"{name}: never told"
        assert set(kind.side_stories) <= set(kinds.MOMENTS), f"{name}: unknown moment"
        assert kind.indicators, f"{name}: no indicators"
        assert {spec[0] for spec in kind.indicators.values()} <= KIND_COLUMNS
        assert kind.by_age | kind.child_days | kind.by_aanbieder <= set(kind.indicators)
        ratios = {indicator for indicator, spec in kind.indicators.items() if spec[0] == "ratio"}
        assert kind.day_ratios | set(kind.ratio_per) <= ratios
        assert (kind.replace_rate > 0) == (kind.wrong_version is not None), f"{name}: a correction needs a mistake"


def test_the_truth_takes_the_kinds_indicators() -> None:
    for kind in kinds.KINDS:
        for indicator, (column, dims) in kind.indicators.items():
            got_column, got_dims = truth.CATALOGUE[indicator]
            assert got_column == column
            assert got_dims[: len(dims)] == dims
            assert (truth.AGE in got_dims) == (indicator in kind.by_age)
            assert (indicator in truth.CHILD_DAYS) == (indicator in kind.child_days)
            assert (indicator in truth.DAY_RATIOS) == (indicator in kind.day_ratios)
            assert truth.RATIO_PER.get(indicator) == kind.ratio_per.get(indicator)


def test_the_faults_take_the_kinds_corrections() -> None:
    for kind in kinds.KINDS:
        assert faults.P_REPLACE.get(kind.type, 0.0) == kind.replace_rate
        assert faults.P_WITHDRAW.get(kind.type, 0.0) == kind.withdraw_rate
        assert faults.WRONG_VERSIONS.get(kind.type) is kind.wrong_version


def test_only_its_module_names_a_type_with_its_own_module() -> None:
    files = sorted(SIMULATOR.rglob("*.py"))
    assert len(files) > 8 and SIMULATOR / "story.py" in files and SIMULATOR / "truth.py" in files
    for kind in kinds.KINDS:
        naming = [p.relative_to(SIMULATOR) for p in files if _named(kind.type, p.read_text(encoding="utf-8"))]
        assert naming == [Path("kinds") / f"{kind.type}.py"], naming


def test_the_word_rule_sees_a_type_and_its_names_but_not_a_longer_word() -> None:
    assert _named("separatie", 'emit("separatie", ...)')
    assert _named("separatie", "data['separatie_id']")
    assert _named("separatie", "# a Separatie")
    assert not _named("separatie", "left out: separaties")
