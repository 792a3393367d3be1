"""Plaatsing: placements in verblijf (instroom, transfers, premature ends, closed care at the institution) and
the share of placements ended prematurely (docs/indicators.md)."""

from __future__ import annotations

from functools import lru_cache

from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.monitor.definition import ACTIEPROGRAMMA, INST, RVN, G, Indicator, Part, R, Series, indicator
from jeugdstroom.monitor.fold import CACHE, Dims, Duration, Episode, Item, gri

ENTITY = "plaatsing"


@lru_cache(maxsize=CACHE)
def _provider(provider: str) -> Dims:
    return (("instelling", provider),)


def gesloten_verblijf(ep: PlaatsingEpisode) -> list[Episode]:
    """Internal series: gesloten placements by the institution where the child stays (``provider``); its days are
    the verblijfsdagen of the separatie rates."""
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Episode(ep.start, ep.end, _provider(ep.provider))]


def gesloten_opnames(ep: PlaatsingEpisode) -> list[Item]:
    """Internal series: gesloten placements started at the institution (``provider``), transfers into it included."""
    if ep.vorm != "gesloten" or ep.start is None:
        return []
    return [Item(ep.start, _provider(ep.provider))]


def gesloten_instroom(ep: PlaatsingEpisode) -> list[Item]:
    """A child entering gesloten jeugdhulp: not a transfer from another gesloten placement (v2)."""
    if ep.vorm != "gesloten" or ep.start is None or not ep.instroom_gesloten:
        return []
    return [Item(ep.start, gri(ep))]


def gesloten_duur(ep: PlaatsingEpisode) -> list[Duration]:
    if ep.vorm != "gesloten" or ep.start is None or ep.end is None:
        return []
    return [Duration(ep.end, gri(ep), (ep.end - ep.start).days)]


def verblijf_instroom(ep: PlaatsingEpisode) -> list[Item]:
    """A child entering verblijf: a placement that is not a transfer (v2)."""
    if ep.start is None or not ep.instroom:
        return []
    return [Item(ep.start, gri(ep, "vorm", ep.vorm))]


def overplaatsingen(ep: PlaatsingEpisode) -> list[Item]:
    """A placement that starts as a transfer (not ``instroom``), on its start, by the form transferred to (v2)."""
    if ep.start is None or ep.instroom:
        return []
    return [Item(ep.start, gri(ep, "vorm", ep.vorm))]


def voortijdig_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    if ep.reden_einde != "voortijdig" or ep.end is None:
        return []
    return [Item(ep.end, gri(ep, "vorm", ep.vorm))]


def plaatsingen_beeindigd(ep: PlaatsingEpisode) -> list[Item]:
    """Internal series: every ended plaatsing (the denominator of ``voortijdig_aandeel``)."""
    if ep.end is None:
        return []
    return [Item(ep.end, gri(ep))]


def provider(ep: PlaatsingEpisode) -> str:
    """The aanbieder of a placement: its provider (AGB code)."""
    return ep.provider


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "gesloten_instroom",
        "Instroom gesloten jeugdhulp",
        "Children entering closed youth care (transfers from another closed placement excluded)",
        "entries",
        "count",
        ENTITY,
        (G, R, INST),
        "down",
        f"{ACTIEPROGRAMMA}; CBS Beleidsinformatie Jeugd (instroom)",
        version=2,
        fold=gesloten_instroom,
        order=100,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=provider,
    ),
    indicator(
        "gesloten_duur",
        "Verblijfsduur gesloten jeugdhulp",
        "Length of stay in closed care (median, p90)",
        "days",
        "duration",
        ENTITY,
        (G, R, INST),
        "down",
        ACTIEPROGRAMMA,
        fold=gesloten_duur,
        order=110,
        by_aanbieder=provider,
    ),
    indicator(
        "verblijf_instroom",
        "Instroom verblijf",
        "Children entering verblijf (transfers between placements excluded)",
        "entries",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{RVN}; CBS Beleidsinformatie Jeugd (instroom)",
        version=2,
        fold=verblijf_instroom,
        order=180,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=provider,
    ),
    indicator(
        "overplaatsingen",
        "Overplaatsingen (doorstroom)",
        "Placements started as a transfer from another placement, by the form transferred to",
        "placements",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        f"{ACTIEPROGRAMMA}; {RVN}",
        version=2,
        fold=overplaatsingen,
        order=190,
        by_aanbieder=provider,
    ),
    indicator(
        "voortijdig_beeindigd",
        "Voortijdig beëindigde plaatsingen",
        "Placements ended prematurely",
        "placements",
        "count",
        ENTITY,
        (G, R, INST, "vorm"),
        "down",
        ACTIEPROGRAMMA,
        fold=voortijdig_beeindigd,
        order=200,
        by_aanbieder=provider,
    ),
    Indicator(
        "voortijdig_aandeel",
        "Aandeel voortijdig beëindigd",
        "Share of ended placements ended prematurely",
        "share",
        "ratio",
        (G, R, INST),
        "down",
        (),
        ACTIEPROGRAMMA,
        numerator=Part("voortijdig_beeindigd"),
        denominator=Part("plaatsingen_beeindigd"),
        order=210,
    ),
)
#: Series that no public indicator owns, used as ratio parts.
INTERNAL: tuple[Series, ...] = (
    Series("plaatsingen_beeindigd", ENTITY, "count", (G, R, INST), plaatsingen_beeindigd),
    Series("gesloten_verblijf", ENTITY, "stock", (INST,), gesloten_verblijf),
    Series("gesloten_opnames", ENTITY, "count", (INST,), gesloten_opnames),
)
