"""intake's retention targets (common/retention.py): its transport tables, and under ``fact_retention_days``
(docs/privacy.md, "Storage limitation") the idempotency records of events accepted before the cutoff. After that a
resent (sender, id) is accepted again; downstream it is a no-op while the registry still holds the fact (facts are
keyed by event uid) and a new event of a forgotten child once the registry has forgotten it too."""

from __future__ import annotations

from datetime import timedelta

from jeugdstroom.common import retention
from jeugdstroom.common.settings import Settings


def targets(settings: Settings, producer: str, consumer: str) -> list[retention.Target]:
    out = retention.transport_targets(settings, [producer], [consumer])
    if settings.fact_retention_days is not None:
        keep = timedelta(days=settings.fact_retention_days)
        out.append(retention.Target("intake.accepted_events", keep,
                                    retention.deleting("intake.accepted_events", "accepted_at < $1")))
    return out
