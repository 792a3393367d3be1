"""Dead letters and indicator values are CloudEvents by the CloudEvents SDK's own Kafka binding (the records of every
topic are checked on a running system in tests/e2e/test_walking_skeleton.py; dead letters do not occur there)."""

from __future__ import annotations

import orjson
from cloudevents.core.bindings import kafka as ce_kafka

from jeugdstroom.common.consumer import deadletter_row
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.publisher import _headers


def test_a_dead_letter_is_a_cloudevent_named_by_its_origin() -> None:
    record = InRecord("jeugdstroom.separatie", 2, 41, b"k", b"{not json")
    row = deadletter_row(Settings(), record, "registry", "unparseable", "bad JSON")
    assert row.value is not None
    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(row.headers), row.key, row.value))
    assert event.get_id() == "registry/jeugdstroom.separatie/2/41"
    assert event.get_type() == "nl.jeugdstroom.deadletter" and event.get_source() == "/registry"
    assert event.get_data() == orjson.loads(row.value)
    assert dict(row.headers)["dl_origin"] == b"jeugdstroom.separatie/2/41"


def test_an_indicator_value_is_a_cloudevent_whose_id_names_cell_and_content() -> None:
    key = "separaties|month|2026-05-01|gemeente=GM0268"
    value = orjson.dumps({"indicator": "separaties", "value": 12})
    headers = _headers(key, value, "2026-06-01T10:00:00+00:00")
    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key.encode(), value))
    assert event.get_type() == "nl.jeugdstroom.indicator" and event.get_source() == "/monitor"
    assert event.get_id().startswith(key + "#")
    assert event.get_id() == dict(_headers(key, value, "2026-07-01T00:00:00+00:00"))["ce_id"].decode()  # same content
    other = orjson.dumps({"indicator": "separaties", "value": 13})
    assert dict(_headers(key, other, "2026-06-01T10:00:00+00:00"))["ce_id"].decode() != event.get_id()
