"""Bounded storage (common/retention.py): three simulated years, time passed in (no sleeping), on the real
PostgreSQL with the three services' retention targets. Every table that grows with events stays bounded; what must
stay stays (unsent outbox rows, a child with recent events, a child with a recent correctie); the monitor's members
of old years lose their pseudonyms while every distinct count stays exact; the removals are counted in metrics."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import asyncpg
import orjson
import pytest
from prometheus_client import REGISTRY

from jeugdstroom.common import db, retention
from jeugdstroom.intake import retention as intake_retention
from jeugdstroom.monitor import retention as monitor_retention
from jeugdstroom.registry import retention as registry_retention
from tests.conftest import Infra, fresh_settings

pytestmark = pytest.mark.integration

STEP = timedelta(days=14)
STEPS = 79  # three years and a bit
PER_STEP = 6  # rows per table per step
WINDOW, FACTS, MEMBERS = 120, 365, 200  # days: dedupe window, AVG fact retention, member retention


def removed(table: str) -> float:
    return REGISTRY.get_sample_value("jeugdstroom_retention_removed_rows_total", {"table": table}) or 0.0


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = ["outbox", "processed_events", "intake.accepted_events", *intake_retention.IJW_STATE, "registry.facts",
              "registry.corrections",
              "registry.children", "registry.child_gemeenten", "registry.findings", "registry.separatie_episodes",
              "monitor.members"]
    out = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    # a child is forgotten as a whole: the one that stays active keeps all its facts (one per step), the rest is bounded
    for t in ("registry.facts", "registry.child_gemeenten"):
        out[t] -= await conn.fetchval(f"SELECT count(*) FROM {t} WHERE pseudonym = 'active'")
    return out


def fact(uid: str, pseudonym: str, at: datetime) -> tuple[str, str, str, datetime, str]:
    event = {"id": uid, "type": "separatie", "child": {"pseudonym": pseudonym}, "accepted_at": at.isoformat()}
    return uid, pseudonym, "separatie", at - timedelta(days=3), orjson.dumps(event).decode()


async def one_step(conn: asyncpg.Connection, i: int, now: datetime) -> None:
    """What the services write in two weeks (a small sample): sent outbox rows, processed ids, accepted events,
    facts of new children (and of one child that stays active), members of distinct counts."""
    for service in ("intake", "registry", "monitor"):
        await conn.executemany(
            "INSERT INTO outbox (producer, topic, key, value, created_at, sent_at) VALUES ($1, 't', NULL, 'v', $2, $2)",
            [(service, now)] * PER_STEP)
    for consumer in ("intake-inbox", "registry", "monitor"):
        await conn.executemany("INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)",
                               [(consumer, f"{consumer}-{i}-{k}", now) for k in range(PER_STEP)])
    await conn.executemany(
        "INSERT INTO intake.accepted_events (sender, event_id, type, content_hash, accepted_at)"
        " VALUES ('12345678', $1, 'separatie', 'h', $2)", [(f"e{i}-{k}", now) for k in range(PER_STEP)])
    for k in range(PER_STEP):  # the iJw adapter's state of the messages of these two weeks
        await conn.execute(
            "INSERT INTO intake.ijw_records (sender, record_key, event_id, active, versions, updated_at)"
            " VALUES ('12345678', $1, $1, true, 1, $2)", f"jw305:{i}-{k}", now)
        await conn.execute(
            "INSERT INTO intake.ijw_deliveries (sender, message_key, record_key, status, record_hash, event_id, type,"
            " occurred_at, data, updated_at) VALUES ('12345678', $1, 'r', '1', 'h', 'e', 'plaatsing', 'x', '{}', $2)",
            f"m{i}-{k}", now)
        await conn.execute("INSERT INTO intake.ijw_aanvragen (agb, referentie, aanmelding_id, updated_at)"
                           " VALUES ('12345678', $1, 'a', $2)", f"r{i}-{k}", now)
        await conn.execute("INSERT INTO intake.ijw_toewijzingen (gemeente, agb, nummer, decided_at, updated_at)"
                           " VALUES ('0268', '12345678', $1, $2, $2)", f"t{i}-{k}", now)
    kids = [f"p{i}-{k}" for k in range(PER_STEP)] + ["active"]
    await conn.executemany(
        "INSERT INTO registry.children (pseudonym, birth_date, gemeente) VALUES ($1, '2012-01-01', 'GM0268')"
        " ON CONFLICT DO NOTHING", [(p,) for p in kids])
    await conn.executemany(
        "INSERT INTO registry.facts (event_uid, pseudonym, type, occurred_at, event) VALUES ($1, $2, $3, $4, $5::jsonb)",
        [fact(f"12345678/f{i}-{p}", p, now) for p in kids])
    await conn.executemany(
        "INSERT INTO registry.child_gemeenten (pseudonym, valid_from, gemeente) VALUES ($1, $2, 'GM0268')"
        " ON CONFLICT DO NOTHING", [(p, now.date()) for p in kids])
    await conn.executemany(
        "INSERT INTO registry.findings (pseudonym, kind, subject, reason) VALUES ($1, 'k', $2, 'r')",
        [(p, f"s{i}") for p in kids[:2]])
    await conn.execute(  # an entity of the first new child: forgetting it leaves a tombstone on the entity topic
        "INSERT INTO registry.separatie_episodes (pseudonym, instelling, separatie_id, episode)"
        " VALUES ($1, '12345678', $2, $3::jsonb)", kids[0], f"s{i}",
        orjson.dumps({"pseudonym": kids[0], "instelling": "12345678", "separatie_id": f"s{i}"}).decode())
    # members: children recur within a year (a distinct count must count them once), across indicators too
    day = now.date()
    await conn.executemany(
        "INSERT INTO monitor.members (indicator, day, dims_key, dims, pseudonym, n) VALUES ($1, $2, '', '{}', $3, 1)"
        " ON CONFLICT DO NOTHING",
        [(ind, day, f"c{(i * 3 + k) % 40}") for ind in ("a", "b") for k in range(PER_STEP)])


async def distinct_counts(conn: asyncpg.Connection) -> dict[tuple[str, str, int], int]:
    """Distinct children per indicator × month and × year, the way the monitor counts members."""
    out: dict[tuple[str, str, int], int] = {}
    for r in await conn.fetch(
        "SELECT indicator, date_trunc('month', day)::date AS m, count(DISTINCT pseudonym) AS n FROM monitor.members"
        " GROUP BY 1, 2"):
        out[(r["indicator"], r["m"].isoformat(), 0)] = r["n"]
    for r in await conn.fetch(
        "SELECT indicator, extract(year FROM day)::int AS y, count(DISTINCT pseudonym) AS n FROM monitor.members"
        " GROUP BY 1, 2"):
        out[(r["indicator"], str(r["y"]), 1)] = r["n"]
    return out


async def test_three_years_keep_every_table_bounded_and_distinct_counts_exact(infra: Infra) -> None:
    settings = await fresh_settings(infra, dedupe_retention_days=WINDOW, fact_retention_days=FACTS,
                                    member_retention_days=MEMBERS, retention_batch=5)
    targets = [*intake_retention.targets(settings, "intake", "intake-inbox"),
               *registry_retention.targets(settings, "registry"),
               *monitor_retention.targets(settings, "monitor", "monitor")]
    before = {t: removed(t) for t in ("outbox", "processed_events", "registry.children", "registry.facts",
                                      "intake.accepted_events", "monitor.members")}
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)  # the test's own statements
    service_pool = await db.create_pool(settings.database_url, min_size=1, max_size=2)  # the services' codecs
    history: list[dict[str, int]] = []
    try:
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO outbox (producer, topic, value, created_at) VALUES ('registry', 't', 'u', $1)",
                               start)  # never published: must stay however old
            # a child whose facts are old but whose correctie is recent stays (a correctie counts as activity)
            await conn.execute("INSERT INTO registry.children (pseudonym, birth_date, gemeente)"
                               " VALUES ('corrected', '2012-01-01', 'GM0268')")
            await conn.execute("INSERT INTO registry.facts (event_uid, pseudonym, type, occurred_at, event)"
                               " VALUES ($1, $2, $3, $4, $5::jsonb)", *fact("12345678/old", "corrected", start))
        exact = {}
        expected_tombstones = {f"separatie|p{i}-0|12345678|s{i}" for i in range(STEPS)}
        seen_tombstones: set[str] = set()
        for i in range(STEPS):
            now = start + i * STEP
            async with pool.acquire() as conn:
                await one_step(conn, i, now)
                if i % 13 == 0:  # the correctie arrives again and again, about the old fact
                    await conn.execute(
                        "INSERT INTO registry.corrections (event_uid, pseudonym, target_uid, action, occurred_at, event)"
                        " VALUES ($1, 'corrected', '12345678/old', 'verwijderd', $2, $3::jsonb)",
                        f"12345678/c{i}", now, orjson.dumps({"accepted_at": now.isoformat()}).decode())
                exact = await distinct_counts(conn)  # before this step's purge: what the counts are
            await retention.purge(service_pool, targets, now, settings.retention_batch)
            async with pool.acquire() as conn:
                tombstones = await conn.fetch(
                    "UPDATE outbox SET sent_at = $1 WHERE sent_at IS NULL AND value IS NULL RETURNING key, topic", now)
                for t in tombstones:  # (what the relay would do: publish them)
                    assert t["topic"] == settings.topic("registry.entities")
                    assert not t["key"].decode().startswith("separatie|active|")
                    assert t["key"].decode() in expected_tombstones
                    seen_tombstones.add(t["key"].decode())
                history.append(await counts(conn))
                assert await distinct_counts(conn) == exact, f"a distinct count changed at step {i}"

        async with pool.acquire() as conn:
            end = start + (STEPS - 1) * STEP
            # what must stay
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 1
            assert await conn.fetchval("SELECT count(*) FROM registry.facts WHERE pseudonym = 'active'") == STEPS
            assert await conn.fetchval("SELECT count(*) FROM registry.facts WHERE pseudonym = 'corrected'") == 1
            # every forgotten child's entity got its tombstone; the ones not yet forgotten still have their entity
            left = {f"separatie|{r['pseudonym']}|12345678|{r['separatie_id']}" for r in await conn.fetch(
                "SELECT pseudonym, separatie_id FROM registry.separatie_episodes")}
            assert seen_tombstones and seen_tombstones | left == expected_tombstones and not seen_tombstones & left
            # what must go: nothing older than its window
            assert await conn.fetchval("SELECT min(sent_at) FROM outbox WHERE sent_at IS NOT NULL") >= end - timedelta(WINDOW)
            assert await conn.fetchval("SELECT min(processed_at) FROM processed_events") >= end - timedelta(WINDOW)
            assert await conn.fetchval("SELECT min(accepted_at) FROM intake.accepted_events") >= end - timedelta(FACTS)
            for table in intake_retention.IJW_STATE:
                assert await conn.fetchval(f"SELECT min(updated_at) FROM {table}") >= end - timedelta(FACTS), table
            oldest_fact = await conn.fetchval(
                "SELECT min((event->>'accepted_at')::timestamptz) FROM registry.facts"
                " WHERE pseudonym NOT IN ('active', 'corrected')")
            assert oldest_fact >= end - timedelta(FACTS)
            assert await conn.fetchval("SELECT count(*) FROM registry.child_gemeenten c WHERE NOT EXISTS"
                                       " (SELECT 1 FROM registry.children k WHERE k.pseudonym = c.pseudonym)") == 0
            # members of every year that ended before the member cutoff carry tokens only; their salts are gone
            boundary = date((end - timedelta(MEMBERS)).year, 1, 1)
            assert boundary.year >= 2027
            assert await conn.fetchval("SELECT count(*) FROM monitor.members WHERE day < $1"
                                       " AND pseudonym NOT LIKE 'anon:%'", boundary) == 0
            assert await conn.fetchval("SELECT count(*) FROM monitor.members WHERE day < $1", boundary) > 0
            assert await conn.fetchval("SELECT count(*) FROM monitor.members WHERE day >= $1"
                                       " AND pseudonym LIKE 'anon:%'", boundary) == 0
            assert await conn.fetchval("SELECT count(*) FROM monitor.member_salts") == 0
    finally:
        await pool.close()
        await service_pool.close()

    # bounded: each event-level table's size in the third year is no larger than in the second (a plateau at
    # about window / step × rows per step), while the rows written keep growing
    steps_per_year = STEPS // 3
    for table in ("outbox", "processed_events", "intake.accepted_events", *intake_retention.IJW_STATE, "registry.facts",
                  "registry.children", "registry.child_gemeenten", "registry.findings", "registry.separatie_episodes"):
        second = max(h[table] for h in history[steps_per_year : 2 * steps_per_year])
        third = max(h[table] for h in history[2 * steps_per_year :])
        assert third <= second, (table, second, third)
    assert max(h["outbox"] for h in history) <= (3 * PER_STEP + 1) * (WINDOW // 14 + 1) + 1
    assert max(h["registry.children"] for h in history) <= (PER_STEP * (FACTS // 14 + 1)) + 2
    # members are aggregates: they stay (anonymised), so they grow with the calendar, not with a window
    assert history[-1]["monitor.members"] > history[steps_per_year]["monitor.members"]
    # the removals are in the metrics
    growth = Counter({t: removed(t) - n for t, n in before.items()})
    assert all(growth[t] > 0 for t in before), growth
