"""The event contracts: the one definition of every event's shape.

An event comes in two forms that differ only in how the child is identified:

* ``Submitted*`` — as an institution sends it to intake: ``child.bsn``;
* ``Published*`` — as intake publishes it on the typed topics: ``child.pseudonym``.

Both are strict (no coercion, ``extra="forbid"``) and never echo an input value in an error,
so a BSN cannot leak through a validation message.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jeugdstroom.common.bsn import is_valid_bsn
from jeugdstroom.common.contracts.codes import (
    AanmeldingStatus,
    BeschikkingSoort,
    BeschikkingStatus,
    CorrectieActie,
    Geslacht,
    JeugdreclasseringStatus,
    PlaatsingStatus,
    PlaatsingVorm,
    RedenAfsluiting,
    RedenEinde,
    SeparatieVorm,
    Verwijzer,
    Zorgvorm,
)

SCHEMA_VERSION = 1
#: How far in the future an ``occurred_at`` may lie (clock skew between institutions).
MAX_FUTURE = timedelta(days=1)


class Contract(BaseModel):
    """Base of every contract: strict, closed, immutable, and silent about input values in errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)


def rule(field: str, reason: str) -> ValueError:
    """A cross-field rule violation that names the field it is about (relative to the model)."""
    return ValueError(f"{field}{FIELD_SEP}{reason}")


FIELD_SEP = " :: "


def _check_bsn(value: str) -> str:
    if not is_valid_bsn(value):
        raise ValueError("must be 9 digits that pass the elfproef")
    return value


def _not_in_future(value: date) -> date:
    if value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError("must not lie in the future")
    return value


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
GemeenteCode = Annotated[str, StringConstraints(pattern=r"^GM[0-9]{4}$")]
AgbCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
#: An instelling code: an AGB code (8 digits) or a gemeente code (GM + 4 digits).
SenderCode = Annotated[str, StringConstraints(pattern=r"^([0-9]{8}|GM[0-9]{4})$")]
Bsn = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$"), AfterValidator(_check_bsn)]
Pseudonym = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
BirthDate = Annotated[date, AfterValidator(_not_in_future)]


_GESLACHT = (
    "The child's geslacht (optional, added within schema_version 1); absent: onbekend. Left out when not given, so"
    " an event sent before the addition keeps its content hash"
)


class SubmittedChild(Contract):
    """The child as an institution identifies it: by BSN."""

    bsn: Bsn
    birth_date: BirthDate
    gemeente: GemeenteCode = Field(description="Woonplaats-gemeente, CBS code GM####")
    geslacht: Geslacht | None = Field(None, description=_GESLACHT)


class PublishedChild(Contract):
    """The child after intake: the BSN is replaced by its keyed pseudonym."""

    pseudonym: Pseudonym
    birth_date: BirthDate
    gemeente: GemeenteCode
    geslacht: Geslacht | None = Field(None, description=_GESLACHT)


ChildT = TypeVar("ChildT", SubmittedChild, PublishedChild)


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


class EventBase(Contract, Generic[ChildT]):
    """The envelope shared by every event type."""

    id: Identifier = Field(description="Sender-unique event id; (sender, id) is the idempotency key")
    schema_version: Literal[1] = Field(description="Contract version of this event")
    occurred_at: AwareDatetime = Field(description="Event time: when it happened, ISO 8601 with offset")
    sender: SenderCode = Field(description="Instelling code of the sender (AGB or GM####)")
    child: ChildT
    accepted_at: AwareDatetime | None = Field(
        default=None, description="Set by intake when it accepted the event; ignored on submission"
    )

    @model_validator(mode="after")
    def _occurred_not_in_future(self) -> Self:
        if self.occurred_at > datetime.now(UTC) + MAX_FUTURE:
            raise rule("occurred_at", "must not lie more than a day in the future")
        return self


