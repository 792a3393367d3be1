"""The simulated world: gemeenten, institutions (senders) and volumes per region.

Institution names and AGB codes are fictional; gemeente codes are the real CBS codes. Gemeenten, their names and
jeugdregio's come from the common geography module (``jeugdstroom.common.geography``), the same reference data the
monitor uses. The national region ``nl`` spreads children over every gemeente of the current indeling, weighted by
approximate inhabitants (``data/inwoners.csv``: simulator weights only, not CBS figures).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from jeugdstroom.common import geography

UNKNOWN_REGIO = geography.UNKNOWN
#: Share of ``nl`` children whose senders still report a gemeente code that a herindeling merged away (an outdated
#: code table), where their gemeente has such codes: exercises the herindelingen mapping end to end.
OLD_CODE_SHARE = 0.05

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


@cache
def inhabitants() -> dict[str, int]:
    """Approximate inhabitants per current gemeente (simulator weights only; see the file's header)."""
    text = resources.files("jeugdstroom.simulator").joinpath("data/inwoners.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["gemeente"]: int(r["inwoners"]) for r in rows}


def nederland() -> dict[str, tuple[str, int]]:
    """Every gemeente of the current indeling: code → (name, weight in inhabitants; a gemeente of a newer indeling
    without a figure gets the median)."""
    geo = geography.geography()
    weights = inhabitants()
    known = sorted(weights.values())
    median = known[len(known) // 2]
    return {code: (g.naam, weights.get(code, median)) for code, g in sorted(geo.gemeenten.items())}


def old_codes() -> dict[str, tuple[str, ...]]:
    """Current gemeente → the codes that herindelingen merged into it (sorted)."""
    out: dict[str, list[str]] = {}
    for h in geography.geography().herindelingen.values():
        out.setdefault(h.opvolger, []).append(h.code)
    return {k: tuple(sorted(v)) for k, v in out.items()}


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
    old_code_share: float = 0.0  # share of children reported under a merged-away code of their gemeente
    institutions: dict[str, tuple[Institution, ...]] = field(init=False)
    _index: dict[str, int] = field(init=False, repr=False)

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
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.gemeenten)})

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
        start = (self._index[gemeente] * self.pool_size) % len(every)
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
        gemeenten=nederland(),
        new_children_per_day=1000.0,
        initial_placements=17000,
        initial_measures=24000,
        institutions_per_kind={"gi": 14, "pleegzorg": 24, "gezinshuis": 20, "residentieel": 40, "gesloten": 12},
        pool_size=3,
        code_prefix="880",
        old_code_share=OLD_CODE_SHARE,
    ),
}


def jeugdregio(gemeente: str) -> str:
    """The jeugdregio code of a gemeente (current or historic code), from the common geography."""
    return geography.jeugdregio(gemeente)
