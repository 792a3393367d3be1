"""``jeugdstroom republish entities``: seed the entity topic (``jeugdstroom.registry.entities``) with every entity the
registry holds, e.g. for entities that existed before the topic did, or after a broker lost its data.

Per chunk of children, under the same child locks as a consumer batch (so a concurrent batch of the same child
writes its rows before or after, never in between): each entity's record on the entity topic and a *no-op change*
on the changes topic (``before`` = ``after`` = the current version, change id ``republish:<run>|…``). The no-op
change adds nothing to an additive consumer; it gives the republished version an identity in the live change
stream, which is how ``jeugdstroom rebuild monitor`` knows whether the monitor has seen it (docs/monitor.md).
Rows go through the registry's outbox; a running registry's relay publishes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from jeugdstroom.common import outbox
from jeugdstroom.common.kafka import REGISTRY_CHANGES, cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry.processor import GROUP, change_json, entity_row


async def republish_entities(
    pool: asyncpg.Pool,
    settings: Settings,
    run: str,
    chunk: int = 500,
    progress: Callable[[int, int], None] | None = None,
    producer: str = GROUP,
) -> int:
    """Write every entity's entity-topic record and no-op change to the outbox; returns the number of entities.
    ``progress(children done, entities written)`` after each chunk."""
    async with pool.acquire() as conn:
        children = [r["pseudonym"] for r in await conn.fetch(repo.Q.all_children)]
    topic = settings.topic(REGISTRY_CHANGES)
    now = datetime.now(UTC).isoformat()
    written = 0
    for i in range(0, len(children), chunk):
        part = children[i : i + chunk]
        async with pool.acquire() as conn, conn.transaction():
            await repo.lock(conn, [f"child:{p}" for p in part])
            states = await repo.load_states(conn, part)
            encoded = repo.EpisodeJson()
            rows: list[outbox.OutRow] = []
            for p in part:
                for (entity, key), ep in sorted(states[p].entities.items()):
                    change_id = f"republish:{run}|{entity}|{key}|{p}"
                    rows.append(entity_row(settings, change_id, p, b"null", now, entity, ep, ep, encoded))
                    value = change_json(change_id, p, b"null", entity, encoded(ep), encoded(ep))
                    headers = cloudevent_headers(change_id, f"registry.change.{entity}", "/registry", now)
                    rows.append(outbox.OutRow(topic, p.encode(), value, headers))
            await outbox.write(conn, producer, rows)
            written += len(rows) // 2
        if progress is not None:
            progress(min(i + chunk, len(children)), written)
    return written
