"""The consumer loop's PostgreSQL side: the processed-event log (the dedupe) and the stored offsets.

Both are written inside a batch's transaction, together with the processor's effects, so a batch either happened
entirely (effects, ids, next offsets) or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from aiokafka import TopicPartition

from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import InRecord


class Identified(Protocol):
    @property
    def event_id(self) -> str: ...


I = TypeVar("I", bound=Identified)  # noqa: E741


def first(items: Sequence[I]) -> list[I]:
    """The first item of each event id, in batch order."""
    seen: dict[str, I] = {}
    for d in items:
        seen.setdefault(d.event_id, d)
    return list(seen.values())


async def fresh(conn: Conn, consumer: str, items: Sequence[I]) -> list[I]:
    """The items whose event id ``consumer`` has not processed before (first occurrence wins), recording their ids
    (``ON CONFLICT DO NOTHING RETURNING``: only ids returned as fresh take effect)."""
    firsts = first(items)
    if not firsts:
        return []
    rows = await conn.fetch(
        "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        [d.event_id for d in firsts],
    )
    new = {r["event_id"] for r in rows}
    return [d for d in firsts if d.event_id in new]


def next_offsets(records: Sequence[InRecord]) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition (one ``TopicPartition`` per partition, not per record:
    this runs for every batch)."""
    nxt: dict[tuple[str, int], int] = {}
    get = nxt.get
    for r in records:
        key = (r.topic, r.partition)
        offset = r.offset + 1
        if get(key, 0) < offset:
            nxt[key] = offset
    return {TopicPartition(t, p): o for (t, p), o in nxt.items()}


async def store(conn: Conn, consumer: str, records: Sequence[InRecord]) -> None:
    """Store the next offset per partition of ``records`` (monotonic: ``GREATEST``)."""
    nxt = next_offsets(records)
    await conn.execute(
        """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
           SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o)
           ON CONFLICT (consumer, topic, partition) DO UPDATE
           SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()""",
        consumer,
        [tp.topic for tp in nxt],
        [tp.partition for tp in nxt],
        list(nxt.values()),
    )


async def stored(conn: Conn, consumer: str) -> dict[TopicPartition, int]:
    """The stored next offset of every partition ``consumer`` has processed."""
    rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = $1", consumer)
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def lower(conn: Conn, consumer: str, tp: TopicPartition, offset: int) -> None:
    """Set a stored offset lower (after the broker lost the log: the only write that is not monotonic)."""
    await conn.execute(
        "UPDATE consumer_offsets SET next_offset = $4, updated_at = now()"
        " WHERE consumer = $1 AND topic = $2 AND partition = $3",
        consumer,
        tp.topic,
        tp.partition,
        offset,
    )
