"""The shared core of every way in (JSON, NDJSON, Kafka inbox, iJw): validate items, then accept them in one
transaction.

An item is validated once, from its JSON bytes where the way in has them (``TypeAdapter.validate_json``: a JSON
array in one call, an NDJSON line, a single event), into the submitted contract; a valid item from the token's
sender becomes the published model (:func:`jeugdstroom.intake.accept.publish`) that is hashed, stored and published.
Only a batch with an invalid item is read as Python objects too, to answer item by item.

Per-item results have one shape everywhere: ``{"status": ..., "id": ..., "errors": [{"field", "reason"}]}``
with status one of :data:`STATUSES`. Errors name the field and the rule, never the submitted value.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common.contracts.unions import AnyPublished, AnySubmitted, SubmittedEvent
from jeugdstroom.common.contracts.validation import field_errors
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.accept import accept, publish
from jeugdstroom.intake.metrics import EVENTS, REJECTED, type_label

STATUSES: tuple[str, ...] = ("accepted", "duplicate", "conflict", "rejected", "forbidden")
FORBIDDEN_SENDER = {"field": "sender", "reason": "does not match the token's sender"}
NOT_JSON: Final = "is not valid JSON"
_ONE: Final[TypeAdapter[AnySubmitted]] = TypeAdapter(SubmittedEvent)
_MANY: Final[TypeAdapter[list[AnySubmitted]]] = TypeAdapter(list[SubmittedEvent])


@dataclass(slots=True)
class Parsed:
    """An item after validation: the submitted ``event``, or its ``errors`` (``reason_class`` for the metrics) and
    the item as a JSON value when it is one (for its id and type in the answer and the metrics)."""

    event: AnySubmitted | None
    errors: list[dict[str, str]] = field(default_factory=list)
    item: Any = None
    reason_class: str = "contract"


@dataclass(slots=True)
class Checked:
    """An item after checking: either a published ``event`` to accept or a final ``result``."""

    event: AnyPublished | None
    result: dict[str, Any] | None


def item_id(item: Any) -> str | None:
    """The item's own ``id`` when it is a plain string (ids carry no personal data by contract)."""
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and len(value) <= 200 else None


def rejected(errors: list[dict[str, str]], item: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": "rejected", "errors": errors}
    ident = item_id(item)
    if ident is not None:
        result["id"] = ident
    return result


def _not_json(exc: ValidationError) -> bool:
    return any(e["type"] == "json_invalid" for e in exc.errors(include_input=False, include_url=False))


def parse_json(raw: bytes, where: str = "(line)") -> Parsed:
    """Validate one item from its JSON bytes; a rejection names ``where`` when ``raw`` is not JSON at all."""
    try:
        return Parsed(_ONE.validate_json(raw))
    except ValidationError as exc:
        if _not_json(exc):
            return Parsed(None, [{"field": where, "reason": NOT_JSON}], reason_class="invalid_json")
        try:
            item = orjson.loads(raw)  # only to name the item's id and type in the answer
        except orjson.JSONDecodeError:
            item = None
        return Parsed(None, [e.as_dict() for e in field_errors(exc)], item)


def parse_item(item: Any) -> Parsed:
    """Validate one item that is already a JSON value (the inbox, iJw conversions, a batch's slow path)."""
    try:
        return Parsed(_ONE.validate_json(orjson.dumps(item)))
    except ValidationError as exc:
        return Parsed(None, [e.as_dict() for e in field_errors(exc)], item)


def parse_body(body: bytes) -> tuple[bool, list[Parsed]] | None:
    """The items of a JSON body (one event or an array of events), each validated; whether it was a single event.
    None when the body is not JSON. A valid array is validated in one call; an array with an invalid item is read
    as JSON values and validated item by item, so that every item gets its own result."""
    if body.lstrip()[:1] != b"[":
        parsed = parse_json(body, "(body)")
        return None if parsed.reason_class == "invalid_json" else (True, [parsed])
    try:
        return False, [Parsed(e) for e in _MANY.validate_json(body)]
    except ValidationError as exc:
        if _not_json(exc):
            return None
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:  # JSON to pydantic (NaN, say), not to orjson: not JSON for the answer
        return None
    return False, [parse_item(item) for item in items]


def check_parsed(parsed: Parsed, sender_code: str, key: bytes) -> Checked:
    """The published event of a valid item of ``sender_code`` (pseudonymised), or the item's final result."""
    event = parsed.event
    if event is None:
        kind = type_label(parsed.item)
        EVENTS.labels(kind, "rejected").inc()
        REJECTED.labels(kind, parsed.reason_class).inc()
        return Checked(None, rejected(parsed.errors, parsed.item))
    if event.sender != sender_code:
        EVENTS.labels(event.type, "forbidden").inc()
        REJECTED.labels(event.type, "forbidden").inc()
        return Checked(None, {"status": "forbidden", "id": event.id, "errors": [FORBIDDEN_SENDER]})
    return Checked(publish(event, key), None)


def check(item: Any, sender_code: str, key: bytes) -> Checked:
    """Validate one item given as a JSON value for ``sender_code``; pseudonymise it when it may be accepted."""
    return check_parsed(parse_item(item), sender_code, key)


async def accept_checked(conn: Conn, settings: Settings, checked: Sequence[Checked]) -> list[dict[str, Any]]:
    """Accept the valid items inside the caller's transaction; the result of every item, in order."""
    results: list[dict[str, Any] | None] = [c.result for c in checked]
    positions = [i for i, c in enumerate(checked) if c.event is not None]
    events = [c.event for c in checked if c.event is not None]
    if events:
        outcomes = await accept(conn, settings, events, datetime.now(UTC))
        counts: Tally[tuple[str, str]] = Tally()
        for pos, event, outcome in zip(positions, events, outcomes, strict=True):
            result: dict[str, Any] = {"status": outcome.status, "id": outcome.event_id}
            if outcome.status == "conflict":
                result["errors"] = [{"field": "id", "reason": "was accepted before with different content"}]
            results[pos] = result
            counts[(event.type, outcome.status)] += 1
        for (kind, status), n in counts.items():  # one metric update per (type, outcome), not per event
            EVENTS.labels(kind, status).inc(n)
            if status == "conflict":
                REJECTED.labels(kind, "conflict").inc(n)
    return [r for r in results if r is not None]


def summary(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts per status (every status present, zero when absent)."""
    tally = Tally(r["status"] for r in results)
    return {s: tally.get(s, 0) for s in STATUSES}
