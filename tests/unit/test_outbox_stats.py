"""The outbox relay's backlog gauges: their query (a count of every unsent row) runs at most once a second, and less
often when it is slow, so that counting a large backlog does not take a noticeable share of the relay's time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from jeugdstroom.common import outbox


class _Conn:
    def __init__(self, pool: _Pool) -> None:
        self.pool = pool

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any]:
        self.pool.calls += 1
        self.pool.clock[0] += self.pool.cost  # the query takes ``cost`` seconds
        return {"n": 7, "age": 1.5}


class _Pool:
    def __init__(self, clock: list[float], cost: float) -> None:
        self.clock, self.cost, self.calls = clock, cost, 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_Conn]:
        yield _Conn(self)


def _passes(cost: float, seconds: float, monkeypatch: Any) -> tuple[int, outbox.OutboxRelay]:
    """Count the backlog queries of relay passes every 10 ms over ``seconds`` of a fake clock."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])  # the relay's clock (no sleeps below)
    pool = _Pool(clock, cost)
    relay = outbox.OutboxRelay(pool, f"stats-{cost}", None, f"stats-{cost}")  # type: ignore[arg-type]

    async def run() -> None:
        end = clock[0] + seconds
        while clock[0] < end:
            await relay._update_stats()
            clock[0] += 0.01

    asyncio.run(run())
    return pool.calls, relay


def test_a_cheap_backlog_query_runs_once_a_second(monkeypatch: Any) -> None:
    calls, relay = _passes(0.001, 10.0, monkeypatch)
    assert 9 <= calls <= 11
    assert relay.metrics.backlog._value.get() == 7  # the gauges are set from the query


def test_a_slow_backlog_query_runs_at_most_once_per_fifty_times_its_duration(monkeypatch: Any) -> None:
    calls, _ = _passes(0.1, 60.0, monkeypatch)  # 0.1 s a query: at most one per 5 s
    assert 10 <= calls <= 13
