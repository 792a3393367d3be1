"""The typed HTTP contract of intake for its OpenAPI document: the submitted-event union (from the common contracts)
as request body, and the answers (per-item results, batch summary, iJw message results).

The request schemas are the contract's own JSON Schema (``jeugdstroom.common.contracts``), so the document and the
validation cannot drift apart; they are named ``Submitted<Type>`` in ``components.schemas``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from jeugdstroom.common.contracts import SubmittedEvent
from jeugdstroom.common.problems import FieldProblem

REF = "#/components/schemas/{model}"
Status = Literal["accepted", "duplicate", "conflict", "rejected", "forbidden"]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemResult(Answer):
    """The outcome of one event: accepted, duplicate (same content as before), conflict (other content under the
    same id), rejected (contract broken) or forbidden (another sender's event)."""

    status: Status
    id: str | None = Field(None, description="The event's id (absent when the item had no usable id)")
    line: int | None = Field(None, description="NDJSON only: the line number of the event")
    errors: list[FieldProblem] | None = Field(None, description="Why it was not accepted: field and rule")


class Summary(Answer):
    """Counts per status (every status present)."""

    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    forbidden: int


class BatchAnswer(Answer):
    """The answer to a JSON array or an NDJSON stream: one result per item, in order, and the counts."""

    results: list[ItemResult]
    summary: Summary


class SingleAnswer(Answer):
    """The answer to one event (a JSON object) that was accepted (202) or was a duplicate (200)."""

    status: Literal["accepted", "duplicate"]
    id: str


class IjwEventResult(Answer):
    """One event derived from an iJw message, with the element it came from."""

    element: str = Field(description="Path of the record in the message")
    status: Status
    id: str | None = None
    errors: list[FieldProblem] | None = None


class IjwSkipped(Answer):
    """A record of the message that yields no event (e.g. a product that is not a placement)."""

    element: str
    reason: str


class IjwAnswer(Answer):
    """The answer to an iJw message that was taken: its events' results and the skipped records."""

    message: str = Field(description="The message type and identity, e.g. `JW315 …`")
    results: list[IjwEventResult]
    skipped: list[IjwSkipped]
    summary: Summary


def _renamed(doc: dict[str, Any]) -> dict[str, Any]:
    """pydantic names the generic contracts ``Aanmelding_SubmittedChild_``; clients get ``SubmittedAanmelding``."""
    text = re.sub(rb"\b([A-Za-z]+)(?:_SubmittedChild_\b|\[SubmittedChild\])", rb"Submitted\1", orjson.dumps(doc))
    result: dict[str, Any] = orjson.loads(text)
    return result


@cache
def components() -> dict[str, Any]:
    """Every component schema of intake's contract: ``SubmittedEvent`` (the union, with its discriminator), its
    parts, and the answers."""
    event = _renamed(TypeAdapter(SubmittedEvent).json_schema(ref_template=REF))
    out: dict[str, Any] = dict(event.pop("$defs"))
    out["SubmittedEvent"] = {"title": "SubmittedEvent", "description": "One event as an institution submits it "
                             "(child by BSN); `type` selects the contract", **event}
    for model in (BatchAnswer, SingleAnswer, IjwAnswer):
        schema = model.model_json_schema(ref_template=REF)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def request_body(max_batch: int, examples: dict[str, dict[str, Any]], json: str, ndjson: str) -> dict[str, Any]:
    """``POST /v1/events``: one event, an array of at most ``max_batch`` events, or NDJSON lines."""
    return {
        "required": True,
        "content": {
            json: {
                "schema": {"oneOf": [
                    ref("SubmittedEvent"),
                    {"type": "array", "items": ref("SubmittedEvent"), "maxItems": max_batch,
                     "title": "SubmittedEventBatch"},
                ]},
                "examples": {
                    **{name: {"summary": f"one {name}", "value": doc} for name, doc in examples.items()},
                    "batch": {"summary": "a batch (JSON array)", "value": list(examples.values())},
                },
            },
            ndjson: {
                "schema": {"type": "string", "description": "one event (a `SubmittedEvent` as JSON) per line"},
                "example": "".join(orjson.dumps(doc).decode() + "\n" for doc in examples.values()),
            },
        },
    }
