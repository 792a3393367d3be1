"""monitor's consumer wiring: decode registry changes and fold them into the aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client import Histogram
from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common.consumer import Decoded, Poison
from jeugdstroom.common.contracts.changes import AnyChange, RegistryChange, SeparatieChange
from jeugdstroom.common.contracts.validation import field_errors
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.monitor import fold
from jeugdstroom.monitor import repository as repo

GROUP = "monitor"
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)

FRESHNESS = Histogram(
    "jeugdstroom_monitor_freshness_seconds",
    "Seconds from an event's acceptance by intake to its effect on the indicators",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)


class MonitorProcessor:
    def decode(self, record: InRecord) -> tuple[str, AnyChange]:
        if record.value is None:
            raise Poison("empty", "record has no value")
        try:
            change = _CHANGE.validate_json(record.value)
        except ValidationError as exc:
            raise Poison("contract", "; ".join(f"{e.field}: {e.reason}" for e in field_errors(exc))) from None
        return change.change_id, change

    async def apply(self, conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
        await repo.add_counts(conn, fold.deltas(d.item for d in items if isinstance(d.item, SeparatieChange)))
        self._observe_freshness(items)

    @staticmethod
    def _observe_freshness(items: Sequence[Decoded[AnyChange]]) -> None:
        now = datetime.now(UTC)
        for d in items:
            if d.item.accepted_at is not None:
                FRESHNESS.observe(max(0.0, (now - d.item.accepted_at).total_seconds()))


