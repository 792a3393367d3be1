"""``jeugdstroom restored``: prepare a database restored from a backup to resume (docs/operations.md).

A backup is one ``pg_dump`` of the running system: every service's state, stored offsets, processed-event ids and
outbox at one moment T. After a restore, the events accepted since T are still in Kafka (the typed topics) and the
registry re-reads them from its restored offsets; that is what makes the restore lose nothing. But
``registry.changes`` also holds the changes the registry derived from those events *before* the restore, and the
restored registry derives them again, not necessarily cut into the same changes (a batch's cut decides how versions
are combined). Read both, the monitor would count the difference twice. So, before any service starts:

* the monitor's stored offsets on ``registry.changes`` move to the end of the topic (it never reads what the lost
  timeline derived), and
* the registry's outbox rows for ``registry.changes`` that the monitor had not processed at T (their ``ce_id``, the
  change id, is not among its processed-event ids) are marked unsent, so the registry's relay publishes them again,
  in their order, before anything new.

The monitor then reads exactly the changes of the restored timeline: those it had before T (in its state), the ones
it missed (republished) and the new ones. The intake → registry edge needs nothing: events are facts with stable
ids, not derived, and the registry deduplicates them. ``--dry-run`` only counts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from jeugdstroom.common.settings import Settings

#: The consumer names (processed-event log, stored offsets) and outbox producer of the default deployment.
MONITOR, REGISTRY = "monitor", "registry"

_HEADER_ID = "(SELECT h->>1 FROM jsonb_array_elements(o.headers) h WHERE h->>0 = 'ce_id' LIMIT 1)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only count what would change")


async def topic_end(settings: Settings, topic: str, timeout: float = 30.0) -> dict[int, int]:
    """The end offset of every partition of ``topic``: the fetch high watermark (what the embedded broker's
    ListOffsets answers can be short of it; docs: README, "The embedded broker")."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from jeugdstroom.common.kafka import client_options

    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return {}
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(0, ends[tp] - 1))
        deadline = time.monotonic() + timeout
        while True:
            await consumer.getmany(timeout_ms=300)
            highs = {tp: consumer.highwater(tp) for tp in tps}
            if all([h is not None and await consumer.position(tp) >= h for tp, h in highs.items()]):
                return {tp.partition: int(highs[tp] or 0) for tp in tps}
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read the end of {topic}")
    finally:
        await consumer.stop()


async def restored(settings: Settings, dry_run: bool = False) -> dict[str, int]:
    """Move the monitor past what ``registry.changes`` holds and requeue what it had not processed; returns counts."""
    from jeugdstroom.common import db, outbox
    from jeugdstroom.common.kafka import REGISTRY_CHANGES

    topic = settings.topic(REGISTRY_CHANGES)
    ends = await topic_end(settings, topic)
    conn = await db.connect(settings.database_url)
    try:
        async with conn.transaction():
            where = f"""o.producer = $1 AND o.topic = $2 AND o.sent_at IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM processed_events p WHERE p.consumer = $3 AND p.event_id = {_HEADER_ID})"""
            requeue = await conn.fetchval(f"SELECT count(*) FROM outbox o WHERE {where}", REGISTRY, topic, MONITOR)
            if not dry_run:
                await conn.execute(f"UPDATE outbox o SET sent_at = NULL WHERE {where}", REGISTRY, topic, MONITOR)
                await conn.execute("SELECT pg_notify($1, $2)", outbox.CHANNEL, REGISTRY)  # wakes the relay at commit
                await conn.executemany(
                    """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,
                       updated_at = now()""",
                    [(MONITOR, topic, p, end) for p, end in ends.items()],
                )
    finally:
        await conn.close()
    return {"requeued registry changes": int(requeue), "monitor partitions moved to the end": len(ends)}


def cmd_restored(args: argparse.Namespace, settings: Settings) -> int:
    counts = asyncio.run(restored(settings, args.dry_run))
    for what, n in counts.items():
        print(f"{n:>9}  {what}")
    if args.dry_run:
        print("dry run: nothing changed", file=sys.stderr)
    return 0
