"""Jeugdreclassering: the GI's jeugdreclassering trajectories (iJw product category 47) (docs/indicators.md)."""

from __future__ import annotations

from jeugdstroom.common.contracts.kinds.jeugdreclassering import JeugdreclasseringEpisode
from jeugdstroom.monitor.definition import INST, G, Indicator, R, Series, indicator
from jeugdstroom.monitor.fold import Duration, Item, MemberSpan, gri

ENTITY = "jeugdreclassering"


def jeugdreclassering_actief(ep: JeugdreclasseringEpisode) -> list[MemberSpan]:
    """Children with a jeugdreclassering trajectory on the day read (distinct children per cell)."""
    return [MemberSpan(ep.start, ep.end, gri(ep), ep.pseudonym)]


def jeugdreclassering_in_periode(ep: JeugdreclasseringEpisode) -> list[MemberSpan]:
    """Children with a jeugdreclassering trajectory on any day of the period."""
    return jeugdreclassering_actief(ep)


def jeugdreclassering_instroom(ep: JeugdreclasseringEpisode) -> list[Item]:
    """Jeugdreclassering trajectories started; day = start."""
    return [Item(ep.start, gri(ep))]


def jeugdreclassering_duur(ep: JeugdreclasseringEpisode) -> list[Duration]:
    """Duration of ended jeugdreclassering trajectories in days; day = end."""
    if ep.end is None:
        return []
    return [Duration(ep.end, gri(ep), (ep.end - ep.start).days)]


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "jeugdreclassering_actief",
        "Jeugdigen met jeugdreclassering",
        "Children with a jeugdreclassering trajectory (distinct children)",
        "children",
        "stock",
        ENTITY,
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdreclassering); iJw product category 47",
        members=True,
        fold=jeugdreclassering_actief,
        order=320,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "jeugdreclassering_in_periode",
        "Jeugdigen met jeugdreclassering in de periode",
        "Children with a jeugdreclassering trajectory on any day of the period (distinct children)",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdreclassering in de verslagperiode)",
        members=True,
        fold=jeugdreclassering_in_periode,
        order=330,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "jeugdreclassering_instroom",
        "Gestarte jeugdreclasseringstrajecten",
        "Jeugdreclassering trajectories started",
        "trajectories",
        "count",
        ENTITY,
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (instroom jeugdreclassering)",
        fold=jeugdreclassering_instroom,
        order=340,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "jeugdreclassering_duur",
        "Duur jeugdreclassering",
        "Duration of ended jeugdreclassering trajectories (median, p90)",
        "days",
        "duration",
        ENTITY,
        (G, R, INST),
        "down",
        "CBS Beleidsinformatie Jeugd (beëindigde jeugdreclassering)",
        fold=jeugdreclassering_duur,
        order=350,
    ),
)
INTERNAL: tuple[Series, ...] = ()
