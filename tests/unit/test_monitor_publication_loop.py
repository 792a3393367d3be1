"""The publishing loop's pacing (publication/loop.py): the PUBLISH_SHARE wait ends early only when the fold is idle."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from jeugdstroom.monitor.publication.loop import PublicationLoop


def _loop() -> PublicationLoop:
    loop = PublicationLoop(None, date.today)  # type: ignore[arg-type]  # (pacing reads no settings)
    loop.IDLE_S = 0.02
    return loop


def test_the_share_wait_ends_when_no_fold_commits() -> None:
    loop = _loop()

    async def paced() -> None:
        # an hour's wait that an idle fold ends after IDLE_S (else wait_for's generous bound fails the test)
        await asyncio.wait_for(loop._paced(time.monotonic() + 3600), 60)

    asyncio.run(paced())


def test_the_share_wait_lasts_while_folds_keep_committing() -> None:
    loop = _loop()

    async def paced() -> float:
        due = time.monotonic() + 0.3

        async def folding() -> None:
            while True:
                loop.wake.set()  # a committed fold
                await asyncio.sleep(loop.IDLE_S / 4)

        task = asyncio.create_task(folding())
        try:
            await loop._paced(due)
        finally:
            task.cancel()
        return time.monotonic() - due

    assert asyncio.run(paced()) >= 0  # returned only once due had passed


def test_the_replay_spacing_ends_when_the_fold_goes_idle() -> None:
    loop = _loop()
    loop.REPLAY_IDLE_S = 0.02
    loop.settled.clear()  # a backlog of old events

    async def spaced() -> None:
        # an hour's spacing that an idle fold ends after REPLAY_IDLE_S (else wait_for's bound fails the test)
        await asyncio.wait_for(loop._replay_spaced(time.monotonic() + 3600), 60)

    asyncio.run(spaced())


def test_the_replay_spacing_lasts_while_old_events_keep_being_folded() -> None:
    loop = _loop()
    loop.REPLAY_IDLE_S = 0.02
    loop.settled.clear()

    async def spaced(settle_after: float | None) -> float:
        due = time.monotonic() + 0.3
        started = time.monotonic()

        async def folding() -> None:
            while True:
                if settle_after is not None and time.monotonic() - started > settle_after:
                    loop.settled.set()  # a batch of fresh events at the end of its partitions
                loop.wake.set()
                await asyncio.sleep(loop.REPLAY_IDLE_S / 4)

        task = asyncio.create_task(folding())
        try:
            await loop._replay_spaced(due)
        finally:
            task.cancel()
        return time.monotonic() - due

    async def both() -> tuple[float, float]:
        kept = await spaced(None)
        loop.settled.clear()
        return kept, await spaced(0.05)

    kept, ended = asyncio.run(both())
    assert kept >= 0  # returned only once due had passed
    assert ended < 0  # a settled batch ended it before due


def test_a_batch_of_old_events_does_not_settle_the_publication() -> None:
    """A fold of events accepted long ago (a replay, a catch-up) keeps the replay spacing even at the end of its
    partitions; a fold of recent ones at the end of its partitions settles it."""
    from datetime import UTC, datetime, timedelta

    from pydantic import SecretStr

    from jeugdstroom.common.settings import Settings
    from jeugdstroom.monitor.processor import MonitorProcessor

    processor = MonitorProcessor(Settings(operator_token=SecretStr("x")))
    now = datetime.now(UTC)

    def commit(ages_s: list[float], more: bool = False) -> bool:
        processor._accepted = [now - timedelta(seconds=a) for a in ages_s]
        processor._more = more
        processor.committed()
        return processor.settled.is_set()

    assert commit([2.0, 1.0])
    assert not commit([3600.0, processor.REPLAY_AGE_S + 5])
    assert commit([3600.0, 1.0])  # the newest change decides
    assert not commit([1.0], more=True)  # more records behind the batch
    assert commit([])  # nothing with an acceptance time (duplicates only): as before, the partitions decide
