"""The outbox relay's read of unsent rows under the plans PostgreSQL picks for it:
``.venv/bin/python -m bench.outbox_relay_plan [--rows N]``; prints a table.

A scratch database gets 40,000 sent rows of one producer and ``--rows`` unsent rows of another (as after a
publication of the indicator topic following a replay), then a relay's loop drains them (read 2,000 in id order,
mark them sent) with the statement of ``outbox.UNSENT`` and with the one it replaced (``producer = $1 … ORDER BY
id``), each without statistics (a new table) and with statistics taken while the rows were unsent (autovacuum lags a
replay). Columns: milliseconds of the first and the last read, seconds of all reads.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from bench.infra import scratch_database
from jeugdstroom.common import outbox

BEFORE = "SELECT id, topic, key, value, headers FROM outbox WHERE producer = $1 AND sent_at IS NULL ORDER BY id LIMIT $2"


async def _drain(conn: asyncpg.Connection, sql: str, rows: int, analyzed: bool) -> list[float]:
    await conn.execute("TRUNCATE outbox")
    await conn.execute("DELETE FROM pg_statistic WHERE starelid = 'outbox'::regclass")  # (TRUNCATE keeps them)
    await conn.execute(
        "INSERT INTO outbox (producer, topic, key, value, headers, sent_at) SELECT 'registry', 'changes', 'k'::bytea,"
        " repeat('v', 600)::bytea, '[]', now() FROM generate_series(1, 40000)"
    )
    await conn.execute(
        "INSERT INTO outbox (producer, topic, key, value, headers) SELECT 'monitor', 'indicators', ('k' || g)::bytea,"
        " repeat('v', 500)::bytea, '[[\"ce_id\", \"x\"]]' FROM generate_series(1, $1) g",
        rows,
    )
    if analyzed:
        await conn.execute("ANALYZE outbox")
    times = []
    while True:
        t0 = time.perf_counter()
        got = await conn.fetch(sql, "monitor", 2000)
        times.append(time.perf_counter() - t0)
        if not got:
            return times
        await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in got])


async def run(rows: int) -> None:
    async with scratch_database("outbox_relay_plan", ("common",)) as (_, url):
        print(f"| statement | statistics | first read ms | last read ms | all reads s ({rows:,} rows) |")
        print("|---|---|---|---|---|")
        for name, sql in (("before (producer = $1 … ORDER BY id)", BEFORE), ("outbox.UNSENT", outbox.UNSENT)):
            for analyzed in (False, True):
                conn = await asyncpg.connect(url)  # a new connection: no plan cached from the previous case
                try:
                    t = await _drain(conn, sql, rows, analyzed)
                finally:
                    await conn.close()
                stats = "taken while unsent" if analyzed else "none"
                print(f"| {name} | {stats} | {t[0] * 1000:.1f} | {t[-2] * 1000:.1f} | {sum(t):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_relay_plan", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=150_000, help="unsent rows to drain")
    asyncio.run(run(parser.parse_args().rows))


if __name__ == "__main__":
    main()
