"""The stored-offset consumer loop on the real broker and database: effectively once, poison, restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from jeugdstroom.common import db, outbox
from jeugdstroom.common.consumer import DeadLetterStorm, Decoded, Poison, ProcessorBase, StoredOffsetConsumer
from jeugdstroom.common.deadletter import DeadLetterPolicy, StormCap
from jeugdstroom.common.kafka import DEADLETTER, InRecord
from jeugdstroom.common.settings import Settings
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration
TOPIC = "separatie"  # any existing topic of the test's prefix


class Counting(ProcessorBase[dict[str, int | str]]):
    """A processor that sums ``n`` per key into a table: double application would show."""

    def decode(self, record: InRecord) -> tuple[str, dict[str, int | str]]:
        try:
            body = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            raise Poison("unparseable", "value is not JSON") from None
        if not isinstance(body, dict) or "id" not in body:
            raise Poison("contract", "id: is required")
        return str(body["id"]), body

    async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[dict[str, int | str]]]) -> None:
        await conn.executemany(
            "INSERT INTO sums (k, n) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = sums.n + EXCLUDED.n",
            [(str(d.item["k"]), int(d.item["n"])) for d in items],
        )


async def produce(settings: Settings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(settings.topic(TOPIC), v, key=str(i % 5).encode()) for i, v in enumerate(values)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def consuming(
    settings: Settings, pool: asyncpg.Pool, group: str = "test", processor: Counting | None = None,
    max_backoff: float | None = None,
) -> AsyncIterator[StoredOffsetConsumer[dict[str, int | str]]]:
    consumer: StoredOffsetConsumer[dict[str, int | str]] = StoredOffsetConsumer(
        settings, pool, group, [settings.topic(TOPIC)], processor or Counting(), "test"
    )
    if max_backoff is not None:
        consumer.max_backoff = max_backoff
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stored(pool: asyncpg.Pool, group: str = "test") -> int:
    return int(
        await pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = $1", group)
    )


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(settings.database_url)
    await p.execute("CREATE TABLE sums (k text PRIMARY KEY, n bigint NOT NULL)")
    yield p
    await p.close()


def events(start: int, count: int) -> list[bytes]:
    return [orjson.dumps({"id": f"e{i}", "k": f"k{i % 7}", "n": 1}) for i in range(start, start + count)]


async def total(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(sum(n), 0) FROM sums"))


async def test_duplicates_and_redelivery_count_once(settings: Settings, pool: asyncpg.Pool) -> None:
    values = events(0, 300)
    await produce(settings, values + values[:100] + values[50:60])  # resent events, same ids
    async with consuming(settings, pool):
        await wait_until(lambda: stored(pool), 30, what="offsets stored")
        await wait_until(lambda: _eq(stored(pool), 410), 30, what="all 410 records consumed")
    assert await total(pool) == 300
    assert await pool.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'test'") == 300


async def _eq(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_restart_resumes_from_stored_offsets_without_loss_or_double_count(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    await produce(settings, events(0, 200))
    async with consuming(settings, pool):
        await wait_until(lambda: _eq(stored(pool), 200), 30, what="first 200")
    await produce(settings, events(200, 150))
    # Forget the Kafka-side committed offsets: only PostgreSQL's stored offsets may decide where to resume.
    async with consuming(settings, pool, "test"):
        await wait_until(lambda: _eq(stored(pool), 350), 30, what="350 consumed")
    assert await total(pool) == 350


async def test_cancel_mid_batch_rolls_back_and_replays(settings: Settings, pool: asyncpg.Pool) -> None:
    """A batch whose transaction never commits leaves no trace; the records are processed on restart."""

    class Crashing(Counting):
        async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[dict[str, int | str]]]) -> None:
            await super().apply(conn, items)
            raise asyncio.CancelledError  # the process "dies" after the effects, before the commit

    await produce(settings, events(0, 100))
    crashing: StoredOffsetConsumer[dict[str, int | str]] = StoredOffsetConsumer(
        settings, pool, "test", [settings.topic(TOPIC)], Crashing(), "test"
    )
    with pytest.raises(asyncio.CancelledError):
        await crashing.run()
    assert await total(pool) == 0 and await stored(pool) == 0
    async with consuming(settings, pool):
        await wait_until(lambda: _eq(stored(pool), 100), 30, what="replayed batch")
    assert await total(pool) == 100


@pytest.mark.parametrize("moment", ["at_the_start", "while_awaited"])
async def test_a_shutdown_while_the_dedupe_statement_runs_stops_the_consumer(
    settings: Settings, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture, moment: str
) -> None:
    """A shutdown that cancels the loop while PostgreSQL still runs the batch's dedupe statement (its own task, beside
    ``prepare``) stops the loop. Were the statement left running, the transaction's rollback would meet it and asyncpg
    would raise ``InterfaceError`` ("another operation is in progress") in place of the cancellation; that error is
    transient, so the loop would retry and the shutdown would wait for it forever (seen once in CI)."""
    loop: list[asyncio.Task[None]] = []

    class Slow(Counting):
        async def claim(
            self, conn: asyncpg.Connection, items: Sequence[Decoded[dict[str, int | str]]]
        ) -> list[Decoded[dict[str, int | str]]] | None:
            if moment == "at_the_start":  # the loop is suspended where it lets this task send its statement
                loop[0].cancel()
            else:  # the loop waits for this task's answer
                asyncio.get_running_loop().call_later(0.3, loop[0].cancel)
            await conn.execute("SELECT pg_sleep(3)")
            return None

    await produce(settings, events(0, 20))
    consumer: StoredOffsetConsumer[dict[str, int | str]] = StoredOffsetConsumer(
        settings, pool, "test", [settings.topic(TOPIC)], Slow(), "test"
    )
    loop.append(asyncio.create_task(consumer.run()))
    done, _ = await asyncio.wait(loop, timeout=30)
    assert done, "the cancelled consumer kept running"
    assert loop[0].cancelled()
    assert "transient fault" not in caplog.text and "never retrieved" not in caplog.text
    assert await total(pool) == 0 and await stored(pool) == 0


async def test_poison_goes_to_deadletter_with_reason_and_origin(settings: Settings, pool: asyncpg.Pool) -> None:
    good = events(0, 40)
    await produce(settings, [*good[:20], b"\xff not json", orjson.dumps({"no": "id"}), *good[20:]])
    async with consuming(settings, pool):
        await wait_until(lambda: _eq(stored(pool), 42), 30, what="all consumed")
    assert await total(pool) == 40
    rows = await pool.fetch("SELECT value FROM outbox WHERE topic = $1", settings.topic(DEADLETTER))
    reasons = sorted(orjson.loads(r["value"])["reason_class"] for r in rows)
    assert reasons == ["contract", "unparseable"]
    dead = orjson.loads(rows[0]["value"])
    assert dead["topic"] == settings.topic(TOPIC) and isinstance(dead["offset"], int) and dead["value_b64"]
    # and the relay publishes them to the dead-letter topic
    from jeugdstroom.common.kafka import make_producer

    producer = make_producer(settings)
    await producer.start()
    try:
        await outbox.OutboxRelay(pool, "test", producer, "test").publish_once()
    finally:
        await producer.stop()
    published = await read_topic(settings, DEADLETTER)
    assert len(published) == 2


async def test_a_batch_of_mostly_poison_stops_the_loop(settings: Settings, pool: asyncpg.Pool) -> None:
    await produce(settings, [b"garbage"] * 30)
    consumer: StoredOffsetConsumer[dict[str, int | str]] = StoredOffsetConsumer(
        settings, pool, "test", [settings.topic(TOPIC)], Counting(), "test"
    )
    with pytest.raises(DeadLetterStorm):
        await asyncio.wait_for(consumer.run(), 30)
    assert not consumer.healthy
    # The cap spans fetches: however the broker splits the 30 records, the loop stops before the window of
    # the cap's min_records is past, so most of the poison is neither dead-lettered nor skipped.
    assert consumer.policy.storm == StormCap()
    assert await stored(pool) < StormCap().min_records


async def test_stored_offset_beyond_the_log_resets_to_earliest(settings: Settings, pool: asyncpg.Pool) -> None:
    """A broker that lost its data: stored offsets point past the log; replay from the start, dedupe absorbs."""
    await produce(settings, events(0, 60))
    topic = settings.topic(TOPIC)
    await pool.execute(
        "INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)"
        " SELECT 'test', $1, p, 1000000 FROM generate_series(0, $2 - 1) p",
        topic,
        settings.partitions,
    )
    async with consuming(settings, pool):
        await wait_until(total_is(pool, 60), 30, what="replayed from earliest")


def total_is(pool: asyncpg.Pool, n: int):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await total(pool) == n

    return check


async def test_two_consumers_in_one_group_split_partitions_and_count_once(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    await produce(settings, events(0, 500))
    async with consuming(settings, pool), consuming(settings, pool):
        await wait_until(lambda: _eq(stored(pool), 500), 60, what="500 consumed by the group")
        await produce(settings, events(500, 200) + events(0, 50))
        await wait_until(lambda: _eq(stored(pool), 750), 60, what="750 consumed by the group")
    assert await total(pool) == 700


async def test_a_database_outage_after_a_failed_batch_skips_no_record(settings: Settings, pool: asyncpg.Pool) -> None:
    """A batch fails with an error that does not look transient (as a connection the server dropped mid-operation
    can), then the database stays away longer than the per-record attempts: retried alone, every record is applied
    once and none is skipped or dead-lettered (the bug behind lost aanmeldingen after PostgreSQL restarts)."""

    class Outage(Counting):
        def __init__(self) -> None:
            self.calls = 0

        async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[dict[str, int | str]]]) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("not transient-looking: the batch is retried record by record")
            if self.calls <= 2 + 3 * DeadLetterPolicy().record_attempts:  # the database is away for a while
                raise ConnectionRefusedError("database away")
            await super().apply(conn, items)

    class Broken(Counting):
        async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[dict[str, int | str]]]) -> None:
            raise RuntimeError("a bug, not an outage")

    values = events(0, 30)
    await produce(settings, values)
    outage = Outage()
    # The outage is counted in failed tries, not seconds: a short backoff cap waits out the same tries (the default
    # cap, 5 s, only made this test sit 20 s in sleeps).
    async with consuming(settings, pool, processor=outage, max_backoff=0.2):
        await wait_until(lambda: _eq(stored(pool), 30), 60, what="all 30 records stored")
    assert outage.calls > 2 + 3 * DeadLetterPolicy().record_attempts
    assert await total(pool) == 30
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", settings.topic(DEADLETTER)) == 0

    # while the database answers, a record that keeps failing is still dead-lettered (not retried forever)
    await produce(settings, events(100, 1))
    async with consuming(settings, pool, processor=Broken()):
        await wait_until(lambda: _eq(stored(pool), 31), 60, what="the failing record dead-lettered and stored")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", settings.topic(DEADLETTER)) == 1


async def test_the_relay_reads_its_unsent_rows_through_their_partial_index_even_with_stale_statistics(
    pool: asyncpg.Pool,
) -> None:
    """Statistics taken while most rows were unsent (autovacuum lags a replay) made the planner walk the primary key
    over every sent row per relay call; the relay's read (the function outbox_next) must use ``outbox_unsent`` and
    still return the unsent rows in id order. Its plan is read with auto_explain (nested statements, sent to the
    client as log messages)."""
    plans: list[str] = []

    def listen(_: object, message: object) -> None:
        plans.append(str(message))

    async with pool.acquire() as conn:
        tr = conn.transaction()
        await tr.start()
        try:
            write = "INSERT INTO outbox (producer, topic, key, value) SELECT 'plan', 't', NULL, 'v' FROM generate_series(1, $1)"
            await conn.execute(write, 5000)
            await conn.execute("ANALYZE outbox")  # the statistics now say: (almost) every row unsent
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE producer = 'plan'")
            await conn.execute(write, 3)
            unsent = await conn.fetch("SELECT id FROM outbox WHERE producer = 'plan' AND sent_at IS NULL ORDER BY id")
            await conn.execute("LOAD 'auto_explain'")
            await conn.execute(
                "SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on;"
                " SET LOCAL client_min_messages = log"
            )
            conn.add_log_listener(listen)
            got = await conn.fetch(outbox.UNSENT, "plan", 2)
            after = await conn.fetch(outbox.UNSENT_AFTER, "plan", unsent[0]["id"], 2)
        finally:
            conn.remove_log_listener(listen)
            await tr.rollback()
    assert [r["id"] for r in got] == [r["id"] for r in unsent[:2]]
    assert [r["id"] for r in after] == [r["id"] for r in unsent[1:3]]  # the read after an id (outbox_next_after)
    plan = "\n".join(plans)
    assert plan.count("outbox_unsent") == 2 and "outbox_pkey" not in plan and "Sort" not in plan, plan


async def test_a_row_that_commits_after_a_higher_id_was_published_is_published_too(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """The relay reads after the highest id it has published (outbox_next_after) and only now and then from the
    start: a transaction that took its id first but committed after a later one's row was published (concurrent
    writers) must still get its row published, by the next read from the start."""
    from jeugdstroom.common.kafka import make_producer

    topic = settings.topic(DEADLETTER)
    producer = make_producer(settings)
    await producer.start()
    relay = outbox.OutboxRelay(pool, "late", producer, "test")
    relay.FULL_READ_S = 3600.0  # only the reads below from the start: none by the clock

    def row(value: bytes) -> outbox.OutRow:
        return outbox.OutRow(topic, b"k", value)

    try:
        async with pool.acquire() as slow, pool.acquire() as fast:
            tr = slow.transaction()
            await tr.start()
            await outbox.write(slow, "late", [row(b"first id")])  # its id is taken, not yet committed
            await outbox.write(fast, "late", [row(b"second id")])  # committed
            assert await relay.publish_once() == 1  # a read from the start: the second row
            await tr.commit()
        assert await relay.publish_once() == 0  # after the highest id published: the first row is below it
        relay._full_read_due = 0.0  # the next read from the start is due
        assert await relay.publish_once() == 1
        assert await relay.publish_once() == 0
    finally:
        await producer.stop()
    values = sorted(r.value for r in await read_topic(settings, DEADLETTER))
    assert values == [b"first id", b"second id"]
    assert not await pool.fetchval("SELECT count(*) FROM outbox WHERE producer = 'late' AND sent_at IS NULL")


async def test_the_outbox_relay_is_woken_by_the_commit_that_adds_its_rows(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """The relay sleeps an hour between polls here: a row written after its first (empty) pass is published only
    because its commit notifies the relay (``outbox.write`` → ``pg_notify``). Then it stops when cancelled."""
    from jeugdstroom.common.kafka import make_producer

    topic = settings.topic(DEADLETTER)
    producer = make_producer(settings)
    await producer.start()
    relay = outbox.OutboxRelay(pool, "wake-test", producer, "test", idle_sleep=3600)
    task = asyncio.create_task(relay.run())
    try:
        # its first pass found nothing (its statistics are updated after each pass); now it sleeps
        await wait_until(lambda: _true(relay._last_stats > 0), 30, what="the relay's first pass")
        async with pool.acquire() as conn, conn.transaction():
            await outbox.write(conn, "wake-test", [outbox.OutRow(topic, b"k", b"committed")])
        await wait_until(
            lambda: pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE producer = 'wake-test' AND sent_at IS NULL"),
            30,
            what="the committed row published",
        )
    finally:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=10)
        await producer.stop()
    assert done and task.cancelled()
    assert [r.value for r in await read_topic(settings, DEADLETTER)] == [b"committed"]


async def _true(value: bool) -> bool:
    return value
