"""registry service: the consumer loop, its outbox relay, health/metrics, and the findings API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Query
from prometheus_client import Gauge

from jeugdstroom.common import access, audit, db, problems, retention
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.service import service_resources
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry import retention as registry_retention
from jeugdstroom.registry.processor import GROUP, TOPICS, RegistryProcessor

log = logging.getLogger(__name__)

#: Open data-quality findings per kind, read from PostgreSQL (exact across instances; ``kind`` is a bounded code).
FINDINGS_OPEN = Gauge(
    "jeugdstroom_registry_findings_open", "Open data-quality findings in the registry, by kind", ["kind"]
)
FINDINGS_REFRESH_SECONDS = 2.0


async def refresh_findings_gauge(pool: Any) -> None:
    """Set the findings gauge from the database (kinds that no longer have open findings drop to 0)."""
    async with pool.acquire() as conn:
        counts = await repo.open_findings_by_kind(conn)
    known = {labels[0] for labels in FINDINGS_OPEN._metrics}
    for kind in known | counts.keys():
        FINDINGS_OPEN.labels(kind).set(counts.get(kind, 0))


def create_app(settings: Settings, group: str = GROUP) -> FastAPI:
    """The registry service; ``group`` names its consumer group, processed-event log and outbox producer."""
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_resources(settings, pool_size=6) as res:
            pool = res.pool
            state["pool"], state["res"] = pool, res

            async def consume() -> None:
                res.consumer = StoredOffsetConsumer(
                    settings,
                    pool,
                    group,
                    [settings.topic(t) for t in TOPICS],
                    RegistryProcessor(settings, group),
                    "registry",
                )
                await res.consumer.run()

            async def findings_gauge() -> None:
                while True:
                    try:
                        await refresh_findings_gauge(pool)
                    except db.TRANSIENT_ERRORS as exc:
                        log.warning("findings gauge: %s", type(exc).__name__)
                    await asyncio.sleep(FINDINGS_REFRESH_SECONDS)

            res.tasks.start("registry-consumer", consume)
            res.start_relay(group, "registry")
            res.tasks.start("registry-findings-gauge", findings_gauge)
            res.tasks.start("registry-retention", lambda: retention.run(
                pool, registry_retention.targets(settings, group), settings))
            yield

    app = FastAPI(title="jeugdstroom registry", version="1", lifespan=lifespan)
    problems.install(app, auth="required")  # errors as RFC 9457 problem details; the bearer scheme in the OpenAPI

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)

    @app.get(
        "/v1/findings",
        summary="Data-quality findings (operator token: all; instelling reader token: its own, without pseudonyms)",
        responses={
            401: {"description": "Missing, wrong, expired or revoked token"},
            403: {"description": "A reader token whose scope is not operator or an instelling"},
        },
    )
    async def findings(
        authorization: Annotated[str | None, Header()] = None,
        kind: Annotated[str | None, Query(pattern="^[a-z_]{1,64}$", description="Only this finding kind")] = None,
        status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    ) -> dict[str, Any]:
        async with state["pool"].acquire() as conn:
            reader = await access.reader(conn, settings, authorization)
            if reader is None:
                raise HTTPException(
                    401, "operator or instelling token required", headers={"WWW-Authenticate": "Bearer"}
                )
            scope_kind, _, instelling = reader.scope.partition(":")
            if not reader.operator and scope_kind != "instelling":
                raise HTTPException(403, f"scope {reader.scope} does not read findings")
            rows = await repo.open_findings(conn, kind, status, limit, instelling or None)
            if rows:  # a read of findings is an exact read: on the audit trail like the monitor's indicator reads
                params = {"kind": kind, "status": status, "limit": limit, "instelling": instelling or None}
                await audit.record(conn, reader, audit.FINDINGS, params, len(rows))
        if not reader.operator:  # an instelling reads what is wrong in its own data, not which child it is
            rows = [{k: v for k, v in r.items() if k != "pseudonym"} for r in rows]
        return {"status": status, "kind": kind, "scope": reader.scope, "findings": rows}

    return app
