"""Achttien in pleegzorg: a child in foster care on its 18th birthday, and whether it is still there some days
later: the continuation share (docs/indicators.md)."""

from __future__ import annotations

from jeugdstroom.common.contracts.changes import AchttienFact
from jeugdstroom.monitor.definition import ACTIEPROGRAMMA, INST, G, Indicator, Part, R, Series
from jeugdstroom.monitor.fold import Item, gri

ENTITY = "achttien_in_pleegzorg"


def achttien_in_pleegzorg(fact: AchttienFact) -> list[Item]:
    """Internal series: the facts by ``continues`` (numerator and denominator of ``continuering_18``)."""
    return [Item(fact.birthday, gri(fact, "continues", "true" if fact.continues else "false"))]


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "continuering_18",
        "Continuering op 18e verjaardag",
        "Share of children in foster care on their 18th birthday still in foster care 30 (configurable) days later",
        "share",
        "ratio",
        (G, R, INST),
        "up",
        (),
        f"{ACTIEPROGRAMMA}, 'Verlengde pleegzorg'",
        numerator=Part("achttien_in_pleegzorg", {"continues": frozenset({"true"})}),
        denominator=Part("achttien_in_pleegzorg"),
        version=2,
        order=240,
    ),
)
#: Series that no public indicator owns, used as ratio parts.
INTERNAL: tuple[Series, ...] = (
    Series("achttien_in_pleegzorg", ENTITY, "count", (G, R, INST, "continues"), achttien_in_pleegzorg),
)
