"""intake's HTTP handlers: ``POST /v1/events`` (one event, a JSON array, or streamed NDJSON) and ``POST /v1/ijw``,
with bearer authentication and the per-sender rate limit."""

import asyncio
import os
import time
from typing import Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from jeugdstroom.common import problems
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake import api_models, ndjson
from jeugdstroom.intake.activity import Activity
from jeugdstroom.intake.auth import Sender, authenticate
from jeugdstroom.intake.examples import EXAMPLES
from jeugdstroom.intake.ijw import route as ijw_route
from jeugdstroom.intake.metrics import EVENTS, LATENCY, REJECTED
from jeugdstroom.intake.ratelimit import SenderLimits, retry_after
from jeugdstroom.intake.submission import (
    NOT_JSON,
    Checked,
    accept_checked,
    check_parsed,
    parse_body,
    parse_json,
    summary,
)

#: A JSON body larger than this per allowed event is refused (413) before it is read.
MAX_EVENT_BYTES = 64 * 1024
JSON = "application/json"
NDJSON = "application/x-ndjson"
#: Longest wait for a database connection before answering 503 (the pool is exhausted or the database is down).
ACQUIRE_TIMEOUT = float(os.environ.get("JEUGDSTROOM_POOL_ACQUIRE_TIMEOUT", "5"))


class Submissions:
    """What the handlers share: the settings, the pool (``state["pool"]``, set by the lifespan), the batch limit,
    the per-sender rate limits and the senders' activity."""

    def __init__(self, settings: Settings, state: dict[str, Any], limit: int, activity: Activity) -> None:
        self.settings = settings
        self.state = state
        self.limit = limit
        self.limits = SenderLimits(settings.rate_limit_per_sender, settings.rate_limit_burst)
        self.activity = activity

    def within_limit(self, sender: Sender, events: int) -> None:
        """Raise a 429 problem when ``sender`` may not submit ``events`` events now."""
        wait = self.limits.take(sender.code, events)
        if wait > 0:
            s = self.settings
            raise problems.ProblemError(
                429, f"rate limit of {s.rate_limit_per_sender:g} events/s (burst {s.rate_limit_burst}) "
                     "exhausted; nothing of this request was stored", kind="rate-limited",
                headers={"Retry-After": retry_after(wait)})

    async def current_sender(self, request: Request) -> Sender:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        async with self.state["pool"].acquire(timeout=ACQUIRE_TIMEOUT) as conn:
            sender = await authenticate(conn, token.strip())
        if sender is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return sender

    async def ijw_sender(self, request: Request) -> Sender:
        sender = await self.current_sender(request)
        self.within_limit(sender, 1)  # an iJw message counts as one event
        return sender

    async def commit(self, checked: list[Checked]) -> list[dict[str, Any]]:
        """Accept the checked items in one transaction (none when nothing is acceptable)."""
        if all(c.event is None for c in checked):
            return [c.result for c in checked if c.result is not None]
        async with self.state["pool"].acquire(timeout=ACQUIRE_TIMEOUT) as conn, conn.transaction():
            return await accept_checked(conn, self.settings, checked)

    async def submit_json(self, request: Request, sender: Sender) -> Response:
        limit = self.limit
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit * MAX_EVENT_BYTES:
            raise HTTPException(413, f"body larger than {limit * MAX_EVENT_BYTES} bytes (limit: {limit} events of "
                                     f"at most {MAX_EVENT_BYTES} bytes); use {NDJSON} for large uploads")
        parsed = parse_body(await request.body())
        if parsed is None:
            EVENTS.labels("unknown", "rejected").inc()
            REJECTED.labels("unknown", "invalid_json").inc()
            return problems.problem(422, "the body is not valid JSON", kind="validation",
                                    errors=[{"field": "(body)", "reason": NOT_JSON}])
        single, items = parsed
        if len(items) > limit:
            raise HTTPException(413, f"batch of {len(items)} events is larger than the limit of {limit} events; "
                                     f"split it or use {NDJSON}")
        self.within_limit(sender, len(items))
        key = self.settings.pseudonym_key_bytes
        results = await self.commit([check_parsed(item, sender.code, key) for item in items])
        self.activity.note(sender.code, summary(results))
        if single:
            return _single_response(results[0])
        return _json({"results": results, "summary": summary(results)}, 202)

    async def submit_ndjson(self, request: Request, sender: Sender) -> Response:
        key = self.settings.pseudonym_key_bytes
        results: list[dict[str, Any]] = []
        first = True
        async for chunk in ndjson.chunks(request.stream(), self.limit):
            if first:
                self.within_limit(sender, len(chunk))  # nothing stored yet: refuse
                first = False
            else:  # part of the stream is committed: slow the stream down instead of refusing the rest
                wait = self.limits.reserve(sender.code, len(chunk))
                if wait > 0:
                    await asyncio.sleep(wait)
            checked = [_checked_line(line, sender, key) for line in chunk]
            for line, result in zip(chunk, await self.commit(checked), strict=True):
                results.append({"line": line.number, **result})
        counts = summary(results)
        self.activity.note(sender.code, counts)
        return _json({"results": results, "summary": counts}, 202)



