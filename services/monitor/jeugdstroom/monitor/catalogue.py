"""The indicator catalogue: one declarative definition per indicator (domain.md is the contract)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["count", "distinct", "stock", "duration", "ratio"]
Direction = Literal["down", "up", "operational"]
PERIODS = ("day", "month", "half_year", "year")


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    title_nl: str
    title_en: str
    unit: str
    kind: Kind
    dimensions: tuple[str, ...]
    direction: Direction
    target: str | None
    source: str


CATALOGUE: dict[str, Indicator] = {
    i.id: i
    for i in (
        Indicator(
            id="separaties",
            title_nl="Separaties en afzonderingen gestart",
            title_en="Seclusion episodes started",
            unit="episodes",
            kind="count",
            dimensions=("gemeente", "jeugdregio", "instelling", "vorm"),
            direction="down",
            target="-50% vs the institution's nulmeting in year one, then towards 0",
            source="Actieprogramma Zorg voor de Jeugd (2018), actie 'Stop separeren'",
        ),
    )
}
