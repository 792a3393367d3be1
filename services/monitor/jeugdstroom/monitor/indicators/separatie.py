"""Separatie: seclusion episodes (separatie and other afzondering) and the seclusion rates, whose numerator is
a separatie series and whose denominator a plaatsing one (docs/indicators.md)."""

from __future__ import annotations

from datetime import timedelta

from jeugdstroom.common.calendar import local_day
from jeugdstroom.common.contracts.kinds.separatie import SeparatieEpisode
from jeugdstroom.monitor.definition import (
    ACTIEPROGRAMMA,
    INST,
    Baseline,
    G,
    Indicator,
    Part,
    R,
    Series,
    Target,
    indicator,
)
from jeugdstroom.monitor.fold import Duration, Item, Member, gri

ENTITY = "separatie"


def separaties(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None:
        return []
    return [Item(local_day(ep.start), gri(ep, "vorm", ep.vorm))]


def gesepareerde_jeugdigen(ep: SeparatieEpisode) -> list[Member]:
    if ep.start is None:
        return []
    return [Member(local_day(ep.start), gri(ep), ep.pseudonym)]


def separatie_duur(ep: SeparatieEpisode) -> list[Duration]:
    if ep.start is None or ep.end is None:
        return []
    minutes = (ep.end - ep.start) // timedelta(minutes=1)
    return [Duration(local_day(ep.start), gri(ep, "vorm", ep.vorm), minutes)]


def separatie_interventies(ep: SeparatieEpisode) -> list[Item]:
    """Argus: an episode that does not continue an earlier one (``vervolg``) starts an intervention."""
    if ep.start is None or ep.vervolg:
        return []
    return [Item(local_day(ep.start), gri(ep, "vorm", ep.vorm))]


def separaties_separeerruimte(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None or ep.vorm != "separeerruimte":
        return []
    return [Item(local_day(ep.start), gri(ep))]


def afzonderingen_overig(ep: SeparatieEpisode) -> list[Item]:
    if ep.start is None or ep.vorm == "separeerruimte":
        return []
    return [Item(local_day(ep.start), gri(ep, "vorm", ep.vorm))]


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "separaties",
        "Separaties en afzonderingen gestart",
        "Seclusion episodes started",
        "episodes",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{ACTIEPROGRAMMA}, 'Stop separeren'",
        targets=(
            Target(
                "per instelling: -50% vs its nulmeting (default: its first full calendar year) the year after,"
                " then towards 0",
                "vs_nulmeting",
                INST,
                factor=0.5,
                periods=frozenset({"year"}),
                pro_rata=True,
                alert_for="1h",
            ),
        ),
        headline=True,
        baseline=Baseline(first_full_year=True),
        fold=separaties,
        order=10,
    ),
    indicator(
        "separatie_interventies",
        "Separatie- en afzonderingsinterventies (Argus)",
        "Seclusion interventions, episodes of a child less than 24 hours apart counted once (Argus)",
        "interventions",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{ACTIEPROGRAMMA}; Argus (GGZ): episodes within 24 hours are one intervention",
        fold=separatie_interventies,
        order=20,
    ),
    indicator(
        "separaties_separeerruimte",
        "Separaties in een separeerruimte",
        "Seclusions in a seclusion room",
        "episodes",
        "count",
        ENTITY,
        (G, R, INST),
        "down",
        f"{ACTIEPROGRAMMA}, 'Stoppen met separeren'",
        targets=(
            Target(
                "per instelling: 0 (stoppen met separeren)",
                "at_most",
                INST,
                value=0,
                periods=frozenset({"year"}),
                alert_for="1h",
            ),
        ),
        fold=separaties_separeerruimte,
        order=30,
    ),
    indicator(
        "afzonderingen_overig",
        "Overige afzonderingen (time-out, eigen kamer op slot, leeggemaakte kamer)",
        "Other seclusion (time-out room, own room locked, emptied room)",
        "episodes",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{ACTIEPROGRAMMA}, 'overige vormen van afzondering zoveel mogelijk terugdringen'",
        targets=(
            Target(
                "per instelling: -50% vs its nulmeting (default: its first full calendar year), then as low as"
                " possible",
                "vs_nulmeting",
                INST,
                factor=0.5,
                periods=frozenset({"year"}),
                pro_rata=True,
                alert_for="1h",
            ),
        ),
        baseline=Baseline(first_full_year=True),
        fold=afzonderingen_overig,
        order=40,
    ),
    Indicator(
        "separaties_per_1000_verblijfsdagen",
        "Separatie-interventies per 1.000 verblijfsdagen gesloten jeugdhulp",
        "Seclusion interventions per 1,000 days of stay in closed care at the institution",
        "per 1,000 days",
        "ratio",
        (INST,),
        "down",
        (),
        "Argus (GGZ) rates; Actieprogramma Zorg voor de Jeugd",
        numerator=Part("separatie_interventies"),
        denominator=Part("gesloten_verblijf", days=True),
        per=1000,
        order=50,
    ),
    Indicator(
        "separaties_per_100_opnames",
        "Separatie-interventies per 100 opnames gesloten jeugdhulp",
        "Seclusion interventions per 100 admissions to closed care at the institution",
        "per 100 admissions",
        "ratio",
        (INST,),
        "down",
        (),
        "Argus (GGZ) rates; Actieprogramma Zorg voor de Jeugd",
        numerator=Part("separatie_interventies"),
        denominator=Part("gesloten_opnames"),
        per=100,
        order=60,
    ),
    indicator(
        "gesepareerde_jeugdigen",
        "Gesepareerde jeugdigen",
        "Children secluded (distinct)",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST),
        "down",
        f"{ACTIEPROGRAMMA}, national seclusion indicator",
        headline=True,
        fold=gesepareerde_jeugdigen,
        order=70,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "separatie_duur",
        "Duur van separaties",
        "Seclusion duration (median, p90)",
        "minutes",
        "duration",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{ACTIEPROGRAMMA}; Argus (GGZ)",
        fold=separatie_duur,
        order=80,
    ),
)
INTERNAL: tuple[Series, ...] = ()
