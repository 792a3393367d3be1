"""``python -m bench.registry_cpu [--n 100000] [--batch 2000] [--cprofile] [--relay] [--service [--profile]]``: the
registry's own CPU per event.

A fixed stream (the cached published events of ``bench.events``) is decoded with ``RegistryProcessor.decode`` and
applied with ``RegistryProcessor.apply`` in batches, each in its own transaction, against a fresh database on an
embedded PostgreSQL: no broker, no relay, no consumer loop (the events are already unique, so the loop's dedupe is
left out). Prints the Python CPU per event (``time.process_time``: this process only, not PostgreSQL), the wall
time per event, the SQL round trips per batch, and a digest of everything the registry wrote (outbox rows in order
and the state tables), so that two versions of the code can be compared for identical output. With ``--relay`` the
registry's outbox relay then publishes every outbox row to an embedded broker: its CPU per row.

With ``--service``: the registry service process alone (consumer loop, dedupe, outbox relay to the broker) on the
same events pre-loaded into its typed topics (embedded Tansu and PostgreSQL, as ``python -m bench``), until it has
stored all offsets and published every change; prints the CPU per event of the registry process, PostgreSQL and the
broker, and with ``--profile`` the registry's py-spy profile (inclusive and self). Batch boundaries depend on the
fetches, so this mode has no digests (the exactness of the service is what the integration tests check).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import pstats
import secrets
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.events import load_events
from bench.infra import tree_cpu
from jeugdstroom.common import db
from jeugdstroom.common.consumer import Decoded
from jeugdstroom.common.embedded import EmbeddedPostgres
from jeugdstroom.common.kafka import REGISTRY_CHANGES, REGISTRY_ENTITIES, InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.processor import RegistryProcessor

#: The registry's state, in a deterministic order, without the wall-clock columns (findings' opened/resolved at).
STATE_QUERIES = (
    "SELECT event_uid, pseudonym, type, occurred_at, event::text FROM registry.facts ORDER BY 1",
    "SELECT event_uid, pseudonym, target_uid, action, occurred_at, replacement_pseudonym, event::text"
    " FROM registry.corrections ORDER BY 1",
    "SELECT max_day FROM registry.watermark",
    "SELECT * FROM registry.children ORDER BY pseudonym",
    "SELECT * FROM registry.child_gemeenten ORDER BY pseudonym, valid_from",
    *(
        f"SELECT t.*, episode::text AS ep FROM registry.{table} t ORDER BY pseudonym, instelling, {ident}"
        for table, ident in (
            ("aanmeldingen", "aanmelding_id"),
            ("beschikkingen", "beschikking_id"),
            ("plaatsingen", "plaatsing_id"),
            ("separatie_episodes", "separatie_id"),
            ("achttien_facts", "plaatsing_id"),
        )
    ),
    "SELECT pseudonym, kind, subject, instelling, reason, resolved_at IS NULL AS open FROM registry.findings"
    " ORDER BY pseudonym, kind, subject",
)


@dataclass
class Result:
    events: int
    batches: int
    decode_cpu: float
    apply_cpu: float
    wall: float
    pg_cpu: float
    round_trips: int
    outbox_rows: int
    outbox_digest: str
    state_digest: str
    relay: tuple[int, float, float, float, str] | None = None  # rows, Python CPU, PostgreSQL CPU, wall (s), digest


async def digests(conn: Any) -> tuple[int, str, str]:
    """(outbox rows, digest of the outbox rows in write order, digest of the state tables)."""
    out = hashlib.sha256()
    rows = await conn.fetch("SELECT topic, key, value, headers::text AS h FROM outbox ORDER BY id")
    for r in rows:
        out.update(repr((r["topic"], r["key"], r["value"], r["h"])).encode())
    state = hashlib.sha256()
    for query in STATE_QUERIES:
        for r in await conn.fetch(query):
            state.update(repr(tuple(r.values())).encode())
    return len(rows), out.hexdigest()[:16], state.hexdigest()[:16]


def _pg_cpu(pg: EmbeddedPostgres) -> float:
    assert pg.proc is not None
    return tree_cpu(pg.proc.pid)


async def relay_all(
    pg: EmbeddedPostgres, settings: Settings, profiler: cProfile.Profile | None
) -> tuple[int, float, float, float, str]:
    """Publish every outbox row with the registry's relay (``OutboxRelay.publish_once`` until none is left) to an
    embedded broker: (rows, this process's CPU, PostgreSQL's CPU, wall seconds, digest of the published topics)."""
    from jeugdstroom.common.embedded import EmbeddedBroker
    from jeugdstroom.common.kafka import ensure_topics, make_producer
    from jeugdstroom.common.outbox import OutboxRelay
    from jeugdstroom.registry.processor import GROUP

    broker = EmbeddedBroker().start()
    try:
        settings = settings.model_copy(update={"bootstrap_servers": broker.bootstrap_servers})
        await ensure_topics(settings)
        producer = make_producer(settings)
        await producer.start()
        pool = await db.create_pool(settings.database_url, min_size=1, max_size=2)
        try:
            relay = OutboxRelay(pool, GROUP, producer, "registry", batch=settings.outbox_batch)
            rows = 0
            gc.collect()
            if profiler:
                profiler.enable()
            cpu0, wall0, pg0 = time.process_time(), time.perf_counter(), _pg_cpu(pg)
            while published := await relay.publish_once():
                rows += published
            cpu, wall, pg_cpu = time.process_time() - cpu0, time.perf_counter() - wall0, _pg_cpu(pg) - pg0
            if profiler:
                profiler.disable()
        finally:
            await pool.close()
            await producer.stop()
        topics_digest = await topic_digest(settings, [settings.topic(REGISTRY_CHANGES), settings.topic(REGISTRY_ENTITIES)])
    finally:
        broker.stop()
    return rows, cpu, pg_cpu, wall, topics_digest


async def topic_digest(settings: Settings, topics: list[str]) -> str:
    """Digest of every record of ``topics`` by topic and partition, in offset order (key, value, headers): the same
    records on the same partitions in the same order give the same digest."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from jeugdstroom.common.kafka import client_options

    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[TopicPartition, list[tuple[Any, ...]]] = {tp: [] for tp in tps}
        while any(len(out[tp]) < ends[tp] for tp in tps):
            for tp, recs in (await consumer.getmany(timeout_ms=1000, max_records=10000)).items():
                out[tp] += [(r.offset, r.key, r.value, tuple(r.headers)) for r in recs]
    finally:
        await consumer.stop()
    h = hashlib.sha256()
    for tp in tps:
        h.update(repr((tp.topic, tp.partition, out[tp])).encode())
    return h.hexdigest()[:16]


