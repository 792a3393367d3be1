"""The publication's locks (publisher.publish_work, queries.sql): publications hold the publication lock shared and
one lock per indicator × period pair, so several publisher processes publish different pairs side by side, a pair
that one holds is skipped by the others, and the rebuild's swap / republish_all (the lock held exclusively) wait
for every publication."""

from __future__ import annotations

import asyncpg
import pytest

from jeugdstroom.common import db
from jeugdstroom.monitor.publication.pending import PAIR_LOCKS, PUBLICATION_LOCK, pair_key
from jeugdstroom.monitor.publisher import Q
from tests.conftest import Infra, fresh_settings

pytestmark = pytest.mark.integration

A, B, C = ("separaties", "month"), ("separaties", "year"), ("gesloten_actief", "month")


async def _free(conn: asyncpg.Connection, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The pairs of ``pairs`` a publication in ``conn``'s transaction gets (as publish_work asks for them)."""
    await conn.execute(Q.publish_lock_shared, PUBLICATION_LOCK)
    got = {r["k"] for r in await conn.fetch(Q.try_pair_locks, PAIR_LOCKS, [pair_key(p) for p in pairs])}
    return {p for p in pairs if pair_key(p) in got}


async def test_publications_share_the_lock_and_skip_each_others_pairs(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    assert len({pair_key(p) for p in (A, B, C)}) == 3
    one, two, swap = [await db.connect(settings.database_url) for _ in range(3)]
    try:
        for conn in (one, two, swap):  # a lock that should be free but is not fails the test instead of hanging it
            await conn.execute("SET lock_timeout = '5s'")
        async with one.transaction():
            assert await _free(one, [A, B]) == {A, B}
            async with two.transaction():
                assert await _free(two, [B, C]) == {C}  # B is the first one's: left to it
                # the swap's exclusive hold waits for both publications
                await swap.execute("SET lock_timeout = '200ms'")
                with pytest.raises(asyncpg.LockNotAvailableError):
                    async with swap.transaction():
                        await swap.execute(Q.publish_lock, PUBLICATION_LOCK)
            async with two.transaction():  # the second publication ended: its pair is free again, B still is not
                assert await _free(two, [A, B, C]) == {C}
        async with two.transaction():  # both ended: every pair is free
            assert await _free(two, [A, B, C]) == {A, B, C}
            # a publication of cells passed directly waits for its pairs: here they are its own already
            assert await two.fetchval(Q.pair_locks, PAIR_LOCKS, [pair_key(A), pair_key(A), pair_key(C)]) == 2
        await swap.execute("SET lock_timeout = '5s'")
        async with swap.transaction():  # and the swap gets the lock once no publication holds it
            await swap.execute(Q.publish_lock, PUBLICATION_LOCK)
            async with two.transaction():
                await two.execute("SET LOCAL lock_timeout = '200ms'")
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await _free(two, [A])
    finally:
        for conn in (one, two, swap):
            await conn.close()


async def test_a_publication_holds_no_transaction_id_until_it_is_done(infra: Infra) -> None:
    """The pending records a publication takes are read, not deleted, until its cells are sent: its transaction
    gets an id only with its last writes (an open transaction id keeps index scans everywhere from dropping the
    entries of dead rows). Records that a fold adds meanwhile stay pending."""
    from datetime import date

    from jeugdstroom.monitor.publication.pending import Affected, defer, done_pending, take_pending

    settings = await fresh_settings(infra)
    publication, fold = [await db.connect(settings.database_url) for _ in range(2)]
    try:
        await defer(fold, {A: Affected(date(2025, 1, 1), date(2025, 2, 1), {"gemeente": {"GM0268"}})})
        async with publication.transaction():
            assert await _free(publication, [A]) == {A}
            work: dict = {}  # type: ignore[type-arg]
            _, taken = await take_pending(publication, work, [A])
            assert len(taken) == 1 and work[A].values == {"gemeente": {"GM0268"}}
            assert await publication.fetchval("SELECT txid_current_if_assigned()") is None
            # a fold commits a new pending record for the same pair while the publication computes and sends
            await defer(fold, {A: Affected(date(2025, 2, 1), date(2025, 3, 1), {"gemeente": {"GM0344"}})})
            await done_pending(publication, taken)
        left = await fold.fetch("SELECT dims FROM monitor.publish_pending WHERE indicator = $1", A[0])
        assert [r["dims"] for r in left] == [{"gemeente": ["GM0344"]}]
    finally:
        for conn in (publication, fold):
            await conn.close()
