"""registry's consumer wiring: decode published events, project the touched children, emit changes.

One batch, inside the consumer loop's transaction:

0. claim the batch's events (``claim``): insert each fact and correctie under its event uid with ``ON CONFLICT DO
   NOTHING RETURNING`` — the insert is the dedupe (no ``processed_events`` row), and only new events go on;
1. take the watermark row lock and raise the watermark to the batch's latest event day;
2. lock every touched child and event (``pg_advisory_xact_lock``, sorted): the children of the batch's events,
   of the events they correct or that correct them, and the children whose 18th birthday the watermark passed;
3. (the new facts and corrections were stored by the claim);
4. load each touched child's facts and stored state, project its new state (pure, ``handlers.care_path``);
5. write the differences and emit one change per changed entity (before → after) through the outbox, each with its
   entity's latest version on the compacted entity topic (contracts/entities.py), in the same transaction.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from datetime import date

import orjson
from prometheus_client import Counter
from pydantic import AwareDatetime, TypeAdapter
from pydantic_core import SchemaSerializer

from jeugdstroom.common import collector, outbox, tracing
from jeugdstroom.common.consumer import Decoded, Poison, ProcessorBase
from jeugdstroom.common.contracts import event_uid, parse_published
from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.common.contracts.events import json_value
from jeugdstroom.common.contracts.unions import AnyPublished
from jeugdstroom.common.contracts.validation import ContractError
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import (
    BACKLOG_HEADER,
    REGISTRY_CHANGES,
    REGISTRY_ENTITIES,
    InRecord,
    cloudevent_headers,
)
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import entities
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry.handlers import care_path
from jeugdstroom.registry.handlers.derived import watermark_of
from jeugdstroom.registry.handlers.facts import local_day

GROUP = "registry"
#: Typed topics the registry consumes, and entity → change contract (both from the entity table).
TOPICS: tuple[str, ...] = entities.TOPICS
CHANGE_TYPES = entities.CHANGE_TYPES

#: Findings recorded (opened, or reopened after being resolved), by bounded kind; counted once committed.
FINDINGS = Counter("jeugdstroom_registry_findings", "Data-quality findings recorded by the registry, by kind", ["kind"])
#: Registry changes emitted, by entity; counted once committed.
CHANGES = Counter("jeugdstroom_registry_changes", "Registry changes written to the outbox, by entity", ["entity"])


def decode_event(record: InRecord) -> tuple[str, AnyPublished]:
    """(event uid, published event) of a typed-topic record; raises Poison."""
    if record.value is None:
        raise Poison("empty", "record has no value")
    try:
        event = parse_published(record.value)
    except ContractError as err:
        fields = {e.field for e in err.errors}
        reason_class = "unknown_schema_version" if "schema_version" in fields else "contract"
        raise Poison(reason_class, str(err)) from None
    return event_uid(event.sender, event.id), event


def event_targets(items: Sequence[Decoded[AnyPublished]]) -> dict[str, str]:
    """The event uid each item of a batch is about, by its event id: a fact's own, a correctie's target."""
    return {
        d.event_id: (d.event_id if d.item.type != "correctie" else event_uid(d.item.sender, d.item.data.target_id))
        for d in items
    }


def latest_day(items: Sequence[Decoded[AnyPublished]]) -> date:
    """The local day of the batch's latest event (the local day never decreases with the instant: one conversion,
    not one per event)."""
    return local_day(max(d.item.occurred_at for d in items))


def _causes(
    items: Sequence[Decoded[AnyPublished]],
    own: dict[str, set[str]],
    related: Sequence[tuple[str, str]],
    uid_of: dict[str, str],
) -> dict[str, Decoded[AnyPublished]]:
    """Per child: the batch's last item that concerns it (its own event, or an event about an event uid that
    ``related`` links to the child), which the child's changes name as their cause."""
    by_uid: dict[str, set[str]] = {}
    for uid, p in related:
        by_uid.setdefault(uid, set()).add(p)
    cause: dict[str, Decoded[AnyPublished]] = {}
    for d in items:
        for p in own[d.event_id] | by_uid.get(uid_of[d.event_id], set()):
            cause[p] = d
    return cause


