"""The JSON Schemas checked into docs/schemas/ are exactly what the contracts produce."""

from __future__ import annotations

import json
from pathlib import Path

from jeugdstroom.cli.main import main
from jeugdstroom.common.contracts.validation import json_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_checked_in_schemas_match_the_contracts() -> None:
    for name, schema in json_schemas().items():
        path = DOCS / name
        assert path.exists(), f"{path} missing: run `jeugdstroom schema --out docs/schemas`"
        assert json.loads(path.read_text()) == schema, (
            f"{name} drifted from the contracts: run `jeugdstroom schema --out docs/schemas` and review the diff")


def test_schema_command_writes_every_contract(tmp_path: Path) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(json_schemas())
    submitted = json.loads((tmp_path / "submitted-event.schema.json").read_text())
    assert "bsn" in json.dumps(submitted) and "pseudonym" not in json.dumps(submitted)
