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
    from jeugdstroom.monitor.processor import MonitorProcessor, UpstreamBacklog

    def record(ts: int, backlog: bool, partition: int = 0) -> InRecord:
        headers = ((BACKLOG_HEADER, b"1"),) if backlog else ()
        return InRecord("changes", partition, ts, b"k", b"{}", headers, ts)

    upstream = UpstreamBacklog()
    assert not upstream.waiting  # nothing read yet
    upstream.see([record(1, True), record(2, True)])
    assert upstream.waiting
    upstream.see([record(3, True, partition=1), record(4, False, partition=2)])
    assert not upstream.waiting  # the registry's last batch of the backlog: the newest record decides
    # the next fetch returns only partition 1, whose last record is older and marked: the backlog stays over
    upstream.see([record(3, True, partition=1)])
    assert not upstream.waiting
    upstream.see([record(5, True, partition=1)])  # a new backlog upstream
    assert upstream.waiting
    upstream.see([record(5, False, partition=0)])  # a tie: the unmarked record wins
    assert not upstream.waiting

    processor = MonitorProcessor(Settings(operator_token=SecretStr("x")))

    def commit(more: bool, upstream_more: bool) -> bool:
        processor._more = more
        processor.upstream.see([record(len(processor.upstream.last) + 10, upstream_more, len(processor.upstream.last))])
        processor.committed()
        return processor.settled.is_set()

    assert not commit(False, True)
    assert not commit(True, False)
    assert commit(False, False)
