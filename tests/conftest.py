"""Fixtures: real infrastructure for every integration and e2e test.

Which broker and database:
* default: the embedded Tansu broker and embedded PostgreSQL, one of each per test session;
* ``JEUGDSTROOM_TEST_BOOTSTRAP_SERVERS`` / ``JEUGDSTROOM_DATABASE_URL``: external servers instead;
* ``JEUGDSTROOM_TEST_CONTAINERS=1`` (needs a Docker engine): Apache Kafka and PostgreSQL via testcontainers.

Each test gets its own database and its own topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.embedded import EmbeddedBroker, EmbeddedPostgres
from jeugdstroom.common.kafka import ensure_topics
from jeugdstroom.common.settings import Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (soak, long runs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--run-slow"):
        # Slow soak runs are deselected (not skipped): they are run on demand with --run-slow.
        keep = [i for i in items if "slow" not in i.keywords]
        dropped = [i for i in items if "slow" in i.keywords]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    # The longest files first: scripts/test hands whole files to two xdist workers in this order
    # (--dist loadfile --no-loadscope-reorder), so the few files of minutes (services as processes: e2e and
    # reliability) start at once and the many short ones fill the gaps, instead of a long file starting last.
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = min(rank.get(item.path, 2), _run_order(item))
    items.sort(key=lambda item: rank[item.path])  # stable: files stay whole and in collection order within a rank


def _run_order(item: pytest.Item) -> int:
    if "e2e" in item.keywords:
        return 0
    return 1 if "integration" in item.keywords else 2


@dataclass
class Infra:
    bootstrap_servers: str
    admin_url: str  # a URL to a database on the server, used to create per-test databases
    broker: EmbeddedBroker | None
    postgres: EmbeddedPostgres | None


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    if os.environ.get("JEUGDSTROOM_TEST_CONTAINERS") == "1":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        with KafkaContainer() as kafka, PostgresContainer("postgres:18", driver=None) as pg:
            yield Infra(kafka.get_bootstrap_server(), pg.get_connection_url(), None, None)
        return
    broker: EmbeddedBroker | None = None
    postgres: EmbeddedPostgres | None = None
    bootstrap = os.environ.get("JEUGDSTROOM_TEST_BOOTSTRAP_SERVERS")
    admin_url = os.environ.get("JEUGDSTROOM_DATABASE_URL")
    tmp = Path(tempfile.mkdtemp(prefix="jeugdstroom-test-"))
    if not bootstrap:
        broker = EmbeddedBroker(log_path=tmp / "broker.log").start()
        bootstrap = broker.bootstrap_servers
    if not admin_url:
        postgres = EmbeddedPostgres(tmp / "pg", durable=False).start()
        admin_url = postgres.url("postgres")
    try:
        yield Infra(bootstrap, admin_url, broker, postgres)
    finally:
        if broker:
            broker.stop()
        if postgres:
            postgres.remove()


async def fresh_settings(infra: Infra, **overrides: object) -> Settings:
    """Settings for a test's system: its own database (migrated) and topics. One publisher process per monitor (the
    default is two: each costs a process start per monitor start; test_monitor_outputs runs two)."""
    name = "t_" + uuid.uuid4().hex[:12]
    settings = Settings(
        bootstrap_servers=infra.bootstrap_servers,
        database_url=db.with_database(infra.admin_url, name),
        pseudonym_key=secrets.token_hex(16),  # type: ignore[arg-type]
        operator_token="op-" + secrets.token_hex(8),  # type: ignore[arg-type]
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        batch_max_wait_ms=50,
        **{"monitor_publishers": 1, **overrides},  # type: ignore[arg-type]
    )
    await db.migrate(settings.database_url)
    await ensure_topics(settings)
    return settings


@pytest.fixture
async def settings(infra: Infra) -> AsyncIterator[Settings]:
    """Settings for one test: its own database (migrated) and its own topics."""
    yield await fresh_settings(infra)


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's database with the services' codecs (from a pool, as the services get theirs)."""
    pool = await db.create_pool(settings.database_url)
    async with pool.acquire() as c:
        yield c
    await pool.close()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path
