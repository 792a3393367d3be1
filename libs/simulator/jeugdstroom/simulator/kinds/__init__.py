"""The event types with their own simulator story: one module per type in this package.

A type's module holds everything the simulator knows about that type and nothing else does (a test checks it):

* **its story**: side stories the child's narrative tells at named moments (``MOMENTS``; e.g. after a protection
  measure, during a placement), each a function of the story and the moment that emits the type's events;
* **its faults** (optional): the share of its events its senders send wrong and correct, and the mistake;
* **its truth**: its indicators (kind and dimensions, and which of them are by age class / counted from the days a
  child is active) and the function that adds one child's episodes of the type to the ground truth.

Its invalid events need nothing: ``faults.py`` derives them from the event contract. The core narrative
(aanmelding, beschikking, plaatsing: interwoven in ``story.py``) and its truth (``truth.py``) stay where they are.
A module declares ``KIND``; the package finds the modules itself, so adding a type touches no other simulator file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from jeugdstroom.common.discovery import submodules

if TYPE_CHECKING:
    import random

    from jeugdstroom.simulator.story import Story
    from jeugdstroom.simulator.truth import Episode, Truth

#: The moments of a child's narrative at which side stories are told (``story.py`` tells them):
#: ``protection``: a GI took on the child (``sender``: the GI, ``start``: the aanmelding's day);
#: ``placement``: a placement of a placement chain was told, after its concurrent placement if any (``sender``: its
#: provider, ``start``/``end``: its days, ``end`` None while open, ``vorm``: its form).
MOMENTS = ("protection", "placement")

#: The dimension names of the ground truth every type may use (truth.py adds age class, geslacht, aanbieder).
G, R, INST = "gemeente", "jeugdregio", "instelling"


@dataclass(frozen=True, slots=True)
class Moment:
    """A point of a child's narrative that side stories follow."""

    name: str  # one of MOMENTS
    sender: str  # the institution that acts
    start: date
    end: date | None = None
    vorm: str = ""


SideStory = Callable[["Story", Moment], None]
#: id → (kind, dimensions): count, distinct, duration, stock, ratio or waiting, as in truth.CATALOGUE
Indicators = Mapping[str, tuple[str, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class Kind:
    """An event type's simulator story: how it is told, the mistakes its senders correct, what it adds to the truth."""

    type: str  # the event type (its contract's ``type``)
    side_stories: Mapping[str, SideStory]  # moment name → side story
    indicators: Indicators
    #: adds one child's episodes to the truth: episodes by type (of every type: a rate may need another type's)
    add_truth: Callable[[Truth, Mapping[str, list[Episode]]], None]
    by_age: frozenset[str] = frozenset()  # indicators by CBS age class (and geslacht)
    child_days: frozenset[str] = frozenset()  # indicators counting distinct children from their active days
    by_aanbieder: frozenset[str] = frozenset()
    day_ratios: frozenset[str] = frozenset()  # ratios over a stock's days (their ``:den`` is a stock)
    ratio_per: Mapping[str, int] = field(default_factory=dict)  # a ratio's value is num / den × this
    #: faults: the share of its events sent wrong and corrected by a ``vervangen`` (needs ``wrong_version``), ...
    replace_rate: float = 0.0
    #: ... the share followed by an event that should never have been sent, later withdrawn (``intrekken``) ...
    withdraw_rate: float = 0.0
    #: ... and the mistake: changes the data of a copy, False when this event has none to make
    wrong_version: Callable[[dict[str, Any], random.Random], bool] | None = None


def _load() -> tuple[Kind, ...]:
    """Every module's ``KIND``, in module-name order."""
    return tuple(module.KIND for module in submodules(__name__, __path__))


KINDS: tuple[Kind, ...] = _load()


def side_stories(story: Story, moment: Moment) -> None:
    """Tell every type's side story of ``moment`` (in module-name order)."""
    for kind in KINDS:
        tell = kind.side_stories.get(moment.name)
        if tell is not None:
            tell(story, moment)
