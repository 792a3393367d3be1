"""Beschikking: a decision with a start and optional end date (toewijzing, child-protection measure or
machtiging), and its end or withdrawal.

Its whole contract (see ``contracts.kind``): the ``data`` and event contracts intake accepts and publishes, the
registry's episode of the entity and its change.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, Literal, Self

from pydantic import Field, model_validator

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.codes import BeschikkingSoort, BeschikkingStatus
from jeugdstroom.common.contracts.events import ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kind import Kind


class BeschikkingData(Contract):
    beschikking_id: Identifier
    soort: BeschikkingSoort
    status: BeschikkingStatus
    start: date
    end: date | None = None
    aanmelding_id: Identifier | None = None
    besluitdatum: date | None = Field(
        None, description="The day the decision was taken (may lie before start); wachttijd_beschikking ends here"
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise rule("end", "must not be before start")
        return self


class Beschikking(EventBase[ChildT], Generic[ChildT]):
    type: Literal["beschikking"]
    data: BeschikkingData


class BeschikkingEpisode(EntityBase):
    """A beschikking: toewijzing, child-protection measure or machtiging, with its validity."""

    beschikking_id: Identifier
    soort: BeschikkingSoort
    start: date
    end: date | None = None
    besluitdatum: date | None = Field(default=None, description="The day the decision was taken, when reported")


class BeschikkingChange(ChangeBase):
    entity: Literal["beschikking"] = "beschikking"
    before: BeschikkingEpisode | None
    after: BeschikkingEpisode | None


KIND = Kind(
    order=2,
    event=Beschikking,
    change=BeschikkingChange,
    example={
        "schema_version": 1,
        "sender": "12345678",
        "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
        "type": "beschikking",
        "id": "bes-2026-0001",
        "occurred_at": "2026-03-10T14:00:00+01:00",
        "data": {
            "beschikking_id": "bes-2026-0001",
            "soort": "toewijzing",
            "status": "afgegeven",
            "start": "2026-03-15",
            "aanmelding_id": "aan-2026-0001",
        },
    },
)
