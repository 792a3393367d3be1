"""registry service: the consumer loop, its outbox relay, and health/metrics over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import db
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.kafka import make_producer
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.outbox import OutboxRelay
from jeugdstroom.common.service import TaskGroup
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.processor import GROUP, TOPICS, RegistryProcessor


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await db.connect_with_retry(settings.database_url, max_size=6)
        producer = make_producer(settings)
        tasks = TaskGroup()
        state["pool"] = pool

        async def consume() -> None:
            consumer = StoredOffsetConsumer(settings, pool, GROUP, [settings.topic(t) for t in TOPICS],
                                            RegistryProcessor(settings), "registry")
            state["consumer"] = consumer
            await consumer.run()

        async def relay() -> None:
            await producer.start()
            await OutboxRelay(pool, GROUP, producer, "registry", batch=settings.outbox_batch).run()

        tasks.start("registry-consumer", consume)
        tasks.start("registry-outbox-relay", relay)
        try:
            yield
        finally:
            await tasks.stop()
            with contextlib.suppress(Exception):
                await producer.stop()
            await pool.close()

    app = FastAPI(title="jeugdstroom registry", version="1", lifespan=lifespan)

    async def ready() -> bool:
        consumer = state.get("consumer")
        if consumer is not None and not consumer.healthy:
            return False
        async with state["pool"].acquire() as conn:
            return bool(await conn.fetchval("SELECT true"))

    add_ops_routes(app, ready)
    return app
