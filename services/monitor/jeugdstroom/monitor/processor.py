"""monitor's consumer wiring: decode registry changes and fold them into the aggregates in the consumer loop's
transaction; publish the indicator rows they changed from publisher processes of their own (publication/child.py).

A fold commits the aggregates, the stored offsets and the cells it may have changed (``monitor.publish_pending``)
in one transaction, so the JSON API shows a change as soon as its batch commits. The publisher then
recomputes the pending cells and sends the rows whose public value changed to the broker, then records them as
published in a transaction of its own that also deletes the pending records it covered (publication/). A crash
between the two loses nothing: the pending records are durable and the next process publishes them first. "Final"
therefore means: offsets at the end of the changes topic, nothing pending, every outbox row sent (tests/support.py
``caught_up``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from prometheus_client import Histogram
from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common import tracing
from jeugdstroom.common.consumer import Decoded, Poison, ProcessorBase
from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.common.contracts.validation import field_errors
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import BACKLOG_HEADER, InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import completeness, fold, rebuild
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.periods import today
from jeugdstroom.monitor.publication import pending
from jeugdstroom.monitor.publication.loop import PublicationLoop
from jeugdstroom.monitor.publisher import Sink

GROUP = "monitor"
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)
log = logging.getLogger(__name__)

FRESHNESS = Histogram(
    "jeugdstroom_monitor_freshness_seconds",
    "Seconds from an event's acceptance by intake to its effect on the indicators (the fold's commit)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)


def _deliveries(changes: Iterable[AnyChange]) -> Iterator[tuple[str, datetime]]:
    """(instelling, accepted_at) of each change that carries the acceptance time of the event behind it."""
    for c in changes:
        entity = c.after or c.before
        if entity is not None and c.accepted_at is not None:
            yield entity.instelling, c.accepted_at


class UpstreamBacklog:
    """Whether the registry still works through a backlog, by the changes read so far: per partition the timestamp of
    its last record and whether it carries :data:`BACKLOG_HEADER`; the newest of those decides (the registry's
    last batch of a backlog writes to a few partitions only, and a fetch returns a few partitions at a time, so
    neither a batch's own records nor each partition's last one says it alone; on a tie an unmarked record wins)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], tuple[int, bool]] = {}

    def see(self, records: Iterable[InRecord]) -> None:
        last = self.last
        for r in records:
            key = (r.topic, r.partition)
            seen = last.get(key)
            if seen is None or r.timestamp_ms >= seen[0]:
                last[key] = (r.timestamp_ms, r.header(BACKLOG_HEADER) == "1")

    @property
    def waiting(self) -> bool:
        newest = max(self.last.values(), key=lambda tf: (tf[0], not tf[1]), default=None)
        return newest is not None and newest[1]


class MonitorProcessor(ProcessorBase[AnyChange]):
    """Folds changes into the aggregates and records the cells they may have changed; :meth:`publish_forever`
    publishes those cells."""

    def __init__(self, settings: Settings, clock: Callable[[], date] = today) -> None:
        fold.configure(settings.verlengde_pleegzorg_tot)
        self.settings = settings
        self.clock = clock
        #: The publishing loop of this process; a committed fold wakes it (publication/loop.py).
        self.publication = PublicationLoop(settings, clock)
        #: Set while the last committed batch settled the backlog (cleared while one waits, here or upstream).
        self.settled = self.publication.settled
        #: Set when committed folds may have left pending cells.
        self.wake = self.publication.wake
        self._more = False
        #: Whether the registry works through a backlog, by the changes read (kafka.BACKLOG_HEADER).
        self.upstream = UpstreamBacklog()
        self._accepted: list[datetime] = []
        #: The series folded (the catalogue's; bench.fold_peer folds a subset).
        self.folds: Mapping[str, Sequence[tuple[str, fold.FoldFn]]] = FOLDS
        #: ``prepare``'s fold of the current batch: (its items, their net deltas).
        self._prepared: tuple[Sequence[Decoded[AnyChange]], dict[tuple[Any, ...], int]] | None = None

    def decode(self, record: InRecord) -> tuple[str, AnyChange]:
        if record.value is None:
            raise Poison("empty", "record has no value")
        try:
            change = _CHANGE.validate_json(record.value)
        except ValidationError as exc:
            raise Poison("contract", "; ".join(f"{e.field}: {e.reason}" for e in field_errors(exc))) from None
        return change.change_id, change

    def prepare(self, items: Sequence[Decoded[AnyChange]]) -> None:
        """Fold the whole batch while its dedupe statement runs (Processor.prepare); ``apply`` uses it when every
        item is fresh, the usual case."""
        self._prepared = (items, fold.net((d.item for d in items), self.folds))
        self.upstream.see(d.record for d in items)

    def deltas(self, items: Sequence[Decoded[AnyChange]]) -> dict[tuple[Any, ...], int]:
        """The net deltas of ``items``: ``prepare``'s fold when it folded exactly these items, else folded now."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            done, deltas = prepared
            if len(done) == len(items) and all(a is b for a, b in zip(done, items, strict=True)):
                return deltas
        return fold.net((d.item for d in items), self.folds)

    async def apply(self, conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
        """Traced as ``monitor.fold``, linked to every change record's context; its pending cells keep its context."""
        links = tracing.links(d.record.headers for d in items)
        with tracing.span("monitor.fold", tracing.SpanKind.CONSUMER, links, attributes={"jeugdstroom.changes": len(items)}):
            await self._apply(conn, items)

    async def _apply(self, conn: Conn, items: Sequence[Decoded[AnyChange]]) -> None:
        journaling = await rebuild.live_guard(conn)  # waits while a rebuild swaps its tables in
        if journaling:  # a rebuild runs: it must learn which version of each entity this batch leaves behind
            await rebuild.journal(conn, items)
        deltas = self.deltas(items)
        await repo.apply_deltas(conn, deltas)
        await pending.defer(conn, pending.affected(deltas, self.clock()))
        await completeness.record(conn, _deliveries(d.item for d in items))  # per instelling: last event, days
        self._accepted = [d.item.accepted_at for d in items if d.item.accepted_at is not None]

    async def finish(self, conn: Conn, more: bool) -> None:
        """End of a batch's transaction (Processor.finish): remember whether a backlog waits behind it."""
        self._more = more

    def committed(self) -> None:
        """The batch committed: its changes are visible; wake the publisher."""
        now = datetime.now(UTC)
        for accepted in self._accepted:
            FRESHNESS.observe(max(0.0, (now - accepted).total_seconds()))
        self._accepted = []
        if self._more or self.upstream.waiting:  # a backlog here or upstream: the replay spacing (publication/loop.py)
            self.settled.clear()
        else:
            self.settled.set()
        self.wake.set()

    async def publish_forever(self, pool: asyncpg.Pool, send: Sink) -> None:
        """The indicator-topic publisher (publication/loop.py): after committed folds, publish every pending cell
        through ``send``."""
        await self.publication.run(pool, send)
