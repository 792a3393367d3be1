"""The registry's fast serialisations give exactly what the contracts give.

The processor writes changes, entity rows and facts without building a change model per row (``change_json``,
``EpisodeJson``, ``model_dump_json``); the bytes on the topic must be the ones the contract models produce
(``orjson.dumps(model.model_dump(mode="json"))``, as the registry wrote them before), and the stored facts the
contract's ``json_value``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from jeugdstroom.common.contracts import parse_published
from jeugdstroom.common.contracts.events import json_value
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.common.contracts.kinds.separatie import SeparatieEpisode
from jeugdstroom.registry.handlers import care_path
from jeugdstroom.registry.processor import _ACCEPTED_AT, CHANGE_TYPES, change_json
from jeugdstroom.registry.repository import EpisodeJson
from tests.unit.test_registry_stream import generate, run

ACCEPTED = (
    None,
    datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2025, 7, 1, 8, 30, 5, 1000, tzinfo=timezone(timedelta(hours=2))),
)


def contract_bytes(entity: str, change_id: str, pseudonym: str, accepted_at: datetime | None, ch: Any) -> bytes:
    """A change as the contract model serialises it (what the registry published before ``change_json``)."""
    model = CHANGE_TYPES[entity](
        change_id=change_id, pseudonym=pseudonym, accepted_at=accepted_at, before=ch.before, after=ch.after
    )
    return orjson.dumps(model.model_dump(mode="json"))


def fast_bytes(entity: str, change_id: str, pseudonym: str, accepted_at: datetime | None, ch: Any) -> bytes:
    encoded = EpisodeJson()
    return change_json(
        change_id,
        pseudonym,
        _ACCEPTED_AT.to_json(accepted_at),
        entity,
        encoded(ch.before) if ch.before is not None else None,
        encoded(ch.after) if ch.after is not None else None,
    )


def test_changes_of_a_generated_stream_serialise_to_the_contract_bytes() -> None:
    reg = run(generate(60, seed=5, unknown_targets=2).ordered())
    assert {ch.entity for ch in reg.changes} == set(CHANGE_TYPES)  # every entity, with and without before/after
    assert any(ch.before is None for ch in reg.changes) and any(ch.after is None for ch in reg.changes)
    for i, ch in enumerate(reg.changes):
        ep = ch.after or ch.before
        assert ep is not None
        accepted = ACCEPTED[i % len(ACCEPTED)]
        change_id = f"{ep.instelling}/ev{i}|{ch.entity}|{ch.key}"
        assert fast_bytes(ch.entity, change_id, ep.pseudonym, accepted, ch) == contract_bytes(
            ch.entity, change_id, ep.pseudonym, accepted, ch
        )


@pytest.mark.parametrize("ident", ['q"uote', "back\\slash", "slash/and|bar", "~!@#$%^&*()_+{}[]:;'<>,.?"])
def test_awkward_identifiers_escape_like_the_contract(ident: str) -> None:
    common: dict[str, Any] = {
        "instelling": "10000001",
        "pseudonym": "c" * 64,
        "gemeente": "GM0268",
        "birth_date": date(2008, 2, 29),
    }
    episodes = (
        AanmeldingEpisode(
            **common, aanmelding_id=ident, verwijzer="huisarts", zorgvorm="pleegzorg", day=date(2025, 1, 2)
        ),
        PlaatsingEpisode(
            **common, plaatsing_id=ident, provider="10000001", vorm="gezinshuis", start=date(2025, 1, 3), end=None
        ),
        SeparatieEpisode(
            **common,
            separatie_id=ident,
            vorm="separeerruimte",
            start=datetime(2025, 1, 3, 10, 0, tzinfo=timezone(timedelta(hours=1))),
            end=datetime(2025, 1, 3, 11, 0, 0, 5, tzinfo=UTC),
        ),
    )
    for ep in episodes:
        entity = type(ep).__name__.removesuffix("Episode").lower()
        for before, after in ((None, ep), (ep, None), (ep, ep)):
            ch = care_path.EntityChange(entity, f"10000001/{ident}", before, after)
            change_id = f"10000001/{ident}|{entity}|10000001/{ident}"
            for accepted in ACCEPTED:
                assert fast_bytes(entity, change_id, ep.pseudonym, accepted, ch) == contract_bytes(
                    entity, change_id, ep.pseudonym, accepted, ch
                )


def test_episode_json_is_the_contract_json_and_is_computed_once() -> None:
    reg = run(generate(30, seed=2).ordered())
    encoded = EpisodeJson()
    for ep in reg.entities().values():
        assert encoded(ep) == orjson.dumps(ep.model_dump(mode="json"))
        assert encoded(ep) is encoded(ep)


def test_stored_fact_json_is_the_json_value_of_the_event() -> None:
    for ev in generate(30, seed=4).events:
        model = parse_published(orjson.dumps(ev))
        assert orjson.loads(model.model_dump_json(exclude_none=True)) == json_value(model)


def test_changes_written_while_events_wait_carry_the_backlog_header() -> None:
    """``starting(more)`` marks the change records of a batch with records behind it (kafka.BACKLOG_HEADER, read by
    the monitor's publication pacing); the entity topic's records never carry it."""
    from types import SimpleNamespace

    from pydantic import SecretStr

    from jeugdstroom.common.kafka import BACKLOG_HEADER
    from jeugdstroom.common.settings import Settings
    from jeugdstroom.registry.processor import RegistryProcessor

    ch = run(generate(5, seed=5).ordered()).changes[0]
    ep = ch.after or ch.before
    assert ep is not None
    item = SimpleNamespace(child=SimpleNamespace(pseudonym=ep.pseudonym), accepted_at=ACCEPTED[1],
                           occurred_at=ACCEPTED[1])
    cause = SimpleNamespace(event_id="i/ev1", item=item)
    processor = RegistryProcessor(Settings(operator_token=SecretStr("x")))

    def headers(more: bool) -> tuple[dict[str, bytes], dict[str, bytes]]:
        processor.starting(more)
        entity, change = processor._change_row("changes", cause, ep.pseudonym, ch, EpisodeJson(), {})  # type: ignore[arg-type]
        return dict(entity.headers), dict(change.headers)

    entity, change = headers(True)
    assert change[BACKLOG_HEADER] == b"1" and BACKLOG_HEADER not in entity
    assert change["ce_id"] == b"i/ev1|" + f"{ch.entity}|{ch.key}".encode()
    entity, change = headers(False)
    assert BACKLOG_HEADER not in change and BACKLOG_HEADER not in entity
