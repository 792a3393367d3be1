"""The monitor's retention targets (common/retention.py): its transport tables, and under ``member_retention_days``
(docs/privacy.md, "Storage limitation") the pseudonyms in ``monitor.members`` of every calendar year that ended
before the cutoff, replaced by tokens: ``anon:`` + md5(a random salt of that year ‖ pseudonym). One salt per year for
every indicator, so every distinct count of a period within that year (day, month, half-year, year: periods never
cross a year boundary) stays exactly what it was; the salt is deleted once the year is done, after which a token
links to no pseudonym. Aggregates (counts, stock deltas, durations) hold no pseudonym and stay as they are.

SQL: the statements that test for the token marker are built here from :data:`ANON` (one definition of it); the
others are in ``queries.sql``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from jeugdstroom.common import retention
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings
from jeugdstroom.common.sql import load_queries

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

ANON = "anon:"


async def anonymise_members(conn: Conn, cutoff: datetime, batch: int) -> int:
    """Replace the pseudonyms of up to ``batch`` members of years that ended before ``cutoff``; returns how many."""
    boundary = date(cutoff.year, 1, 1)
    rows = await conn.fetch(
        f"""SELECT ctid, extract(year FROM day)::int AS year FROM monitor.members
            WHERE day < $1 AND left(pseudonym, {len(ANON)}) <> '{ANON}' LIMIT $2 FOR UPDATE SKIP LOCKED""",
        boundary,
        batch,
    )
    if rows:
        years = sorted({r["year"] for r in rows})
        await conn.execute(Q.add_member_salts, years)
        await conn.execute(
            f"""UPDATE monitor.members m SET pseudonym = '{ANON}' || md5(s.salt || m.pseudonym)
                FROM monitor.member_salts s
                WHERE m.ctid = ANY($1::tid[]) AND s.year = extract(year FROM m.day)::int""",
            [r["ctid"] for r in rows],
        )
    if len(rows) < batch:  # this run is through: forget the salts of the years that are done
        await conn.execute(
            f"""DELETE FROM monitor.member_salts s WHERE make_date(s.year + 1, 1, 1) <= $1 AND NOT EXISTS (
                    SELECT 1 FROM monitor.members m WHERE m.day >= make_date(s.year, 1, 1)
                    AND m.day < make_date(s.year + 1, 1, 1) AND left(m.pseudonym, {len(ANON)}) <> '{ANON}')""",
            boundary,
        )
    return len(rows)


def targets(settings: Settings, producer: str, consumer: str) -> list[retention.Target]:
    out = retention.transport_targets(settings, [producer], [consumer])
    if settings.member_retention_days is not None:
        keep = timedelta(days=settings.member_retention_days)
        out.append(retention.Target("monitor.members", keep, anonymise_members))
    return out
