"""Jeugdreclassering: a trajectory of a gecertificeerde instelling (iJw product category 47): its own event type
rather than a new beschikking soort, so that the released beschikking contract stays as it is (a new union member is
compatible within schema_version 1; docs/schema-evolution.md).

Its whole contract (see ``contracts.kind``): the ``data`` and event contracts intake accepts and publishes, the
registry's episode of the entity and its change.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, Literal, Self

from pydantic import model_validator

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.events import ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kind import Kind

#: A trajectory's status.
JeugdreclasseringStatus = Literal["gestart", "beeindigd"]


class JeugdreclasseringData(Contract):
    """A jeugdreclassering trajectory of a gecertificeerde instelling (iJw product category 47): its own event type
    rather than a new beschikking soort, so that the released beschikking contract stays as it is (a new union
    member is compatible within schema_version 1; docs/schema-evolution.md)."""

    jeugdreclassering_id: Identifier
    status: JeugdreclasseringStatus
    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise rule("end", "must not be before start")
        if self.status == "beeindigd" and self.end is None:
            raise rule("end", "is required when status is beeindigd")
        return self


class Jeugdreclassering(EventBase[ChildT], Generic[ChildT]):
    type: Literal["jeugdreclassering"]
    data: JeugdreclasseringData


class JeugdreclasseringEpisode(EntityBase):
    """A jeugdreclassering trajectory (iJw product category 47; its own entity, not a beschikking soort)."""

    jeugdreclassering_id: Identifier
    start: date
    end: date | None = None


class JeugdreclasseringChange(ChangeBase):
    entity: Literal["jeugdreclassering"] = "jeugdreclassering"
    before: JeugdreclasseringEpisode | None
    after: JeugdreclasseringEpisode | None


KIND = Kind(
    order=5,
    event=Jeugdreclassering,
    change=JeugdreclasseringChange,
    example={
        "schema_version": 1,
        "sender": "12345678",
        "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
        "type": "jeugdreclassering",
        "id": "jr-2026-0001",
        "occurred_at": "2026-04-01T09:00:00+02:00",
        "data": {"jeugdreclassering_id": "jr-2026-0001", "status": "gestart", "start": "2026-04-01"},
    },
)
