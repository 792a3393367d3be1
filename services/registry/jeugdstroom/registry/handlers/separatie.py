"""Separatie episodes from separatie events.

Start and end of an episode may arrive as separate events, in any order. The episode is a projection of all
its effective facts: descriptive fields (vorm, start, child) come from the latest fact by event time; ``end``
from the latest fact that carries an end. Findings: ``separatie_einde_voor_start`` (the combined end lies before
the start; the end is then not used) and ``separatie_te_lang`` (longer than 7 days).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from jeugdstroom.common.contracts.kinds.separatie import KIND, SeparatieData, SeparatieEpisode
from jeugdstroom.registry.entity import Entity
from jeugdstroom.registry.handlers.facts import Fact, Finding, child_fields, latest, latest_value

MAX_DURATION = timedelta(days=7)


def project(facts: Sequence[Fact[SeparatieData]]) -> tuple[SeparatieEpisode, list[Finding]]:
    """The episode that ``facts`` (one separatie, at least one fact) describe, and its findings."""
    last = latest(facts)
    start = last.data.start
    end = latest_value(facts, lambda d: d.end)
    found: list[Finding] = []
    subject = f"separatie:{last.key}"
    if end is not None and end < start:
        found.append(
            Finding(
                "separatie_einde_voor_start",
                subject,
                last.sender,
                "the reported end lies before the (corrected) start; the end is ignored",
            )
        )
        end = None
    if end is not None and end - start > MAX_DURATION:
        found.append(Finding("separatie_te_lang", subject, last.sender, "separatie lasted longer than 7 days"))
    episode = SeparatieEpisode(
        **child_fields(facts, last), separatie_id=last.entity_id, vorm=last.data.vorm, start=start, end=end
    )
    return episode, found


#: This event type's entity in the registry (``entities``): its table and typed columns, and the projection above.
ENTITY = Entity.of(
    KIND,
    "registry.separatie_episodes",
    (
        ("vorm", "text", "vorm"),
        ("start_at", "timestamptz", "start"),
        ("end_at", "timestamptz", "end"),
    ),
    project,
)
