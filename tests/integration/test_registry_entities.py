"""The registry's entity topic (``jeugdstroom.registry.entities``) and the monitor rebuilt from it, through the real
registry: the last record per key is the registry's state (also after ``republish entities``), and
``jeugdstroom rebuild monitor`` — run while events keep arriving — leaves tables equal to a fresh replay of every change
the registry emitted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest
from pydantic import TypeAdapter

from jeugdstroom.cli.main import main as cli_main
from jeugdstroom.common import db
from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.common.kafka import REGISTRY_CHANGES, REGISTRY_ENTITIES, TYPED_TOPICS
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.app import create_app as monitor_app
from jeugdstroom.monitor.rebuild import Rebuild
from jeugdstroom.registry.republish import republish_entities
from tests.integration.rebuild_support import differences, replay_cells, table_cells
from tests.integration.test_registry import dump, episodes, group_of, produce, registries, uids, wait_processed
from tests.support import caught_up, read_topic, running_app, service_env, wait_until
from tests.unit.test_registry_stream import generate

pytestmark = pytest.mark.integration
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(settings.database_url, max_size=4)
    yield p
    await p.close()


def state_by_topic_key(d: dict[str, Any]) -> dict[str, Any]:
    """The registry's entities (a dump) by entity topic key."""
    out = {}
    for (pseudonym, entity, key), episode in episodes(d).items():
        instelling, ident = key.split("/", 1)
        out[f"{entity}|{pseudonym}|{instelling}|{ident}"] = episode
    return out


def last_per_key(records: list[tuple[bytes, bytes | None]]) -> dict[str, Any]:
    """Last record per key, tombstones removed; each value is the version (``after`` of a change from nothing)."""
    last: dict[str, bytes | None] = {}
    for key, value in records:
        last[key.decode()] = value
    out = {}
    for key, value in last.items():
        if value is not None:
            change = orjson.loads(value)
            assert change["before"] is None
            out[key] = change["after"]
    return out


async def outbox_records(pool: asyncpg.Pool, settings: Settings) -> list[tuple[bytes, bytes | None]]:
    rows = await pool.fetch(
        "SELECT key, value FROM outbox WHERE topic = $1 ORDER BY id", settings.topic(REGISTRY_ENTITIES)
    )
    return [(r["key"], r["value"]) for r in rows]


async def test_the_entity_topic_holds_the_registry_state_and_republish_seeds_it(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    stream = generate(80, seed=33)
    events = stream.ordered()
    random.Random(3).shuffle(events)
    facts = [e for e in events if e["type"] != "correctie"]
    group = group_of(settings)
    async with registries(settings):
        await produce(settings, facts)  # the corrections after their targets: some entities are withdrawn
        await wait_processed(pool, group, uids(facts))
        await produce(settings, [e for e in events if e["type"] == "correctie"])
        await wait_processed(pool, group, uids(events))
        state = state_by_topic_key(await dump(pool))
        assert len(state) > 100
        records = await outbox_records(pool, settings)
        assert any(v is None for _, v in records), "removed entities leave a tombstone"
        assert last_per_key(records) == state
        # every entity record's ce_id is a change the registry emitted in the same transaction
        changes = {
            orjson.loads(r["value"])["change_id"]
            for r in await pool.fetch("SELECT value FROM outbox WHERE topic = $1", settings.topic(REGISTRY_CHANGES))
        }
        heads = await pool.fetch("SELECT headers FROM outbox WHERE topic = $1", settings.topic(REGISTRY_ENTITIES))
        assert {dict(h["headers"])["ce_id"] for h in heads} <= changes

        # republish: every entity again, with a no-op change of the same id
        n = await republish_entities(pool, settings, "t1", chunk=7, producer=group)
        assert n == len(state)
        assert last_per_key(await outbox_records(pool, settings)) == state
        noop = [
            orjson.loads(r["value"])
            for r in await pool.fetch(
                "SELECT value FROM outbox WHERE topic = $1 AND convert_from(value, 'UTF8') LIKE '%republish:t1|%'",
                settings.topic(REGISTRY_CHANGES),
            )
        ]
        assert len(noop) == n and all(c["before"] == c["after"] is not None for c in noop)

        # and the relay published them: the topic itself ends with the state
        async def published() -> bool:
            return not await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")

        await wait_until(published, 60, 0.1, "the relay to publish")
        on_topic = await read_topic(settings, REGISTRY_ENTITIES)
        assert last_per_key([(m.key, m.value) for m in on_topic]) == state


async def test_rebuild_through_the_registry_equals_a_fresh_replay_of_its_changes(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = generate(90, seed=5)
    events = stream.ordered()
    random.Random(8).shuffle(events)
    first, rest = events[: 2 * len(events) // 3], events[2 * len(events) // 3 :]
    group = group_of(settings)
    consumers = {group: TYPED_TOPICS, "monitor": (REGISTRY_CHANGES,)}

    async def settled() -> bool:
        return await caught_up(settings, consumers)

    async with registries(settings), running_app(monitor_app(settings)) as client:
        await produce(settings, first)
        await wait_processed(pool, group, uids(first))
        await wait_until(settled, 90, 0.2, "registry and monitor caught up")
        await pool.execute("UPDATE monitor.stock_deltas SET delta = delta + 3")  # damage
        # the topic's last records become republished versions (their ids: no-op changes the monitor applies)
        await republish_entities(pool, settings, "r1", producer=group)
        feeding: list[asyncio.Task[None]] = []

        async def hook(phase: str) -> None:
            if phase == "begun":  # events keep arriving during the rebuild
                feeding.append(asyncio.get_running_loop().create_task(produce(settings, rest)))
            if phase == "swapping":
                resp = await client.get("/v1/indicators/verblijf_actief", params={"period": "year"})
                assert resp.status_code == 200

        stats = await Rebuild(settings, pool, hook=hook, workers=1).run()  # (the fold in this process; forked
        # workers: test_monitor_rebuild.py)
        for task in feeding:
            await task
        assert stats.entities > 100
        await wait_processed(pool, group, uids(events))
        await wait_until(settled, 90, 0.2, "registry and monitor caught up")
        async with pool.acquire() as conn:
            got = await table_cells(conn)  # type: ignore[arg-type]
        # the fresh replay: every change the registry emitted, once per change id, in order
        seen: set[str] = set()
        changes = []
        for r in await pool.fetch(
            "SELECT value FROM outbox WHERE topic = $1 ORDER BY id", settings.topic(REGISTRY_CHANGES)
        ):
            change = _CHANGE.validate_json(r["value"])
            if change.change_id not in seen:
                seen.add(change.change_id)
                changes.append(change)
        want = replay_cells(changes)
        assert want and not differences(want, got), "\n".join(differences(want, got))

        # the command line, on the settled system: the same tables again, progress on the terminal
        for name, value in service_env(settings).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert await asyncio.to_thread(cli_main, ["rebuild", "monitor", "--json"]) == 0
        out, err = capsys.readouterr()
        assert orjson.loads(out)["entities"] == len(state_by_topic_key(await dump(pool)))
        assert "entities/s" in err and "read" in err
        async with pool.acquire() as conn:
            again = await table_cells(conn)  # type: ignore[arg-type]
        assert not differences(want, again), "\n".join(differences(want, again))
