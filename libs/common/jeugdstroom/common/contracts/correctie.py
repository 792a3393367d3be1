"""Correctie: a sender withdraws (``intrekken``) or replaces (``vervangen``) one of its earlier events, by id. Not an
entity of its own: its replacement is an event of any kind of ``contracts.kinds``, so it is defined after them."""

from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, Self, Union

from pydantic import Field, model_validator

from jeugdstroom.common.contracts.codes import CorrectieActie
from jeugdstroom.common.contracts.events import ChildT, Contract, EventBase, Identifier, rule
from jeugdstroom.common.contracts.kinds import KINDS

#: The replacement: an event of any kind, by its ``type`` (a union built from ``KINDS``, still generic in the child).
_REPLACEMENT: Any = Annotated[Union[tuple(k.form(ChildT) for k in KINDS)], Field(discriminator="type")]  # noqa: UP007


class CorrectieData(Contract, Generic[ChildT]):
    target_id: Identifier = Field(description="The id of an earlier event of the same sender")
    action: CorrectieActie
    if TYPE_CHECKING:
        replacement: EventBase[ChildT] | None = None
    else:
        replacement: _REPLACEMENT | None = Field(
            default=None, description="The corrected event (same id as target_id), when vervangen"
        )

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


#: One valid submitted correctie (OpenAPI docs; unit-tested).
EXAMPLE: dict[str, Any] = {
    "schema_version": 1,
    "sender": "12345678",
    "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
    "id": "cor-2026-0001",
    "type": "correctie",
    "occurred_at": "2026-05-02T08:00:00+02:00",
    "data": {"target_id": "sep-2026-0001-start", "action": "intrekken"},
}
