"""Plaatsing episodes from plaatsing events (gestart, beeindigd), in any order.

Descriptive fields (vorm, provider, start, child) come from the latest fact by event time; ``end`` and
``reden_einde`` from the latest fact that carries an end. ``overplaatsing`` is derived across the child's
placements (see ``derived``). Findings: ``plaatsing_einde_zonder_start`` (only beeindigd events, no gestart) and
``plaatsing_einde_voor_start`` (after corrections the end lies before the start; end and reden are then not used).
"""

from __future__ import annotations

from collections.abc import Sequence

from jeugdstroom.common.contracts.kinds.plaatsing import KIND, PlaatsingData, PlaatsingEpisode
from jeugdstroom.registry.entity import Entity
from jeugdstroom.registry.handlers.facts import Fact, Finding, child_fields, latest, latest_value, latest_with


def project(facts: Sequence[Fact[PlaatsingData]]) -> tuple[PlaatsingEpisode, list[Finding]]:
    last = latest(facts)
    start = last.data.start
    with_end = latest_with(facts, lambda d: d.end)
    end = with_end.data.end if with_end else None
    reden = with_end.data.reden_einde if with_end else None
    subject = f"plaatsing:{last.key}"
    found: list[Finding] = []
    if all(f.data.status == "beeindigd" for f in facts):
        found.append(
            Finding(
                "plaatsing_einde_zonder_start",
                subject,
                last.sender,
                "only the end of this plaatsing was reported (no gestart event)",
            )
        )
    if end is not None and end < start:
        found.append(
            Finding(
                "plaatsing_einde_voor_start",
                subject,
                last.sender,
                "the reported end lies before the (corrected) start; the end is ignored",
            )
        )
        end, reden = None, None
    episode = PlaatsingEpisode(
        **child_fields(facts, last),
        plaatsing_id=last.entity_id,
        provider=last.data.provider,
        vorm=last.data.vorm,
        start=start,
        end=end,
        reden_einde=reden,
    )
    return episode, found


def aanmelding_id(facts: Sequence[Fact[PlaatsingData]]) -> str | None:
    """The aanmelding this plaatsing names (latest fact that names one)."""
    return latest_value(facts, lambda d: d.aanmelding_id)


#: This event type's entity in the registry (``entities``): its table and typed columns, and the projection above.
ENTITY = Entity.of(
    KIND,
    "registry.plaatsingen",
    (
        ("provider", "text", "provider"),
        ("vorm", "text", "vorm"),
        ("start_date", "date", "start"),
        ("end_date", "date", "end"),
        ("reden_einde", "text", "reden_einde"),
        ("overplaatsing", "boolean", "overplaatsing"),
    ),
    project, names_aanmelding=aanmelding_id,
)
