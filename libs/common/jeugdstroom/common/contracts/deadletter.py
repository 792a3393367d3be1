"""The dead-letter record (topic ``jeugdstroom.deadletter``): what a consumer could not process, why, and where
it came from. Written by :func:`jeugdstroom.common.consumer.deadletter_row`; described in docs/asyncapi.yaml."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from jeugdstroom.common.contracts.events import Contract

#: Record headers of a dead letter, so operators can filter without decoding the value.
HEADER_REASON_CLASS = "dl_reason_class"
HEADER_ORIGIN = "dl_origin"

Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$")]


class DeadLetter(Contract):
    """A record a consumer gave up on: the reason, the origin and the original bytes."""

    consumer: str = Field(description="Consumer group that dead-lettered the record (intake-inbox, registry, monitor)")
    reason_class: str = Field(
        description="Bounded class of the reason, e.g. unparseable, contract, unknown_schema_version, unauthorized,"
        " forbidden, conflict, empty, processing_failed. Open: new classes may appear."
    )
    reason: str = Field(description="Which field broke which rule; never an input value")
    topic: str = Field(description="Topic of the original record")
    partition: int = Field(ge=0, description="Partition of the original record")
    offset: int = Field(ge=0, description="Offset of the original record")
    key_b64: Base64 | None = Field(description="Original key, base64; null when absent or redacted (inbox)")
    value_b64: Base64 | None = Field(
        description="Original value, base64; the inbox stores a redacted copy (no BSN), or null when unparseable"
    )
