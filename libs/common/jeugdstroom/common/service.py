"""Running a service: one asyncio process with an HTTP server and supervised background tasks.

uvicorn turns SIGTERM/SIGINT into a graceful shutdown; the lifespan then cancels the background
tasks (an in-flight consumer batch rolls back, its records are consumed again on restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


async def supervise(name: str, factory: Callable[[], Awaitable[None]], max_delay: float = 10.0) -> None:
    """Run ``factory()`` forever: restart it with backoff when it fails, stop when cancelled."""
    delay = 0.5
    while True:
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting in %.1fs", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


class TaskGroup:
    """Background tasks owned by a service's lifespan."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(supervise(name, factory), name=name))

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.tasks.clear()


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` until SIGTERM/SIGINT."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10)
    uvicorn.Server(config).run()
