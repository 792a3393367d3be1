"""Pure parts of ``jeugdstroom rebuild monitor`` and the entity topic: keys, the copies of the aggregate tables, and
versions turned back into changes."""

from __future__ import annotations

import re
from datetime import date

import orjson
import pytest

from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.monitor import repository
from jeugdstroom.monitor.rebuild import _as_change, _version_of_change

P = "a" * 64
EPISODE = PlaatsingEpisode(
    instelling="12345678", pseudonym=P, gemeente="GM0268", birth_date=date(2010, 1, 2), plaatsing_id="pl-1",
    provider="12345678", vorm="pleegzorg_bestand", start=date(2025, 1, 1),
)


def test_the_entity_key_is_the_same_for_a_model_and_its_json() -> None:
    key = entity_topic_key("plaatsing", EPISODE)
    assert key == f"plaatsing|{P}|12345678|pl-1"
    assert entity_topic_key("plaatsing", orjson.loads(EPISODE.model_dump_json())) == key
    # an entity kind added later: its single *_id field
    assert entity_topic_key("nieuw", {"pseudonym": P, "instelling": "1", "nieuw_id": "x"}) == f"nieuw|{P}|1|x"
    with pytest.raises(ValueError):
        entity_topic_key("nieuw", {"pseudonym": P, "instelling": "1", "a_id": "x", "b_id": "y"})


def test_the_rebuild_copies_every_table_the_fold_writes() -> None:
    written = set(re.findall(r"INSERT INTO monitor\.(\w+)", repository._UPSERT))
    assert written == set(repository.AGGREGATE_TABLES)
    shadow = repository._upsert_sql("monitor_rebuild")
    assert "monitor." not in shadow and shadow.count("monitor_rebuild.") == repository._UPSERT.count("monitor.")


def _record(episode: PlaatsingEpisode | None, change_id: str = "c1") -> bytes | None:
    if episode is None:
        return None
    return orjson.dumps({"change_id": change_id, "schema_version": 1, "pseudonym": P, "accepted_at": None,
                         "entity": "plaatsing", "before": None, "after": orjson.loads(episode.model_dump_json())})


def test_two_versions_become_the_change_between_them() -> None:
    ended = EPISODE.model_copy(update={"end": date(2025, 6, 1), "reden_einde": "volgens_plan"})
    change = _as_change("c2", _record(EPISODE), _record(ended, "c2"))
    assert change is not None and change.before == EPISODE and change.after == ended and change.change_id == "c2"
    gone = _as_change("c3", _record(EPISODE), None)
    assert gone is not None and gone.before == EPISODE and gone.after is None
    assert _as_change("c4", None, None) is None
    journaled = orjson.dumps({**orjson.loads(_record(ended, "c2") or b""), "before": orjson.loads(EPISODE.model_dump_json())})
    assert orjson.loads(_version_of_change(journaled) or b"")["before"] is None
    removed = orjson.dumps({**orjson.loads(journaled), "after": None})
    assert _version_of_change(removed) is None
