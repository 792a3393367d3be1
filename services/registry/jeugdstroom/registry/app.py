"""registry service: the consumer loop, its outbox relay, health/metrics, and the findings API. The lifespan is
wired in :mod:`jeugdstroom.registry.bootstrap`, the handlers in :mod:`jeugdstroom.registry.routes`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import problems
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import bootstrap, routes
from jeugdstroom.registry.bootstrap import FINDINGS_OPEN, FINDINGS_REFRESH_SECONDS, refresh_findings_gauge
from jeugdstroom.registry.processor import GROUP

__all__ = ["FINDINGS_OPEN", "FINDINGS_REFRESH_SECONDS", "create_app", "refresh_findings_gauge"]


def create_app(settings: Settings, group: str = GROUP) -> FastAPI:
    """The registry service; ``group`` names its consumer group, processed-event log and outbox producer."""
    state: dict[str, Any] = {}
    app = FastAPI(title="jeugdstroom registry", version="1", lifespan=bootstrap.lifespan(settings, state, group))
    problems.install(app, auth="required")  # errors as RFC 9457 problem details; the bearer scheme in the OpenAPI

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)
    routes.add_routes(app, settings, state)
    return app
