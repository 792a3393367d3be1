"""Registry change events (topic ``jeugdstroom.registry.changes``).

Every change of an entity in the registry is published as its version *before* and *after* the
change (``None`` when it did not exist / no longer exists). A consumer that derives additive
aggregates subtracts what ``before`` contributed and adds what ``after`` contributes; corrections
therefore undo exactly, and the order in which changes of different entities arrive does not matter.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from jeugdstroom.common.contracts.codes import SeparatieVorm
from jeugdstroom.common.contracts.events import Contract, GemeenteCode, Identifier, Pseudonym, SenderCode


class SeparatieEpisode(Contract):
    """A separatie/afzondering episode as the registry knows it."""

    separatie_id: Identifier
    instelling: SenderCode
    pseudonym: Pseudonym
    gemeente: GemeenteCode
    birth_date: date
    vorm: SeparatieVorm
    start: AwareDatetime | None = Field(description="None while only the end has arrived")
    end: AwareDatetime | None = None


class ChangeBase(Contract):
    change_id: Identifier | Annotated[str, Field(max_length=300)] = Field(
        description="Deterministic id (source event uid + sequence): a republished change is a duplicate"
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


RegistryChange = Annotated[SeparatieChange, Field(discriminator="entity")]
