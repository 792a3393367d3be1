"""Jeugdreclassering (iJw product category 47): a trajectory of a gecertificeerde instelling in the strafrechtelijk
kader, ``gestart`` on its start and ``beeindigd`` at its end. Its simulator story: told after a protection measure,
and its indicators jeugdreclassering_actief/_in_periode/_instroom/_duur (docs/indicators.md)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from jeugdstroom.simulator.draws import birthday, lognormal_days
from jeugdstroom.simulator.kinds import INST, G, Kind, Moment, R

if TYPE_CHECKING:
    from jeugdstroom.simulator.story import Story
    from jeugdstroom.simulator.truth import Episode, Truth

TYPE = "jeugdreclassering"


# -- story --------------------------------------------------------------------------------------------------------
def _after_protection(story: Story, moment: Moment) -> None:
    """Some children of 12 and older known to a GI have a jeugdreclassering trajectory (strafrechtelijk kader), now
    and then two (a second one after the first, or overlapping when a new one starts before the old one ends). Its
    own random stream (seeded by the child), so the rest of the stream is unchanged by it."""
    day = moment.start
    rng = random.Random(f"jr:{story.child.key}:{day.isoformat()}")
    if day < birthday(story.child.birth_date, 12) or rng.random() >= 0.3:
        return
    start = day + timedelta(days=rng.randrange(0, 60))
    end = start + timedelta(days=lognormal_days(rng, 240, 0.5, 30))
    _trajectory(story, moment.sender, start, end)
    if rng.random() < 0.25:
        again = start + timedelta(days=rng.randrange(60, 400))
        _trajectory(story, moment.sender, again, again + timedelta(days=lognormal_days(rng, 200, 0.5, 30)))


def _trajectory(story: Story, sender: str, start: date, end: date | None) -> None:
    """A trajectory of a GI: ``gestart`` on ``start`` and ``beeindigd`` at its end (when told). Drawn from its own
    random stream (seeded by the child), so adding it leaves the rest of the story as it was."""
    if not story.told(start):
        return
    main, story.rng = story.rng, random.Random(f"jeugdreclassering:{story.child.key}:{start.isoformat()}")
    try:
        jid = f"J-{story.child.key}-{start.isoformat()}"
        data: dict[str, Any] = {"jeugdreclassering_id": jid, "status": "gestart", "start": start.isoformat()}
        story.emit(TYPE, sender, story.moment(start), data)
        if end is not None and end > start and story.told(end):
            story.emit(TYPE, sender, story.moment(end), {**data, "status": "beeindigd", "end": end.isoformat()})
    finally:
        story.rng = main


# -- truth --------------------------------------------------------------------------------------------------------
def _add_truth(truth: Truth, episodes: Mapping[str, list[Episode]]) -> None:
    for jr in episodes.get(TYPE, []):
        values = truth.values_of(jr)
        start = date.fromisoformat(jr.data["start"])
        end = date.fromisoformat(jr.data["end"]) if "end" in jr.data else None
        if end is not None and end < start:
            end = None  # the registry ignores an end before the start (a finding)
        truth.add_child_days("jeugdreclassering_actief", values, start, end)
        truth.add_child_days("jeugdreclassering_in_periode", values, start, end)
        truth.add_count("jeugdreclassering_instroom", values, start)
        if end is not None:
            truth.add_duration("jeugdreclassering_duur", values, end, (end - start).days)


KIND = Kind(
    type=TYPE,
    side_stories={"protection": _after_protection},
    indicators={
        "jeugdreclassering_actief": ("stock", (G, R, INST)),
        "jeugdreclassering_in_periode": ("distinct", (G, R, INST)),
        "jeugdreclassering_instroom": ("count", (G, R, INST)),
        "jeugdreclassering_duur": ("duration", (G, R, INST)),
    },
    add_truth=_add_truth,
    by_age=frozenset({"jeugdreclassering_actief", "jeugdreclassering_in_periode", "jeugdreclassering_instroom"}),
    child_days=frozenset({"jeugdreclassering_actief", "jeugdreclassering_in_periode"}),
)
