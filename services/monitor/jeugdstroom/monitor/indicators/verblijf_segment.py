"""Verblijf segment: the days a child spends in a group of care forms (a child in two placements of a group
counts once), for the distinct-children stocks of verblijf, gesloten jeugdhulp and verlengde pleegzorg, and the
share in family-style care (docs/indicators.md)."""

from __future__ import annotations

from datetime import date

from jeugdstroom.common.calendar import birthday
from jeugdstroom.common.contracts.changes import VerblijfSegment
from jeugdstroom.common.vocabulary import VORMEN
from jeugdstroom.monitor import fold
from jeugdstroom.monitor.definition import ACTIEPROGRAMMA, INST, G, Indicator, Part, R, Series, indicator
from jeugdstroom.monitor.fold import Episode, MemberSpan, gri, named_aanbieder

ENTITY = "verblijf_segment"


def gesloten_actief(seg: VerblijfSegment) -> list[Episode]:
    """Children in gesloten jeugdhulp (v2: distinct children, from the child's gesloten segments)."""
    if seg.groep != "gesloten":
        return []
    return [Episode(seg.start, seg.end, gri(seg))]


def verblijf_actief(seg: VerblijfSegment) -> list[Episode]:
    """Children in verblijf per form (v2: distinct children per form, from the child's segments of that form)."""
    if seg.groep not in VORMEN:
        return []
    return [Episode(seg.start, seg.end, gri(seg, "vorm", seg.groep))]


def verblijf_jeugdigen(seg: VerblijfSegment) -> list[Episode]:
    """Children in verblijf, any form (the total: a child in two forms at once counts once)."""
    if seg.groep != "verblijf":
        return []
    return [Episode(seg.start, seg.end, gri(seg))]


def verblijf_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in verblijf per form on any day of the period (CBS: jeugdigen met verblijf in de periode)."""
    if seg.groep not in VORMEN:
        return []
    return [MemberSpan(seg.start, seg.end, gri(seg, "vorm", seg.groep), seg.pseudonym)]


def verblijf_jeugdigen_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in verblijf, any form, on any day of the period (each child once per cell)."""
    if seg.groep != "verblijf":
        return []
    return [MemberSpan(seg.start, seg.end, gri(seg), seg.pseudonym)]


def gesloten_in_periode(seg: VerblijfSegment) -> list[MemberSpan]:
    """Children in gesloten jeugdhulp on any day of the period."""
    if seg.groep != "gesloten":
        return []
    return [MemberSpan(seg.start, seg.end, gri(seg), seg.pseudonym)]


def verblijf_gezinsgericht(seg: VerblijfSegment) -> list[Episode]:
    """Internal series: children in pleegzorg or a gezinshuis (the numerator of ``aandeel_gezinsgericht``)."""
    if seg.groep != "gezinsgericht":
        return []
    return [Episode(seg.start, seg.end, gri(seg))]


def _adult_days(seg: VerblijfSegment) -> tuple[date, date] | None:
    """The segment's days from the 18th birthday up to the configured upper birthday, if any."""
    start = max(seg.start, birthday(seg.birth_date, 18))
    upper = birthday(seg.birth_date, fold.VERLENGDE_PLEEGZORG_TOT)
    end = upper if seg.end is None else min(seg.end, upper)
    return (start, end) if start < end else None


def verlengde_pleegzorg(seg: VerblijfSegment) -> list[Episode]:
    """Young adults in pleegzorg (bestand, netwerk) from 18 to the configured upper age (v2: distinct children,
    gezinshuis apart)."""
    if seg.groep != "pleegzorg" or (days := _adult_days(seg)) is None:
        return []
    return [Episode(days[0], days[1], gri(seg))]


