"""intake's HTTP API: ``POST /v1/events`` (one event, a JSON array, or streamed NDJSON), plus health and
metrics; its lifespan runs the outbox relay and the Kafka inbox consumer."""


import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from jeugdstroom.common import problems, retention, tracing
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.service import service_resources, supervise
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake import api_models, ndjson
from jeugdstroom.intake import retention as intake_retention
from jeugdstroom.intake.accept import PRODUCER
from jeugdstroom.intake.activity import ACTIVITY_SECONDS, Activity
from jeugdstroom.intake.asyncapi_routes import add_asyncapi_routes
from jeugdstroom.intake.auth import Sender, authenticate
from jeugdstroom.intake.examples import EXAMPLES
from jeugdstroom.intake.ijw import route as ijw_route
from jeugdstroom.intake.inbox import INBOX_GROUP, InboxItem, InboxProcessor
from jeugdstroom.intake.metrics import EVENTS, LATENCY, REJECTED
from jeugdstroom.intake.ratelimit import SenderLimits, retry_after
from jeugdstroom.intake.submission import Checked, accept_checked, check, summary

#: Most events in one JSON array (and per NDJSON transaction); ``JEUGDSTROOM_MAX_BATCH`` overrides it.
log = logging.getLogger(__name__)
MAX_BATCH = int(os.environ.get("JEUGDSTROOM_MAX_BATCH", "1000"))
#: A JSON body larger than this per allowed event is refused (413) before it is read.
MAX_EVENT_BYTES = 64 * 1024
#: How long shutdown waits for the inbox consumer to leave its group.
INBOX_STOP_SECONDS = 1.0
JSON = "application/json"
NDJSON = "application/x-ndjson"

