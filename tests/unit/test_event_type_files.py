"""Issue 21 item 2: adding an event type touches one file per layer — its contract, its projection, its migration,
its indicators (catalogue entries with their fold) and its simulator story — plus generated files.

Checked on every kind that is not interwoven with the core care path (the aanmelding, beschikking, plaatsing and
separatie are: waiting lists, links, verblijf segments and the Argus intervention read across them): the kind's name
may occur in the product's code and deployment only in those files. A list of event types kept by hand anywhere
else (a union, a topic list, a dispatch table, an example list, a compose file) makes this test fail.
"""

from __future__ import annotations

import re
from pathlib import Path

from jeugdstroom.common.contracts.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
#: Where the product's code and deployment live (docs and tests are not counted: docs are written with the type).
SEARCHED = ("libs", "services", "deploy", "docker-compose.yml", "docker-compose.sasl.yml", "scripts", "bench")
#: Kinds the core care path reads across (see the module docstring).
CORE = {"aanmelding", "beschikking", "plaatsing", "separatie"}
#: Files derived from the product by a command and checked by a test that they are current.
GENERATED = ("deploy/topics",)


def allowed(name: str) -> set[str]:
    """The files of one kind: one per layer (the registry's migrations that create its table count as one)."""
    return {
        f"libs/common/jeugdstroom/common/contracts/kinds/{name}.py",
        f"services/registry/jeugdstroom/registry/handlers/{name}.py",
        f"services/monitor/jeugdstroom/monitor/indicators/{name}.py",
        f"libs/simulator/jeugdstroom/simulator/kinds/{name}.py",
        *GENERATED,
    }


def naming(name: str) -> set[str]:
    pattern = re.compile(name, re.IGNORECASE)
    out = set()
    for top in SEARCHED:
        base = ROOT / top
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        for path in files:
            rel = path.relative_to(ROOT).as_posix()
            if "__pycache__" in rel or path.suffix in {".pyc", ".png"}:
                continue
            if pattern.search(path.read_text(encoding="utf-8", errors="ignore")):
                out.add(rel)
    return out


def test_a_kind_outside_the_core_lives_in_one_file_per_layer() -> None:
    checked = [k.name for k in KINDS if k.name not in CORE]
    assert checked, "no kind outside the core: the structure is not exercised"
    for name in checked:
        files = naming(name)
        migrations = {f for f in files if re.fullmatch(rf"services/registry/.*/migrations/\d+_{name}\.sql", f)}
        ijw = {f for f in files if f.startswith("services/intake/jeugdstroom/intake/ijw/")}  # the iJw adapter's map
        extra = files - allowed(name) - migrations - ijw
        assert not extra, f"{name} is named outside its own files: {sorted(extra)}"
        assert len(migrations) == 1, f"{name}: one migration creates its table, found {sorted(migrations)}"
        # every layer has its file
        assert allowed(name) - set(GENERATED) <= files, sorted(allowed(name) - files)
