"""The supervisor of a service's background tasks: it restarts a failed task and stops when cancelled, also when the
cancel surfaces inside the task as another error (as asyncpg's rollback can raise ``InterfaceError`` in its place)."""

from __future__ import annotations

import asyncio

import pytest

from jeugdstroom.common.service import supervise


async def test_a_failed_task_is_restarted() -> None:
    runs: list[int] = []

    async def task() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")

    await asyncio.wait_for(supervise("t", task, max_delay=0.01), 10)
    assert len(runs) == 3


@pytest.mark.parametrize("masked", [False, True])
async def test_a_cancelled_task_stops_even_when_the_cancel_surfaces_as_another_error(masked: bool) -> None:
    started = asyncio.Event()
    runs: list[int] = []

    async def task() -> None:
        runs.append(1)
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if masked:
                raise RuntimeError("another operation is in progress") from None
            raise

    supervisor = asyncio.create_task(supervise("t", task, max_delay=0.01))
    await started.wait()
    supervisor.cancel()
    done, _ = await asyncio.wait([supervisor], timeout=5)
    assert done and supervisor.cancelled()
    assert len(runs) == 1  # not restarted
