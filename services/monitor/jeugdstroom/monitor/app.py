"""monitor service: consumer loop over registry changes, JSON API and Prometheus gauges."""


import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from prometheus_client import Gauge

from jeugdstroom.common import db
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.kafka import REGISTRY_CHANGES
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.service import TaskGroup
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import CATALOGUE, PERIODS
from jeugdstroom.monitor.processor import GROUP, MonitorProcessor

HEADLINE = Gauge("jeugdstroom_monitor_indicator_value",
                 "Headline indicator values of the current year per jeugdregio (exact, from PostgreSQL)",
                 ["indicator", "jeugdregio"])


def period_label(period: str, start: date) -> str:
    if period == "day":
        return start.isoformat()
    if period == "month":
        return f"{start.year}-{start.month:02d}"
    if period == "half_year":
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    return str(start.year)


def suppress(rows: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    """Public output: values from 1 to threshold−1 are hidden (small cells identify children)."""
    out = []
    for r in rows:
        small = 0 < abs(r["value"]) < threshold
        out.append({**r, "value": None if small else r["value"], "suppressed": small})
    return out


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await db.connect_with_retry(settings.database_url, max_size=6)
        tasks = TaskGroup()
        state["pool"] = pool

        async def consume() -> None:
            consumer = StoredOffsetConsumer(settings, pool, GROUP, [settings.topic(REGISTRY_CHANGES)],
                                            MonitorProcessor(), "monitor")
            state["consumer"] = consumer
            await consumer.run()

        async def refresh_gauges() -> None:
            while True:
                async with pool.acquire() as conn:
                    year_start = date(date.today().year, 1, 1)
                    for row in await repo.rollup(conn, "separaties", "year", ["jeugdregio"], {}, year_start, None):
                        HEADLINE.labels("separaties", row["dims"]["jeugdregio"]).set(row["value"])
                await asyncio.sleep(2.0)

        tasks.start("monitor-consumer", consume)
        tasks.start("monitor-gauges", refresh_gauges)
        try:
            yield
        finally:
            await tasks.stop()
            await pool.close()

    app = FastAPI(title="jeugdstroom monitor", version="1", lifespan=lifespan,
                  description="Youth-care indicators by event time. Public requests get small-cell suppression;"
                              " the operator token (`Authorization: Bearer …`) sees exact values.")

    async def ready() -> bool:
        consumer = state.get("consumer")
        if consumer is not None and not consumer.healthy:
            return False
        async with state["pool"].acquire() as conn:
            return bool(await conn.fetchval("SELECT true"))

    add_ops_routes(app, ready)

    def is_operator(request: Request) -> bool:
        token = settings.operator_token.get_secret_value() if settings.operator_token else ""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)

    @app.get("/v1/indicators", summary="The indicator catalogue")
    async def catalogue() -> list[dict[str, Any]]:
        return [
            {"id": i.id, "title_nl": i.title_nl, "title_en": i.title_en, "unit": i.unit, "kind": i.kind,
             "dimensions": list(i.dimensions), "direction": i.direction, "target": i.target, "source": i.source}
            for i in CATALOGUE.values()
        ]

    @app.get("/v1/indicators/{indicator_id}", summary="Values of one indicator per period and dimensions",
             responses={404: {"description": "Unknown indicator"}, 422: {"description": "Invalid parameter"}})
    async def values(
        request: Request,
        indicator_id: str,
        period: Annotated[str, Query(pattern="^(day|month|half_year|year)$")] = "month",
        group_by: Annotated[str, Query(description="Comma-separated dimensions")] = "gemeente",
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: Annotated[date | None, Query(description="Exclusive end date")] = None,
        gemeente: Annotated[str | None, Query(pattern="^GM[0-9]{4}$")] = None,
        jeugdregio: Annotated[str | None, Query(max_length=64)] = None,
        instelling: Annotated[str | None, Query(pattern="^([0-9]{8}|GM[0-9]{4})$")] = None,
    ) -> dict[str, Any]:
        ind = CATALOGUE.get(indicator_id)
        if ind is None:
            raise HTTPException(404, f"unknown indicator {indicator_id!r}")
        dims = [d for d in group_by.split(",") if d]
        bad = [d for d in dims if d not in ind.dimensions]
        if bad:
            raise HTTPException(422, f"group_by: unknown dimension(s) {bad}; allowed: {list(ind.dimensions)}")
        filters = {k: v for k, v in {"gemeente": gemeente, "jeugdregio": jeugdregio, "instelling": instelling}.items()
                   if v is not None}
        async with state["pool"].acquire() as conn:
            rows = await repo.rollup(conn, ind.id, period, dims, filters, from_, to)
        out = [{"period": period_label(period, r["period_start"]), "period_start": r["period_start"].isoformat(),
                "dimensions": r["dims"], "value": r["value"]} for r in rows]
        operator = is_operator(request)
        if not operator:
            out = suppress(out, settings.suppression_threshold)
        else:
            out = [{**r, "suppressed": False} for r in out]
        return {"indicator": ind.id, "unit": ind.unit, "period": period, "exact": operator, "rows": out}

    assert set(PERIODS) == {"day", "month", "half_year", "year"}
    return app
