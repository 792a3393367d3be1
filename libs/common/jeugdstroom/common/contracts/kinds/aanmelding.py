"""Aanmelding: a child is referred for care (verwijzer, requested zorgvorm, optionally urgent); the
sender may close it later. An aanmelding for a placement with no placement yet is on the waiting list.

Its whole contract (see ``contracts.kind``): the ``data`` and event contracts intake accepts and publishes, the
registry's episode of the entity and its change.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, Literal, Self

from pydantic import Field, model_validator

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.codes import AanmeldingStatus, RedenAfsluiting, Verwijzer, Zorgvorm
from jeugdstroom.common.contracts.events import AgbCode, ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kind import Kind


class AanmeldingData(Contract):
    aanmelding_id: Identifier
    verwijzer: Verwijzer
    zorgvorm: Zorgvorm
    urgent: bool = False
    status: AanmeldingStatus = Field(
        "open", description="afgesloten: the sender closed the aanmelding (an event with the same aanmelding_id)"
    )
    afgesloten_op: date | None = Field(None, description="The day the aanmelding was closed (status afgesloten)")
    reden_afsluiting: RedenAfsluiting | None = Field(None, description="Why it was closed (status afgesloten)")
    aanbieder: AgbCode | None = Field(
        None,
        description="The provider (AGB code) the aanmelding is for, when it names one (optional, added within"
        " schema_version 1; iJw: the Afzender of a JW315). Left out when not given",
    )

    @model_validator(mode="after")
    def _closing_rules(self) -> Self:
        if self.status == "afgesloten" and (self.afgesloten_op is None or self.reden_afsluiting is None):
            missing = "afgesloten_op" if self.afgesloten_op is None else "reden_afsluiting"
            raise rule(missing, "is required when status is afgesloten")
        if self.status == "open" and (self.afgesloten_op is not None or self.reden_afsluiting is not None):
            extra = "afgesloten_op" if self.afgesloten_op is not None else "reden_afsluiting"
            raise rule(extra, "is only allowed when status is afgesloten")
        return self


class Aanmelding(EventBase[ChildT], Generic[ChildT]):
    type: Literal["aanmelding"]
    data: AanmeldingData


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


class AanmeldingChange(ChangeBase):
    entity: Literal["aanmelding"] = "aanmelding"
    before: AanmeldingEpisode | None
    after: AanmeldingEpisode | None


KIND = Kind(
    order=1,
    event=Aanmelding,
    change=AanmeldingChange,
    example={
        "schema_version": 1,
        "sender": "12345678",
        "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
        "type": "aanmelding",
        "id": "aan-2026-0001",
        "occurred_at": "2026-03-02T09:00:00+01:00",
        "data": {"aanmelding_id": "aan-2026-0001", "verwijzer": "wijkteam", "zorgvorm": "residentieel"},
    },
)