EXAMPLE_SEPARATIE: dict[str, Any] = EXAMPLES["separatie"]
#: Longest wait for a database connection before answering 503 (the pool is exhausted or the database is down).
ACQUIRE_TIMEOUT = float(os.environ.get("JEUGDSTROOM_POOL_ACQUIRE_TIMEOUT", "5"))


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def create_app(settings: Settings, max_batch: int | None = None, inbox: bool = True) -> FastAPI:
    """The intake app. ``max_batch`` defaults to :data:`MAX_BATCH`; ``inbox=False`` leaves the Kafka inbox off."""
    limit = MAX_BATCH if max_batch is None else max_batch
    state: dict[str, Any] = {}
    limits = SenderLimits(settings.rate_limit_per_sender, settings.rate_limit_burst)
    activity = Activity()

    def within_limit(sender: Sender, events: int) -> None:
        """Raise a 429 problem when ``sender`` may not submit ``events`` events now."""
        wait = limits.take(sender.code, events)
        if wait > 0:
            raise problems.ProblemError(
                429, f"rate limit of {settings.rate_limit_per_sender:g} events/s (burst {settings.rate_limit_burst}) "
                     "exhausted; nothing of this request was stored", kind="rate-limited",
                headers={"Retry-After": retry_after(wait)})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.pseudonym_key_bytes  # noqa: B018 - fail fast when the key is missing
        async with service_resources(settings, pool_size=10) as res:
            pool = res.pool
            state["pool"], state["res"] = pool, res
            res.start_relay(PRODUCER, "intake")

            async def sender_activity() -> None:
                while True:
                    await asyncio.sleep(ACTIVITY_SECONDS)
                    async with pool.acquire() as conn:
                        await activity.flush(conn)

            res.tasks.start("intake-sender-activity", sender_activity)
            res.tasks.start("intake-retention", lambda: retention.run(
                pool, intake_retention.targets(settings, PRODUCER, INBOX_GROUP), settings))
            inbox_task: asyncio.Task[None] | None = None
            processor = InboxProcessor(settings) if inbox else None  # topics: shared, or one per sender principal
            if processor is not None and not processor.topics:
                log.warning("Kafka inbox off: the broker authenticates clients, but JEUGDSTROOM_INBOX_PRINCIPALS "
                            "names no sender principal")
            if processor is not None and processor.topics:
                consumer: StoredOffsetConsumer[InboxItem] = StoredOffsetConsumer(
                    settings, pool, INBOX_GROUP, sorted(processor.topics), processor, "intake")
                inbox_task = asyncio.create_task(supervise("intake-inbox", consumer.run), name="intake-inbox")
            try:
                yield
            finally:
                if inbox_task is not None:
                    await _stop_bounded(inbox_task, INBOX_STOP_SECONDS)

    app = FastAPI(title="jeugdstroom intake", version="1", lifespan=lifespan,
                  description="Submit youth-care events. Authenticate with `Authorization: Bearer <token>`.")
    app.add_middleware(tracing.ContextMiddleware)  # a request's traceparent: the parent of intake.accept

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)
    add_asyncapi_routes(app, settings)

    problems.install(app, auth="required", schemas=api_models.components(),
                     extra_responses={429: "The sender's rate limit is exhausted: retry after `Retry-After` seconds"})

    async def current_sender(request: Request) -> Sender:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        async with state["pool"].acquire(timeout=ACQUIRE_TIMEOUT) as conn:
            sender = await authenticate(conn, token.strip())
        if sender is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return sender

    async def commit(checked: list[Checked]) -> list[dict[str, Any]]:
        """Accept the checked items in one transaction (none when nothing is acceptable)."""
        if all(c.doc is None for c in checked):
            return [c.result for c in checked if c.result is not None]
        async with state["pool"].acquire(timeout=ACQUIRE_TIMEOUT) as conn, conn.transaction():
            return await accept_checked(conn, settings, checked)

    async def ijw_sender(request: Request) -> Sender:
        sender = await current_sender(request)
        within_limit(sender, 1)  # an iJw message counts as one event
        return sender

    ijw_route.register(app, settings, ijw_sender, lambda: state["pool"])  # POST /v1/ijw (docs/ijw.md)

    async def submit_json(request: Request, sender: Sender) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit * MAX_EVENT_BYTES:
            raise HTTPException(413, f"body larger than {limit * MAX_EVENT_BYTES} bytes (limit: {limit} events of "
                                     f"at most {MAX_EVENT_BYTES} bytes); use {NDJSON} for large uploads")
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            EVENTS.labels("unknown", "rejected").inc()
            REJECTED.labels("unknown", "invalid_json").inc()
            return problems.problem(422, "the body is not valid JSON", kind="validation",
                                    errors=[{"field": "(body)", "reason": "is not valid JSON"}])
        single = not isinstance(body, list)
        items = [body] if single else body
        if len(items) > limit:
            raise HTTPException(413, f"batch of {len(items)} events is larger than the limit of {limit} events; "
                                     f"split it or use {NDJSON}")
        within_limit(sender, len(items))
        key = settings.pseudonym_key_bytes
        results = await commit([check(item, sender.code, key) for item in items])
        activity.note(sender.code, summary(results))
        if single:
            return _single_response(results[0])
        return _json({"results": results, "summary": summary(results)}, 202)

    async def submit_ndjson(request: Request, sender: Sender) -> Response:
        key = settings.pseudonym_key_bytes
        results: list[dict[str, Any]] = []
        first = True
        async for chunk in ndjson.chunks(request.stream(), limit):
            if first:
                within_limit(sender, len(chunk))  # nothing stored yet: refuse
                first = False
            else:  # part of the stream is committed: slow the stream down instead of refusing the rest
                wait = limits.reserve(sender.code, len(chunk))
                if wait > 0:
                    await asyncio.sleep(wait)
            checked: list[Checked] = []
            for line in chunk:
                if line.error is not None:
                    EVENTS.labels("unknown", "rejected").inc()
                    REJECTED.labels("unknown", "too_long" if "longer" in line.error else "invalid_json").inc()
                    checked.append(Checked(None, {"status": "rejected",
                                                  "errors": [{"field": "(line)", "reason": line.error}]}))
                else:
                    checked.append(check(line.item, sender.code, key))
            for line, result in zip(chunk, await commit(checked), strict=True):
                results.append({"line": line.number, **result})
        counts = summary(results)
        activity.note(sender.code, counts)
        return _json({"results": results, "summary": counts}, 202)

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
    async def submit(request: Request, sender: Sender = Depends(current_sender)) -> Response:  # noqa: B008
        started = time.perf_counter()
        try:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media == JSON:
                return await submit_json(request, sender)
            if media == NDJSON:
                return await submit_ndjson(request, sender)
            raise HTTPException(415, f"content type must be {JSON} (one event or an array) or {NDJSON} "
                                     "(one event per line)")
        finally:
            LATENCY.observe(time.perf_counter() - started)

    return app


async def _stop_bounded(task: asyncio.Task[None], seconds: float) -> None:
    """Cancel a consumer task, giving its clean-up ``seconds``. A consumer stopped while its first group join is
    still pending waits for the join answer (seconds on some brokers); nothing is lost by not waiting, since
    offsets live in PostgreSQL and an unfinished batch's transaction rolls back."""
    task.cancel()
    _, pending = await asyncio.wait({task}, timeout=seconds)
    if pending:
        task.cancel()
        await asyncio.wait({task}, timeout=seconds)


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
