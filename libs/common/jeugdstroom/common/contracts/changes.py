"""Registry change events (topic ``jeugdstroom.registry.changes``): the registry → monitor contract.

Every change of an entity in the registry is published as its version *before* and *after* the
change (``None`` when it did not exist / no longer exists). A consumer that derives additive
aggregates subtracts what ``before`` contributed and adds what ``after`` contributes; corrections
therefore undo exactly, and the order in which changes of different entities arrive does not matter.

Each entity carries what the monitor needs without querying the registry: the child's pseudonym,
birth date and gemeente (as of the episode's start), and the episode's own dates. Dates are calendar
days in Europe/Amsterdam; an episode with ``start``/``end`` covers the days ``start <= d < end``.
The precise definitions the registry applies are in docs/indicators.md.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AwareDatetime, Field

from jeugdstroom.common.contracts.codes import (
    Geslacht,
    PlaatsingVorm,
)
from jeugdstroom.common.contracts.events import AgbCode, Contract, GemeenteCode, Identifier, Pseudonym, SenderCode


class EntityBase(Contract):
    """Who an entity is about and which institution's events describe it."""

    instelling: SenderCode = Field(description="Sender of the events that describe this entity")
    pseudonym: Pseudonym
    gemeente: GemeenteCode = Field(description="The child's gemeente as of the episode's start")
    birth_date: date
    geslacht: Geslacht = Field(
        default="onbekend",
        description="The child's geslacht (optional, added within schema_version 1): the latest known one, i.e. that"
        " of the child's latest event (by event time) that gives man or vrouw, on every entity of the child; onbekend"
        " when none does (and in records from before the addition)",
    )


class AchttienFact(EntityBase):
    """Derived, one per child: the child was in pleegzorg (bestand or netwerk) on its 18th birthday (a pleegzorg
    placement with start <= birthday <= end, or open). Instelling, gemeente, ``plaatsing_id`` and ``vorm`` are
    those of the latest-started such placement."""

    plaatsing_id: Identifier
    vorm: PlaatsingVorm
    birthday: date = Field(description="The 18th birthday")
    continues: bool = Field(
        description="The child is still in pleegzorg (any pleegzorg placement active) a set number of days after"
        " the birthday (default 30; registry setting continuering_dagen)"
    )


VerblijfGroep = Literal[
    "verblijf",
    "gezinsgericht",
    "pleegzorg",
    "pleegzorg_bestand",
    "pleegzorg_netwerk",
    "gezinshuis",
    "residentieel",
    "gesloten",
]


class VerblijfSegment(EntityBase):
    """Derived, per child and group of forms: the days on which the child is in at least one placement of the group,
    as non-overlapping segments, each day attributed to one placement (the latest started of those active that day;
    ties: the larger key ``{instelling}/{plaatsing_id}``), whose instelling, gemeente and vorm the segment carries.
    Folded as a stock (+1 at ``start``, -1 at ``end``) it counts distinct children, also when summed over
    instellingen and gemeenten."""

    segment_id: Identifier = Field(description="{groep}:{plaatsing_id}:{start}; unique per child and instelling")
    groep: VerblijfGroep = Field(
        description="verblijf (every form), gezinsgericht (pleegzorg and gezinshuis), pleegzorg (bestand and"
        " netwerk), or one form"
    )
    plaatsing_id: Identifier = Field(description="The placement the segment's days are attributed to")
    vorm: PlaatsingVorm
    start: date
    end: date | None = None
    aanbieder: AgbCode | None = Field(
        default=None,
        description="The provider of that placement (optional, added within schema_version 1; None in records from"
        " before the addition)",
    )


class ChangeBase(Contract):
    """Every change: one entity's version before and after (the subclasses declare ``entity`` as a Literal and the
    episode type of ``before``/``after``)."""

    change_id: Identifier | Annotated[str, Field(max_length=400)] = Field(
        description="Deterministic id (cause event uid + entity key): a republished change is a duplicate"
    )
    schema_version: Literal[1] = 1
    pseudonym: Pseudonym
    accepted_at: AwareDatetime | None = Field(
        default=None, description="When intake accepted the event that caused this change (freshness)"
    )
    if TYPE_CHECKING:  # declared by every subclass; code typed by the base reads them
        entity: str
        before: EntityBase | None
        after: EntityBase | None


class AchttienChange(ChangeBase):
    entity: Literal["achttien_in_pleegzorg"] = "achttien_in_pleegzorg"
    before: AchttienFact | None
    after: AchttienFact | None


class VerblijfSegmentChange(ChangeBase):
    entity: Literal["verblijf_segment"] = "verblijf_segment"
    before: VerblijfSegment | None
    after: VerblijfSegment | None


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a child born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
