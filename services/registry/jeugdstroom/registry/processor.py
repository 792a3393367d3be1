"""registry's consumer wiring: decode published events, apply them to state, emit changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from jeugdstroom.common import outbox
from jeugdstroom.common.consumer import Decoded, Poison
from jeugdstroom.common.contracts import event_uid, parse_published
from jeugdstroom.common.contracts.changes import SeparatieChange, SeparatieEpisode
from jeugdstroom.common.contracts.validation import ContractError
from jeugdstroom.common.db import Conn
from jeugdstroom.common.kafka import REGISTRY_CHANGES, InRecord, cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry.handlers import separatie

GROUP = "registry"
#: Typed topics the registry consumes today.
TOPICS = ("separatie",)


def decode_event(record: InRecord) -> tuple[str, Any]:
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


class RegistryProcessor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def decode(self, record: InRecord) -> tuple[str, Any]:
        return decode_event(record)

    async def apply(self, conn: Conn, items: Sequence[Decoded[Any]]) -> None:
        seps = [d for d in items if d.item.type == "separatie"]
        if seps:
            await self._apply_separaties(conn, seps)

    async def _apply_separaties(self, conn: Conn, items: Sequence[Decoded[Any]]) -> None:
        facts = [separatie.fact(d.item, d.event_id) for d in items]
        keys = {(f["instelling"], f["separatie_id"]) for f in facts}
        before = await repo.separatie_episodes(conn, keys)
        await repo.add_separatie_facts(conn, facts)
        all_facts = await repo.separatie_facts(conn, keys)
        after = {k: separatie.project(all_facts[k]) for k in keys}
        await repo.save_separatie_episodes(conn, after)
        last_uid: dict[repo.EpisodeKey, Decoded[Any]] = {}
        for d in items:
            last_uid[(d.item.sender, d.item.data.separatie_id)] = d
        rows = []
        for key in sorted(keys):
            old, new = before.get(key), after[key]
            if old == new:
                continue
            cause = last_uid[key]
            rows.append(self._change_row(cause, old, new))
        await outbox.write(conn, GROUP, rows)

    def _change_row(self, cause: Decoded[Any], old: SeparatieEpisode | None,
                    new: SeparatieEpisode | None) -> outbox.OutRow:
        ref = new or old
        assert ref is not None
        change = SeparatieChange(
            change_id=f"{cause.event_id}|separatie|{ref.instelling}/{ref.separatie_id}",
            pseudonym=ref.pseudonym,
            accepted_at=cause.item.accepted_at,
            before=old,
            after=new,
        )
        value = orjson.dumps(change.model_dump(mode="json"))
        headers = cloudevent_headers(change.change_id, "registry.change.separatie", "/registry",
                                     cause.item.occurred_at.isoformat())
        return outbox.OutRow(self.settings.topic(REGISTRY_CHANGES), ref.pseudonym.encode(), value, headers)