class Aanmelding(EventBase[ChildT], Generic[ChildT]):
    type: Literal["aanmelding"]
    data: AanmeldingData


class Beschikking(EventBase[ChildT], Generic[ChildT]):
    type: Literal["beschikking"]
    data: BeschikkingData


class Plaatsing(EventBase[ChildT], Generic[ChildT]):
    type: Literal["plaatsing"]
    data: PlaatsingData


class Separatie(EventBase[ChildT], Generic[ChildT]):
    type: Literal["separatie"]
    data: SeparatieData


class Jeugdreclassering(EventBase[ChildT], Generic[ChildT]):
    type: Literal["jeugdreclassering"]
    data: JeugdreclasseringData


class CorrectieData(Contract, Generic[ChildT]):
    target_id: Identifier = Field(description="The id of an earlier event of the same sender")
    action: CorrectieActie
    replacement: (
        Annotated[
            Aanmelding[ChildT] | Beschikking[ChildT] | Plaatsing[ChildT] | Separatie[ChildT] | Jeugdreclassering[ChildT],
            Field(discriminator="type"),
        ]
        | None
    ) = Field(default=None, description="The corrected event (same id as target_id), when vervangen")

    @model_validator(mode="after")
    def _replacement_rules(self) -> Self:
        if self.action == "vervangen":
            if self.replacement is None:
                raise rule("replacement", "is required when action is vervangen")
            if self.replacement.id != self.target_id:
                raise rule("replacement.id", "must equal target_id")
        elif self.replacement is not None:
            raise rule("replacement", "is only allowed when action is vervangen")
        return self


class Correctie(EventBase[ChildT], Generic[ChildT]):
    type: Literal["correctie"]
    data: CorrectieData[ChildT]

    @model_validator(mode="after")
    def _same_sender(self) -> Self:
        if self.data.replacement is not None and self.data.replacement.sender != self.sender:
            raise rule("data.replacement.sender", "must equal sender")
        return self


# Concrete forms. The submitted ones are what intake accepts; the published ones are on the topics.
SubmittedAanmelding = Aanmelding[SubmittedChild]
SubmittedBeschikking = Beschikking[SubmittedChild]
SubmittedPlaatsing = Plaatsing[SubmittedChild]
SubmittedSeparatie = Separatie[SubmittedChild]
SubmittedJeugdreclassering = Jeugdreclassering[SubmittedChild]
SubmittedCorrectie = Correctie[SubmittedChild]
PublishedAanmelding = Aanmelding[PublishedChild]
PublishedBeschikking = Beschikking[PublishedChild]
PublishedPlaatsing = Plaatsing[PublishedChild]
PublishedSeparatie = Separatie[PublishedChild]
PublishedJeugdreclassering = Jeugdreclassering[PublishedChild]
PublishedCorrectie = Correctie[PublishedChild]

#: A submitted (resp. published) event of any type, as a type for code; SubmittedEvent/PublishedEvent add the
#: discriminator for parsing.
AnySubmitted = (
    SubmittedAanmelding
    | SubmittedBeschikking
    | SubmittedPlaatsing
    | SubmittedSeparatie
    | SubmittedJeugdreclassering
    | SubmittedCorrectie
)
AnyPublished = (
    PublishedAanmelding
    | PublishedBeschikking
    | PublishedPlaatsing
    | PublishedSeparatie
    | PublishedJeugdreclassering
    | PublishedCorrectie
)
SubmittedEvent = Annotated[AnySubmitted, Field(discriminator="type")]
PublishedEvent = Annotated[AnyPublished, Field(discriminator="type")]


def event_uid(sender: str, event_id: str) -> str:
    """The globally unique id of an event: its idempotency key (sender, id) as one string."""
    return f"{sender}/{event_id}"


def json_value(model: BaseModel) -> dict[str, Any]:
    """A contract as JSON-compatible Python values (dates as ISO strings)."""
    return model.model_dump(mode="json", exclude_none=True)