def add_routes(app: FastAPI, settings: Settings, state: dict[str, Any], limit: int, activity: Activity) -> None:
    """``POST /v1/events`` and ``POST /v1/ijw`` (docs/ijw.md)."""
    subs = Submissions(settings, state, limit, activity)
    ijw_route.register(app, settings, subs.ijw_sender, lambda: state["pool"])

    @app.post(
        "/v1/events",
        status_code=202,
        summary="Submit one event (JSON object), a batch (JSON array) or a stream (NDJSON, one event per line)",
        description=(
            f"A JSON array holds at most {limit} events (413 otherwise). NDJSON (`{NDJSON}`) is read as a stream "
            f"and committed every {limit} lines; each line gets a result with its `line` number. Batch and NDJSON "
            "answers are 202 with a result per item (accepted, duplicate, conflict, rejected or forbidden, with "
            "the field and rule of every error) and a summary of counts."
        ),
        openapi_extra={"requestBody": api_models.request_body(limit, EXAMPLES, JSON, NDJSON)},
        response_model=None,
        responses={
            200: _answer("One event (a JSON object) that is a duplicate: this (sender, id) was accepted before "
                         "with the same content", api_models.ref("SingleAnswer")),
            202: _answer("One event accepted, or the result of every event of a batch or stream",
                         {"oneOf": [api_models.ref("SingleAnswer"), api_models.ref("BatchAnswer")]}),
            401: {"description": "Missing or invalid token"},
            403: {"description": "The event's sender is not the token's sender"},
            409: {"description": "This (sender, id) was accepted before with different content"},
            413: {"description": "Batch larger than the limit"},
            415: {"description": f"Content type other than {JSON} or {NDJSON}"},
            422: {"description": "Invalid event (one JSON object) or body: the field and the rule of each problem"},
        },
    )
    async def submit(request: Request, sender: Sender = Depends(subs.current_sender)) -> Response:  # noqa: B008
        started = time.perf_counter()
        try:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media == JSON:
                return await subs.submit_json(request, sender)
            if media == NDJSON:
                return await subs.submit_ndjson(request, sender)
            raise HTTPException(415, f"content type must be {JSON} (one event or an array) or {NDJSON} "
                                     "(one event per line)")
        finally:
            LATENCY.observe(time.perf_counter() - started)


def _checked_line(line: ndjson.Line, sender: Sender, key: bytes) -> Checked:
    """One NDJSON line checked against the contract (a rejection when the line is no JSON or too long)."""
    if line.error is not None:
        EVENTS.labels("unknown", "rejected").inc()
        REJECTED.labels("unknown", "too_long").inc()
        return Checked(None, {"status": "rejected", "errors": [{"field": "(line)", "reason": line.error}]})
    return check_parsed(parse_json(line.raw), sender.code, key)


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _json(content: Any, status_code: int) -> Response:
    """A JSON answer serialised with orjson (the same compact JSON as ``JSONResponse``, several times faster
    for the answer of a large batch)."""
    return Response(orjson.dumps(content), status_code=status_code, media_type=JSON)


def _single_response(result: dict[str, Any]) -> Response:
    """The answer to one event: its result (202, 200), or a problem (422, 403, 409) naming fields, never values."""
    status = result["status"]
    ident = {"id": result["id"]} if result.get("id") is not None else {}
    if status == "rejected":
        return problems.problem(422, "the event does not satisfy the contract", kind="validation",
                                errors=result["errors"], **ident)
    if status == "forbidden":
        return problems.problem(403, "the event's sender is not the token's sender", kind="forbidden-sender",
                                errors=result["errors"], **ident)
    if status == "conflict":
        return problems.problem(409, "an event with this id was accepted before with different content",
                                kind="conflict", errors=result["errors"], **ident)
    return JSONResponse(result, status_code=202 if status == "accepted" else 200)
