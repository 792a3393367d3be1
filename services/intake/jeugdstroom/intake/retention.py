"""intake's retention targets (common/retention.py): its transport tables, and under ``fact_retention_days``
(docs/privacy.md, "Storage limitation") the idempotency records of events accepted before the cutoff. After that a
resent (sender, id) is accepted again; downstream it is a no-op while the registry still holds the fact (facts are
keyed by event uid) and a new event of a forgotten child once the registry has forgotten it too. The iJw adapter's
state (docs/ijw.md, "State") goes after the same time without a change: a message resent after that converts again
(and its events are accepted again, as above); a record or ToewijzingNummer last changed before the cutoff is no
longer known, so a later message about it converts as about a new one."""

from __future__ import annotations

from datetime import timedelta

from jeugdstroom.common import retention
from jeugdstroom.common.settings import Settings

#: The iJw adapter's state tables (intake migrations 0002 and 0007).
IJW_STATE = ("intake.ijw_records", "intake.ijw_deliveries", "intake.ijw_aanvragen", "intake.ijw_toewijzingen")


def targets(settings: Settings, producer: str, consumer: str) -> list[retention.Target]:
    out = retention.transport_targets(settings, [producer], [consumer])
    if settings.fact_retention_days is not None:
        keep = timedelta(days=settings.fact_retention_days)
        out.append(retention.Target("intake.accepted_events", keep,
                                    retention.deleting("intake.accepted_events", "accepted_at < $1")))
        out.extend(retention.Target(table, keep, retention.deleting(table, "updated_at < $1")) for table in IJW_STATE)
    return out
