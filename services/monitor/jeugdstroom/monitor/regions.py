"""The jeugdregio dimension: a shipped mapping of gemeente → jeugdregio (see data/jeugdregios.csv)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

UNKNOWN = "onbekend"


@cache
def jeugdregio_of() -> dict[str, str]:
    text = resources.files("jeugdstroom.monitor").joinpath("data/jeugdregios.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["gemeente"]: r["jeugdregio"] for r in rows}


def jeugdregio(gemeente: str) -> str:
    return jeugdregio_of().get(gemeente, UNKNOWN)
