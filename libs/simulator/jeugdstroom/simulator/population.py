"""The simulator's SYNTHETIC population: inhabitants aged 0 to 22 per gemeente, year, single age and geslacht,
consistent with the simulated children (the region's gemeenten, weighted like its children, scaled like its volume),
written in the layout of CBS StatLine 03759ned (docs/population.md) so ``jeugdstroom population import`` loads it.

These are invented figures: the file says so in its first line and its default name (``…-synthetic.csv``); they
are never CBS figures. Deterministic (a function of region, scale and year; no random stream of the story).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from jeugdstroom.simulator.regions import REGIONS, inhabitants

if TYPE_CHECKING:
    from jeugdstroom.simulator.stream import Params

#: Share of the inhabitants in one birth cohort (about 200,000 of 17.9 million), and the share of boys.
COHORT_SHARE = 0.0112
MAN_SHARE = 0.512
AGES = range(23)  # 0 to 22: the youth population (the CBS youth-care classes 0-4 … 18-23)
HEADER = "ID;Geslacht;Leeftijd;BurgerlijkeStaat;RegioS;Perioden;BevolkingOp1Januari_1"
GESLACHT = {"man": "Mannen", "vrouw": "Vrouwen"}

Cell = tuple[int, str, int, str]  # (year, gemeente, age, geslacht)


def _jitter(*parts: object) -> float:
    """A deterministic factor in [0.9, 1.1)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return 0.9 + 0.2 * int.from_bytes(digest[:4], "big") / 2**32


def synthetic(region: str, years: Iterable[int], scale: float = 1.0) -> dict[Cell, int]:
    """The synthetic population of ``region``'s gemeenten (current codes) per year, single age and geslacht."""
    weights = inhabitants()
    out: dict[Cell, int] = {}
    for year in years:
        for gemeente in REGIONS[region].gemeente_codes:
            people = weights.get(gemeente, REGIONS[region].gemeenten[gemeente][1] * 1000)
            for age in AGES:
                for geslacht, share in (("man", MAN_SHARE), ("vrouw", 1 - MAN_SHARE)):
                    n = people * COHORT_SHARE * share * scale * _jitter(gemeente, year, age, geslacht)
                    out[year, gemeente, age, geslacht] = max(1, round(n))
    return out


def of_run(params: Params) -> dict[Cell, int]:
    """The synthetic population of a run: its region, every year its window touches, scaled like its volume."""
    return synthetic(params.region, range(params.start.year, params.window.as_of.year + 1), params.scale)


def csv_text(region: str, seed: int, population: dict[Cell, int]) -> str:
    """``population`` as a CSV in the CBS StatLine 03759ned open-data layout, marked synthetic in its first line."""
    lines = [
        f"# SYNTHETIC population of the jeugdstroom simulator (region {region}, seed {seed}): invented figures,"
        " NOT CBS data. Layout of CBS StatLine 03759ned.",
        HEADER,
    ]
    for i, ((year, gemeente, age, geslacht), n) in enumerate(sorted(population.items())):
        lines.append(f"{i};{GESLACHT[geslacht]};{age} jaar;T001019;{gemeente};{year}JJ00;{n}")
    return "\n".join(lines) + "\n"
