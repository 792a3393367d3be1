"""One hop of the pipeline's latency: an outbox row's commit → its record received by a consumer, through the
service's own ``OutboxRelay`` (its defaults), on the embedded broker and a durable embedded PostgreSQL:
``.venv/bin/python -m bench.relay_latency [--rows N]``; prints p50, p90 and max in milliseconds.

Rows are committed one at a time, 50–128 ms apart (as a registry batch or an intake request commits while traffic
is light), so each finds the relay idle. Every accepted event passes two relays on its way to the indicators (intake's
and the registry's), so this is paid twice in the freshness of ``python -m bench --only freshness``; unlike that
run's percentiles, it hardly depends on the machine's other load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from aiokafka import AIOKafkaConsumer

from bench.infra import Infra, load
from jeugdstroom.common import db, outbox
from jeugdstroom.common.kafka import DEADLETTER, make_producer


async def measure(rows: int) -> list[float]:
    infra = Infra.start(durable=True)
    try:
        settings = await infra.fresh()
        topic = settings.topic(DEADLETTER)  # any topic of the settings' prefix
        pool = await db.create_pool(settings.database_url)
        producer = make_producer(settings)
        await producer.start()
        relay = asyncio.create_task(outbox.OutboxRelay(pool, "latency", producer, "bench").run())
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap_servers,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        )
        await consumer.start()
        committed: dict[bytes, float] = {}
        latencies: list[float] = []

        async def receive() -> None:
            while len(latencies) < rows:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    now = time.perf_counter()
                    latencies.extend(now - committed[r.value] for r in records if r.value is not None)

        receiving = asyncio.create_task(receive())
        try:
            await asyncio.sleep(2.0)  # the relay's first pass, the consumer's assignment
            for i in range(rows):
                value = str(i).encode()
                async with pool.acquire() as conn:
                    async with conn.transaction():
                        await outbox.write(conn, "latency", [outbox.OutRow(topic, b"k", value)])
                    committed[value] = time.perf_counter()  # (before the connection's release: the relay is quicker)
                await asyncio.sleep(0.05 + (i % 7) * 0.013)
            await asyncio.wait_for(receiving, 60)
        finally:
            for task in (relay, receiving):
                task.cancel()
            await asyncio.gather(relay, receiving, return_exceptions=True)
            await consumer.stop()
            await producer.stop()
            await pool.close()
        return latencies
    finally:
        infra.stop()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.relay_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100, help="rows committed one at a time (default 100)")
    args = p.parse_args()
    print(f"load before: {load()}", flush=True)
    ms = sorted(x * 1000 for x in asyncio.run(measure(args.rows)))
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    print(
        f"commit → received, {len(ms)} rows: p50 {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, "
        f"max {ms[-1]:.1f} ms (load after: {load()})"
    )


if __name__ == "__main__":
    main()
