"""The registry's lifespan: its resources (pool, producer), the consumer of the intake topics, the outbox relay of
registry.changes and the background tasks (findings gauge, retention)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from prometheus_client import Gauge

from jeugdstroom.common import db, retention
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.service import Resources, service_resources
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry import retention as registry_retention
from jeugdstroom.registry.processor import TOPICS, RegistryProcessor

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


def lifespan(
    settings: Settings, state: dict[str, Any], group: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan; it sets ``state["pool"]`` and ``state["res"]`` while the service runs."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        async with service_resources(settings, pool_size=6) as res:
            state["pool"], state["res"] = res.pool, res
            start_tasks(settings, res, group)
            yield

    return run


def start_tasks(settings: Settings, res: Resources, group: str) -> None:
    """The consumer, the relay and the background tasks, supervised by ``res``."""
    pool = res.pool

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
