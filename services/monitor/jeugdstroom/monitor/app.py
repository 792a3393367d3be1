"""monitor service: consumer loop over registry changes, indicator-topic publisher and relay, JSON API, Prometheus
gauges. The lifespan is wired in :mod:`jeugdstroom.monitor.bootstrap`, the handlers in
:mod:`jeugdstroom.monitor.routes`."""

from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import problems
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import bootstrap, routes
from jeugdstroom.monitor.api_models import (
    Completeness,
    IndicatorInfo,
    IndicatorRow,
    IndicatorValues,
    InstellingActivity,
)
from jeugdstroom.monitor.dashboard import add_dashboard_routes
from jeugdstroom.monitor.gauges import (
    BASELINE,
    GAUGE_INTERVAL_S,
    HEADLINE,
    HEADLINE_BY_GESLACHT,
    TARGET,
    TARGET_OFF_TRACK,
    headline_by_geslacht,
    headline_values,
    target_states,
)
from jeugdstroom.monitor.periods import PERIODS
from jeugdstroom.monitor.routes import geography_document, info

__all__ = [
    "BASELINE",
    "GAUGE_INTERVAL_S",
    "HEADLINE",
    "HEADLINE_BY_GESLACHT",
    "TARGET",
    "TARGET_OFF_TRACK",
    "Completeness",
    "IndicatorInfo",
    "IndicatorRow",
    "IndicatorValues",
    "InstellingActivity",
    "create_app",
    "geography_document",
    "headline_by_geslacht",
    "headline_values",
    "info",
    "target_states",
]


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, Any] = {}
    lifespan = bootstrap.lifespan(settings, state)

    app = FastAPI(
        title="jeugdstroom monitor",
        version="2",
        lifespan=lifespan,
        description="Youth-care indicators by event time (docs/indicators.md, docs/monitor.md). Public requests"
        " get noisy values with small-cell suppression (docs/privacy.md); the operator token (`Authorization: Bearer"
        " …`) sees exact values, a scoped reader token (`jeugdstroom token add`) exact values inside its scope.",
    )

    # Errors as RFC 9457 problem details; the bearer scheme in the OpenAPI (optional: public reads need no token).
    problems.install(app, auth="optional")

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)
    add_dashboard_routes(app, settings)
    routes.add_routes(app, settings, state)
    assert set(PERIODS) == {"day", "month", "half_year", "year"}
    return app
