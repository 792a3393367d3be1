"""Bounded storage: a scheduled task in each service removes what no longer needs to be kept, in small batches.

Every :class:`Target` removes (or, for the monitor's members, anonymises) at most ``batch`` rows older than its
cutoff per call, each call its own short transaction that skips rows another transaction holds
(``FOR UPDATE SKIP LOCKED``), so the pipeline never waits on it and it never waits on the pipeline. :func:`purge`
repeats a target until a call removes fewer than ``batch``; :func:`run` does that for every target every
``retention_interval_s``. Time is passed in (``now``), so a test can run years of it without sleeping. No index
serves the timestamps (one would cost every write of the pipeline's hot path): a batch reads the table from its
start, where the oldest rows lie, and a run that finds nothing old reads the table once per interval.

The transport tables (:func:`transport_targets`) are bounded by ``dedupe_retention_days``: sent outbox rows and
processed-event ids. Why removing ids older than the window keeps delivery exact is in the README ("Guarantees"):
a record can only be delivered again while Kafka still holds it or the outbox can still republish it, both shorter
than the window; after that the stored offsets, which only move forward, keep it from being read again. The
services add their event-level data under the AVG retention settings (docs/privacy.md, "Storage limitation").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import Counter

from jeugdstroom.common.aio import raise_if_cancelling
from jeugdstroom.common.db import TRANSIENT_ERRORS, Conn
from jeugdstroom.common.settings import Settings

log = logging.getLogger(__name__)

#: Rows removed (or anonymised) per table; the job is the service. Bounded label: the table name.
REMOVED = Counter("jeugdstroom_retention_removed_rows_total", "Rows removed by the retention task", ["table"])
#: Completed retention runs; with the time of the last one an alert can tell a stuck task.
RUNS = Counter("jeugdstroom_retention_runs_total", "Completed runs of the retention task")

#: One batch: (connection inside a transaction, cutoff, batch size) → rows removed.
Step = Callable[[Conn, datetime, int], Awaitable[int]]


@dataclass(frozen=True)
class Target:
    """What one table keeps: rows older than ``now - keep`` go, ``step`` removes one batch of them."""

    table: str
    keep: timedelta
    step: Step


def deleting(table: str, where: str, *args: object) -> Step:
    """A step that deletes up to ``batch`` rows of ``table`` matching ``where`` (``$1`` the cutoff; further
    parameters from ``$3`` on are ``args``), skipping rows locked by the pipeline."""
    sql = (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE {where} LIMIT $2 FOR UPDATE SKIP LOCKED))"
    )

    async def step(conn: Conn, cutoff: datetime, batch: int) -> int:
        status: str = await conn.execute(sql, cutoff, batch, *args)
        return int(status.split()[-1])

    return step


def transport_targets(settings: Settings, producers: Sequence[str], consumers: Sequence[str]) -> list[Target]:
    """Sent outbox rows of ``producers`` and processed-event ids of ``consumers``, after ``dedupe_retention_days``
    (unsent rows stay however old: they still have to be published)."""
    keep = timedelta(days=settings.dedupe_retention_days)
    return [
        Target("outbox", keep, deleting("outbox", "producer = ANY($3::text[]) AND sent_at < $1", list(producers))),
        Target(
            "processed_events",
            keep,
            deleting("processed_events", "consumer = ANY($3::text[]) AND processed_at < $1", list(consumers)),
        ),
    ]


async def purge(pool: asyncpg.Pool, targets: Sequence[Target], now: datetime, batch: int) -> dict[str, int]:
    """Remove everything past its target's cutoff at ``now``, ``batch`` rows per transaction; returns the rows
    removed per table."""
    removed: dict[str, int] = {}
    for target in targets:
        cutoff = now - target.keep
        total = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                n = await target.step(conn, cutoff, batch)
            total += n
            if n:
                REMOVED.labels(target.table).inc(n)
            if n < batch:
                break
            await asyncio.sleep(0)  # let the pipeline's tasks run between batches
        removed[target.table] = removed.get(target.table, 0) + total
    return removed


async def run(
    pool: asyncpg.Pool,
    targets: Sequence[Target],
    settings: Settings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """The scheduled task: :func:`purge` every ``retention_interval_s`` (transient faults wait for the next run)."""
    while True:
        try:
            removed = await purge(pool, targets, clock(), settings.retention_batch)
            RUNS.inc()
            if any(removed.values()):
                log.info("retention removed %s", {t: n for t, n in removed.items() if n})
        except TRANSIENT_ERRORS as exc:
            raise_if_cancelling(exc)
            log.warning("retention: %s; next run in %.0f s", type(exc).__name__, settings.retention_interval_s)
        await asyncio.sleep(settings.retention_interval_s)
