"""Aanmelding: referrals, the pleegzorg waiting list and the waiting times to a beschikking and a placement
(docs/indicators.md)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from jeugdstroom.common import geography
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.monitor.definition import ACTIEPROGRAMMA, RVN, G, Indicator, R, Series, Target, indicator
from jeugdstroom.monitor.fold import CACHE, Dims, Duration, Episode, Item, Span, dims, gr, named_aanbieder

ENTITY = "aanmelding"


def _wait_end(ep: AanmeldingEpisode) -> date | None:
    """When a pleegzorg wait ends: the (linked) pleegzorg placement's start or the sender's closing, the earlier."""
    ends = [d for d in (ep.plaatsing_date, ep.afgesloten_op) if d is not None]
    return min(ends, default=None)


def _urgent(ep: AanmeldingEpisode, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio, urgent (and ``name`` = ``value``)."""
    return _gr_urgent(ep.gemeente, "true" if ep.urgent else "false", name, value)


@lru_cache(maxsize=CACHE)
def _gr_urgent(gemeente: str, urgent: str, name: str, value: str) -> Dims:
    out = {"gemeente": geography.gemeente(gemeente), "jeugdregio": geography.jeugdregio(gemeente), "urgent": urgent}
    if name:
        out[name] = value
    return dims(out)


def wachtlijst_pleegzorg(ep: AanmeldingEpisode) -> list[Episode]:
    if ep.zorgvorm != "pleegzorg":
        return []
    return [Episode(ep.day, _wait_end(ep), _urgent(ep))]


def wachtend_pleegzorg_dagen(ep: AanmeldingEpisode) -> list[Span]:
    if ep.zorgvorm != "pleegzorg":
        return []
    return [Span(ep.day, _wait_end(ep), _urgent(ep))]


def wachttijd_beschikking(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.beschikking_date is None:
        return []
    return [
        Duration(ep.beschikking_date, _urgent(ep, "zorgvorm", ep.zorgvorm), max(0, (ep.beschikking_date - ep.day).days))
    ]


def wachttijd_plaatsing(ep: AanmeldingEpisode) -> list[Duration]:
    if ep.plaatsing_date is None:
        return []
    return [
        Duration(ep.plaatsing_date, _urgent(ep, "zorgvorm", ep.zorgvorm), max(0, (ep.plaatsing_date - ep.day).days))
    ]


def verwijzers(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, gr(ep, "verwijzer", ep.verwijzer))]


def herhaald_beroep(ep: AanmeldingEpisode) -> list[Item]:
    return [Item(ep.day, gr(ep))] if ep.herhaald else []


INDICATORS: tuple[Indicator, ...] = (
    indicator(
        "wachtlijst_pleegzorg",
        "Wachtlijst pleegzorg",
        "Children waiting for foster care",
        "children",
        "stock",
        ENTITY,
        (G, R, "urgent"),
        "down",
        RVN,
        targets=(
            Target(
                "JZ32 (Rijk van Nijmegen): fewer than 5",
                "below",
                R,
                value=5,
                where=frozenset({"JZ32"}),
                alert_for="30m",
            ),
        ),
        headline=True,
        version=2,  # v2: the wait ends at a pleegzorg placement linked by child and date, or the closing
        fold=wachtlijst_pleegzorg,
        order=250,
        by_age=True,
        by_geslacht=True,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "wachtend_pleegzorg_dagen",
        "Wachtenden pleegzorg: dagen gewacht",
        "Days waited so far by children still waiting for foster care (median, p90)",
        "days",
        "waiting",
        ENTITY,
        (G, R, "urgent"),
        "down",
        f"{RVN}; {ACTIEPROGRAMMA} (transparent waiting times)",
        fold=wachtend_pleegzorg_dagen,
        order=260,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "wachttijd_beschikking",
        "Wachttijd aanmelding → beschikking",
        "Waiting time referral → decision (median, p90)",
        "days",
        "duration",
        ENTITY,
        (G, R, "urgent", "zorgvorm"),
        "down",
        ACTIEPROGRAMMA,
        version=2,  # v2: to the decision date (besluitdatum) where the beschikking carries one
        fold=wachttijd_beschikking,
        order=270,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "wachttijd_plaatsing",
        "Wachttijd aanmelding → plaatsing",
        "Waiting time referral → placement (median, p90)",
        "days",
        "duration",
        ENTITY,
        (G, R, "urgent", "zorgvorm"),
        "down",
        ACTIEPROGRAMMA,
        version=2,  # v2: pleegzorg waits end at a pleegzorg placement, linked by child and date
        fold=wachttijd_plaatsing,
        order=280,
        by_aanbieder=named_aanbieder,
    ),
    indicator(
        "verwijzers",
        "Aanmeldingen per verwijzer",
        "Referrals by referrer",
        "referrals",
        "count",
        ENTITY,
        (G, R, "verwijzer"),
        "operational",
        f"{RVN}; iJw COD327",
        fold=verwijzers,
        order=360,
    ),
    indicator(
        "herhaald_beroep",
        "Herhaald beroep",
        "New referrals within 12 months after previous care ended",
        "referrals",
        "count",
        ENTITY,
        (G, R),
        "down",
        RVN,
        fold=herhaald_beroep,
        order=370,
    ),
)
INTERNAL: tuple[Series, ...] = ()
