"""Migration 0020 keeps ``monitor.published``'s digests as their 8 bytes: a row written before it (signed bigints,
migrations 0016/0017) compares equal to the digests the publisher computes now, so nothing is published again."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import asyncpg
import orjson
import pytest

from jeugdstroom.monitor import publisher
from jeugdstroom.monitor.catalogue import CATALOGUE

pytestmark = pytest.mark.integration
MIGRATION = Path(publisher.__file__).parent / "migrations" / "0020_published_digest_bytes.sql"


async def test_digests_written_as_bigints_equal_the_bytes_computed_now(conn: asyncpg.Connection) -> None:
    row = {"period": "month", "start": "2026-05-01", "dims": {"gemeente": "GM0268"}, "value": 12, "suppressed": False}
    salt = publisher._salt(CATALOGUE["separaties"], 10, b"s" * 32)
    fields = {"value": 12}
    # the digests as migrations 0016/0017 stored them: signed big-endian integers of the same 8 BLAKE2b bytes
    old_row = int.from_bytes(hashlib.blake2b(orjson.dumps(row), digest_size=8).digest(), "big", signed=True)
    old_source = int.from_bytes(
        hashlib.blake2b(orjson.dumps(fields), digest_size=8, key=salt).digest(), "big", signed=True
    )
    negative = -(2**63)  # (the sign bit set: the bytes, not a decimal, carry over)
    await conn.execute(
        "ALTER TABLE monitor.published ALTER COLUMN digest TYPE bigint USING NULL,"
        " ALTER COLUMN source TYPE bigint USING NULL"
    )
    await conn.executemany(
        "INSERT INTO monitor.published (key, indicator, period, start, dims, digest, source)"
        " VALUES ($1, 'separaties', 'month', $2, '{}', $3, $4)",
        [("a", date(2026, 5, 1), old_row, old_source), ("b", date(2026, 5, 1), negative, None)],
    )
    await conn.execute(MIGRATION.read_text())
    got = {r["key"]: (r["digest"], r["source"]) for r in await conn.fetch("SELECT * FROM monitor.published")}
    assert got == {
        "a": (publisher.digest(row), publisher.source_digest(salt, fields)),
        "b": (b"\x80" + bytes(7), None),
    }
