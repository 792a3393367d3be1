"""``POST /v1/ijw``: an iJw 3.2 message in, jeugdstroom events out through intake's normal path.

The whole message is parsed, checked, converted and validated before anything is stored; the derived events are
then accepted in one transaction with intake's own ``accept_checked`` (idempotency record, pseudonymised outbox
row). A conflict (an id accepted before with other content) rolls the whole message back.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.auth import Sender
from jeugdstroom.intake.ijw.convert import prepare
from jeugdstroom.intake.ijw.mapping import ProductMapping, load_mapping
from jeugdstroom.intake.ijw.message import IjwRejected, Problem, parse_message
from jeugdstroom.intake.submission import accept_checked, summary

#: Largest accepted message; ``JEUGDSTROOM_IJW_MAX_BYTES`` overrides it.
MAX_BYTES: Final = int(os.environ.get("JEUGDSTROOM_IJW_MAX_BYTES", str(1024 * 1024)))
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


def _refused(exc: IjwRejected, label: str) -> JSONResponse:
    MESSAGES.labels(label, "forbidden" if exc.status == 403 else "rejected").inc()
    return JSONResponse({"detail": [p.as_dict() for p in exc.problems]}, status_code=exc.status)


def register(app: FastAPI, settings: Settings, current_sender: Callable[..., Awaitable[Sender]],
             pool: Callable[[], Any], mapping: ProductMapping | None = None, max_bytes: int | None = None) -> None:
    """Add ``POST /v1/ijw`` to the intake ``app``; ``pool`` gives the running app's connection pool."""
    products = mapping if mapping is not None else load_mapping()
    limit = MAX_BYTES if max_bytes is None else max_bytes

    @app.post(
        "/v1/ijw",
        status_code=202,
        summary="Submit one iJw 3.2 message (JW315, JW301, JW305 or JW307) as XML",
        description=(
            "The message becomes jeugdstroom events (docs/ijw.md): JW315 → aanmelding, JW301 → beschikking "
            "toewijzing, JW305/JW307 → plaatsing gestart/beeindigd for placement products, StatusAanlevering 2/3 → "
            "correctie vervangen/intrekken. All or nothing: any problem refuses the whole message with the element "
            "path and reason. Resending a message answers its events as duplicates."
        ),
        openapi_extra={"requestBody": {"required": True, "content": {t: {"schema": {"type": "string"}}
                                                                     for t in XML_TYPES}}},
        responses={
            200: {"description": "Nothing new: every event was accepted before (a resend), or none was derived"},
            401: {"description": "Missing or invalid token"},
            403: {"description": "The message's Afzender is not the token's sender"},
            409: {"description": "An event of this message was accepted before with different content"},
            413: {"description": f"Message larger than {limit} bytes"},
            415: {"description": "Content type other than application/xml or text/xml"},
            422: {"description": "Not iJw 3.2, malformed or hostile XML, structure violation, unmapped product"},
        },
    )
    async def submit_ijw(request: Request, sender: Sender = Depends(current_sender)) -> JSONResponse:  # noqa: B008
        label = "unknown"
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in XML_TYPES:
            raise HTTPException(415, "content type must be application/xml (one iJw message)")
        body = await _read_bounded(request, limit)
        try:
            msg = parse_message(body)
            label = msg.kind
            conversion, checked = prepare(msg, sender.code, settings.pseudonym_key_bytes, products)
        except IjwRejected as exc:
            return _refused(exc, label)
        results: list[dict[str, Any]] = []
        if checked:
            try:
                async with pool().acquire() as conn, conn.transaction():
                    results = await accept_checked(conn, settings, checked)
                    if any(r["status"] == "conflict" for r in results):
                        raise _Conflict(results)  # roll back: nothing of this message is applied
            except _Conflict as conflict:
                problems = [Problem(d.element, f"event {r['id']} was accepted before with different content")
                            for d, r in zip(conversion.events, conflict.results, strict=True)
                            if r["status"] == "conflict"]
                MESSAGES.labels(label, "conflict").inc()
                return JSONResponse({"detail": [p.as_dict() for p in problems]}, status_code=409)
        out = [{"element": d.element, **r} for d, r in zip(conversion.events, results, strict=True)]
        fresh = any(r["status"] == "accepted" for r in results)
        MESSAGES.labels(label, "accepted" if fresh else "duplicate" if results else "no_events").inc()
        return JSONResponse(
            {"message": msg.label, "results": out, "skipped": [s.as_dict() for s in conversion.skipped],
             "summary": summary(results)},
            status_code=202 if fresh else 200,
        )
