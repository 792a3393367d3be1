"""Beschikking: child-protection measures (OTS, voorlopige OTS, voogdij) (docs/indicators.md)."""

from __future__ import annotations

from jeugdstroom.common.contracts.kinds.beschikking import BeschikkingEpisode
from jeugdstroom.common.vocabulary import JEUGDBESCHERMING
from jeugdstroom.monitor.definition import ACTIEPROGRAMMA, INST, RVN, G, Indicator, R, Series, indicator
from jeugdstroom.monitor.fold import Duration, MemberSpan, gri

ENTITY = "beschikking"


def jeugdbescherming_actief(ep: BeschikkingEpisode) -> list[MemberSpan]:
    """Children with a jeugdbeschermingsmaatregel (v2: distinct children per cell on the day read, not maatregelen:
    a child with OTS and voogdij at once counts once in the total and once per soort)."""
    if ep.soort not in JEUGDBESCHERMING:
        return []
    return [MemberSpan(ep.start, ep.end, gri(ep, "soort", ep.soort), ep.pseudonym)]


def jeugdbescherming_in_periode(ep: BeschikkingEpisode) -> list[MemberSpan]:
    """Children with a jeugdbeschermingsmaatregel on any day of the period (CBS: jeugdigen met jeugdbescherming)."""
    return jeugdbescherming_actief(ep)


def jeugdbescherming_duur(ep: BeschikkingEpisode) -> list[Duration]:
    if ep.soort not in ("ots", "voogdij") or ep.end is None:
        return []
    return [Duration(ep.end, gri(ep, "soort", ep.soort), (ep.end - ep.start).days)]


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "jeugdbescherming_actief",
        "Jeugdigen met jeugdbescherming",
        "Children with a child-protection measure (distinct children; a child with two soorten counts in each)",
        "children",
        "stock",
        ENTITY,
        (G, R, INST, "soort"),
        "down",
        f"{ACTIEPROGRAMMA}; {RVN}; CBS Beleidsinformatie Jeugd (jeugdigen met jeugdbescherming)",
        headline=True,
        version=2,  # v2: distinct children per cell on the day read, not maatregelen
        members=True,
        fold=jeugdbescherming_actief,
        order=290,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "jeugdbescherming_in_periode",
        "Jeugdigen met jeugdbescherming in de periode",
        "Children with a child-protection measure on any day of the period (distinct children)",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST, "soort"),
        "down",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdbescherming in de verslagperiode)",
        members=True,
        fold=jeugdbescherming_in_periode,
        order=300,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "jeugdbescherming_duur",
        "Duur ondertoezichtstelling en voogdij",
        "Duration of ended OTS and voogdij (median, p90)",
        "days",
        "duration",
        ENTITY,
        (G, R, INST, "soort"),
        "down",
        f"{RVN}; CBS Beleidsinformatie Jeugd (jeugdbeschermingsmaatregelen)",
        version=2,  # v2: voogdij as well as OTS, by soort
        fold=jeugdbescherming_duur,
        order=310,
    ),
)
INTERNAL: tuple[Series, ...] = ()
