"""The registry on the real broker and database: duplicates, arrival order, corrections, two instances, findings.

Every run's final state (full dumps of the projected tables) is compared with the pure in-memory projection of the
same stream (``tests.unit.test_registry_stream.MemoryRegistry``), and the emitted changes are folded
(Σ after − Σ before) and compared with the state: a monitor folding them sees exactly the registry's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from jeugdstroom.common import db
from jeugdstroom.common.contracts.events import event_uid
from jeugdstroom.common.kafka import DEADLETTER, REGISTRY_CHANGES
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.app import create_app
from jeugdstroom.registry.entities import ENTITIES
from jeugdstroom.registry.processor import GROUP
from tests.conftest import Infra, fresh_settings
from tests.support import running_app, wait_until
from tests.unit.test_registry_stream import PROVIDERS, MemoryRegistry, at, generate, pseudonym, run

pytestmark = pytest.mark.integration

#: Every entity's table, from the registry's one table of entities (a new entity is dumped without listing it here).
ENTITY_TABLES = {name: e.table for name, e in ENTITIES.items()}


async def produce(settings: Settings, events: list[dict[str, Any]]) -> None:
    """Publish events on their typed topics, keyed by pseudonym (as intake does)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic(e["type"]), orjson.dumps(e), key=e["child"]["pseudonym"].encode())
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def group_of(settings: Settings) -> str:
    """A consumer group of the test's own: the embedded broker can leave a reused group stuck in a rebalance."""
    return f"{GROUP}-{settings.topic_prefix}"


async def processed(pool: asyncpg.Pool, group: str) -> int:
    """Events the registry processed: its facts and corrections are keyed by event uid and their insert is its
    dedupe (no ``processed_events`` rows); ``group`` is the test's own group in the test's own database."""
    assert not await pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id NOT LIKE 'deadletter:%'", group
    ), "the registry records its events in registry.facts/corrections, not in processed_events"
    return int(
        await pool.fetchval("SELECT (SELECT count(*) FROM registry.facts) + (SELECT count(*) FROM registry.corrections)")
    )


def uids(events: list[dict[str, Any]]) -> int:
    return len({event_uid(e["sender"], e["id"]) for e in events})


async def wait_processed(pool: asyncpg.Pool, group: str, n: int, timeout: float = 90) -> None:
    async def done() -> bool:
        return await processed(pool, group) == n

    await wait_until(done, timeout, 0.1, f"{n} events processed")


@contextlib.asynccontextmanager
async def registries(settings: Settings, instances: int = 1) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with contextlib.AsyncExitStack() as stack:
        apps = [create_app(settings, group_of(settings)) for _ in range(instances)]
        yield [await stack.enter_async_context(running_app(app)) for app in apps]


async def dump(pool: asyncpg.Pool) -> dict[str, Any]:
    """The registry's projected state, comparable across runs (no wall-clock columns, resolved findings left out)."""
    entities = {}
    for entity, table in ENTITY_TABLES.items():
        for r in await pool.fetch(f"SELECT * FROM {table}"):
            row = dict(r)
            episode = row.pop("episode")
            key = (row["pseudonym"], entity, f"{row['instelling']}/{row[next(c for c in row if c.endswith('_id'))]}")
            entities[key] = (episode, tuple(sorted(row.items())))
    children = {r["pseudonym"]: tuple(r) for r in await pool.fetch("SELECT * FROM registry.children")}
    history = sorted(tuple(r) for r in await pool.fetch("SELECT * FROM registry.child_gemeenten"))
    findings = {
        (r["pseudonym"], r["kind"], r["subject"])
        for r in await pool.fetch("SELECT pseudonym, kind, subject FROM registry.findings WHERE resolved_at IS NULL")
    }
    return {"entities": entities, "children": children, "history": history, "findings": findings}


