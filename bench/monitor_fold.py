"""The per-change cost of the monitor's fold (``MonitorProcessor.decode`` and ``apply``), without broker or
consumer loop: ``.venv/bin/python -m bench.monitor_fold [--children N] [--batch B] [--repeat R]``; prints a table.

The mixed registry-change stream of the monitor tests (``tests/integration/monitor_stream.py``: every entity,
corrections and withdrawals; duplicates dropped as the consumer's dedupe would) is serialised as the registry
publishes it, decoded with ``MonitorProcessor.decode`` and folded with ``MonitorProcessor.apply`` in batches of
``--batch`` changes, one transaction per batch, into a fresh database of an embedded PostgreSQL (as the tests
use). The consumer loop's own work (dedupe inserts, stored offsets) is not part of it.

Reported, per change: this process's CPU (``time.process_time``: decode, fold, asyncpg's encoding), PostgreSQL's
CPU (/proc of the server and its backends, ``bench.infra.tree_cpu``) and wall time; round trips per batch; and,
for the breakdown, the CPU of ``fold.deltas`` and ``publisher.affected`` alone (best of ``--repeat`` passes over
the decoded batches). The digest of the aggregate tables (md5 of every row in key order) shows that two
versions of the fold produce identical results.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Iterable
from typing import Any, cast

import asyncpg
import orjson
from pydantic import SecretStr
from tests.integration.monitor_stream import LAST, build_stream

from bench.infra import scratch_database, tree_cpu
from jeugdstroom.common import db
from jeugdstroom.common.consumer import Decoded
from jeugdstroom.common.contracts.unions import AnyChange
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold, publisher
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.processor import MonitorProcessor
from jeugdstroom.monitor.rebuild_workers import least_cpu

#: The aggregate tables and their key order (the digest).
TABLES = {
    "counts": "indicator, day, dims_key",
    "stock_deltas": "indicator, day, dims_key",
    "stock_month_deltas": "indicator, month, dims_key",
    "members": "indicator, day, dims_key, pseudonym",
    "durations": "indicator, day, dims_key, value",
    "member_spans": "indicator, day, dims_key, pseudonym, end_day",
}


class Counting:
    """A connection that counts the statements sent through it (each one round trip)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.round_trips = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            self.round_trips += 1
        return attr


def records(children: int, seed: int) -> list[InRecord]:
    """The stream as the registry publishes it (deduplicated by change id)."""
    seen: set[str] = set()
    out: list[InRecord] = []
    for pseudonym, raw in build_stream(seed, children).changes:
        if raw["change_id"] not in seen:
            seen.add(raw["change_id"])
            out.append(InRecord("bench", 0, len(out), pseudonym.encode(), orjson.dumps(raw)))
    return out


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def pg_work(conn: asyncpg.Connection) -> tuple[int, int]:
    """(WAL bytes written so far, buffer accesses of this database): measures of PostgreSQL's work that, unlike its
    CPU time, other load on the machine does not change."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    row = await conn.fetchrow(
        "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn AS wal,"
        " (SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = current_database()) AS blks"
    )
    assert row is not None
    return int(row["wal"]), int(row["blks"])


async def digest(conn: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for table, order in TABLES.items():
        row = await conn.fetchrow(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) AS h"
            f" FROM monitor.{table} t"
        )
        assert row is not None
        out[table] = (row["n"], row["h"])
    return out


async def run(children: int, seed: int, batch: int, repeat: int) -> None:
    recs = records(children, seed)
    n = len(recs)
    async with scratch_database("monitor_fold", ("common", "monitor")) as (pg, url):
        settings = Settings(database_url=url, operator_token=SecretStr("bench"), topic_prefix="bench")
        processor = MonitorProcessor(settings, clock=lambda: LAST)
        raw_conn = await db.connect(url)
        assert pg.proc is not None
        try:
            # The stream held in memory is not the service's heap (one batch at a time): keep what is done with
            # out of the collector's passes, or full collections over it dominate the CPU measured.
            gc.collect()
            gc.freeze()
            batches: list[list[Decoded[AnyChange]]] = []
            decode_cpu = 0.0
            for part in _batches(recs, batch):
                cpu0 = time.process_time()
                batches.append([Decoded(r, *processor.decode(r)) for r in part])
                decode_cpu += time.process_time() - cpu0
                gc.freeze()
            changes = [[d.item for d in b] for b in batches]

            conn = Counting(raw_conn)
            work0 = await pg_work(raw_conn)
            pg0, cpu0, wall0 = tree_cpu(pg.proc.pid), time.process_time(), time.perf_counter()
            for b in batches:
                async with raw_conn.transaction():
                    await processor.apply(cast(Conn, conn), b)
                gc.freeze()
            wall, cpu, pg_cpu = (
                time.perf_counter() - wall0,
                time.process_time() - cpu0,
                tree_cpu(pg.proc.pid) - pg0,
            )
            work1 = await pg_work(raw_conn)
            result = await digest(raw_conn)

            all_deltas = [fold.deltas(c, FOLDS) for c in changes]
            fold_cpu = least_cpu(lambda: [fold.deltas(c, FOLDS) for c in changes], repeat)
            affected_cpu = least_cpu(lambda: [publisher.affected(d, LAST) for d in all_deltas], repeat)
            keys = sum(len(d) for d in all_deltas)
        finally:
            await raw_conn.close()

    def us(seconds: float) -> str:
        return f"{seconds / n * 1e6:.1f}"

    print(f"stream: {n:,} changes ({children:,} children, seed {seed}), {len(batches)} batches of {batch},")
    print(f"        {keys / len(batches):,.0f} net delta keys per batch; as_of {LAST}")
    print()
    print("| step | µs per change |")
    print("|---|---|")
    print(f"| decode (python CPU) | {us(decode_cpu)} |")
    print(f"| apply: python CPU | {us(cpu)} |")
    print(f"| apply: PostgreSQL CPU | {us(pg_cpu)} |")
    print(f"| apply: wall | {us(wall)} |")
    print(f"| apply: PostgreSQL WAL bytes per change | {(work1[0] - work0[0]) / n:,.0f} |")
    print(f"| apply: PostgreSQL buffer accesses per change | {(work1[1] - work0[1]) / n:.1f} |")
    print(f"| of which fold.deltas (python CPU, best of {repeat}) | {us(fold_cpu)} |")
    print(f"| of which publisher.affected (python CPU, best of {repeat}) | {us(affected_cpu)} |")
    print()
    print(f"round trips per batch: {conn.round_trips / len(batches):.1f}")
    print()
    print("| table | rows | md5 |")
    print("|---|---|---|")
    for table, (rows, h) in result.items():
        print(f"| {table} | {rows:,} | {h} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.monitor_fold", description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=8000, help="children in the stream (≈7.5 changes each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=2000, help="changes per folded batch (transaction)")
    parser.add_argument("--repeat", type=int, default=3, help="passes of the CPU-only breakdown (best reported)")
    args = parser.parse_args()
    asyncio.run(run(args.children, args.seed, args.batch, args.repeat))


if __name__ == "__main__":
    main()
