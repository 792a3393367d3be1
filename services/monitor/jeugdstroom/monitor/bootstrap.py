"""The monitor's lifespan: its resources (pool, producer), the consumer of registry changes, the indicator-topic
publisher (a child process of its own by default, publication/child.py; or a task sending through the service's
producer), the outbox relay (for rows earlier versions wrote) and the background
tasks (gauges, retention, audit retention)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import geography, retention
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.kafka import REGISTRY_CHANGES
from jeugdstroom.common.service import Resources, service_resources
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import access as scoped
from jeugdstroom.monitor import disclosure, gauges, publisher
from jeugdstroom.monitor import retention as monitor_retention
from jeugdstroom.monitor.processor import GROUP, MonitorProcessor
from jeugdstroom.monitor.publication import child
from jeugdstroom.monitor.publisher import PRODUCER

log = logging.getLogger(__name__)


def lifespan(settings: Settings, state: dict[str, Any]) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan; it sets ``state["pool"]`` and ``state["res"]`` while the service runs."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        geo = geography.geography()  # fail at start on a broken JEUGDSTROOM_REGIONS_FILE, not at the first batch
        log.info("geography: %d gemeenten, %d jeugdregio's from %s", len(geo.gemeenten), len(geo.jeugdregios), geo.source)
        disclosure.noise_secret(settings)  # fail at start, not at the first public read, without a noise secret
        async with service_resources(settings, pool_size=6) as res:
            state["pool"], state["res"] = res.pool, res
            start_tasks(settings, res)
            yield

    return run


def start_tasks(settings: Settings, res: Resources) -> None:
    """The consumer, the publisher, its relay and the background tasks, supervised by ``res``."""
    pool = res.pool
    processor = MonitorProcessor(settings)

    async def consume() -> None:
        res.consumer = StoredOffsetConsumer(
            settings, pool, GROUP, [settings.topic(REGISTRY_CHANGES)], processor, "monitor"
        )
        await res.consumer.run()

    async def publish() -> None:
        if settings.monitor_publisher == "process":  # publication/child.py: the fold and the API come first
            await child.run(settings, processor.settled, processor.wake)
        else:
            await processor.publish_forever(pool, publisher.broker_sink(res.started_producer))

    async def audit_retention() -> None:
        while True:
            async with pool.acquire() as conn:
                await scoped.purge(conn, timedelta(days=settings.audit_retention_days))
            await asyncio.sleep(3600)

    res.tasks.start("monitor-consumer", consume)
    res.tasks.start("monitor-audit-retention", audit_retention)
    res.tasks.start("monitor-retention", lambda: retention.run(
        pool, monitor_retention.targets(settings, PRODUCER, GROUP), settings))
    res.tasks.start("monitor-publisher", publish)
    res.start_relay(PRODUCER, "monitor")
    res.tasks.start("monitor-gauges", lambda: gauges.refresh_forever(pool, settings))
