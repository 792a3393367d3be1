"""``jeugdstroom rebuild monitor`` on the real broker and database, with the monitor folding and answering throughout.

The registry is played by the test here (changes on the changes topic, each entity's latest version on the entity
topic, as the registry's outbox writes them), so that the test can hold back either side and force the races the
rebuild has to get right (docs/monitor.md, "Rebuild"):

* changes the live fold applied *before* the rebuild began whose entity records reach the topic only after the
  rebuild read it (late records);
* entity records the rebuild reads while the live fold has not applied their changes yet: changes held inside a
  fold batch (by a table lock) and changes that are not even on the changes topic yet, both applied only after the
  new tables were folded (the rebuild must wait for them);
* changes that keep arriving and are folded live during the rebuild (journaled, corrected at the swap).

The live tables are damaged before the rebuild: the API shows the damage until the swap (it answers from the old
tables), and afterwards every aggregate table equals a fresh replay cell for cell and every indicator equals the
independent oracle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.common.kafka import REGISTRY_ENTITIES, make_producer
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.app import create_app
from jeugdstroom.monitor.rebuild import Rebuild
from tests.conftest import Infra, fresh_settings
from tests.integration.monitor_stream import DIMS, build_stream, oracle, produce
from tests.integration.rebuild_support import creations, differences, replay_cells, table_cells
from tests.support import running_app, wait_until

pytestmark = pytest.mark.integration

AS_OF = date(2026, 6, 30)
Change = tuple[str, dict[str, Any]]


def entity_records(changes: list[Change], seen: set[str]) -> list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]:
    """The entity-topic records the registry writes with ``changes`` (once per change id, as its outbox does)."""
    out = []
    for _, ch in changes:
        if ch["change_id"] in seen:
            continue
        seen.add(ch["change_id"])
        version = ch["after"] if ch["after"] is not None else ch["before"]
        key = entity_topic_key(ch["entity"], version).encode()
        value = None if ch["after"] is None else orjson.dumps({**ch, "before": None})
        out.append((key, value, [("ce_id", ch["change_id"].encode())]))
    return out


async def produce_entities(settings: Settings, records: list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send(settings.topic(REGISTRY_ENTITIES), key=key, value=value, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def applied(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'monitor'"))
    finally:
        await conn.close()


async def wait_applied(settings: Settings, n: int) -> None:
    async def done() -> bool:
        return await applied(settings.database_url) >= n

    await wait_until(done, 120, 0.05, f"{n} changes folded")


async def separaties_total(client: httpx.AsyncClient) -> int:
    resp = await client.get("/v1/indicators/separaties", params={"period": "year", "as_of": AS_OF.isoformat()})
    assert resp.status_code == 200, resp.text
    return sum(r["value"] for r in resp.json()["rows"])


@contextlib.asynccontextmanager
async def table_lock(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """Hold the live fold: its next batch waits on monitor.counts (the API's reads do not)."""
    conn = await asyncpg.connect(settings.database_url)
    tx = conn.transaction()
    await tx.start()
    await conn.execute("LOCK TABLE monitor.counts IN EXCLUSIVE MODE")
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await tx.rollback()
        await conn.close()


async def test_rebuild_equals_a_fresh_replay_while_the_live_fold_and_the_api_run(infra: Infra) -> None:
    settings = await fresh_settings(infra, batch_max_records=40)
    stream = build_stream(seed=9, children=120)
    changes = stream.changes
    n = len(changes)
    a, b = changes[: n // 2], changes[n // 2 : 3 * n // 4]
    c1, ahead, c2 = changes[3 * n // 4 : 33 * n // 40], changes[33 * n // 40 : 36 * n // 40], changes[36 * n // 40 :]
    ids = lambda part: len({ch["change_id"] for _, ch in part})  # noqa: E731
    seen: set[str] = set()
    await produce(settings, a + b)
    await produce_entities(settings, entity_records(a, seen))  # b's entity records are held back: late records
    late = entity_records(b, seen)
    token = settings.operator_token.get_secret_value()  # type: ignore[union-attr]
    pool = await db.create_pool(settings.database_url, max_size=3)
    async with running_app(create_app(settings)) as client:
        client.headers["authorization"] = f"Bearer {token}"
        await wait_applied(settings, ids(a + b))
        right = await separaties_total(client)
        # damage the live tables: the rebuild must recompute them, not copy them
        await pool.execute("UPDATE monitor.counts SET value = value + 7 WHERE indicator = 'separaties'")
        await pool.execute("DELETE FROM monitor.members WHERE indicator = 'gesepareerde_jeugdigen'")
        damaged = await separaties_total(client)
        assert damaged > right

        answers: list[tuple[int, int]] = []
        stop = asyncio.Event()

        async def ask_throughout() -> None:  # the API answers during the whole rebuild
            while not stop.is_set():
                resp = await client.get("/v1/indicators/separaties", params={"period": "year", "as_of": AS_OF.isoformat()})
                answers.append((resp.status_code, sum(r["value"] for r in resp.json()["rows"])))
                await asyncio.sleep(0.02)

        held: list[contextlib.AbstractAsyncContextManager[asyncpg.Connection]] = []
        released = asyncio.Event()
        background: list[asyncio.Task[None]] = []
        api_during: list[int] = []

        async def release_later() -> None:
            await asyncio.sleep(1.0)
            await held[0].__aexit__(None, None, None)
            released.set()
            await asyncio.sleep(0.5)
            await produce(settings, ahead)  # the changes of entity records the rebuild read long ago
            await produce(settings, c2)
            await produce_entities(settings, entity_records(c2, seen))

        async def hook(phase: str) -> None:
            if phase == "begun":
                lock = table_lock(settings)
                await lock.__aenter__()
                held.append(lock)
                await produce(settings, c1)  # folded live, but held by the lock until after the fold
                await produce_entities(settings, entity_records(c1, seen))
                await produce_entities(settings, entity_records(ahead, seen))  # their changes come after the fold
            elif phase == "read":
                await produce_entities(settings, late)  # after the rebuild read the topic
                api_during.append(await separaties_total(client))
            elif phase == "folded":
                background.append(asyncio.get_running_loop().create_task(release_later()))

        asker = asyncio.create_task(ask_throughout())
        try:
            stats = await Rebuild(settings, pool, hook=hook, as_of=lambda: AS_OF).run()
        finally:
            stop.set()
            await asker
            for task in background:
                await task
            if held and not released.is_set():
                await held[0].__aexit__(None, None, None)
        assert released.is_set() and stats.wait_s >= 1.2, stats  # it waited for the changes behind the records
        assert stats.corrected > 0 and stats.entities > 200
        assert api_during == [damaged]  # the old tables answered while the rebuild ran
        assert answers and all(code == 200 for code, _ in answers)
        assert answers[0][1] == damaged

        await wait_applied(settings, ids(changes))
        await wait_until(lambda: _nothing_pending(pool), 60, 0.1, "publication of the rebuilt cells")

        # every aggregate table equals a fresh replay, cell for cell
        final = [(e, v) for e, versions in stream.final.items() for v in versions]
        async with pool.acquire() as conn:
            got = await table_cells(conn)  # type: ignore[arg-type]
            old = await table_cells(conn, "monitor_retired")  # type: ignore[arg-type]
        want = replay_cells(creations(final))
        assert not differences(want, got), "\n".join(differences(want, got))
        assert old != got  # the damaged tables are kept aside, not patched

        # and every indicator, period and dimension equals the independent oracle
        truth = oracle(stream.final, AS_OF)
        for ind, dims in DIMS.items():
            for period in ("day", "month", "half_year", "year"):
                resp = await client.get(
                    f"/v1/indicators/{ind}",
                    params={"period": period, "group_by": ",".join(dims), "as_of": AS_OF.isoformat()},
                )
                ignored = ("suppressed", "names", "version", "baseline_year", "baseline", "change", "per_1000")
                # (not the oracle's)
                rows = [{k: v for k, v in r.items() if k not in ignored} for r in resp.json()["rows"]]
                assert rows == truth[(ind, period)], (ind, period)
        assert await separaties_total(client) == sum(
            r["value"] for r in truth[("separaties", "year")]
        )
        # the indicator topic was given the rebuilt values (the damaged cells were published again)
        assert await pool.fetchval("SELECT count(*) FROM monitor.rebuild_state") == 0
        assert await pool.fetchval("SELECT count(*) FROM monitor.rebuild_journal") == 0
    await pool.close()


async def _nothing_pending(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT (SELECT count(*) FROM monitor.publish_pending) + (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
    )
