"""PostgreSQL plumbing: connection pools, database creation and versioned SQL migrations.

Migrations are ``NNNN_name.sql`` files in a ``migrations/`` folder next to the code that owns
them (``jeugdstroom.common`` and each service). ``migrate`` applies the missing ones in order,
each in its own transaction, under an advisory lock so that services starting together do not race.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

#: A connection, either direct or borrowed from a pool.
Conn = asyncpg.Connection | PoolConnectionProxy

log = logging.getLogger(__name__)

#: Components whose migrations exist, in dependency order.
COMPONENTS: tuple[str, ...] = ("common", "intake", "registry", "monitor")
_LOCK_KEY = 0x6A65756764  # "jeugd"
_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

#: Errors that mean "the database is (temporarily) not there": retry, never dead-letter.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.PostgresConnectionError,
    # a connection the server dropped mid-operation can be left in a protocol state that refuses the next query
    # ("cannot switch to state …; another operation is in progress"): the database went away, not a bug of ours
    asyncpg.InternalClientError,
    TimeoutError,
)


async def _init_connection(conn: Conn) -> None:
    """jsonb as Python values, in PostgreSQL's binary format (version byte 1, then the JSON text): the same values
    as the text format, and usable by binary COPY (``outbox.write`` copies its rows, headers jsonb)."""
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: b"\x01" + orjson.dumps(v),
        decoder=lambda data: orjson.loads(memoryview(data)[1:]),
        schema="pg_catalog",
        format="binary",
    )


@contextlib.asynccontextmanager
async def jsonb_as_text(conn: Conn) -> AsyncIterator[None]:
    """Within the block, ``conn`` sends jsonb values as JSON text (a ``str``, not dumped again) in the binary format,
    which binary COPY (``copy_records_to_table``) needs; afterwards the pool's codec is back."""
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda text: b"\x01" + text.encode(),  # binary jsonb: version 1, then the JSON text
        decoder=lambda data: orjson.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )
    try:
        yield
    finally:
        await _init_connection(conn)


async def connect(url: str) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's (jsonb as Python values)."""
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn


async def create_pool(url: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection,
                                     command_timeout=60)
    assert pool is not None
    return pool


async def connect_with_retry(url: str, attempts: int = 60, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool, retrying while the database is not reachable yet (service start-up order)."""
    delay = 0.1
    for attempt in range(1, attempts + 1):
        try:
            return await create_pool(url, min_size=min_size, max_size=max_size)
        except TRANSIENT_ERRORS as exc:
            if attempt == attempts:
                raise
            log.warning("database not reachable (%s), retrying in %.1fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist."""
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"unsupported database name {name!r}")
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def migration_files(component: str) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of a component's migrations, in order."""
    package = "jeugdstroom.common" if component == "common" else f"jeugdstroom.{component}"
    folder = resources.files(package).joinpath("migrations")
    out = []
    for entry in folder.iterdir():
        m = _FILE.match(entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


async def migrate(url: str, components: Iterable[str] = COMPONENTS) -> list[str]:
    """Apply missing migrations; returns the names applied."""
    await ensure_database(url)
    applied: list[str] = []
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (component text, version int, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        for component in components:
            done = {r["version"] for r in await conn.fetch(
                "SELECT version FROM schema_migrations WHERE component = $1", component)}
            for version, name, sql in migration_files(component):
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                        component, version, name)
                applied.append(f"{component}/{name}")
                log.info("applied migration %s/%s", component, name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        await conn.close()
    return applied