class RegistryProcessor(ProcessorBase[AnyPublished]):
    def __init__(self, settings: Settings, group: str = GROUP) -> None:
        self.settings = settings
        self.group = group  # consumer group, processed-event log and outbox producer name
        self._pending: list[tuple[Counter, str, int]] = []  # metric increments of the transaction in progress
        self._trace: list[tuple[str, bytes]] = []  # the batch span's context, for the records it writes
        self._backlog: list[tuple[str, bytes]] = []  # BACKLOG_HEADER while records wait behind the batch
        # the items the transaction in progress stored in ``claim``, by event id; held (not their id()) so that an
        # item of a later batch can never be taken for one of them
        self._claimed: dict[str, Decoded[AnyPublished]] = {}

    def decode(self, record: InRecord) -> tuple[str, AnyPublished]:
        return decode_event(record)

    def starting(self, more: bool) -> None:
        """A batch starts: its changes carry :data:`BACKLOG_HEADER` while events wait behind it (the monitor then
        paces its indicator-topic publication as during a replay: publication/loop.py)."""
        self._backlog = [(BACKLOG_HEADER, b"1")] if more else []

    def committed(self) -> None:
        """Called by the consumer loop once the batch's transaction committed: count what it recorded."""
        for metric, label, n in self._pending:
            metric.labels(label).inc(n)
        self._pending = []

    async def claim(self, conn: Conn, items: Sequence[Decoded[AnyPublished]]) -> list[Decoded[AnyPublished]]:
        """Store the facts and corrections of ``items`` (distinct uids); returns the items stored now (the others
        were processed before). The consumer loop calls this instead of its ``processed_events`` dedupe."""
        new = await repo.add_facts(conn, [(d.event_id, d.item) for d in items if d.item.type != "correctie"])
        new |= await repo.add_corrections(
            conn, [(d.event_id, json_value(d.item)) for d in items if d.item.type == "correctie"]
        )
        fresh = [d for d in items if d.event_id in new]
        self._claimed = {d.event_id: d for d in fresh}
        return fresh

    async def apply(self, conn: Conn, items: Sequence[Decoded[AnyPublished]]) -> None:
        """Traced as ``registry.batch``, linked to every input record's context; the changes carry its context."""
        links = tracing.links(d.record.headers for d in items)
        with tracing.span("registry.batch", tracing.SpanKind.CONSUMER, links, attributes={"jeugdstroom.events": len(items)}):
            self._trace = tracing.headers()
            with collector.paused():
                await self._apply(conn, items)

    async def _apply(self, conn: Conn, items: Sequence[Decoded[AnyPublished]]) -> None:
        self._pending = []  # a previous attempt that did not commit counts nothing
        claimed, self._claimed = self._claimed, {}
        facts = [(d.event_id, d.item) for d in items if d.item.type != "correctie" and claimed.get(d.event_id) is not d]
        corrections = [
            (d.event_id, json_value(d.item)) for d in items if d.item.type == "correctie" and claimed.get(d.event_id) is not d
        ]
        uid_of = event_targets(items)
        uids = sorted(set(uid_of.values()))

        # 1. the watermark (row lock first: every batch takes it before any child lock)
        max_day = await repo.advance_watermark(conn, latest_day(items))
        watermark = watermark_of(max_day, self.settings.watermark_grace_days)
        # 2. locks on every child and event concerned
        own = {d.event_id: _own_children(d.item) for d in items}
        related = await repo.related_children(conn, uids)
        due = await repo.due_children(conn, watermark)
        locked = {p for ps in own.values() for p in ps} | {p for _, p in related} | due
        await repo.lock(conn, [f"child:{p}" for p in locked] + [f"event:{u}" for u in uids])
        # 3. the new facts (those the claim did not store already: apply called without a claim)
        await repo.add_facts(conn, facts)
        await repo.add_corrections(conn, corrections)
        related = await repo.related_children(conn, uids)  # again: what a concurrent batch committed meanwhile
        extra = {p for _, p in related} - locked
        if extra:  # rare (a correctie that moves an event to another child): lock those too
            await repo.lock(conn, [f"child:{p}" for p in extra])
        touched = sorted(locked | extra)

        # 4. project
        originals, corrs = await repo.load_inputs(conn, touched)
        before = await repo.load_states(conn, touched)
        inputs = care_path.ChildInputs(originals, corrs)
        diffs = [
            care_path.diff(before[p], care_path.project(p, *inputs.of(p), watermark, self.settings.continuering_dagen))
            for p in touched
        ]
        diffs = [d for d in diffs if not d.empty]
        encoded = repo.EpisodeJson()  # each episode serialised once: the same bytes go to its row and its change
        await repo.save(conn, diffs, encoded)

        # 5. changes: each caused by the last event of the batch that concerns the child
        await outbox.write(conn, self.group, self.change_rows(items, diffs, own, related, uid_of, encoded))
        found = collections.Counter(f.kind for d in diffs for f in d.opened)
        changed = collections.Counter(ch.entity for d in diffs for ch in d.changes)
        self._pending = [(FINDINGS, k, n) for k, n in found.items()] + [(CHANGES, e, n) for e, n in changed.items()]

    def change_rows(
        self,
        items: Sequence[Decoded[AnyPublished]],
        diffs: Sequence[care_path.ChildDiff],
        own: dict[str, set[str]],
        related: Sequence[tuple[str, str]],
        uid_of: dict[str, str],
        encoded: repo.EpisodeJson,
    ) -> list[outbox.OutRow]:
        """The outbox rows of a batch's diffs: per entity change its entity-topic record, then the change, each
        caused by the batch's last event that concerns the child (else the batch's latest event)."""
        cause = _causes(items, own, related, uid_of)
        latest = max(items, key=lambda d: (d.item.occurred_at, d.event_id))
        topic = self.settings.topic(REGISTRY_CHANGES)
        of_cause: dict[str, tuple[bytes, str]] = {}  # per cause event: accepted_at as the contract's JSON, event time
        return [
            row
            for d in diffs
            for ch in d.changes
            for row in self._change_row(topic, cause.get(d.pseudonym, latest), d.pseudonym, ch, encoded, of_cause)
        ]

    def _change_row(
        self,
        topic: str,
        cause: Decoded[AnyPublished],
        pseudonym: str,
        ch: care_path.EntityChange,
        encoded: repo.EpisodeJson,
        of_cause: dict[str, tuple[bytes, str]],
    ) -> tuple[outbox.OutRow, outbox.OutRow]:
        """The change's entity-topic record (contracts/entities.py: the entity's latest version as a change from
        nothing, or a tombstone), then the change itself: one transaction writes both."""
        # change_id = {cause event uid}|{entity}|{entity key}; when the cause is another child's event (a correctie
        # moving an event, a watermark passing a birthday) the child is appended so that ids stay unique.
        change_id = f"{cause.event_id}|{ch.entity}|{ch.key}"
        if cause.item.child.pseudonym != pseudonym:
            change_id += f"|{pseudonym}"
        known = of_cause.get(cause.event_id)
        if known is None:
            item = cause.item
            known = of_cause[cause.event_id] = (_ACCEPTED_AT.to_json(item.accepted_at), item.occurred_at.isoformat())
        accepted_at, occurred_at = known
        before, after = ch.before, ch.after
        value = change_json(
            change_id,
            pseudonym,
            accepted_at,
            ch.entity,
            encoded(before) if before is not None else None,
            encoded(after) if after is not None else None,
        )
        headers = cloudevent_headers(change_id, f"registry.change.{ch.entity}", "/registry", occurred_at)
        headers += self._trace + self._backlog
        return entity_row(self.settings, change_id, pseudonym, accepted_at, occurred_at, ch.entity, before, after,
                          encoded), outbox.OutRow(topic, pseudonym.encode(), value, headers)


