"""monitor.instelling_activity on PostgreSQL: the upsert of completeness.record folds batches exactly like the pure
``completeness.merge`` (redelivered batches, older events, several days in one batch), and the names table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jeugdstroom.common import db
from jeugdstroom.monitor import completeness as c
from tests.conftest import Infra, fresh_settings

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_record_in_postgres_equals_the_pure_merge(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    batches = [
        [("11111111", T0), ("11111111", T0 + timedelta(hours=2)), ("22222222", T0)],
        [("11111111", T0 + timedelta(days=1)), ("11111111", T0 + timedelta(days=3))],  # two new days at once
        [("11111111", T0 + timedelta(days=1))],  # redelivered: nothing new
        [("11111111", T0 - timedelta(days=2)), ("22222222", T0 + timedelta(days=7))],  # an older event; a week on
    ]
    want: dict[str, c.Activity] = {}
    conn = await db.connect(settings.database_url)
    try:
        for batch in batches:
            async with conn.transaction():
                await c.record(conn, batch)
            for k, times in c.batch_activity(batch).items():
                want[k] = c.merge(want.get(k), k, times)
        got = {a.instelling: a for a in await c.activities(conn)}
        assert got == want
        assert (got["11111111"].active_days, got["22222222"].active_days) == (3, 2)

        await c.set_name(conn, "11111111", "Instelling A")
        await c.set_name(conn, "11111111", "Instelling A (nieuw)")
        assert await c.names(conn) == {"11111111": "Instelling A (nieuw)"}
        assert await c.names(conn, ["22222222"]) == {}
    finally:
        await conn.close()
