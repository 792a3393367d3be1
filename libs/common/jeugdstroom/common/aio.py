"""asyncio helpers for the services' long-running loops: how they wait, and how a cancel (a shutdown) ends them.

Two ways a loop outlives its shutdown, both seen here:

* a cancel that surfaces as another error. asyncpg raises ``InterfaceError`` ("another operation is in progress")
  from a transaction's rollback that meets a statement still running; a retry loop that takes it for a transient
  fault keeps going (:func:`raise_if_cancelling`);
* ``asyncio.wait_for`` on Python 3.11 returns the awaited result, swallowing the cancel, when the awaited thing
  completes in the same step as the cancel arrives (CPython gh-86296, fixed in 3.12). A relay whose wake-up event
  is set by every commit meets that race often (:func:`wait_event` uses ``asyncio.timeout``, which does not).
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling(exc: BaseException) -> None:
    """Raise :class:`asyncio.CancelledError` (from ``exc``) when the current task is being cancelled. A retry loop
    calls this before it waits out a fault, so that a cancel which surfaced as that fault ends the loop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds have passed; returns whether it was set. A cancel always
    propagates, also one that arrives in the step that sets the event."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
