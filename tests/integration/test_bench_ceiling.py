"""bench/ceiling.py measures the services' own logic with storage taken away: its in-memory registry must do the
registry's work, so the change records it builds must be the ones the registry writes to its outbox for the same
events in the same batches (facts, corrections, 18th birthdays included)."""

from __future__ import annotations

import asyncpg
from bench.ceiling import InMemoryRegistry
from bench.events import stream_events

from jeugdstroom.common.consumer import Decoded
from jeugdstroom.common.kafka import REGISTRY_CHANGES, InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.processor import RegistryProcessor, decode_event

BATCH = 250


async def test_the_in_memory_registry_builds_the_changes_the_registry_writes(
    settings: Settings, conn: asyncpg.Connection
) -> None:
    events = stream_events("rijk-van-nijmegen", 60)  # ≈ 2,900 events
    assert sum(e.type == "correctie" for e in events) > 10  # the stream exercises corrections
    records = [InRecord(e.type, 0, i, e.key, e.value, tuple(e.headers)) for i, e in enumerate(events)]
    batches = [[Decoded(r, *decode_event(r)) for r in records[i : i + BATCH]] for i in range(0, len(records), BATCH)]

    processor = RegistryProcessor(settings)
    for items in batches:
        async with conn.transaction():
            await processor.apply(conn, items)
    written = [
        bytes(r["value"])
        for r in await conn.fetch("SELECT value FROM outbox WHERE topic = $1 ORDER BY id", settings.topic(REGISTRY_CHANGES))
    ]

    memory = InMemoryRegistry(settings)
    built = [v for items in batches for v in memory.batch(items)[0]]

    assert len(written) > len(events)  # every event changes something; some change several entities
    assert built == written