def gezinshuis_18plus(seg: VerblijfSegment) -> list[Episode]:
    """Young adults in a gezinshuis from 18 to the configured upper age (distinct children)."""
    if seg.groep != "gezinshuis" or (days := _adult_days(seg)) is None:
        return []
    return [Episode(days[0], days[1], gri(seg))]


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "gesloten_actief",
        "Jeugdigen in gesloten jeugdhulp",
        "Children in closed youth care",
        "children",
        "stock",
        ENTITY,
        (G, R, INST),
        "down",
        f"{ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (distinct children)",
        headline=True,
        version=2,
        fold=gesloten_actief,
        order=90,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "verblijf_actief",
        "Jeugdigen in verblijf per vorm",
        "Children in residential or family care by form (a child in two forms counts in each)",
        "children",
        "stock",
        ENTITY,
        (G, R, INST, "vorm"),
        "operational",
        f"{ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd",
        headline=True,
        version=2,
        fold=verblijf_actief,
        order=120,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "verblijf_jeugdigen",
        "Jeugdigen in verblijf",
        "Children in residential or family care, any form (each child once)",
        "children",
        "stock",
        ENTITY,
        (G, R, INST),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf)",
        fold=verblijf_jeugdigen,
        order=130,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "verblijf_jeugdigen_in_periode",
        "Jeugdigen in verblijf in de periode",
        "Children in residential or family care on any day of the period, any form (each child once per cell)",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf in de verslagperiode)",
        members=True,
        fold=verblijf_jeugdigen_in_periode,
        order=140,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "verblijf_in_periode",
        "Jeugdigen in verblijf in de periode per vorm",
        "Children in residential or family care on any day of the period, by form (a child in two forms counts in each)",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST, "vorm"),
        "operational",
        "CBS Beleidsinformatie Jeugd (jeugdigen met jeugdhulp met verblijf in de verslagperiode, per vorm)",
        members=True,
        fold=verblijf_in_periode,
        order=150,
        by_age=True,
        by_geslacht=True,
    ),
    indicator(
        "gesloten_in_periode",
        "Jeugdigen in gesloten jeugdhulp in de periode",
        "Children in closed youth care on any day of the period",
        "children",
        "distinct",
        ENTITY,
        (G, R, INST),
        "down",
        f"{ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (jeugdigen in de verslagperiode)",
        members=True,
        fold=gesloten_in_periode,
        order=160,
        by_age=True,
        by_geslacht=True,
    ),
    Indicator(
        "aandeel_gezinsgericht",
        "Aandeel gezinsgericht verblijf (pleegzorg, gezinshuis)",
        "Share of children in verblijf who are in family-style care (foster care, gezinshuis)",
        "share",
        "ratio",
        (G, R),
        "up",
        (),
        f"{ACTIEPROGRAMMA}, 'Zo thuis mogelijk'",
        numerator=Part("verblijf_gezinsgericht"),
        denominator=Part("verblijf_jeugdigen"),
        headline=True,
        version=2,
        order=170,
    ),
    indicator(
        "verlengde_pleegzorg",
        "Verlengde pleegzorg (18 tot 21–23 jaar)",
        "Young adults from 18 to 21 (configurable up to 23) in foster care (pleegzorg bestand or netwerk)",
        "young adults",
        "stock",
        ENTITY,
        (G, R, INST),
        "up",
        f"{ACTIEPROGRAMMA}, 'Verlengde pleegzorg' (Jeugdwet 2020); CBS Beleidsinformatie Jeugd (pleegzorg)",
        headline=True,
        version=2,
        fold=verlengde_pleegzorg,
        order=220,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "gezinshuis_18plus",
        "Gezinshuis 18+",
        "Young adults from 18 to 21 (configurable up to 23) in a gezinshuis",
        "young adults",
        "stock",
        ENTITY,
        (G, R, INST),
        "up",
        f"{ACTIEPROGRAMMA} (continuation in a gezinshuis, apart from verlengde pleegzorg)",
        fold=gezinshuis_18plus,
        order=230,
        by_aanbieder=named_aanbieder,
    ),
)
#: Series that no public indicator owns, used as ratio parts.
INTERNAL: tuple[Series, ...] = (
    Series("verblijf_gezinsgericht", ENTITY, "stock", (G, R, INST), verblijf_gezinsgericht),
)
