"""The simulated world: gemeenten, institutions (senders) and volumes per region.

Institution names and AGB codes are fictional; gemeente codes are the real CBS codes. The jeugdregio of a
gemeente is read from the monitor's shipped data file (``monitor/data/jeugdregios.csv``): it is data, not
monitor code, and reading it (instead of keeping a copy) keeps simulator and monitor from drifting apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jeugdstroom

UNKNOWN_REGIO = "onbekend"
JEUGDREGIOS_CSV = Path("monitor") / "data" / "jeugdregios.csv"

#: Rijk van Nijmegen: CBS code → (name, inhabitants in thousands, 2023).
RIJK_VAN_NIJMEGEN: dict[str, tuple[str, int]] = {
    "GM0268": ("Nijmegen", 179),
    "GM0296": ("Wijchen", 41),
    "GM1945": ("Berg en Dal", 35),
    "GM0209": ("Beuningen", 26),
    "GM0225": ("Druten", 19),
    "GM0252": ("Heumen", 17),
    "GM0944": ("Mook en Middelaar", 8),
}

#: A spread of large gemeenten across many jeugdregio's, standing in for the whole country.
NEDERLAND: dict[str, tuple[str, int]] = {
    **RIJK_VAN_NIJMEGEN,
    "GM0363": ("Amsterdam", 918),
    "GM0599": ("Rotterdam", 656),
    "GM0518": ("'s-Gravenhage", 556),
    "GM0344": ("Utrecht", 367),
    "GM0772": ("Eindhoven", 239),
    "GM0014": ("Groningen", 238),
    "GM0855": ("Tilburg", 224),
    "GM0034": ("Almere", 219),
    "GM0758": ("Breda", 185),
    "GM0202": ("Arnhem", 165),
    "GM0200": ("Apeldoorn", 166),
    "GM0153": ("Enschede", 160),
    "GM0392": ("Haarlem", 163),
    "GM0193": ("Zwolle", 131),
    "GM0307": ("Amersfoort", 160),
    "GM0935": ("Maastricht", 121),
    "GM0546": ("Leiden", 127),
    "GM0505": ("Dordrecht", 121),
    "GM0080": ("Leeuwarden", 125),
    "GM0796": ("'s-Hertogenbosch", 157),
    "GM0479": ("Zaanstad", 158),
    "GM0394": ("Haarlemmermeer", 160),
}

#: Institution kinds and the fictional names they get.
KIND_NAMES: dict[str, str] = {
    "gi": "Gecertificeerde Instelling",
    "pleegzorg": "Pleegzorg",
    "gezinshuis": "Gezinshuizen",
    "residentieel": "Jeugdhulp Residentieel",
    "gesloten": "JeugdzorgPlus",
}


@dataclass(frozen=True, slots=True)
class Institution:
    code: str  # AGB code (8 digits) or GM####
    name: str
    kind: str  # gemeente, gi, pleegzorg, gezinshuis, residentieel, gesloten


@dataclass(frozen=True)
class Region:
    """A simulated region: where children live, who sends, and how many children a day."""

    code: str
    gemeenten: dict[str, tuple[str, int]]
    new_children_per_day: float
    initial_placements: int  # children already placed when the simulation starts
    initial_measures: int  # children already under a child-protection measure
    institutions_per_kind: dict[str, int]
    pool_size: int  # how many institutions of a kind serve one gemeente
    code_prefix: str  # first digits of the fictional AGB codes
    institutions: dict[str, tuple[Institution, ...]] = field(init=False)

    def __post_init__(self) -> None:
        made: dict[str, tuple[Institution, ...]] = {
            "gemeente": tuple(
                Institution(c, f"Gemeente {n} (wijkteam)", "gemeente") for c, (n, _) in self.gemeenten.items()
            )
        }
        for k, (kind, n) in enumerate(self.institutions_per_kind.items()):
            made[kind] = tuple(
                Institution(f"{self.code_prefix}{k + 1}{i + 1:04d}", f"{KIND_NAMES[kind]} {self.code} {i + 1}", kind)
                for i in range(n)
            )
        object.__setattr__(self, "institutions", made)

    @property
    def gemeente_codes(self) -> tuple[str, ...]:
        return tuple(self.gemeenten)

    @property
    def gemeente_weights(self) -> tuple[int, ...]:
        return tuple(w for _, w in self.gemeenten.values())

    def pool(self, kind: str, gemeente: str) -> tuple[Institution, ...]:
        """The institutions of ``kind`` that serve ``gemeente`` (a few neighbouring ones)."""
        every = self.institutions[kind]
        if len(every) <= self.pool_size:
            return every
        start = (self.gemeente_codes.index(gemeente) * self.pool_size) % len(every)
        return tuple(every[(start + i) % len(every)] for i in range(self.pool_size))

    def all_institutions(self) -> list[Institution]:
        return [inst for group in self.institutions.values() for inst in group]


REGIONS: dict[str, Region] = {
    "rijk-van-nijmegen": Region(
        code="rijk-van-nijmegen",
        gemeenten=RIJK_VAN_NIJMEGEN,
        new_children_per_day=18.0,
        initial_placements=320,
        initial_measures=420,
        institutions_per_kind={"gi": 2, "pleegzorg": 2, "gezinshuis": 2, "residentieel": 3, "gesloten": 1},
        pool_size=3,
        code_prefix="870",
    ),
    "nl": Region(
        code="nl",
        gemeenten=NEDERLAND,
        new_children_per_day=1000.0,
        initial_placements=17000,
        initial_measures=24000,
        institutions_per_kind={"gi": 14, "pleegzorg": 24, "gezinshuis": 20, "residentieel": 40, "gesloten": 12},
        pool_size=3,
        code_prefix="880",
    ),
}


@cache
def jeugdregios() -> dict[str, str]:
    """gemeente → jeugdregio, read from the monitor's data file found on the ``jeugdstroom`` namespace path."""
    for base in jeugdstroom.__path__:
        path = Path(base) / JEUGDREGIOS_CSV
        if path.is_file():
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
            return {row["gemeente"]: row["jeugdregio"] for row in csv.DictReader(lines)}
    raise FileNotFoundError(f"{JEUGDREGIOS_CSV} not found on the jeugdstroom package path")


def jeugdregio(gemeente: str) -> str:
    return jeugdregios().get(gemeente, UNKNOWN_REGIO)
