"""Jeugdreclassering episodes from jeugdreclassering events (gestart, beeindigd), in any order.

The start and the child come from the latest fact by event time, ``end`` from the latest fact that carries one.
Findings: ``jeugdreclassering_einde_zonder_start`` (only beeindigd events) and ``jeugdreclassering_einde_voor_start``
(after corrections the end lies before the start; the end is then not used).
"""

from __future__ import annotations

from collections.abc import Sequence

from jeugdstroom.common.contracts.kinds.jeugdreclassering import KIND, JeugdreclasseringData, JeugdreclasseringEpisode
from jeugdstroom.registry.entity import Entity
from jeugdstroom.registry.handlers.facts import Fact, Finding, child_fields, latest, latest_value


def project(facts: Sequence[Fact[JeugdreclasseringData]]) -> tuple[JeugdreclasseringEpisode, list[Finding]]:
    last = latest(facts)
    start = last.data.start
    end = latest_value(facts, lambda d: d.end)
    subject = f"jeugdreclassering:{last.key}"
    found: list[Finding] = []
    if all(f.data.status == "beeindigd" for f in facts):
        found.append(
            Finding(
                "jeugdreclassering_einde_zonder_start",
                subject,
                last.sender,
                "only the end of this jeugdreclassering was reported (no gestart event)",
            )
        )
    if end is not None and end < start:
        found.append(
            Finding(
                "jeugdreclassering_einde_voor_start",
                subject,
                last.sender,
                "the reported end lies before the (corrected) start; the end is ignored",
            )
        )
        end = None
    episode = JeugdreclasseringEpisode(
        **child_fields(facts, last),
        jeugdreclassering_id=last.entity_id,
        start=start,
        end=end,
    )
    return episode, found


#: This event type's entity in the registry (``entities``): its table and typed columns, and the projection above.
ENTITY = Entity.of(
    KIND,
    "registry.jeugdreclasseringen",
    (
        ("start_date", "date", "start"),
        ("end_date", "date", "end"),
    ),
    project,
)
