"""The monitor's fold alone on the peer's aggregation, as its own process:
``python -m bench.fold_peer BOOTSTRAP DATABASE_URL TOPIC_PREFIX EXPECTED BATCH``; prints one JSON line.

The same consumer loop and fold code as the monitor service (``StoredOffsetConsumer`` + ``MonitorProcessor``:
pydantic validation of every change, dedupe by change id, additive upserts and the stored offsets in one
PostgreSQL transaction per batch), restricted to the series Quix Streams computes in bench/quix_peer.py
(separaties and plaatsingen instroom per day × dimensions, gesepareerde children as members), without the
indicator-topic publication. Timed like the peer: from the first record folded to the last.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson

from jeugdstroom.common import db
from jeugdstroom.common.consumer import Decoded, StoredOffsetConsumer
from jeugdstroom.common.contracts.unions import AnyChange
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import REGISTRY_CHANGES
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.processor import MonitorProcessor

#: The monitor's series behind Quix's three aggregations.
SHARED = ("separaties", "verblijf_instroom", "gesepareerde_jeugdigen")
SHARED_FOLDS = {e: [(s, fn) for s, fn in folds if s in SHARED] for e, folds in FOLDS.items()}
GROUP = "fold-peer"


class SharedFold(MonitorProcessor):
    """The monitor's processor on the shared series only, without publication."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.folds = SHARED_FOLDS

    async def apply(self, conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
        await repo.apply_deltas(conn, self.deltas(items))


async def run(settings: Settings, expected: int) -> dict[str, Any]:
    pool = await db.create_pool(settings.database_url, max_size=2)
    consumer = StoredOffsetConsumer(
        settings, pool, GROUP, [settings.topic(REGISTRY_CHANGES)], SharedFold(settings), "fold_peer"
    )
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    first: tuple[float, int] | None = None
    first_cpu = 0.0
    try:
        while True:
            stored = int(
                await pool.fetchval(
                    "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = $1", GROUP
                )
            )
            now = time.perf_counter()
            if first is None and stored:
                first = (now, stored)
                first_cpu = time.process_time()
            if stored >= expected:
                break
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()
    assert first is not None
    cpu = time.process_time()
    # the first batch is folded before ``first``: count only the records after it, over the time after it
    return {
        "records": expected - first[1],
        "seconds": now - first[0],
        "startup_s": first[0] - started,
        "cpu_s": cpu,
        "fold_cpu_s": cpu - first_cpu,
    }


def main() -> None:
    bootstrap, url, prefix, expected, batch = sys.argv[1:6]
    settings = Settings(
        bootstrap_servers=bootstrap, database_url=url, topic_prefix=prefix, batch_max_records=int(batch)
    )
    print(orjson.dumps(asyncio.run(run(settings, int(expected)))).decode(), flush=True)


if __name__ == "__main__":
    main()
