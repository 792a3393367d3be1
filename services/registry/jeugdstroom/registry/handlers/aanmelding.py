"""Aanmelding episodes from aanmelding events.

Descriptive fields (verwijzer, zorgvorm, urgent, child) and the closing (``afgesloten_op``, ``reden_afsluiting``,
when the latest fact has status afgesloten) come from the latest fact by event time; ``day`` is the
Europe/Amsterdam date of the earliest fact's event time (when the child was referred). The links
(``beschikking_date``, ``plaatsing_date``) and ``herhaald`` are derived across the child's care path
(see ``derived``). ``aanbieder``: from the latest fact that names one (a closing that leaves it out keeps it).
"""

from __future__ import annotations

from collections.abc import Sequence

from jeugdstroom.common.contracts.kinds.aanmelding import KIND, AanmeldingData, AanmeldingEpisode
from jeugdstroom.registry.entity import Entity
from jeugdstroom.registry.handlers.facts import ORDER, Fact, Finding, child_fields, latest, latest_value, local_day


def project(facts: Sequence[Fact[AanmeldingData]]) -> tuple[AanmeldingEpisode, list[Finding]]:
    last = latest(facts)
    first = min(facts, key=ORDER)
    episode = AanmeldingEpisode(
        **child_fields(facts, last),
        aanmelding_id=last.entity_id,
        verwijzer=last.data.verwijzer,
        zorgvorm=last.data.zorgvorm,
        urgent=last.data.urgent,
        day=local_day(first.occurred_at),
        afgesloten_op=last.data.afgesloten_op if last.data.status == "afgesloten" else None,
        reden_afsluiting=last.data.reden_afsluiting if last.data.status == "afgesloten" else None,
        aanbieder=latest_value(facts, lambda d: d.aanbieder),
    )
    return episode, []


#: This event type's entity in the registry (``entities``): its table and typed columns, and the projection above.
ENTITY = Entity.of(
    KIND,
    "registry.aanmeldingen",
    (
        ("verwijzer", "text", "verwijzer"),
        ("zorgvorm", "text", "zorgvorm"),
        ("urgent", "boolean", "urgent"),
        ("day", "date", "day"),
        ("beschikking_date", "date", "beschikking_date"),
        ("plaatsing_date", "date", "plaatsing_date"),
        ("herhaald", "boolean", "herhaald"),
    ),
    project,
)