async def run(
    pg: EmbeddedPostgres, n: int, batch: int, profiler: cProfile.Profile | None, relay: bool = False
) -> Result:
    settings = Settings(
        database_url=db.with_database(pg.url("postgres"), "rc_" + uuid.uuid4().hex[:10]),
        pseudonym_key=SecretStr("bench"),
        operator_token=SecretStr("op-" + secrets.token_hex(8)),
    )
    await db.migrate(settings.database_url)
    events = load_events(n)
    processor = RegistryProcessor(settings)
    records = [
        InRecord(settings.topic(e.type), 0, offset, e.key, e.value, tuple(e.headers)) for offset, e in enumerate(events)
    ]
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=1)
    round_trips = 0
    relay_profiler, profiler = (profiler, None) if relay else (None, profiler)  # --cprofile --relay: the relay only

    def count(_record: Any) -> None:
        nonlocal round_trips
        round_trips += 1

    try:
        async with pool.acquire() as conn:
            gc.collect()
            gc.freeze()  # the cached stream is not the registry's heap: keep it out of the collector's work
            if profiler:
                profiler.enable()
            conn.add_query_logger(count)
            decode_cpu = apply_cpu = 0.0
            wall0, pg0 = time.perf_counter(), _pg_cpu(pg)
            for i in range(0, len(records), batch):
                cpu0 = time.process_time()
                decoded = []
                for r in records[i : i + batch]:
                    event_id, item = processor.decode(r)
                    decoded.append(Decoded(r, event_id, item))
                cpu1 = time.process_time()
                async with conn.transaction():
                    await processor.apply(conn, decoded)
                processor.committed()
                decode_cpu += cpu1 - cpu0
                apply_cpu += time.process_time() - cpu1
            wall, pg_cpu = time.perf_counter() - wall0, _pg_cpu(pg) - pg0
            conn.remove_query_logger(count)
            if profiler:
                profiler.disable()
            n_out, out_digest, state_digest = await digests(conn)
    finally:
        await pool.close()
    batches = (len(records) + batch - 1) // batch
    return Result(
        len(records),
        batches,
        decode_cpu,
        apply_cpu,
        wall,
        pg_cpu,
        round_trips,
        n_out,
        out_digest,
        state_digest,
        await relay_all(pg, settings, relay_profiler) if relay else None,
    )


