"""Schema evolution (docs/schema-evolution.md): the contracts stay compatible with the released schemas in
docs/schemas/, and the checker catches each kind of breaking change while letting compatible ones through."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jeugdstroom.cli.main import main
from jeugdstroom.common.contracts.compat import OPEN_ENUM, compare, load_released, problems
from jeugdstroom.common.contracts.validation import json_schemas

RELEASED = Path(__file__).resolve().parents[2] / "docs" / "schemas"
PUBLISHED = "published-event.schema.json"
CHANGES = "registry-change.schema.json"

Mutation = Callable[[dict[str, Any]], None]


def test_current_contracts_are_compatible_with_the_released_schemas() -> None:
    released = load_released(RELEASED)
    assert set(released) >= {PUBLISHED, CHANGES, "submitted-event.schema.json"}
    assert problems(released, json_schemas()) == []


def test_a_schema_is_compatible_with_itself() -> None:
    for name, schema in json_schemas().items():
        report = compare(name, schema, copy.deepcopy(schema))
        assert report.breaking == () and report.ok, name


def _defs(schema: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = schema["$defs"]
    return defs


def _published() -> dict[str, Any]:
    return copy.deepcopy(json_schemas()[PUBLISHED])


def _sep(schema: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = _defs(schema)["SeparatieData"]
    return data


def _remove_field(s: dict[str, Any]) -> None:
    del _sep(s)["properties"]["reden"]


def _make_optional_required(s: dict[str, Any]) -> None:
    _sep(s)["required"].append("end")


def _narrow_type(s: dict[str, Any]) -> None:  # end: datetime | None  ->  datetime
    _sep(s)["properties"]["end"] = _sep(s)["properties"]["end"]["anyOf"][0]


def _change_type(s: dict[str, Any]) -> None:
    _defs(s)["AanmeldingData"]["properties"]["urgent"] = {"type": "string"}


def _remove_enum_value(s: dict[str, Any]) -> None:
    _sep(s)["properties"]["vorm"]["enum"].remove("leeggemaakte_kamer")


def _add_value_to_closed_enum(s: dict[str, Any]) -> None:
    _sep(s)["properties"]["vorm"]["enum"].append("fixatie")


def _add_required_field(s: dict[str, Any]) -> None:
    _sep(s)["properties"]["locatie"] = {"type": "string"}
    _sep(s)["required"].append("locatie")


def _stop_requiring(s: dict[str, Any]) -> None:
    _sep(s)["required"].remove("vorm")


def _tighten_pattern(s: dict[str, Any]) -> None:
    _defs(s)["PublishedChild"]["properties"]["gemeente"]["pattern"] = "^GM0[0-9]{3}$"


def _remove_event_type(s: dict[str, Any]) -> None:
    s["oneOf"] = [m for m in s["oneOf"] if "Separatie" not in m["$ref"]]
    del s["discriminator"]["mapping"]["separatie"]


def _widen_type(s: dict[str, Any]) -> None:  # vorm: enum -> enum | null
    vorm = _sep(s)["properties"]["vorm"]
    _sep(s)["properties"]["vorm"] = {"anyOf": [vorm, {"type": "null"}]}


def _change_const(s: dict[str, Any]) -> None:
    _defs(s)["Separatie_PublishedChild_"]["properties"]["type"]["const"] = "afzondering"


BREAKING: dict[str, tuple[Mutation, str, str]] = {
    "remove a field": (_remove_field, "separatie.data.reden", "property removed"),
    "make an optional field required": (_make_optional_required, "separatie.data.end", "became required"),
    "narrow a type (drop null)": (_narrow_type, "separatie.data.end", "type narrowed"),
    "change a type": (_change_type, "aanmelding.data.urgent", "type changed"),
    "remove an enum value": (_remove_enum_value, "separatie.data.vorm", "enum value removed"),
    "add a value to a closed enum": (_add_value_to_closed_enum, "separatie.data.vorm", "enum value added"),
    "add a required field": (_add_required_field, "separatie.data.locatie", "new required property"),
    "stop requiring a field": (_stop_requiring, "separatie.data.vorm", "no longer required"),
    "tighten a pattern": (_tighten_pattern, "child.gemeente", "constraint changed"),
    "remove an event type": (_remove_event_type, "", "union member removed"),
    "widen a type": (_widen_type, "separatie.data.vorm", "type widened"),
    "rename an event type (its const)": (_change_const, "", "union member removed"),
}


@pytest.mark.parametrize("case", list(BREAKING))
def test_checker_catches_a_breaking_change(case: str) -> None:
    mutate, path, kind = BREAKING[case]
    old = _published()
    new = copy.deepcopy(old)
    mutate(new)
    report = compare(PUBLISHED, old, new)
    assert not report.ok
    found = [(c.path, c.kind) for c in report.breaking]
    assert any(p.endswith(path) and k.startswith(kind) for p, k in found), found
    assert problems({PUBLISHED: old}, {PUBLISHED: new}), "problems() must report it too"


def test_adding_an_optional_field_is_compatible() -> None:
    old = _published()
    new = copy.deepcopy(old)
    _sep(new)["properties"]["kamer"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    _defs(new)["PublishedChild"]["properties"]["woonplaats"] = {"type": "string"}  # optional: not in required
    _sep(new)["properties"]["vorm"]["description"] = "documentation may change freely"
    report = compare(PUBLISHED, old, new)
    assert report.breaking == () and report.ok


def test_a_new_registry_entity_type_is_compatible() -> None:
    """What the registry does when it adds an entity kind: a new member of the discriminated union."""
    old = copy.deepcopy(json_schemas()[CHANGES])
    new = copy.deepcopy(old)
    change = copy.deepcopy(_defs(new)["SeparatieChange"])
    change["properties"]["entity"] = {"const": "verblijf_dag", "default": "verblijf_dag", "type": "string"}
    change["properties"]["after"]["anyOf"][0] = {"$ref": "#/$defs/VerblijfDag"}
    change["properties"]["before"]["anyOf"][0] = {"$ref": "#/$defs/VerblijfDag"}
    _defs(new)["VerblijfDagChange"] = change
    _defs(new)["VerblijfDag"] = {"type": "object", "properties": {"dag": {"type": "string", "format": "date"}}}
    new["oneOf"].append({"$ref": "#/$defs/VerblijfDagChange"})
    new["discriminator"]["mapping"]["verblijf_dag"] = "#/$defs/VerblijfDagChange"
    assert compare(CHANGES, old, new).ok and compare(CHANGES, old, new).breaking == ()
    # ...whereas changing an existing entity kind in place is caught.
    del _defs(new)["SeparatieEpisode"]["properties"]["vorm"]
    assert [c.kind for c in compare(CHANGES, old, new).breaking] == ["property removed"]


def test_new_values_are_compatible_only_in_an_enum_the_released_contract_marks_open() -> None:
    old = _published()
    _sep(old)["properties"]["vorm"][OPEN_ENUM] = True
    new = copy.deepcopy(old)
    _add_value_to_closed_enum(new)
    assert compare(PUBLISHED, old, new).ok
    _remove_enum_value(new)
    assert not compare(PUBLISHED, old, new).ok  # open means values may be added, never removed


def test_a_breaking_change_is_allowed_with_a_schema_version_bump_that_keeps_the_old_version() -> None:
    old = _published()
    bumped = copy.deepcopy(old)
    _remove_field(bumped)
    for name, d in _defs(bumped).items():
        if "schema_version" in d.get("properties", {}):
            d["properties"]["schema_version"] = {"enum": [1, 2], "type": "integer"}
            assert name.endswith("_PublishedChild_")
    report = compare(PUBLISHED, old, bumped)
    assert report.breaking and report.version_bumped and report.ok
    replaced = copy.deepcopy(bumped)  # version 2 only: older records would no longer be readable
    for d in _defs(replaced).values():
        if "schema_version" in d.get("properties", {}):
            d["properties"]["schema_version"] = {"const": 2, "type": "integer"}
    report = compare(PUBLISHED, old, replaced)
    assert report.version_bumped and not report.ok


def test_schema_command_refuses_to_overwrite_the_release_with_a_breaking_change(tmp_path: Path) -> None:
    released = copy.deepcopy(json_schemas())
    _sep(released[PUBLISHED])["properties"]["vorm"]["enum"].append("dwangbuis")  # the release had one more value
    for name, schema in released.items():
        (tmp_path / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert main(["schema", "--out", str(tmp_path)]) == 1
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before
    assert main(["schema", "--out", str(tmp_path), "--force"]) == 0
    assert json.loads((tmp_path / PUBLISHED).read_text()) == json_schemas()[PUBLISHED]


def test_a_removed_schema_file_is_breaking() -> None:
    current = json_schemas()
    released = {**current, "old-thing.schema.json": {"type": "object"}}
    assert problems(released, current) == [
        "old-thing.schema.json: (root): schema removed: the contract no longer exists"
    ]
