"""Test support shared by the integration and e2e suites: waiting on conditions, running apps and processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from jeugdstroom.common.embedded import free_port
from jeugdstroom.common.settings import Settings


async def wait_until(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.05,
                     what: str = "condition") -> Any:
    """Poll ``check`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (its background tasks) and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


async def read_topic(settings: Settings, short: str, timeout: float = 3.0) -> list[Any]:
    """Every record currently on a topic (all partitions, from the beginning)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        topic = settings.topic(short)
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [m for msgs in batch.values() for m in msgs]
            out.extend(got)
            if not got and out:
                break
        return out
    finally:
        await consumer.stop()


async def register_sender(settings: Settings, code: str, name: str = "test") -> str:
    """Register a sender in the test's database and return its bearer token."""
    from jeugdstroom.intake.auth import add_sender

    conn = await asyncpg.connect(settings.database_url)
    try:
        return await add_sender(conn, code, name)
    finally:
        await conn.close()


def service_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JEUGDSTROOM_")}
    env.update({
        "JEUGDSTROOM_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "JEUGDSTROOM_DATABASE_URL": settings.database_url,
        "JEUGDSTROOM_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else "",
        "JEUGDSTROOM_OPERATOR_TOKEN": settings.operator_token.get_secret_value() if settings.operator_token else "",
        "JEUGDSTROOM_TOPIC_PREFIX": settings.topic_prefix,
        "JEUGDSTROOM_PARTITIONS": str(settings.partitions),
        "JEUGDSTROOM_INTAKE_PORT": str(settings.intake_port),
        "JEUGDSTROOM_REGISTRY_PORT": str(settings.registry_port),
        "JEUGDSTROOM_MONITOR_PORT": str(settings.monitor_port),
        "JEUGDSTROOM_BATCH_MAX_RECORDS": str(settings.batch_max_records),
    })
    return env


class ServiceProcess:
    """A service as a real OS process (``jeugdstroom <name>``), for crash and e2e tests."""

    def __init__(self, name: str, settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.settings = settings
        self.port = getattr(settings, f"{name}_port")
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "jeugdstroom.cli.main", self.name],
                                         env=service_env(self.settings), stdout=log, stderr=subprocess.STDOUT)

        async def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient(timeout=1) as c:
                    return (await c.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(healthy, timeout, 0.1, f"{self.name} ready")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def service_ports(settings: Settings) -> Settings:
    return settings.model_copy(update={"intake_port": free_port(), "registry_port": free_port(),
                                       "monitor_port": free_port()})