async def service(n: int, batch: int, profile: bool, durable: bool) -> None:
    """The registry service alone on pre-loaded topics (see the module docstring)."""
    from bench import e2e, events
    from bench.infra import Infra
    from bench.profile import top

    infra = Infra.start(durable=durable)
    try:
        evs = load_events(n)
        settings = await infra.fresh(batch_max_records=batch)
        await events.produce(settings, evs)
        del evs
        prof = infra.workdir / "profile" if profile else None
        if prof:
            prof.mkdir(parents=True)
        run = await e2e.run_pipeline(settings, n, infra.workdir / "registry", ("registry",), prof, infra_pids=infra.pids)
        per = 1000 / n
        ps = run.procs["registry"]
        print(f"events {n:,}, {run.changes:,} changes; {run.rate:,.0f} events/s (first offset → all published)")
        print(f"registry CPU {ps.cpu_seconds * per:.4f} ms/event ({ps.cpu_seconds:.2f} s, peak RSS {ps.peak_rss_mb:.0f} MB)")
        for name, cpu in run.infra_cpu.items():
            print(f"{name:<12} {cpu * per:.4f} ms/event ({cpu:.2f} s)")
        print(f"statements   {run.statements_total_ms * 1000 / n:.1f} µs/event of PostgreSQL execution")
        for q, calls, rows, ms in run.statements[:8]:
            print(f"  {ms * 1000 / n:7.1f} µs/event {calls:6} calls {rows:8} rows  {q[:90]}")
        for name, path in run.profiles.items():
            print(f"py-spy {name}: function, inclusive %, self %")
            for f, inc, own in top(path, 30):
                print(f"  {inc:5.1f} {own:5.1f}  {f}")
            print(f"  (raw stacks: {path}; kept)")
    finally:
        infra.broker.stop()
        infra.postgres.remove()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.registry_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100000, help="events (a cached file of bench.events, or generated)")
    parser.add_argument("--batch", type=int, default=2000, help="records per batch (the consumer's default)")
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions by own time (with --relay: of the relay)")
    parser.add_argument(
        "--relay", action="store_true", help="then publish the outbox with the relay to an embedded broker (its CPU)"
    )
    parser.add_argument("--service", action="store_true", help="run the registry service process on a broker instead")
    parser.add_argument("--profile", action="store_true", help="with --service: sample it with py-spy")
    parser.add_argument("--durable", action="store_true", help="with --service: PostgreSQL with fsync on")
    args = parser.parse_args()
    if args.service:
        asyncio.run(service(args.n, args.batch, args.profile, args.durable))
        return
    workdir = Path(tempfile.mkdtemp(prefix="jeugdstroom-registry-cpu-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=False).start()
    profiler = cProfile.Profile() if args.cprofile else None
    try:
        res = asyncio.run(run(pg, args.n, args.batch, profiler, args.relay))
    finally:
        pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    per = 1000 / res.events
    print(f"events {res.events:,} in {res.batches} batches of up to {args.batch}")
    print(f"decode CPU   {res.decode_cpu * per:.4f} ms/event")
    print(f"apply CPU    {res.apply_cpu * per:.4f} ms/event")
    print(f"total CPU    {(res.decode_cpu + res.apply_cpu) * per:.4f} ms/event (this process)")
    print(f"PostgreSQL   {res.pg_cpu * per:.4f} ms/event (CPU of the server and its backends)")
    print(f"wall         {res.wall * per:.4f} ms/event (incl. PostgreSQL)")
    print(f"round trips  {res.round_trips / res.batches:.1f} per batch")
    print(f"outbox rows  {res.outbox_rows:,}  digest {res.outbox_digest}")
    print(f"state digest {res.state_digest}")
    if res.relay:
        rows, cpu, pg_cpu, wall, published = res.relay
        print(f"relay        {rows:,} rows: CPU {cpu * 1e6 / rows:.2f} µs/row, PostgreSQL {pg_cpu * 1e6 / rows:.2f} µs/row,"
              f" wall {wall * 1e6 / rows:.2f} µs/row ({cpu * per:.4f} ms of CPU per event)")
        print(f"published    digest {published} (the changes and entity topics, per partition in offset order)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
