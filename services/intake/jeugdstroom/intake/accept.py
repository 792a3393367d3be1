"""From a submitted event to what intake stores and publishes: pseudonymise, hash, outbox row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from jeugdstroom.common import outbox, tracing
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.contracts import event_uid
from jeugdstroom.common.contracts.events import AnySubmitted
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import cloudevent_headers
from jeugdstroom.common.settings import Settings

PRODUCER = "intake"


def published_form(submitted: AnySubmitted, key: bytes) -> dict[str, Any]:
    """The event as published: the same JSON with ``child.bsn`` replaced by ``child.pseudonym``
    (also inside a correctie's replacement). ``accepted_at`` is left out (it is set on acceptance)."""
    doc: dict[str, Any] = submitted.model_dump(mode="json", exclude_none=True, exclude={"accepted_at"})
    _swap_bsn(doc, key)
    replacement = doc.get("data", {}).get("replacement")
    if isinstance(replacement, dict):
        replacement.pop("accepted_at", None)
        _swap_bsn(replacement, key)
    return doc


def _swap_bsn(doc: dict[str, Any], key: bytes) -> None:
    child = doc["child"]
    child["pseudonym"] = pseudonymise(child.pop("bsn"), key)
    doc["child"] = {"pseudonym": child["pseudonym"], "birth_date": child["birth_date"], "gemeente": child["gemeente"]}
    if "geslacht" in child:
        doc["child"]["geslacht"] = child["geslacht"]


def content_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | conflict
    event_id: str


async def accept(conn: Conn, settings: Settings, docs: list[dict[str, Any]],
                 now: datetime) -> list[Outcome]:
    """Record and enqueue published-form events inside the caller's transaction (set-based).

    A (sender, id) seen before is a duplicate when its content hash is equal and a conflict otherwise;
    within one call the first occurrence wins. Traced as ``intake.accept``: the records carry its context.
    """
    with tracing.span("intake.accept", attributes={"jeugdstroom.events": len(docs)}):
        return await _accept(conn, settings, docs, now, tracing.headers())


async def _accept(conn: Conn, settings: Settings, docs: list[dict[str, Any]], now: datetime,
                  trace_headers: list[tuple[str, bytes]]) -> list[Outcome]:
    hashes = [content_hash(d) for d in docs]
    rows = await conn.fetch(
        """INSERT INTO intake.accepted_events (sender, event_id, type, content_hash, accepted_at)
           SELECT s, i, t, h, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(s, i, t, h)
           ON CONFLICT DO NOTHING RETURNING sender, event_id""",
        [d["sender"] for d in docs], [d["id"] for d in docs], [d["type"] for d in docs], hashes, now,
    )
    fresh = {(r["sender"], r["event_id"]) for r in rows}
    known: dict[tuple[str, str], str] = {}
    if len(fresh) < len(docs):
        others = [(d["sender"], d["id"]) for d in docs if (d["sender"], d["id"]) not in fresh]
        for r in await conn.fetch(
            "SELECT sender, event_id, content_hash FROM intake.accepted_events"
            " WHERE (sender, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [o[0] for o in others], [o[1] for o in others],
        ):
            known[(r["sender"], r["event_id"])] = r["content_hash"]
    outcomes: list[Outcome] = []
    out_rows: list[outbox.OutRow] = []
    first_hash: dict[tuple[str, str], str] = {}
    stamp = now.isoformat()
    for doc, h in zip(docs, hashes, strict=True):
        ident = (doc["sender"], doc["id"])
        if ident in fresh and ident not in first_hash:
            first_hash[ident] = h
            uid = event_uid(doc["sender"], doc["id"])
            out_rows.append(outbox.OutRow(
                settings.topic(doc["type"]),
                doc["child"]["pseudonym"].encode(),
                orjson.dumps({**doc, "accepted_at": stamp}),
                cloudevent_headers(uid, doc["type"], f"/instelling/{doc['sender']}", doc["occurred_at"]) + trace_headers,
            ))
            outcomes.append(Outcome("accepted", doc["id"]))
        else:
            reference = first_hash.get(ident, known.get(ident))
            outcomes.append(Outcome("duplicate" if reference == h else "conflict", doc["id"]))
    await outbox.write(conn, PRODUCER, out_rows)
    return outcomes
