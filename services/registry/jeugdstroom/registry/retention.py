"""The registry's retention targets (common/retention.py): its transport tables, and under
``fact_retention_days`` (AVG storage limitation, docs/privacy.md) every row about a child whose last accepted event
or correctie is older than that: facts, corrections, the child and every entity projected from its facts.

What the monitor counted from those entities stays (the monitor never hears of the removal: no change is emitted).
A late event about a forgotten child starts from nothing: its facts alone make the child's entities, and a correctie
whose target fact was removed finds nothing to correct (docs/privacy.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jeugdstroom.common import retention
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings

#: Children whose every fact and correctie arrived before the cutoff (arrival: the event's accepted_at).
_OLD_CHILDREN = """SELECT c.pseudonym FROM registry.children c
    WHERE NOT EXISTS (SELECT 1 FROM registry.facts f WHERE f.pseudonym = c.pseudonym
                      AND coalesce((f.event->>'accepted_at')::timestamptz, f.occurred_at) >= $1)
      AND NOT EXISTS (SELECT 1 FROM registry.corrections k
                      WHERE (k.pseudonym = c.pseudonym OR k.replacement_pseudonym = c.pseudonym)
                      AND coalesce((k.event->>'accepted_at')::timestamptz, k.occurred_at) >= $1)
    LIMIT $2 FOR UPDATE SKIP LOCKED"""

#: Every registry table with a child (entities added by later migrations included), found in the catalogue.
_CHILD_TABLES = """SELECT table_name FROM information_schema.columns
    WHERE table_schema = 'registry' AND column_name = 'pseudonym' AND table_name <> 'children'
    ORDER BY table_name"""


async def forget_children(conn: Conn, cutoff: datetime, batch: int) -> int:
    """Remove up to ``batch`` children past the cutoff with everything about them; returns how many children."""
    kids = [r["pseudonym"] for r in await conn.fetch(_OLD_CHILDREN, cutoff, batch)]
    if not kids:
        return 0
    for r in await conn.fetch(_CHILD_TABLES):
        table = r["table_name"]
        where = "pseudonym = ANY($1::text[])"
        if table == "corrections":
            where += " OR replacement_pseudonym = ANY($1::text[])"
        status: str = await conn.execute(f'DELETE FROM registry."{table}" WHERE {where}', kids)
        if n := int(status.split()[-1]):
            retention.REMOVED.labels(f"registry.{table}").inc(n)
    await conn.execute("DELETE FROM registry.children WHERE pseudonym = ANY($1::text[])", kids)
    return len(kids)


def targets(settings: Settings, group: str) -> list[retention.Target]:
    out = retention.transport_targets(settings, [group], [group])
    if settings.fact_retention_days is not None:
        out.append(retention.Target("registry.children", timedelta(days=settings.fact_retention_days), forget_children))
    return out
