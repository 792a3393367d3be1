"""Per-sender activity (issue 25 item 3): what a sender submits is counted by outcome, and its last submission time is
stored in intake.senders and exported as a gauge for every registered sender (registration time when silent)."""

from __future__ import annotations

import asyncpg
from prometheus_client import REGISTRY

from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.activity import Activity
from jeugdstroom.intake.app import create_app
from tests.factories import SENDER, separatie
from tests.support import register_sender, running_app

SILENT = "87654321"


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_activity_is_counted_stored_and_exported(settings: Settings) -> None:
    token = await register_sender(settings, SENDER)
    await register_sender(settings, SILENT)
    before = sample("jeugdstroom_intake_sender_events_total", sender=SENDER, outcome="rejected") or 0.0
    bad = separatie("e2", "s2")
    bad["child"]["bsn"] = "123456789"  # fails the elfproef
    async with running_app(create_app(settings, inbox=False)) as client:
        ok = await client.post("/v1/events", json=[separatie("e1", "s1"), bad],
                               headers={"authorization": f"Bearer {token}"})
    assert ok.status_code == 202
    after = sample("jeugdstroom_intake_sender_events_total", sender=SENDER, outcome="rejected")
    assert after == before + 1

    activity = Activity()
    activity.note(SENDER, {"accepted": 1, "rejected": 0})
    noted = activity.seen[SENDER]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await activity.flush(conn)
        rows = {r["code"]: r for r in await conn.fetch("SELECT code, created_at, last_event_at FROM intake.senders")}
    finally:
        await conn.close()
    assert rows[SENDER]["last_event_at"] == noted
    assert rows[SILENT]["last_event_at"] is None
    assert sample("jeugdstroom_intake_sender_last_event_timestamp_seconds", sender=SENDER) == noted.timestamp()
    assert sample("jeugdstroom_intake_sender_last_event_timestamp_seconds",
                  sender=SILENT) == rows[SILENT]["created_at"].timestamp()
    assert activity.seen == {}
