"""JSON batches on the real database: an answer per item, the outbox holding exactly the accepted events (in
submission order, without a BSN), and the per-event metrics counted once per event (they are added up per batch)."""

from __future__ import annotations

import copy
import gc
from collections import Counter
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from jeugdstroom.intake.examples import EXAMPLES
from tests.factories import SENDER, bsn, separatie
from tests.support import register_sender, running_app

pytestmark = pytest.mark.integration
EVENTS_TYPES = tuple(EXAMPLES)
CONFLICT_ERROR = [{"field": "id", "reason": "was accepted before with different content"}]


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _events(kind: str, outcome: str) -> float:
    return _count("jeugdstroom_intake_events_total", type=kind, outcome=outcome)


async def _outbox_ids(settings: Settings) -> list[str]:
    async with await db.create_pool(settings.database_url) as pool:
        rows = await pool.fetch("SELECT value FROM outbox WHERE producer = 'intake' ORDER BY id")
    return [orjson.loads(r["value"])["id"] for r in rows]


async def test_a_batch_answers_every_item_and_counts_every_outcome_once(settings: Settings) -> None:
    token = await register_sender(settings, SENDER)
    auth = {"authorization": f"Bearer {token}"}
    examples = [copy.deepcopy(doc) for doc in EXAMPLES.values()]
    changed = separatie("e1", "s1", seed=2, vorm="eigen_kamer_op_slot")  # same id as the next, other content
    first: list[Any] = [*examples, separatie("e1", "s1", seed=2), changed, separatie("e1", "s1", seed=2)]
    before = {(k, o): _events(k, o) for k in EVENTS_TYPES for o in ("accepted", "duplicate", "conflict")}
    conflicts_before = _count("jeugdstroom_intake_rejected_total", type="separatie", reason_class="conflict")
    async with running_app(create_app(settings, inbox=False)) as client:
        one = await client.post("/v1/events", json=first, headers=auth)
        # the same batch again, with one event changed
        again = [*examples[:-1], {**examples[-1], "occurred_at": "2026-05-02T09:00:00+02:00"}]
        two = await client.post("/v1/events", json=again, headers=auth)
    assert one.status_code == 202, one.text
    assert one.headers["content-type"] == "application/json"
    assert one.json()["results"] == [
        *({"status": "accepted", "id": doc["id"]} for doc in examples),
        {"status": "accepted", "id": "e1"},
        {"status": "conflict", "id": "e1", "errors": CONFLICT_ERROR},  # first occurrence in the batch wins
        {"status": "duplicate", "id": "e1"},
    ]
    assert one.json()["summary"] == {"accepted": len(examples) + 1, "duplicate": 1, "conflict": 1, "rejected": 0, "forbidden": 0}
    assert two.status_code == 202
    assert two.json()["results"] == [
        *({"status": "duplicate", "id": doc["id"]} for doc in examples[:-1]),
        {"status": "conflict", "id": examples[-1]["id"], "errors": CONFLICT_ERROR},
    ]
    assert await _outbox_ids(settings) == [*(doc["id"] for doc in examples), "e1"]  # in submission order
    expected: Counter[tuple[str, str]] = Counter()
    for doc in examples:
        expected[(doc["type"], "accepted")] += 1
    expected[("separatie", "accepted")] += 1  # e1
    expected[("separatie", "conflict")] += 1  # e1 changed
    expected[("separatie", "duplicate")] += 1  # e1 again
    for doc in examples[:-1]:
        expected[(doc["type"], "duplicate")] += 1
    expected[(examples[-1]["type"], "conflict")] += 1
    assert {key: _events(*key) - n for key, n in before.items() if _events(*key) != n} == expected
    conflicts_after = _count("jeugdstroom_intake_rejected_total", type="separatie", reason_class="conflict")
    assert conflicts_after - conflicts_before == 1.0
    async with await db.create_pool(settings.database_url) as pool:
        dump = orjson.dumps([dict(r) for r in await pool.fetch("SELECT value, headers FROM outbox")], default=str)
    assert bsn(2).encode() not in dump and b"111222333" not in dump


async def test_a_batch_with_invalid_items_accepts_the_valid_ones_and_answers_each_item(settings: Settings) -> None:
    token = await register_sender(settings, SENDER)
    bad = separatie("e2", "s2", start="2026-05-01T10:00:00+02:00", end="2026-05-01T09:00:00+02:00")
    bad["child"]["bsn"] = "123456789"
    batch = [separatie("e1", "s1"), bad, "not an event", separatie("e3", "s3", sender="87654321"), separatie("e4", "s4")]
    async with running_app(create_app(settings, inbox=False)) as client:
        resp = await client.post("/v1/events", json=batch, headers={"authorization": f"Bearer {token}"})
    assert resp.status_code == 202
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "forbidden", "accepted"]
    assert results[1]["id"] == "e2"
    assert {e["field"]: e["reason"] for e in results[1]["errors"]} == {
        "child.bsn": "must be 9 digits that pass the elfproef",
        "data.end": "must not be before start",
    }
    assert results[2] == {"status": "rejected", "errors": [{"field": "type", "reason": "Input should be an object"}]}
    assert results[3] == {"status": "forbidden", "id": "e3",
                          "errors": [{"field": "sender", "reason": "does not match the token's sender"}]}
    assert "123456789" not in resp.text
    assert await _outbox_ids(settings) == ["e1", "e4"]



async def test_the_heap_at_start_is_left_out_of_garbage_collection_while_serving(settings: Settings) -> None:
    token = await register_sender(settings, SENDER)
    async with running_app(create_app(settings, inbox=False)) as client:
        frozen = gc.get_freeze_count()
        resp = await client.post("/v1/events", json=[separatie("e1", "s1")], headers={"authorization": f"Bearer {token}"})
        assert resp.json()["summary"]["accepted"] == 1
    assert frozen > 1000  # the modules, schemas and the app itself
    assert gc.get_freeze_count() == 0  # collectable again once the app has stopped
