"""``POST /v1/ijw``: an iJw 3.2 message in, jeugdstroom events out through intake's normal path.

The whole message is parsed, checked, converted and validated before anything is stored; the derived events are
then accepted in one transaction with intake's own ``accept_checked`` (idempotency record, pseudonymised outbox
row). A conflict (an id accepted before with other content) rolls the whole message back.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter

from jeugdstroom.common import problems
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.auth import Sender
from jeugdstroom.intake.ijw import store
from jeugdstroom.intake.ijw.convert import check_sender, prepare
from jeugdstroom.intake.ijw.mapping import ProductMapping, load_mapping
from jeugdstroom.intake.ijw.message import IjwRejected, Problem, parse_message
from jeugdstroom.intake.ijw.xsd import XsdValidator
from jeugdstroom.intake.submission import accept_checked, summary

#: Largest accepted message; ``JEUGDSTROOM_IJW_MAX_BYTES`` overrides it.
MAX_BYTES: Final = int(os.environ.get("JEUGDSTROOM_IJW_MAX_BYTES", str(1024 * 1024)))
#: Longest wait for a database connection before answering 503; ``JEUGDSTROOM_POOL_ACQUIRE_TIMEOUT`` overrides it.
ACQUIRE_TIMEOUT: Final = float(os.environ.get("JEUGDSTROOM_POOL_ACQUIRE_TIMEOUT", "5"))
XML_TYPES: Final = ("application/xml", "text/xml")
MESSAGES: Final = Counter("jeugdstroom_intake_ijw_messages_total", "iJw messages by message type and outcome",
                          ["message", "outcome"])


class _Conflict(Exception):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results


async def _read_bounded(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise HTTPException(413, f"message larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"message larger than {limit} bytes")
    return bytes(body)


def _errors(found: list[Problem]) -> list[dict[str, str]]:
    """iJw problems in the problem-details shape: the element path is the ``field``."""
    return [{"field": p.element, "reason": p.reason} for p in found]


def _refused(exc: IjwRejected, label: str) -> Response:
    MESSAGES.labels(label, "forbidden" if exc.status == 403 else "rejected").inc()
    if exc.status == 403:
        return problems.problem(403, "the message's Afzender is not the token's sender", kind="forbidden-sender",
                                errors=_errors(exc.problems))
    return problems.problem(exc.status, "the message cannot be used", kind="validation",
                            errors=_errors(exc.problems))


def _responses(limit: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": "Nothing new: every event was accepted before (a resend), or none was derived",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IjwAnswer"}}}},
        202: {"description": "The message was taken: its events and skipped records",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IjwAnswer"}}}},
        401: {"description": "Missing or invalid token"},
        403: {"description": "The message's Afzender is not the token's sender"},
        409: {"description": "An event of this message was accepted before with different content"},
        413: {"description": f"Message larger than {limit} bytes"},
        415: {"description": "Content type other than application/xml or text/xml"},
        422: {"description": "Not iJw 3.2, malformed or hostile XML, structure violation, unmapped product"},
    }


def _conflicted(events: Sequence[Any], results: list[dict[str, Any]], label: str) -> Response:
    """The 409 answer naming the elements whose events were accepted before with different content."""
    conflicts = [Problem(d.element, f"event {r['id']} was accepted before with different content (a record "
                                    "that is current is corrected by deleting it first: iJw TR074, IV008)")
                 for d, r in zip(events, results, strict=True)
                 if r["status"] == "conflict"]
    MESSAGES.labels(label, "conflict").inc()
    return problems.problem(409, "an event of this message was accepted before with different content",
                            kind="conflict", errors=_errors(conflicts))


def register(app: FastAPI, settings: Settings, current_sender: Callable[..., Awaitable[Sender]],
             pool: Callable[[], Any], mapping: ProductMapping | None = None, max_bytes: int | None = None) -> None:
    """Add ``POST /v1/ijw`` to the intake ``app``; ``pool`` gives the running app's connection pool."""
    products = mapping if mapping is not None else load_mapping()
    limit = MAX_BYTES if max_bytes is None else max_bytes
    validator = XsdValidator(settings.ijw_xsd_dir) if settings.ijw_xsd_dir else None

    @app.post(
        "/v1/ijw",
        status_code=202,
        summary="Submit one iJw 3.2 message (JW315, JW301, JW305 or JW307) as XML",
        description=(
            "The message becomes jeugdstroom events (docs/ijw.md): JW315 → aanmelding, JW301 → beschikking "
            "toewijzing, JW305/JW307 → plaatsing gestart/beeindigd for placement products; StatusAanlevering 3 → "
            "correctie intrekken, a 1 after it a new version (IV008; 2 is refused, CS058). All or nothing: any problem refuses the whole message with the element "
            "path and reason. Resending a message answers its events as duplicates."
        ),
        openapi_extra={"requestBody": {"required": True, "content": {t: {"schema": {"type": "string"}}
                                                                     for t in XML_TYPES}}},
        response_model=None,
        responses=_responses(limit),
    )
    async def submit_ijw(request: Request, sender: Sender = Depends(current_sender)) -> Response:  # noqa: B008
        label = "unknown"
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in XML_TYPES:
            raise HTTPException(415, "content type must be application/xml (one iJw message)")
        body = await _read_bounded(request, limit)
        try:
            msg = parse_message(body, validator)
            label = msg.kind
            check_sender(msg, sender.code)
            async with pool().acquire(timeout=ACQUIRE_TIMEOUT) as conn, conn.transaction():
                # State, conversion, acceptance and the new state in one transaction: all or nothing.
                state = await store.load(conn, msg, settings.pseudonym_key_bytes)
                conversion, checked = prepare(msg, sender.code, settings.pseudonym_key_bytes, products, state)
                results = await accept_checked(conn, settings, checked) if checked else []
                if any(r["status"] == "conflict" for r in results):
                    raise _Conflict(results)  # roll back: nothing of this message is applied
                await store.save(conn, msg, conversion)
        except IjwRejected as exc:
            return _refused(exc, exc.kind or label)
        except _Conflict as conflict:
            return _conflicted(conversion.events, conflict.results, label)
        out = [{"element": d.element, **r} for d, r in zip(conversion.events, results, strict=True)]
        fresh = any(r["status"] == "accepted" for r in results)
        MESSAGES.labels(label, "accepted" if fresh else "duplicate" if results else "no_events").inc()
        return JSONResponse(
            {"message": msg.label, "results": out, "skipped": [s.as_dict() for s in conversion.skipped],
             "summary": summary(results)},
            status_code=202 if fresh else 200,
        )
