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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from jeugdstroom.common.embedded import free_port
from jeugdstroom.common.kafka import client_options
from jeugdstroom.common.settings import Settings

#: pytest-timeout of the scenario tests that run the services as processes over a simulated region stream (the
#: acceptance test, the reliability suite's mid-stream faults): a guard against a hang, not a speed limit (speed is
#: bench/'s job). They take 2–5 minutes on a quiet 2-core machine, too close to the suite's default of 300 s for a
#: slower or busier one.
SCENARIO_TIMEOUT = 900


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
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
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


def pg_dump(settings: Settings) -> bytes:
    """The test database as SQL (pg_dump from the embedded PostgreSQL binaries)."""
    from jeugdstroom.common.embedded import EmbeddedPostgres

    out = subprocess.run([EmbeddedPostgres._bin("pg_dump"), "--data-only", settings.database_url],
                         capture_output=True, check=True)
    return out.stdout


def pg_backup(settings: Settings) -> bytes:
    """A backup of the running system as docs/operations.md takes it: ``pg_dump --format=custom``."""
    from jeugdstroom.common.embedded import EmbeddedPostgres

    out = subprocess.run([EmbeddedPostgres._bin("pg_dump"), "--format=custom", settings.database_url],
                         capture_output=True, check=True)
    return out.stdout


async def pg_restore_fresh(settings: Settings, backup: bytes, name: str) -> Settings:
    """Restore ``backup`` into a new database ``name`` (as docs/operations.md); settings pointing at it."""
    from jeugdstroom.common import db
    from jeugdstroom.common.embedded import EmbeddedPostgres

    url = db.with_database(settings.database_url, name)
    await db.ensure_database(url)
    subprocess.run([EmbeddedPostgres._bin("pg_restore"), "--no-owner", "--exit-on-error", "-d", url],
                   input=backup, capture_output=True, check=True)
    return settings.model_copy(update={"database_url": url})


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
        "JEUGDSTROOM_MONITOR_PUBLISHER": settings.monitor_publisher,
        "JEUGDSTROOM_MONITOR_PUBLISHERS": str(settings.monitor_publishers),
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


