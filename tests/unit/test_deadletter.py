"""The dead-letter policy: the storm cap's sliding window, and the redacting variant (no BSN in the clear)."""

from __future__ import annotations

import base64
import re

import orjson
import pytest

from jeugdstroom.common.contracts.deadletter import DeadLetter
from jeugdstroom.common.deadletter import DeadLetterPolicy, DeadLetterStorm, StormCap
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings

BSN = "111222333"
RECORD = InRecord("p.inbox", 1, 42, BSN.encode(), orjson.dumps({"id": "e1", "child": {"bsn": BSN}, "n": 5}),
                  (("authorization", b"Bearer js_secret"),))


def _body(policy: DeadLetterPolicy, record: InRecord = RECORD) -> DeadLetter:
    row = policy.row(Settings(), record, "intake-inbox", "processing_failed", "failed 3 times: ValueError")
    return DeadLetter.model_validate_json(row.value)


def test_the_default_policy_keeps_the_original_bytes() -> None:
    body = _body(DeadLetterPolicy())
    assert body.value_b64 is not None and base64.b64decode(body.value_b64) == RECORD.value
    assert body.key_b64 is not None and (body.topic, body.partition, body.offset) == ("p.inbox", 1, 42)


def test_the_redacting_policy_never_carries_a_bsn_in_the_clear() -> None:
    policy = DeadLetterPolicy.redacted()
    body = _body(policy)
    assert body.key_b64 is None and body.value_b64 is not None
    value = orjson.loads(base64.b64decode(body.value_b64))
    assert value == {"id": "e1", "child": {"bsn": "<redacted>"}, "n": 5}
    row = policy.row(Settings(), RECORD, "intake-inbox", "x", "y")
    assert not re.search(rb"\d{9}", row.value) and row.key is None and b"js_secret" not in row.value
    assert (body.topic, body.partition, body.offset) == ("p.inbox", 1, 42)  # the origin still points at it
    unparseable = InRecord("p.inbox", 0, 1, None, f"bsn {BSN} {{".encode())
    assert _body(policy, unparseable).value_b64 is None  # not JSON: dropped entirely


def test_the_storm_cap_spans_fetches_and_waits_for_its_minimum() -> None:
    watch = DeadLetterPolicy.storm_capped(StormCap(window=10, min_records=4, share=0.5)).watch()
    watch.observe([True, True, True])  # fewer than min_records seen: no verdict yet
    with pytest.raises(DeadLetterStorm):
        watch.observe([True])  # 4 of 4 across two fetches
    calm = DeadLetterPolicy().watch()
    for _ in range(10):
        calm.observe([True] + [False] * 9)  # a stray bad record in ten never stops the loop
    calm.observe([True] * 40)  # 40 + 6 of the last 100: still not over half
    with pytest.raises(DeadLetterStorm):
        calm.observe([True] * 10)


def test_without_a_storm_cap_poison_never_stops_the_loop() -> None:
    watch = DeadLetterPolicy.redacted().watch()
    watch.observe([True] * 1000)
    with pytest.raises(ValueError, match="record_attempts"):
        DeadLetterPolicy(record_attempts=0)
