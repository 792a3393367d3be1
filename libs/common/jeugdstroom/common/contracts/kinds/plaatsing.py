"""Plaatsing: a placement (verblijf) starts or ends: form, provider, start; on end its date and reason.

Its whole contract (see ``contracts.kind``): the ``data`` and event contracts intake accepts and publishes, the
registry's episode of the entity and its change.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, Literal, Self

from pydantic import Field, model_validator

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.codes import PlaatsingStatus, PlaatsingVorm, RedenEinde
from jeugdstroom.common.contracts.events import AgbCode, ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kind import Kind


class PlaatsingData(Contract):
    plaatsing_id: Identifier
    status: PlaatsingStatus
    vorm: PlaatsingVorm
    provider: AgbCode
    start: date
    end: date | None = None
    reden_einde: RedenEinde | None = None
    aanmelding_id: Identifier | None = None

    @model_validator(mode="after")
    def _end_rules(self) -> Self:
        if self.status == "beeindigd" and (self.end is None or self.reden_einde is None):
            missing = "end" if self.end is None else "reden_einde"
            raise rule(missing, "is required when status is beeindigd")
        if self.status == "gestart" and self.reden_einde is not None:
            raise rule("reden_einde", "is only allowed when status is beeindigd")
        if self.end is not None and self.end < self.start:
            raise rule("end", "must not be before start")
        return self


class Plaatsing(EventBase[ChildT], Generic[ChildT]):
    type: Literal["plaatsing"]
    data: PlaatsingData


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


class PlaatsingChange(ChangeBase):
    entity: Literal["plaatsing"] = "plaatsing"
    before: PlaatsingEpisode | None
    after: PlaatsingEpisode | None


KIND = Kind(
    order=3,
    event=Plaatsing,
    change=PlaatsingChange,
    example={
        "schema_version": 1,
        "sender": "12345678",
        "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
        "type": "plaatsing",
        "id": "pla-2026-0001",
        "occurred_at": "2026-03-15T10:00:00+01:00",
        "data": {
            "plaatsing_id": "pla-2026-0001",
            "status": "gestart",
            "vorm": "residentieel",
            "provider": "12345678",
            "start": "2026-03-15",
            "aanmelding_id": "aan-2026-0001",
        },
    },
)
