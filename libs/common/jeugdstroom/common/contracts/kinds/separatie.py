"""Separatie: a closed-care institution reports a separatie/afzondering (form, start, end; start and end may
arrive as separate events).

Its whole contract (see ``contracts.kind``): the ``data`` and event contracts intake accepts and publishes, the
registry's episode of the entity and its change.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.codes import SeparatieVorm
from jeugdstroom.common.contracts.events import ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kind import Kind


class SeparatieData(Contract):
    separatie_id: Identifier
    vorm: SeparatieVorm
    start: AwareDatetime
    end: AwareDatetime | None = None
    reden: Annotated[str, StringConstraints(max_length=500)] | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise rule("end", "must not be before start")
        return self


class Separatie(EventBase[ChildT], Generic[ChildT]):
    type: Literal["separatie"]
    data: SeparatieData


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


class SeparatieChange(ChangeBase):
    entity: Literal["separatie"] = "separatie"
    before: SeparatieEpisode | None
    after: SeparatieEpisode | None


KIND = Kind(
    order=4,
    event=Separatie,
    change=SeparatieChange,
    example={
        "schema_version": 1,
        "sender": "12345678",
        "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
        "type": "separatie",
        "id": "sep-2026-0001-start",
        "occurred_at": "2026-05-01T10:15:00+02:00",
        "data": {"separatie_id": "sep-2026-0001", "vorm": "separeerruimte", "start": "2026-05-01T10:00:00+02:00"},
    },
)
