"""Per-sender activity for the silent-sender and rejection-ratio alerts: what each registered sender submitted.

Requests note the sender and time in memory (:class:`Activity`); a task writes them to ``intake.senders`` every
``ACTIVITY_SECONDS`` and sets the gauge ``jeugdstroom_intake_sender_last_event_timestamp_seconds`` of every
registered, unrevoked sender from the table (so a restart keeps a silent sender's age). Label values are sender
codes, a bounded set: only registered senders get past authentication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from prometheus_client import Counter, Gauge

from jeugdstroom.common.db import Conn
from jeugdstroom.intake import repository as repo

ACTIVITY_SECONDS: Final = 30.0
LAST_EVENT = Gauge("jeugdstroom_intake_sender_last_event_timestamp_seconds",
                   "When the sender last submitted events (its registration time when it never did)", ["sender"])
SENDER_EVENTS = Counter("jeugdstroom_intake_sender_events_total",
                        "Events submitted through POST /v1/events by registered sender and outcome",
                        ["sender", "outcome"])


@dataclass
class Activity:
    """The latest submission time per sender since the last flush."""

    seen: dict[str, datetime] = field(default_factory=dict)

    def note(self, sender: str, counts: dict[str, int]) -> None:
        if not any(counts.values()):
            return
        self.seen[sender] = datetime.now(UTC)
        for outcome, n in counts.items():
            if n:
                SENDER_EVENTS.labels(sender, outcome).inc(n)

    async def flush(self, conn: Conn) -> None:
        """Store the noted times and refresh the gauge of every registered sender."""
        seen, self.seen = self.seen, {}
        if seen:
            await repo.note_last_events(conn, seen)
        rows = await repo.last_events(conn)
        LAST_EVENT.clear()
        for code, at in rows:
            LAST_EVENT.labels(code).set(at.timestamp())
