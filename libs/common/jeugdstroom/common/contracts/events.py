"""The event envelope: what every event type shares (the types themselves are ``contracts.kinds``, the unions of
them ``contracts.unions``).

An event comes in two forms that differ only in how the child is identified:

* ``Submitted*`` — as an institution sends it to intake: ``child.bsn``;
* ``Published*`` — as intake publishes it on the typed topics: ``child.pseudonym``.

Both are strict (no coercion, ``extra="forbid"``) and never echo an input value in an error,
so a BSN cannot leak through a validation message.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jeugdstroom.common.bsn import is_valid_bsn
from jeugdstroom.common.contracts.codes import Geslacht

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
    if TYPE_CHECKING:  # every event type declares these two (``type`` as a Literal); code typed by the base reads them
        type: str
        data: Any

    @model_validator(mode="after")
    def _occurred_not_in_future(self) -> Self:
        if self.occurred_at > datetime.now(UTC) + MAX_FUTURE:
            raise rule("occurred_at", "must not lie more than a day in the future")
        return self


def event_uid(sender: str, event_id: str) -> str:
    """The globally unique id of an event: its idempotency key (sender, id) as one string."""
    return f"{sender}/{event_id}"


def json_value(model: BaseModel) -> dict[str, Any]:
    """A contract as JSON-compatible Python values (dates as ISO strings)."""
    return model.model_dump(mode="json", exclude_none=True)