@contextlib.asynccontextmanager
async def running_services(settings: Settings, log_dir: Path,
                           names: tuple[str, ...] = ("intake", "registry", "monitor"),
                           ) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The services as real processes on the ports of ``settings`` (see ``service_ports``), stopped on exit."""
    procs = {name: ServiceProcess(name, settings, log_dir) for name in names}
    try:
        await asyncio.gather(*(p.start() for p in procs.values()))
        yield procs
    finally:
        for p in procs.values():
            p.stop()


async def caught_up(settings: Settings, groups: dict[str, tuple[str, ...]]) -> bool:
    """True when no outbox row is unsent, no indicator cell waits for publication, and every consumer group has
    stored offsets at the end of its topics.

    ``groups`` maps a consumer group to the short names of the topics it consumes. The check reads the
    stored offsets in PostgreSQL (the only offsets that count) against the broker's end offsets.
    """
    conn = await asyncpg.connect(settings.database_url)
    try:
        # one snapshot: a publication deletes its pending cells and writes their outbox rows in one transaction
        if await conn.fetchval(
            "SELECT (SELECT count(*) FROM monitor.publish_pending) + (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
        ):
            return False
        stored = {(r["consumer"], r["topic"], r["partition"]): r["next_offset"]
                  for r in await conn.fetch("SELECT consumer, topic, partition, next_offset FROM consumer_offsets")}
    finally:
        await conn.close()
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # a topic re-created by a broker may have other partitions
        for group, shorts in groups.items():
            parts = [TopicPartition(settings.topic(s), p) for s in shorts
                     for p in sorted(consumer.partitions_for_topic(settings.topic(s)) or range(settings.partitions))]
            ends = await consumer.end_offsets(parts)
            if any(stored.get((group, tp.topic, tp.partition), 0) < end for tp, end in ends.items()):
                return False
    finally:
        await consumer.stop()
    return True


# -- the simulator's ground truth against a running monitor ----------------------------------------------------
#: A monitor/truth row's identity: (period, start, sorted dimension values).
TruthKey = tuple[str, str, tuple[tuple[str, str], ...]]
#: Row fields compared besides ``value`` (duration and ratio extras).
TRUTH_EXTRAS = ("n", "p90", "numerator", "denominator", "per_1000")


def simulate(path: Path, region: str, days: int, seed: int, scale: float = 1.0,
             population: Path | None = None) -> dict[str, Any]:
    """Write a simulated stream to ``path`` (NDJSON, sending order); returns its ground-truth document. With
    ``population``, also the run's synthetic population file there, and the truth's ``per_1000`` from it."""
    from jeugdstroom.simulator import population as synthetic
    from jeugdstroom.simulator.stream import Params, default_start, generate, truth_document
    from jeugdstroom.simulator.truth import PERIODS, Truth

    params = Params(region, days, seed, default_start(days), scale)
    truth = Truth()
    with path.open("wb") as f:
        stats = generate(params, f, truth)
    people = None
    if population is not None:
        people = synthetic.of_run(params)
        population.write_text(synthetic.csv_text(region, seed, people), encoding="utf-8")
    doc: dict[str, Any] = orjson.loads(truth_document(params, truth, stats, PERIODS, people))
    return doc


def keyed(rows: list[dict[str, Any]]) -> dict[TruthKey, tuple[Any, ...]]:
    out: dict[TruthKey, tuple[Any, ...]] = {}
    for r in rows:
        key = (r["period"], r["start"], tuple(sorted(r["dims"].items())))
        assert key not in out, f"duplicate row {key}"
        out[key] = (r["value"], *(r.get(x) for x in TRUTH_EXTRAS))
    return out


async def monitor_rows(client: httpx.AsyncClient, indicator: str, dims: list[str], periods: list[str],
                       as_of: str) -> dict[TruthKey, tuple[Any, ...]]:
    """Exact rows of one indicator grouped by ``dims`` (``client`` carries the operator token)."""
    rows: list[dict[str, Any]] = []
    for period in periods:
        resp = await client.get(f"/v1/indicators/{indicator}",
                                params={"period": period, "group_by": ",".join(dims), "as_of": as_of})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["exact"] is True
        rows.extend(body["rows"])
    return keyed(rows)


def differences(truth: dict[TruthKey, tuple[Any, ...]], seen: dict[TruthKey, tuple[Any, ...]],
                limit: int = 8) -> list[str]:
    out = []
    for key in sorted(set(truth) | set(seen)):
        if truth.get(key) != seen.get(key):
            out.append(f"{key}: truth {truth.get(key)} monitor {seen.get(key)}")
            if len(out) >= limit:
                break
    return out


@dataclass
class Comparison:
    """The monitor against the ground truth: differing indicators (first differences), rows compared and the
    indicators whose truth is empty."""

    failures: dict[str, list[str]]
    compared: int
    empty: set[str]

    def report(self) -> str:
        return orjson.dumps(self.failures, option=orjson.OPT_INDENT_2).decode()


async def compare_with_truth(monitor_url: str, settings: Settings, truth: dict[str, Any]) -> Comparison:
    """Every indicator, period and dimension of ``truth`` against the running monitor's exact values."""
    token = settings.operator_token.get_secret_value()  # type: ignore[union-attr]
    as_of = truth["params"]["as_of"]
    periods = truth["params"]["periods"]
    result = Comparison({}, 0, set())
    async with httpx.AsyncClient(base_url=monitor_url, timeout=120,
                                 headers={"authorization": f"Bearer {token}"}) as client:
        catalogue = {i["id"]: i for i in (await client.get("/v1/indicators")).json()}
        assert set(truth["indicators"]) <= set(catalogue), set(truth["indicators"]) - set(catalogue)
        for indicator, rows in truth["indicators"].items():
            expected = keyed(rows)
            if not expected:
                result.empty.add(indicator)
            seen = await monitor_rows(client, indicator, catalogue[indicator]["dimensions"], periods, as_of)
            result.compared += len(expected)
            diff = differences(expected, seen)
            if diff:
                result.failures[indicator] = diff
    return result
