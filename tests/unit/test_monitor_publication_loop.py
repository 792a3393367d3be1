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




def test_the_registrys_backlog_keeps_the_publication_unsettled() -> None:
    """A fold whose newest change the registry wrote while events waited behind its batch (kafka.BACKLOG_HEADER)
    keeps the replay spacing even at the end of the monitor's own partitions; the registry's last batch of the
    backlog (no header) settles it."""
    from pydantic import SecretStr

    from jeugdstroom.common.kafka import BACKLOG_HEADER, InRecord
    from jeugdstroom.common.settings import Settings
    from jeugdstroom.monitor.processor import MonitorProcessor, upstream_backlog

    def record(ts: int, backlog: bool, partition: int = 0) -> InRecord:
        headers = ((BACKLOG_HEADER, b"1"),) if backlog else ()
        return InRecord("changes", partition, ts, b"k", b"{}", headers, ts)

    assert upstream_backlog([record(1, True), record(2, True)])
    assert not upstream_backlog([record(3, True), record(4, False, partition=1)])  # the newest decides
    assert upstream_backlog([record(6, True), record(5, False, partition=1)])
    assert not upstream_backlog([])

    processor = MonitorProcessor(Settings(operator_token=SecretStr("x")))

    def commit(more: bool, upstream_more: bool) -> bool:
        processor._more, processor._upstream_more = more, upstream_more
        processor.committed()
        return processor.settled.is_set()

    assert not commit(False, True)
    assert not commit(True, False)
    assert commit(False, False)
