"""Separatie episodes from separatie events.

Start and end of an episode may arrive as separate events, in any order. The episode is a
projection of all its events: descriptive fields (vorm, start, child) come from the latest event by
event time; ``end`` from the latest event that carries an end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from jeugdstroom.common.contracts.changes import SeparatieEpisode


def fact(event: Any, uid: str) -> dict[str, Any]:
    """What one published separatie event contributes (JSON-compatible)."""
    d = event.data
    return {
        "uid": uid,
        "occurred_at": event.occurred_at.isoformat(),
        "separatie_id": d.separatie_id,
        "instelling": event.sender,
        "pseudonym": event.child.pseudonym,
        "gemeente": event.child.gemeente,
        "birth_date": event.child.birth_date.isoformat(),
        "vorm": d.vorm,
        "start": d.start.isoformat(),
        "end": d.end.isoformat() if d.end else None,
    }


def _order(f: dict[str, Any]) -> tuple[datetime, str]:
    return datetime.fromisoformat(f["occurred_at"]), f["uid"]


def project(facts: Sequence[dict[str, Any]]) -> SeparatieEpisode | None:
    """The episode that ``facts`` describe, or None when there are none."""
    if not facts:
        return None
    ordered = sorted(facts, key=_order)
    latest = ordered[-1]
    ends = [f["end"] for f in ordered if f["end"] is not None]
    episode = {k: latest[k] for k in ("separatie_id", "instelling", "pseudonym", "gemeente", "birth_date", "vorm",
                                       "start")}
    episode["end"] = ends[-1] if ends else None
    return SeparatieEpisode.model_validate_json(orjson.dumps(episode))
