"""The loops' asyncio helpers: a cancel (a shutdown) always ends a loop, also in the races that hid it before."""

from __future__ import annotations

import asyncio

from jeugdstroom.common.aio import raise_if_cancelling, wait_event


async def _ends_when_cancelled(task: asyncio.Task[None]) -> bool:
    done, _ = await asyncio.wait([task], timeout=2)
    return bool(done) and task.cancelled()


async def test_wait_event_returns_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert not await wait_event(event, 0.01)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5)


async def test_a_cancel_in_the_step_that_sets_the_event_ends_a_waiting_loop() -> None:
    """The outbox relay's race: its event is set by every commit, and a shutdown's cancel can arrive in that very
    step. (``asyncio.wait_for`` on Python 3.11 returned the event's result there and the loop went on: a hang.)"""
    event = asyncio.Event()

    async def loop() -> None:
        while True:
            event.clear()
            await wait_event(event, 10)

    task = asyncio.create_task(loop())
    for _ in range(3):
        await asyncio.sleep(0)  # the loop waits on the event
    event.set()
    task.cancel()
    assert await _ends_when_cancelled(task)


async def test_a_cancel_that_surfaced_as_another_error_ends_a_retry_loop() -> None:
    started = asyncio.Event()

    async def retrying() -> None:
        while True:
            try:
                started.set()
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    raise ConnectionError("rollback met a running statement") from None  # (as asyncpg can)
            except ConnectionError as exc:
                raise_if_cancelling(exc)
                await asyncio.sleep(0.01)

    task = asyncio.create_task(retrying())
    await started.wait()
    task.cancel()
    assert await _ends_when_cancelled(task)


async def test_raise_if_cancelling_lets_a_task_that_is_not_cancelled_retry() -> None:
    raise_if_cancelling(ConnectionError("a transient fault"))  # returns: the loop waits the fault out and retries
