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