def episodes(d: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {k: v[0] for k, v in d["entities"].items()}


def expected(reg: MemoryRegistry) -> dict[tuple[str, str, str], Any]:
    return {k: ep.model_dump(mode="json") for k, ep in reg.entities().items()}


async def change_totals(pool: asyncpg.Pool, settings: Settings, group: str) -> Counter[tuple[str, bytes]]:
    """Σ after − Σ before over every change the registry wrote to its outbox."""
    net: Counter[tuple[str, bytes]] = Counter()
    ids = set()
    for r in await pool.fetch(
        "SELECT value FROM outbox WHERE producer = $1 AND topic = $2 ORDER BY id",
        group,
        settings.topic(REGISTRY_CHANGES),
    ):
        ch = orjson.loads(r["value"])
        assert ch["change_id"] not in ids, "change ids must be unique"
        ids.add(ch["change_id"])
        assert ch["before"] != ch["after"]
        if ch["before"] is not None:
            net[(ch["entity"], orjson.dumps(ch["before"], option=orjson.OPT_SORT_KEYS))] -= 1
        if ch["after"] is not None:
            net[(ch["entity"], orjson.dumps(ch["after"], option=orjson.OPT_SORT_KEYS))] += 1
    return +net


def state_totals(d: dict[str, Any]) -> Counter[tuple[str, bytes]]:
    return Counter((k[1], orjson.dumps(v, option=orjson.OPT_SORT_KEYS)) for k, v in episodes(d).items())


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(settings.database_url, max_size=3)
    yield p
    await p.close()


async def test_duplicates_and_shuffled_arrival_give_the_in_order_state(
    infra: Infra, settings: Settings, pool: asyncpg.Pool
) -> None:
    stream = generate(60, seed=21)
    in_order = stream.ordered()
    reference = run(in_order)
    await produce(settings, in_order)
    async with registries(settings):
        await wait_processed(pool, group_of(settings), uids(in_order))
    first = await dump(pool)
    assert episodes(first) == expected(reference)
    assert first["findings"] == reference.findings()
    assert await change_totals(pool, settings, group_of(settings)) == state_totals(first)

    # The same stream shuffled (within and across topics), every event three times, in another database.
    shuffled = in_order * 3
    random.Random(4).shuffle(shuffled)
    other = await fresh_settings(infra)
    other_pool = await db.create_pool(other.database_url, max_size=3)
    try:
        await produce(other, shuffled)
        async with registries(other):
            await wait_processed(other_pool, group_of(other), uids(in_order))
        second = await dump(other_pool)
        assert second == first
        assert await change_totals(other_pool, other, group_of(other)) == await change_totals(
            pool, settings, group_of(settings)
        )
    finally:
        await other_pool.close()


async def test_corrections_give_the_state_as_if_the_wrong_events_were_never_sent(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    stream = generate(80, seed=33)
    corrections = [e for e in stream.events if e["type"] == "correctie"]
    assert {e["data"]["action"] for e in corrections} == {"intrekken", "vervangen"}
    clean = run(stream.ordered("clean"))
    # Every correctie is consumed before its target arrives: each is a finding (unknown target) until then.
    rest = sorted((e for e in stream.events if e["type"] != "correctie"), key=lambda e: e["occurred_at"], reverse=True)
    async with registries(settings):
        await produce(settings, corrections)
        await wait_processed(pool, group_of(settings), len(corrections))
        unknown = await pool.fetchval(
            "SELECT count(*) FROM registry.findings WHERE kind = 'correctie_onbekend_doel' AND resolved_at IS NULL"
        )
        assert unknown == len(corrections)
        await produce(settings, rest)
        await wait_processed(pool, group_of(settings), uids(stream.events))
    d = await dump(pool)
    assert episodes(d) == expected(clean)
    assert d["findings"] == clean.findings()
    assert await change_totals(pool, settings, group_of(settings)) == state_totals(d)
    resolved = await pool.fetchval(
        "SELECT count(*) FROM registry.findings WHERE kind = 'correctie_onbekend_doel' AND resolved_at IS NOT NULL"
    )
    assert resolved == len(corrections)


async def test_two_instances_produce_the_state_of_one(settings: Settings, pool: asyncpg.Pool) -> None:
    stream = generate(80, seed=45)
    events = stream.ordered()
    random.Random(9).shuffle(events)
    reference = run(stream.ordered())
    async with registries(settings, instances=2):
        for i in range(0, len(events), 150):  # arrives over time, while both instances consume
            await produce(settings, events[i : i + 150])
        await wait_processed(pool, group_of(settings), uids(events), 120)
    d = await dump(pool)
    assert episodes(d) == expected(reference)
    assert d["findings"] == reference.findings()
    assert await change_totals(pool, settings, group_of(settings)) == state_totals(d)


async def test_findings_are_visible_to_the_operator_and_as_a_metric(settings: Settings, pool: asyncpg.Pool) -> None:
    child = {"pseudonym": pseudonym(1), "birth_date": "2010-01-01", "gemeente": "GM0268"}
    target = {
        "id": "p-1",
        "type": "plaatsing",
        "schema_version": 1,
        "occurred_at": at(date(2025, 3, 1)),
        "sender": PROVIDERS[0],
        "child": child,
        "data": {
            "plaatsing_id": "p1",
            "status": "gestart",
            "vorm": "gezinshuis",
            "provider": PROVIDERS[0],
            "start": "2025-03-01",
        },
    }
    correctie = {
        "id": "c-1",
        "type": "correctie",
        "schema_version": 1,
        "occurred_at": "2025-03-05T10:00:00+01:00",
        "sender": PROVIDERS[0],
        "child": child,
        "data": {"target_id": "p-1", "action": "intrekken"},
    }
    token = settings.operator_token.get_secret_value()  # type: ignore[union-attr]
    auth = {"authorization": f"Bearer {token}"}
    async with registries(settings) as (client,):
        await produce(settings, [correctie])
        # poison on a typed topic: dead-lettered, not fatal
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        await producer.start()
        await producer.send_and_wait(settings.topic("plaatsing"), b"{not json")
        await producer.stop()
        await wait_processed(pool, group_of(settings), 1)

        assert (await client.get("/v1/findings")).status_code == 401
        assert (await client.get("/v1/findings", headers={"authorization": "Bearer wrong"})).status_code == 401
        body = (await client.get("/v1/findings", headers=auth, params={"kind": "correctie_onbekend_doel"})).json()
        assert [(f["kind"], f["subject"], f["instelling"]) for f in body["findings"]] == [
            ("correctie_onbekend_doel", f"{PROVIDERS[0]}/c-1", PROVIDERS[0])
        ]
        assert (await client.get("/v1/findings", headers=auth, params={"kind": "plaatsing_overlap"})).json()[
            "findings"
        ] == []

        async def metric(value: str) -> bool:
            text = (await client.get("/metrics")).text
            return f'jeugdstroom_registry_findings_open{{kind="correctie_onbekend_doel"}} {value}' in text

        await wait_until(lambda: metric("1.0"), 30, what="findings gauge at 1")
        counted = (await client.get("/metrics")).text
        assert 'jeugdstroom_registry_findings_total{kind="correctie_onbekend_doel"}' in counted

        # The target arrives: it is withdrawn already (no plaatsing), and the finding is resolved.
        await produce(settings, [target])
        await wait_processed(pool, group_of(settings), 2)
        assert await pool.fetchval("SELECT count(*) FROM registry.plaatsingen") == 0
        assert (await client.get("/v1/findings", headers=auth)).json()["findings"] == []
        resolved = (await client.get("/v1/findings", headers=auth, params={"status": "resolved"})).json()["findings"]
        assert [f["kind"] for f in resolved] == ["correctie_onbekend_doel"] and resolved[0]["resolved_at"]
        await wait_until(lambda: metric("0.0"), 30, what="findings gauge back to 0")

        async def deadlettered() -> int:
            return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", settings.topic(DEADLETTER)))

        await wait_until(deadlettered, 30, what="poison dead-lettered")
        assert (await client.get("/readyz")).status_code == 200
