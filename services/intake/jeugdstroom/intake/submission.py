"""The shared core of every way in (JSON, NDJSON, Kafka inbox): check items, then accept them in one transaction.

Per-item results have one shape everywhere: ``{"status": ..., "id": ..., "errors": [{"field", "reason"}]}``
with status one of :data:`STATUSES`. Errors name the field and the rule, never the submitted value.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from jeugdstroom.common.contracts.validation import ContractError, parse_submitted
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.accept import accept, published_form
from jeugdstroom.intake.metrics import EVENTS, REJECTED, type_label

STATUSES: tuple[str, ...] = ("accepted", "duplicate", "conflict", "rejected", "forbidden")
FORBIDDEN_SENDER = {"field": "sender", "reason": "does not match the token's sender"}


@dataclass(slots=True)
class Checked:
    """An item after validation: either a published-form ``doc`` to accept or a final ``result``."""

    doc: dict[str, Any] | None
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


def check(item: Any, sender_code: str, key: bytes) -> Checked:
    """Validate one submitted item for ``sender_code``; pseudonymise it when it may be accepted.

    A batch is checked item by item on purpose: one validation of the whole JSON array (a ``TypeAdapter`` over the
    list) measured slower, since all its models are alive at once (more garbage-collector passes, colder caches
    when they are pseudonymised afterwards)."""
    try:
        event = parse_submitted(orjson.dumps(item))
    except ContractError as err:
        EVENTS.labels(type_label(item), "rejected").inc()
        REJECTED.labels(type_label(item), "contract").inc()
        return Checked(None, rejected([e.as_dict() for e in err.errors], item))
    if event.sender != sender_code:
        EVENTS.labels(event.type, "forbidden").inc()
        REJECTED.labels(event.type, "forbidden").inc()
        return Checked(None, {"status": "forbidden", "id": event.id, "errors": [FORBIDDEN_SENDER]})
    return Checked(published_form(event, key), None)


async def accept_checked(conn: Conn, settings: Settings, checked: Sequence[Checked]) -> list[dict[str, Any]]:
    """Accept the valid items inside the caller's transaction; the result of every item, in order."""
    results: list[dict[str, Any] | None] = [c.result for c in checked]
    positions = [i for i, c in enumerate(checked) if c.doc is not None]
    docs = [c.doc for c in checked if c.doc is not None]
    if docs:
        outcomes = await accept(conn, settings, docs, datetime.now(UTC))
        counts: Tally[tuple[str, str]] = Tally()
        for pos, doc, outcome in zip(positions, docs, outcomes, strict=True):
            result: dict[str, Any] = {"status": outcome.status, "id": outcome.event_id}
            if outcome.status == "conflict":
                result["errors"] = [{"field": "id", "reason": "was accepted before with different content"}]
            results[pos] = result
            counts[(doc["type"], outcome.status)] += 1
        for (kind, status), n in counts.items():  # one metric update per (type, outcome), not per event
            EVENTS.labels(kind, status).inc(n)
            if status == "conflict":
                REJECTED.labels(kind, "conflict").inc(n)
    return [r for r in results if r is not None]


def summary(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Counts per status (every status present, zero when absent)."""
    tally = Tally(r["status"] for r in results)
    return {s: tally.get(s, 0) for s in STATUSES}
