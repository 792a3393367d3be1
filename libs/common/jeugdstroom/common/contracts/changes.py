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
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from jeugdstroom.common.contracts.codes import (
    BeschikkingSoort,
    Geslacht,
    PlaatsingVorm,
    RedenAfsluiting,
    RedenEinde,
    SeparatieVorm,
    Verwijzer,
    Zorgvorm,
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


class SeparatieEpisode(EntityBase):
    """A separatie/afzondering episode as the registry knows it."""

    separatie_id: Identifier
    vorm: SeparatieVorm
    start: AwareDatetime | None = Field(description="None while only the end has arrived")
    end: AwareDatetime | None = None
    vervolg: bool = Field(
        default=False,
        description="Starts less than 24 hours after the end (or, while unknown, the start) of an earlier episode of"
        " the same child at the same instelling: the same intervention in Argus terms",
    )


class AanmeldingEpisode(EntityBase):
    """A referral and what followed from it (linked by ``aanmelding_id`` on beschikking/plaatsing)."""

    aanmelding_id: Identifier
    verwijzer: Verwijzer
    zorgvorm: Zorgvorm
    urgent: bool = False
    day: date = Field(description="Event date of the aanmelding (Europe/Amsterdam)")
    beschikking_date: date | None = Field(
        default=None,
        description="Decision date (besluitdatum, else start) of the earliest beschikking that names this aanmelding",
    )
    plaatsing_date: date | None = Field(
        default=None,
        description="Start of the earliest plaatsing that names this aanmelding; for zorgvorm pleegzorg: of the"
        " earliest pleegzorg plaatsing that names it, or else of the child's first pleegzorg plaatsing naming no"
        " aanmelding that starts on or after `day` (docs/registry.md)",
    )
    afgesloten_op: date | None = Field(default=None, description="The day the sender closed the aanmelding")
    reden_afsluiting: RedenAfsluiting | None = None
    herhaald: bool = Field(
        default=False,
        description="The child's previous care (a plaatsing or toewijzing) ended at most 365 days before `day`",
    )
    aanbieder: AgbCode | None = Field(
        default=None,
        description="The provider the aanmelding names (optional, added within schema_version 1): that of the latest"
        " aanmelding event naming one; None when none does",
    )


class BeschikkingEpisode(EntityBase):
    """A beschikking: toewijzing, child-protection measure or machtiging, with its validity."""

    beschikking_id: Identifier
    soort: BeschikkingSoort
    start: date
    end: date | None = None
    besluitdatum: date | None = Field(default=None, description="The day the decision was taken, when reported")


class JeugdreclasseringEpisode(EntityBase):
    """A jeugdreclassering trajectory (iJw product category 47; its own entity, not a beschikking soort)."""

    jeugdreclassering_id: Identifier
    start: date
    end: date | None = None


class PlaatsingEpisode(EntityBase):
    """A placement (verblijf) episode."""

    plaatsing_id: Identifier
    provider: AgbCode
    vorm: PlaatsingVorm
    start: date | None = Field(description="None while only a correction-free end is known")
    end: date | None = None
    reden_einde: RedenEinde | None = None
    overplaatsing: bool = Field(
        default=False,
        description="Ended with reden overplaatsing and followed by another placement of the child"
        " starting within 31 days of the end",
    )
    instroom: bool = Field(
        default=True,
        description="The child enters verblijf with this placement: it is not a transfer, i.e. no other placement"
        " of the child ended with reden overplaatsing 0..31 days before its start and no other placement started"
        " earlier (same day: smaller key) is still active on its start",
    )
    instroom_gesloten: bool = Field(
        default=True,
        description="vorm gesloten and the child enters gesloten jeugdhulp with it: as `instroom`, counting only"
        " other gesloten placements (False for other forms)",
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
    change_id: Identifier | Annotated[str, Field(max_length=400)] = Field(
        description="Deterministic id (cause event uid + entity key): a republished change is a duplicate"
    )
    schema_version: Literal[1] = 1
    pseudonym: Pseudonym
    accepted_at: AwareDatetime | None = Field(
        default=None, description="When intake accepted the event that caused this change (freshness)"
    )


class SeparatieChange(ChangeBase):
    entity: Literal["separatie"] = "separatie"
    before: SeparatieEpisode | None
    after: SeparatieEpisode | None


class AanmeldingChange(ChangeBase):
    entity: Literal["aanmelding"] = "aanmelding"
    before: AanmeldingEpisode | None
    after: AanmeldingEpisode | None


class BeschikkingChange(ChangeBase):
    entity: Literal["beschikking"] = "beschikking"
    before: BeschikkingEpisode | None
    after: BeschikkingEpisode | None


class PlaatsingChange(ChangeBase):
    entity: Literal["plaatsing"] = "plaatsing"
    before: PlaatsingEpisode | None
    after: PlaatsingEpisode | None


class JeugdreclasseringChange(ChangeBase):
    entity: Literal["jeugdreclassering"] = "jeugdreclassering"
    before: JeugdreclasseringEpisode | None
    after: JeugdreclasseringEpisode | None


class AchttienChange(ChangeBase):
    entity: Literal["achttien_in_pleegzorg"] = "achttien_in_pleegzorg"
    before: AchttienFact | None
    after: AchttienFact | None


class VerblijfSegmentChange(ChangeBase):
    entity: Literal["verblijf_segment"] = "verblijf_segment"
    before: VerblijfSegment | None
    after: VerblijfSegment | None


AnyChange = (
    SeparatieChange
    | AanmeldingChange
    | BeschikkingChange
    | PlaatsingChange
    | AchttienChange
    | VerblijfSegmentChange
    | JeugdreclasseringChange
)
RegistryChange = Annotated[AnyChange, Field(discriminator="entity")]


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a child born on 29 February turns a year older on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
