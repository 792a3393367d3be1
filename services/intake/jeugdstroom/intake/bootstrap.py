"""intake's lifespan: its resources (pool, producer), the outbox relay, the Kafka inbox consumer and the background
tasks (sender activity, retention)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from jeugdstroom.common import retention
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.service import Resources, service_resources, supervise
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake import retention as intake_retention
from jeugdstroom.intake.accept import PRODUCER
from jeugdstroom.intake.activity import ACTIVITY_SECONDS, Activity
from jeugdstroom.intake.inbox import INBOX_GROUP, InboxItem, InboxProcessor

log = logging.getLogger(__name__)

#: How long shutdown waits for the inbox consumer to leave its group.
INBOX_STOP_SECONDS = 1.0


def lifespan(
    settings: Settings, state: dict[str, Any], activity: Activity, inbox: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan; it sets ``state["pool"]`` and ``state["res"]`` while the service runs. ``inbox=False``
    leaves the Kafka inbox off."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        settings.pseudonym_key_bytes  # noqa: B018 - fail fast when the key is missing
        async with service_resources(settings, pool_size=10) as res:
            state["pool"], state["res"] = res.pool, res
            start_tasks(settings, res, activity)
            inbox_task = start_inbox(settings, res) if inbox else None
            try:
                yield
            finally:
                if inbox_task is not None:
                    await _stop_bounded(inbox_task, INBOX_STOP_SECONDS)

    return run


def start_tasks(settings: Settings, res: Resources, activity: Activity) -> None:
    """The outbox relay and the background tasks, supervised by ``res``."""
    pool = res.pool
    res.start_relay(PRODUCER, "intake")

    async def sender_activity() -> None:
        while True:
            await asyncio.sleep(ACTIVITY_SECONDS)
            async with pool.acquire() as conn:
                await activity.flush(conn)

    res.tasks.start("intake-sender-activity", sender_activity)
    res.tasks.start("intake-retention", lambda: retention.run(
        pool, intake_retention.targets(settings, PRODUCER, INBOX_GROUP), settings))


def start_inbox(settings: Settings, res: Resources) -> asyncio.Task[None] | None:
    """The Kafka inbox consumer (topics: shared, or one per sender principal), stopped by the lifespan itself."""
    processor = InboxProcessor(settings)
    if not processor.topics:
        log.warning("Kafka inbox off: the broker authenticates clients, but JEUGDSTROOM_INBOX_PRINCIPALS "
                    "names no sender principal")
        return None
    consumer: StoredOffsetConsumer[InboxItem] = StoredOffsetConsumer(
        settings, res.pool, INBOX_GROUP, sorted(processor.topics), processor, "intake")
    return asyncio.create_task(supervise("intake-inbox", consumer.run), name="intake-inbox")


async def _stop_bounded(task: asyncio.Task[None], seconds: float) -> None:
    """Cancel a consumer task, giving its clean-up ``seconds``. A consumer stopped while its first group join is
    still pending waits for the join answer (seconds on some brokers); nothing is lost by not waiting, since
    offsets live in PostgreSQL and an unfinished batch's transaction rolls back."""
    task.cancel()
    _, pending = await asyncio.wait({task}, timeout=seconds)
    if pending:
        task.cancel()
        await asyncio.wait({task}, timeout=seconds)
