"""intake's own Prometheus metrics. Labels are bounded sets (event type, outcome); never ids or codes."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from jeugdstroom.common.contracts.unions import EVENT_TYPES

EVENTS = Counter("jeugdstroom_intake_events_total", "Submitted events by outcome", ["type", "outcome"])
REJECTED = Counter("jeugdstroom_intake_rejected_total", "Events not accepted, by bounded reason class "
                   "(contract, invalid_json, too_long, forbidden, conflict, unauthorized)", ["type", "reason_class"])
LATENCY = Histogram("jeugdstroom_intake_request_seconds", "POST /v1/events latency",
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


def type_label(item: Any) -> str:
    """The event type of a (possibly invalid) item as a bounded label value."""
    t = item.get("type") if isinstance(item, dict) else None
    return t if t in EVENT_TYPES else "unknown"
