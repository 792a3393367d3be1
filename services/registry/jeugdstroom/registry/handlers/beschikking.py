"""Beschikking episodes from beschikking events (afgegeven, beeindigd), in any order.

Descriptive fields (soort, start, child) come from the latest fact by event time; ``end`` and ``besluitdatum`` from
the latest fact that carries one. Findings: ``beschikking_einde_zonder_start`` (only beeindigd events), and
``beschikking_einde_voor_start`` (after corrections the end lies before the start; the end is then not used).
"""

from __future__ import annotations

from collections.abc import Sequence

from jeugdstroom.common.contracts.changes import BeschikkingEpisode
from jeugdstroom.registry.handlers.facts import Fact, Finding, child_fields, latest, latest_with


def project(facts: Sequence[Fact]) -> tuple[BeschikkingEpisode, list[Finding]]:
    last = latest(facts)
    start = last.get_date("start")
    assert start is not None  # required by the contract
    with_end = latest_with(facts, "end")
    end = with_end.get_date("end") if with_end else None
    subject = f"beschikking:{last.key}"
    found: list[Finding] = []
    if all(f.data.get("status") == "beeindigd" for f in facts):
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
    with_besluit = latest_with(facts, "besluitdatum")
    episode = BeschikkingEpisode(
        **child_fields(facts, last),
        beschikking_id=last.entity_id,
        soort=last.data["soort"],
        start=start,
        end=end,
        besluitdatum=with_besluit.get_date("besluitdatum") if with_besluit else None,
    )
    return episode, found


def aanmelding_id(facts: Sequence[Fact]) -> str | None:
    """The aanmelding this beschikking names (latest fact that names one)."""
    named = latest_with(facts, "aanmelding_id")
    return str(named.data["aanmelding_id"]) if named else None
