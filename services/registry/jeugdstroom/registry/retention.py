"""The registry's retention targets (common/retention.py): its transport tables, and under
``fact_retention_days`` (AVG storage limitation, docs/privacy.md) every row about a child whose last accepted event
or correctie is older than that: facts, corrections, the child and every entity projected from its facts.

What the monitor counted from those entities stays (the monitor never hears of the removal: no change is emitted);
the compacted entity topic gets a tombstone per removed entity, so Kafka forgets the pseudonyms too.
A late event about a forgotten child starts from nothing: its facts alone make the child's entities, and a correctie
whose target fact was removed finds nothing to correct (docs/privacy.md).

SQL: the static statements are in ``queries.sql``; the per-table deletes are built from the table names the
catalogue lists (dynamic, here).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from jeugdstroom.common import outbox, retention
from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import REGISTRY_ENTITIES, cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.entities import ENTITIES
from jeugdstroom.registry.repository import Q

#: Children whose every fact and correctie arrived before the cutoff (arrival: the event's accepted_at).
_OLD_CHILDREN = Q.old_children

#: Every registry table with a child (entities added by later migrations included), found in the catalogue.
_CHILD_TABLES = Q.child_tables


#: Entity table → entity name: a removed entity gets a tombstone on the compacted entity topic.
_ENTITY_OF_TABLE = {e.table: e.name for e in ENTITIES.values()}


def forgetting(settings: Settings, producer: str) -> retention.Step:
    """The step that removes up to ``batch`` children past the cutoff with everything about them (returns how many
    children) and writes, in the same transaction, a tombstone for each of their entities on the entity topic, so
    compaction removes their pseudonyms from Kafka too."""
    topic = settings.topic(REGISTRY_ENTITIES)

    async def step(conn: Conn, cutoff: datetime, batch: int) -> int:
        kids = [r["pseudonym"] for r in await conn.fetch(_OLD_CHILDREN, cutoff, batch)]
        if not kids:
            return 0
        now = datetime.now(UTC).isoformat()
        tombstones: list[outbox.OutRow] = []
        for r in await conn.fetch(_CHILD_TABLES):
            table = f"registry.{r['table_name']}"
            where = "pseudonym = ANY($1::text[])"
            if table == "registry.corrections":
                where += " OR replacement_pseudonym = ANY($1::text[])"
            entity = _ENTITY_OF_TABLE.get(table)
            if entity is None:
                status: str = await conn.execute(f"DELETE FROM {table} WHERE {where}", kids)
                n = int(status.split()[-1])
            else:
                gone = await conn.fetch(f"DELETE FROM {table} WHERE {where} RETURNING episode", kids)
                n = len(gone)
                for g in gone:
                    key = entity_topic_key(entity, orjson.loads(g["episode"]) if isinstance(g["episode"], str)
                                           else g["episode"])
                    headers = cloudevent_headers(f"forget:{key}", f"registry.entity.{entity}", "/registry", now)
                    tombstones.append(outbox.OutRow(topic, key.encode(), None, headers))
            if n:
                retention.REMOVED.labels(table).inc(n)
        await conn.execute(Q.forget_children, kids)
        await outbox.write(conn, producer, tombstones)
        return len(kids)

    return step


def targets(settings: Settings, group: str) -> list[retention.Target]:
    out = retention.transport_targets(settings, [group], [group])
    if settings.fact_retention_days is not None:
        keep = timedelta(days=settings.fact_retention_days)
        out.append(retention.Target("registry.children", keep, forgetting(settings, group)))
    return out
