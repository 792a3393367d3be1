"""intake's HTTP API: ``POST /v1/events`` (one event, a JSON array, or streamed NDJSON), plus health and
metrics; its lifespan runs the outbox relay and the Kafka inbox consumer. The lifespan is wired in
:mod:`jeugdstroom.intake.bootstrap`, the handlers in :mod:`jeugdstroom.intake.routes`."""

import os
from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import problems, tracing
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake import api_models, bootstrap, routes
from jeugdstroom.intake.activity import Activity
from jeugdstroom.intake.asyncapi_routes import add_asyncapi_routes
from jeugdstroom.intake.bootstrap import INBOX_STOP_SECONDS
from jeugdstroom.intake.examples import EXAMPLES
from jeugdstroom.intake.routes import ACQUIRE_TIMEOUT, JSON, MAX_EVENT_BYTES, NDJSON

__all__ = ["ACQUIRE_TIMEOUT", "EXAMPLE_SEPARATIE", "INBOX_STOP_SECONDS", "JSON", "MAX_BATCH", "MAX_EVENT_BYTES",
           "NDJSON", "create_app"]

#: Most events in one JSON array (and per NDJSON transaction); ``JEUGDSTROOM_MAX_BATCH`` overrides it.
MAX_BATCH = int(os.environ.get("JEUGDSTROOM_MAX_BATCH", "1000"))

EXAMPLE_SEPARATIE: dict[str, Any] = EXAMPLES["separatie"]


def create_app(settings: Settings, max_batch: int | None = None, inbox: bool = True) -> FastAPI:
    """The intake app. ``max_batch`` defaults to :data:`MAX_BATCH`; ``inbox=False`` leaves the Kafka inbox off."""
    limit = MAX_BATCH if max_batch is None else max_batch
    state: dict[str, Any] = {}
    activity = Activity()
    app = FastAPI(title="jeugdstroom intake", version="1", lifespan=bootstrap.lifespan(settings, state, activity, inbox),
                  description="Submit youth-care events. Authenticate with `Authorization: Bearer <token>`.")
    app.add_middleware(tracing.ContextMiddleware)  # a request's traceparent: the parent of intake.accept

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)
    add_asyncapi_routes(app, settings)

    problems.install(app, auth="required", schemas=api_models.components(),
                     extra_responses={429: "The sender's rate limit is exhausted: retry after `Retry-After` seconds"})
    routes.add_routes(app, settings, state, limit, activity)
    return app
