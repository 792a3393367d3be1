"""From a validated submitted event to what intake stores and publishes: the published model (child by pseudonym),
its content hash, the idempotency record and the outbox row — typed throughout, serialised once (the hash and the
published value come from the same bytes).

The content hash is ``v2:`` + the SHA-256 of the published event's JSON as pydantic writes it (fields in contract
order, ``None`` fields and ``accepted_at`` left out), so equal content gives equal bytes without sorting a dict.
Idempotency records written before it hold the SHA-256 (bare hex) of the same form as a key-sorted dict
(:func:`legacy_content_hash`); a resend of such an event is compared in that form, so it stays a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

import orjson
from pydantic import AwareDatetime, BaseModel, TypeAdapter

from jeugdstroom.common import outbox, tracing
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.contracts import event_uid
from jeugdstroom.common.contracts.correctie import CorrectieData
from jeugdstroom.common.contracts.events import PublishedChild, SubmittedChild
from jeugdstroom.common.contracts.unions import PUBLISHED_CLASSES, AnyPublished, AnySubmitted
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake import repository as repo

PRODUCER = "intake"
HASH_PREFIX: Final = "v2:"
_PUBLISHED_CORRECTIE_DATA = CorrectieData[PublishedChild]
_TIME: Final = TypeAdapter(AwareDatetime)


M = TypeVar("M", bound=BaseModel)


def _construct(cls: type[M], fields: dict[str, Any]) -> M:
    """An instance of ``cls`` from values that are valid already: what ``model_construct`` does for a complete
    ``fields`` (every field given), without its per-field default and alias handling — a third of intake's time
    per event went there. ``tests/unit/test_intake_pseudonym.py`` checks the result equals the validated model."""
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def _child(child: SubmittedChild, key: bytes) -> PublishedChild:
    return _construct(PublishedChild, {
        "pseudonym": pseudonymise(child.bsn, key), "birth_date": child.birth_date, "gemeente": child.gemeente,
        "geslacht": child.geslacht,
    })


def publish(submitted: AnySubmitted, key: bytes) -> AnyPublished:
    """The event as published: ``child.bsn`` replaced by ``child.pseudonym`` (also inside a correctie's replacement),
    ``accepted_at`` unset (intake sets it on acceptance). Built from the validated parts without validating them
    again: every value passed the submitted contract, and a pseudonym is a hex HMAC-SHA256."""
    fields: dict[str, Any] = dict(submitted.__dict__)
    fields["child"] = _child(submitted.child, key)
    fields["accepted_at"] = None
    if submitted.type == "correctie":
        data = submitted.data
        replacement = None if data.replacement is None else publish(data.replacement, key)
        assert replacement is None or replacement.type != "correctie"  # the contract allows no nested correctie
        fields["data"] = _construct(_PUBLISHED_CORRECTIE_DATA, {
            "target_id": data.target_id, "action": data.action, "replacement": replacement})
    return _construct(PUBLISHED_CLASSES[submitted.type], fields)


def published_json(event: AnyPublished) -> bytes:
    """The event's JSON as published (``None`` fields left out)."""
    return event.__pydantic_serializer__.to_json(event, exclude_none=True)


def content_hash(event: AnyPublished) -> str:
    """The hash of a published event (``accepted_at`` unset) that decides duplicate versus conflict."""
    return _digest(published_json(event))


def _digest(text: bytes) -> str:
    return HASH_PREFIX + hashlib.sha256(text).hexdigest()


def legacy_content_hash(event: AnyPublished) -> str:
    """The hash idempotency records held before ``v2``: SHA-256 of the published form as a key-sorted JSON object."""
    doc = event.model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def same_content(stored: str, event: AnyPublished, digest: str) -> bool:
    """Whether a stored hash (of either form) is the hash of ``event`` (whose ``v2`` hash is ``digest``)."""
    if stored.startswith(HASH_PREFIX):
        return stored == digest
    return stored == legacy_content_hash(event)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | conflict
    event_id: str


async def accept(conn: Conn, settings: Settings, events: Sequence[AnyPublished], now: datetime) -> list[Outcome]:
    """Record and enqueue published events inside the caller's transaction (set-based).

    A (sender, id) seen before is a duplicate when its content hash is equal and a conflict otherwise;
    within one call the first occurrence wins. Traced as ``intake.accept``: the records carry its context.
    """
    with tracing.span("intake.accept", attributes={"jeugdstroom.events": len(events)}):
        return await _accept(conn, settings, events, now, tracing.headers())


async def _accept(conn: Conn, settings: Settings, events: Sequence[AnyPublished], now: datetime,
                  trace_headers: list[tuple[str, bytes]]) -> list[Outcome]:
    texts = [published_json(e) for e in events]
    hashes = [_digest(t) for t in texts]  # content_hash, from the bytes that are published
    fresh = await repo.record_accepted(
        conn, [repo.AcceptedRow(e.sender, e.id, e.type, h) for e, h in zip(events, hashes, strict=True)], now)
    known: dict[tuple[str, str], str] = {}
    if len(fresh) < len(events):
        known = await repo.accepted_hashes(conn, [(e.sender, e.id) for e in events if (e.sender, e.id) not in fresh])
    outcomes: list[Outcome] = []
    out_rows: list[outbox.OutRow] = []
    first_hash: dict[tuple[str, str], str] = {}
    stamp = _TIME.dump_json(now)
    for event, text, h in zip(events, texts, hashes, strict=True):
        ident = (event.sender, event.id)
        if ident in fresh and ident not in first_hash:
            first_hash[ident] = h
            out_rows.append(_out_row(settings, event, text, stamp, trace_headers))
            outcomes.append(Outcome("accepted", event.id))
        elif ident in first_hash:  # a repeat within this call
            outcomes.append(Outcome("duplicate" if first_hash[ident] == h else "conflict", event.id))
        else:
            stored = known.get(ident)
            same = stored is not None and same_content(stored, event, h)
            outcomes.append(Outcome("duplicate" if same else "conflict", event.id))
    await outbox.write(conn, PRODUCER, out_rows)
    return outcomes


def _out_row(settings: Settings, event: AnyPublished, text: bytes, stamp: bytes,
             trace_headers: list[tuple[str, bytes]]) -> outbox.OutRow:
    """The outbox row of an accepted event: keyed by the child's pseudonym; its value the event's JSON ``text``
    with ``"accepted_at": stamp`` added as the last member (``text`` is a JSON object that has none)."""
    uid = event_uid(event.sender, event.id)
    occurred = str(_TIME.dump_python(event.occurred_at, mode="json"))
    return outbox.OutRow(
        settings.topic(event.type),
        event.child.pseudonym.encode(),
        b"%b,\"accepted_at\":%b}" % (text[:-1], stamp),
        cloudevent_headers(uid, event.type, f"/instelling/{event.sender}", occurred) + trace_headers,
    )
