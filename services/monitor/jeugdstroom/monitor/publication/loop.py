"""The publishing loop: after committed folds, publish every pending cell (sent to the broker; paced, see
:attr:`PublicationLoop.PUBLISH_SHARE`; one transaction per chunk of indicator × period pairs, see
:meth:`PublicationLoop.publish_round`); transient faults are retried, pending records stay until the publication of
their pair commits. The consumer side (:class:`jeugdstroom.monitor.processor.MonitorProcessor`) sets :attr:`~PublicationLoop.wake`
after each committed fold and :attr:`~PublicationLoop.settled` while its batches reach the end of their partitions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import date

import asyncpg
from aiokafka.errors import KafkaError
from prometheus_client import Histogram

from jeugdstroom.common.aio import raise_if_cancelling, wait_event
from jeugdstroom.common.db import TRANSIENT_ERRORS
from jeugdstroom.common.kafka import ensure_topics
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import publisher

log = logging.getLogger(__name__)

PUBLICATION = Histogram(
    "jeugdstroom_monitor_publication_seconds",
    "Seconds per indicator-topic publication (recomputing the pending cells, outbox rows for changed ones)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)


class PublicationLoop:
    """When the monitor publishes: woken by committed folds, paced, retried on transient faults."""

    #: The publisher spends at most PUBLISH_SHARE of its time publishing: after a publication that took t
    #: seconds, the next starts no earlier than t ÷ PUBLISH_SHARE after it. While a backlog is worked through
    #: (:attr:`settled` clear: records wait behind the fold's batch in one of its partitions, or its newest change
    #: was written while the registry had events waiting: kafka.BACKLOG_HEADER), publications are also at least
    #: REPLAY_INTERVAL_S apart: each one recomputes most of the table then (a stock delta changes every period from
    #: its day to today), and a subscriber of the compacted topic needs no intermediate versions of a replay; and
    #: they take at most REPLAY_SHARE of the time (the backlog's fold, the registry and PostgreSQL need the cores
    #: more), but at most REPLAY_MAX_S apart (should the signal of the backlog's end never come, e.g. a registry that
    #: stopped mid-backlog). A settled batch ends the replay spacing at once.
    PUBLISH_SHARE = 0.25
    REPLAY_INTERVAL_S = 30.0
    REPLAY_SHARE = 0.1
    REPLAY_MAX_S = 300.0
    #: A fold that has committed nothing for IDLE_S seconds ends the PUBLISH_SHARE wait: the share keeps
    #: publications from taking the fold's time, and an idle fold has none to lose (after a replay, the publication
    #: of its last batches waited up to 4× the previous publication's duration, the machine otherwise idle).
    IDLE_S = 0.5
    #: Without a fold, the publisher still looks for pending cells this often (``jeugdstroom rebuild monitor`` queues
    #: every cell in its swap's transaction, outside the fold).
    PENDING_POLL_S = 5.0
    #: A publication that takes at least this long is logged (with its records).
    LOG_S = 1.0

    def __init__(self, settings: Settings, clock: Callable[[], date], worker: tuple[int, int] = (0, 1)) -> None:
        """``worker``: (i, n), this loop is publisher i of n (processes, publication/child.py): it goes through the
        pending pairs from its own ``i / n`` of the list on, so that the workers start apart and meet; each skips
        the pairs another one holds."""
        self.settings = settings
        self.clock = clock
        self.worker = worker
        #: Set while the last committed batch settled the backlog (cleared while one waits, here or upstream).
        self.settled = asyncio.Event()
        self.settled.set()
        #: Set when committed folds may have left pending cells.
        self.wake = asyncio.Event()

    async def run(
        self, pool: asyncpg.Pool, send: publisher.Sink, after: Callable[[float | None], None] | None = None
    ) -> None:
        """Publish pending cells forever through ``send``. Publishes once at (re)start: a previous process (or run of
        this task) may have left pending cells. ``after`` is called after each round with its seconds (None after a
        fault): the publication process reports its metrics to the monitor with it (publication/child.py)."""
        self.wake.set()
        share_due = replay_due = 0.0
        while True:
            # (a timeout: cells a rebuild's swap left pending, published within a poll)
            await wait_event(self.wake, self.PENDING_POLL_S)
            await self._paced(share_due)
            if not self.settled.is_set() and (delay := replay_due - time.monotonic()) > 0:
                await wait_event(self.settled, delay)  # a settled batch ends the spacing
            self.wake.clear()
            started = time.monotonic()
            try:
                written = await self.publish_round(pool, send)
            except (*TRANSIENT_ERRORS, KafkaError) as exc:
                raise_if_cancelling(exc)
                log.warning("monitor publisher: %s, retrying in 1s", type(exc).__name__)
                if after is not None:
                    after(None)
                self.wake.set()
                share_due = time.monotonic() + 1.0
                if isinstance(exc, KafkaError):  # a broker that lost its data no longer has the topic
                    with contextlib.suppress(*TRANSIENT_ERRORS, KafkaError):
                        await ensure_topics(self.settings)
                continue
            took = time.monotonic() - started
            PUBLICATION.observe(took)
            if after is not None:
                after(took)
            if took >= self.LOG_S:
                log.info("monitor publisher: %d records in %.1fs", written, took)
            share_due = started + took / self.PUBLISH_SHARE
            spacing = min(max(self.REPLAY_INTERVAL_S, took / self.REPLAY_SHARE), self.REPLAY_MAX_S)
            replay_due = started + spacing  # applies while the fold is not settled

    async def _paced(self, due: float) -> None:
        """Wait until ``due`` (monotonic), or until no fold has committed for :attr:`IDLE_S` seconds. (Clears
        :attr:`wake`: the caller publishes next in any case.)"""
        while (delay := due - time.monotonic()) > 0:
            self.wake.clear()
            if not await wait_event(self.wake, min(delay, self.IDLE_S)) and delay > self.IDLE_S:
                return  # no fold committed for IDLE_S: publish now

    async def publish_round(self, pool: asyncpg.Pool, send: publisher.Sink) -> int:
        """Publish every pending cell: up to :data:`publisher.CHUNK` indicator × period pairs per transaction (an
        indicator's periods together: :func:`publisher.chunks`), each taking
        its pairs' pending records (a fold may add records for a pair while the round runs: a later chunk takes
        them with its own, an earlier one leaves them to the next round). One transaction per chunk instead of one
        for the round: a publication after a replay sends a row for most cells of the table, and a chunk's rows are
        confirmed and recorded before the next chunk is computed, so neither memory nor a fault's repeated work
        grows with the table. Returns the rows sent."""
        async with pool.acquire() as conn:
            chunks = publisher.chunks(await publisher.pending_pairs(conn), lambda pair: pair[0])
        i, n = self.worker
        start = len(chunks) * i // n
        as_of = self.clock()
        written = 0
        for chunk in chunks[start:] + chunks[:start]:
            async with pool.acquire() as conn, conn.transaction():
                written += await publisher.publish_work(conn, self.settings, {}, as_of, send, pending=chunk)
        return written
