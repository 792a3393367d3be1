"""Beschikking episodes from beschikking events (afgegeven, beeindigd), in any order.

Descriptive fields (soort, start, child) come from the latest fact by event time; ``end`` and ``besluitdatum`` from
the latest fact that carries one. Findings: ``beschikking_einde_zonder_start`` (only beeindigd events), and
``beschikking_einde_voor_start`` (after corrections the end lies before the start; the end is then not used).
"""

from __future__ import annotations

from collections.abc import Sequence

from jeugdstroom.common.contracts.kinds.beschikking import KIND, BeschikkingData, BeschikkingEpisode
from jeugdstroom.registry.entity import Entity
from jeugdstroom.registry.handlers.facts import Fact, Finding, child_fields, latest, latest_value


def project(facts: Sequence[Fact[BeschikkingData]]) -> tuple[BeschikkingEpisode, list[Finding]]:
    last = latest(facts)
    start = last.data.start
    end = latest_value(facts, lambda d: d.end)
    subject = f"beschikking:{last.key}"
    found: list[Finding] = []
    if all(f.data.status == "beeindigd" for f in facts):
        found.append(
            Finding(
                "beschikking_einde_zonder_start",
                subject,
                last.sender,
                "only the end of this beschikking was reported (no afgegeven event)",
            )
        )
    if end is not None and end < start:
        found.append(
            Finding(
                "beschikking_einde_voor_start",
                subject,
                last.sender,
                "the reported end lies before the (corrected) start; the end is ignored",
            )
        )
        end = None
    episode = BeschikkingEpisode(
        **child_fields(facts, last),
        beschikking_id=last.entity_id,
        soort=last.data.soort,
        start=start,
        end=end,
        besluitdatum=latest_value(facts, lambda d: d.besluitdatum),
    )
    return episode, found


def aanmelding_id(facts: Sequence[Fact[BeschikkingData]]) -> str | None:
    """The aanmelding this beschikking names (latest fact that names one)."""
    return latest_value(facts, lambda d: d.aanmelding_id)


#: This event type's entity in the registry (``entities``): its table and typed columns, and the projection above.
ENTITY = Entity.of(
    KIND,
    "registry.beschikkingen",
    (
        ("soort", "text", "soort"),
        ("start_date", "date", "start"),
        ("end_date", "date", "end"),
    ),
    project, names_aanmelding=aanmelding_id,
)
