"""intake's HTTP API: ``POST /v1/events`` (one event or a JSON array), plus health and metrics."""


import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram

from jeugdstroom.common import db
from jeugdstroom.common.contracts.validation import ContractError, parse_submitted
from jeugdstroom.common.kafka import make_producer
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.outbox import OutboxRelay
from jeugdstroom.common.service import TaskGroup
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.accept import PRODUCER, accept, published_form
from jeugdstroom.intake.auth import Sender, authenticate

EVENTS = Counter("jeugdstroom_intake_events_total", "Submitted events by outcome", ["type", "outcome"])
LATENCY = Histogram("jeugdstroom_intake_request_seconds", "POST /v1/events latency",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

EXAMPLE_SEPARATIE: dict[str, Any] = {
    "id": "sep-2026-0001-start",
    "type": "separatie",
    "schema_version": 1,
    "occurred_at": "2026-05-01T10:15:00+02:00",
    "sender": "12345678",
    "child": {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"},
    "data": {"separatie_id": "sep-2026-0001", "vorm": "separeerruimte", "start": "2026-05-01T10:00:00+02:00"},
}


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.pseudonym_key_bytes  # noqa: B018 - fail fast when the key is missing
        pool = await db.connect_with_retry(settings.database_url, max_size=10)
        producer = make_producer(settings)
        tasks = TaskGroup()
        state["pool"] = pool

        async def relay() -> None:
            await producer.start()
            await OutboxRelay(pool, PRODUCER, producer, "intake", batch=settings.outbox_batch).run()

        tasks.start("intake-outbox-relay", relay)
        try:
            yield
        finally:
            await tasks.stop()
            with contextlib.suppress(Exception):
                await producer.stop()
            await pool.close()

    app = FastAPI(title="jeugdstroom intake", version="1", lifespan=lifespan,
                  description="Submit youth-care events. Authenticate with `Authorization: Bearer <token>`.")

    async def ready() -> bool:
        async with state["pool"].acquire() as conn:
            return bool(await conn.fetchval("SELECT true"))

    add_ops_routes(app, ready)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Our own format, and never the input (it may hold a BSN).
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    async def current_sender(request: Request) -> Sender:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        async with state["pool"].acquire() as conn:
            sender = await authenticate(conn, token.strip())
        if sender is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return sender

    @app.post(
        "/v1/events",
        status_code=202,
        summary="Submit one event (JSON object) or a batch (JSON array)",
        responses={
            200: {"description": "Duplicate: this (sender, id) was accepted before with the same content"},
            401: {"description": "Missing or invalid token"},
            403: {"description": "The event's sender is not the token's sender"},
            409: {"description": "This (sender, id) was accepted before with different content"},
            422: {"description": "Invalid event: the field and the rule"},
        },
    )
    async def submit(
        sender: Annotated[Sender, Depends(current_sender)],
        body: Annotated[Any, Body(openapi_examples={"separatie": {"value": EXAMPLE_SEPARATIE}})],
    ) -> JSONResponse:
        started = time.perf_counter()
        try:
            single = not isinstance(body, list)
            items = [body] if single else body
            if len(items) > 1000:
                raise HTTPException(413, "batch larger than 1000 events")
            results: list[dict[str, Any]] = [{} for _ in items]
            docs: list[dict[str, Any]] = []
            positions: list[int] = []
            for i, item in enumerate(items):
                try:
                    event = parse_submitted(orjson.dumps(item))
                except ContractError as err:
                    results[i] = {"status": "rejected", "errors": [e.as_dict() for e in err.errors]}
                    EVENTS.labels(_type_label(item), "rejected").inc()
                    continue
                if event.sender != sender.code:
                    results[i] = {"status": "forbidden", "errors": [
                        {"field": "sender", "reason": "does not match the token's sender"}]}
                    EVENTS.labels(event.type, "forbidden").inc()
                    continue
                docs.append(published_form(event, settings.pseudonym_key_bytes))
                positions.append(i)
            if docs:
                async with state["pool"].acquire() as conn, conn.transaction():
                    outcomes = await accept(conn, settings, docs, datetime.now(UTC))
                for pos, doc, outcome in zip(positions, docs, outcomes, strict=True):
                    results[pos] = {"status": outcome.status, "id": outcome.event_id}
                    EVENTS.labels(doc["type"], outcome.status).inc()
            if single:
                return _single_response(results[0])
            return JSONResponse({"results": results}, status_code=202)
        finally:
            LATENCY.observe(time.perf_counter() - started)

    return app


def _type_label(item: Any) -> str:
    t = item.get("type") if isinstance(item, dict) else None
    return t if t in ("aanmelding", "beschikking", "plaatsing", "separatie", "correctie") else "unknown"


def _single_response(result: dict[str, Any]) -> JSONResponse:
    status = result["status"]
    if status == "rejected":
        return JSONResponse({"detail": result["errors"]}, status_code=422)
    if status == "forbidden":
        return JSONResponse({"detail": result["errors"]}, status_code=403)
    if status == "conflict":
        return JSONResponse({"detail": "an event with this id was accepted before with different content",
                             "id": result["id"]}, status_code=409)
    return JSONResponse(result, status_code=202 if status == "accepted" else 200)