def entity_row(
    settings: Settings,
    change_id: str,
    pseudonym: str,
    accepted_at: bytes,
    occurred_at: str,
    entity: str,
    before: care_path.Episode | None,
    after: care_path.Episode | None,
    encoded: repo.EpisodeJson,
) -> outbox.OutRow:
    """The entity-topic record of a change: key :func:`entity_topic_key`, value the version ``after`` as a change from
    nothing, or a tombstone (no value) when the entity no longer exists; ``ce_id`` is the change's id."""
    version = after if after is not None else before
    assert version is not None
    value = None if after is None else change_json(change_id, pseudonym, accepted_at, entity, None, encoded(after))
    headers = cloudevent_headers(change_id, f"registry.entity.{entity}", "/registry", occurred_at)
    return outbox.OutRow(settings.topic(REGISTRY_ENTITIES), entity_topic_key(entity, version).encode(), value, headers)


#: ``ChangeBase.accepted_at`` on its own, to serialise it exactly as the change contract does (the core serializer:
#: ``TypeAdapter.dump_json`` costs more in its Python wrapper than in the serialisation).
_ACCEPTED_AT: SchemaSerializer = TypeAdapter(AwareDatetime | None).serializer


def change_json(
    change_id: str, pseudonym: str, accepted_at: bytes, entity: str, before: bytes | None, after: bytes | None
) -> bytes:
    """A registry change (the ``CHANGE_TYPES[entity]`` contract) as JSON, from its parts already serialised: the
    same bytes as ``orjson.dumps(model.model_dump(mode="json"))`` of the contract model (field order and formats;
    ``tests/unit/test_registry_changes`` compares them), without building and validating a change model per row
    (its parts are validated episodes and ids). ``before``/``after`` are the episodes' own contract JSON
    (``EpisodeJson``), ``accepted_at`` the JSON of the cause's acceptance time."""
    return orjson.dumps(
        {
            "change_id": change_id,
            "schema_version": 1,
            "pseudonym": pseudonym,
            "accepted_at": orjson.Fragment(accepted_at),
            "entity": entity,
            "before": orjson.Fragment(before) if before is not None else None,
            "after": orjson.Fragment(after) if after is not None else None,
        }
    )


def _own_children(event: AnyPublished) -> set[str]:
    """The children an event names itself: its child, and for a correctie also its replacement's child."""
    out = {event.child.pseudonym}
    if event.type == "correctie" and event.data.replacement is not None:
        out.add(event.data.replacement.child.pseudonym)
    return out
