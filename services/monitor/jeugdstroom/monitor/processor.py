"""monitor's consumer wiring: decode registry changes, fold them into the aggregates and publish the
indicator rows they changed, all in the consumer loop's transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from prometheus_client import Histogram
from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common.consumer import Decoded, Poison
from jeugdstroom.common.contracts.changes import AnyChange, RegistryChange
from jeugdstroom.common.contracts.validation import field_errors
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold, publisher
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.periods import today

GROUP = "monitor"
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)

FRESHNESS = Histogram(
    "jeugdstroom_monitor_freshness_seconds",
    "Seconds from an event's acceptance by intake to its effect on the indicators",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)


class MonitorProcessor:
    """Folds changes into the aggregates; publishes the indicator rows they changed (see ``finish``)."""

    #: While replaying a backlog, the indicator topic is brought up to date every PUBLISH_INTERVAL_S, or, when a
    #: publication takes longer than PUBLISH_SHARE of that, every (publication time ÷ PUBLISH_SHARE): a
    #: publication recomputes every affected row, which during a replay is most of the table.
    PUBLISH_INTERVAL_S = 2.0
    PUBLISH_SHARE = 0.2

    def __init__(self, settings: Settings, clock: Callable[[], date] = today) -> None:
        self.settings = settings
        self.clock = clock
        self._work: dict[tuple[str, str], publisher.Affected] = {}
        self._next_publish = time.monotonic()
        #: Whether deferred publication may be waiting (true at start: a previous process may have left some).
        self.deferred = True

    def decode(self, record: InRecord) -> tuple[str, AnyChange]:
        if record.value is None:
            raise Poison("empty", "record has no value")
        try:
            change = _CHANGE.validate_json(record.value)
        except ValidationError as exc:
            raise Poison("contract", "; ".join(f"{e.field}: {e.reason}" for e in field_errors(exc))) from None
        return change.change_id, change

    async def apply(self, conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
        deltas = fold.deltas((d.item for d in items), FOLDS)
        await repo.apply_deltas(conn, deltas)
        self._work = publisher.affected(deltas, self.clock())
        self._observe_freshness(items)

    async def finish(self, conn: Conn, more: bool) -> None:
        """End of a batch's transaction: publish the rows it changed — unless more records wait behind it and the
        next publication is not due yet: then defer them to a later batch (a replay publishes once per interval
        instead of once per batch). With ``more`` false everything deferred
        is published, so the topic is current whenever the monitor has caught up."""
        work, self._work = self._work, {}
        started = time.monotonic()
        if more and started < self._next_publish:
            if work:
                await publisher.defer(conn, work)
                self.deferred = True
            return
        await publisher.publish_work(conn, self.settings, work, self.clock(), pending=True)
        took = time.monotonic() - started
        self._next_publish = started + max(self.PUBLISH_INTERVAL_S, took / self.PUBLISH_SHARE)
        self.deferred = False

    @staticmethod
    def _observe_freshness(items: Sequence[Decoded[AnyChange]]) -> None:
        now = datetime.now(UTC)
        for d in items:
            if d.item.accepted_at is not None:
                FRESHNESS.observe(max(0.0, (now - d.item.accepted_at).total_seconds()))
