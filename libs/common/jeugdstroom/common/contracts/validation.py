"""Parsing bytes into contracts, with errors that name the field and the rule (never the value)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common.contracts.events import FIELD_SEP
from jeugdstroom.common.contracts.unions import EVENT_TYPES, AnyPublished, AnySubmitted, PublishedEvent, SubmittedEvent

T = TypeVar("T")
_SUBMITTED: TypeAdapter[AnySubmitted] = TypeAdapter(SubmittedEvent)
_PUBLISHED: TypeAdapter[AnyPublished] = TypeAdapter(PublishedEvent)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason an input is invalid: a dotted field path and the broken rule."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class ContractError(ValueError):
    """An input that violates the contract; ``errors`` says where and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))


def _path(loc: tuple[int | str, ...]) -> str:
    # Drop the discriminator tags pydantic puts in the location (``separatie``, ``Separatie[...]``).
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p in EVENT_TYPES or "[" in p))]
    return ".".join(parts) or "(root)"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Field errors of a pydantic ValidationError, without input values."""
    out: list[FieldError] = []
    for err in exc.errors(include_input=False, include_url=False):
        reason = err["msg"]
        if err["type"] == "union_tag_invalid":
            reason = f"must be one of {', '.join(EVENT_TYPES)}"
        elif err["type"] == "union_tag_not_found":
            reason = "is required (one of " + ", ".join(EVENT_TYPES) + ")"
        path = _path(tuple(err["loc"])) if err["loc"] else "type"
        reason = reason.removeprefix("Value error, ")
        if FIELD_SEP in reason:
            sub, reason = reason.split(FIELD_SEP, 1)
            path = sub if path == "(root)" else f"{path}.{sub}"
        out.append(FieldError(path, reason))
    return out


def _parse(adapter: TypeAdapter[T], raw: bytes | str) -> T:
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        raise ContractError(field_errors(exc)) from None


def parse_submitted(raw: bytes | str) -> AnySubmitted:
    """A submitted event (child by BSN) from JSON; raises ContractError."""
    return _parse(_SUBMITTED, raw)


def parse_published(raw: bytes | str) -> AnyPublished:
    """A published event (child by pseudonym) from JSON; raises ContractError."""
    return _parse(_PUBLISHED, raw)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every contract, by file name."""
    from jeugdstroom.common.contracts.unions import RegistryChange

    return {
        "submitted-event.schema.json": _SUBMITTED.json_schema(),
        "published-event.schema.json": _PUBLISHED.json_schema(),
        "registry-change.schema.json": TypeAdapter(RegistryChange).json_schema(),
    }
