"""Subscribers other than our own code, on the real broker: confluent-kafka (librdkafka, what kcat and the Go, .NET
and many other clients wrap) and plain aiokafka, reading the topics as docs/asyncapi.yaml describes them; and
``jeugdstroom tail`` for operators.

The indicator test produces records in the shape the monitor's publisher writes (key ``indicator|period|start|dims``,
the public row as value; built in parallel with this test) instead of running the whole pipeline, so it depends
only on the topic contract; then it rebuilds the current table from the topic alone.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import Callable
from typing import Any

import jsonschema
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import Consumer, Message, Producer

from jeugdstroom.cli.main import main
from jeugdstroom.cli.tail import Filter, tail
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.contracts.asyncapi import document
from jeugdstroom.common.kafka import INBOX, INBOX_AUTH_HEADER, INDICATORS, cloudevent_headers
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from tests.factories import SENDER, bsn, separatie
from tests.support import read_topic, register_sender, running_app, wait_until

pytestmark = pytest.mark.integration

DOC = document()


def validator(message: str, part: str = "payload") -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({**DOC["components"]["messages"][message][part], "components": DOC["components"]})


def confluent_consumer(settings: Settings, group: str) -> Consumer:
    """A consumer configured as the README tells subscribers: own group, manual commits after processing."""
    return Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )


async def poll_until(consumer: Consumer, done: Callable[[list[Message]], bool], timeout: float = 60) -> list[Message]:
    """Poll (in a thread: librdkafka blocks) until ``done(messages)``."""
    got: list[Message] = []

    async def step() -> bool:
        msg = await asyncio.to_thread(consumer.poll, 0.5)
        if msg is not None:
            if msg.error() is not None:  # informational (end of partition, a broker reconnect): go on
                assert not msg.error().fatal(), msg.error()
            else:
                got.append(msg)
        return done(got)

    await wait_until(step, timeout, 0, "confluent-kafka messages")
    return got


def produce(producer: Producer, topic: str, value: bytes | None, key: bytes, headers: list[tuple[str, bytes]]) -> None:
    errors: list[Any] = []
    producer.produce(topic, value=value, key=key, headers=headers, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(30) == 0
    assert errors == [None]


async def test_confluent_kafka_sends_to_the_inbox_and_reads_a_typed_topic_in_a_consumer_group(
    settings: Settings,
) -> None:
    token = await register_sender(settings, SENDER)
    group = f"{settings.topic_prefix}-gemeente-nijmegen"
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": False, "acks": "all"})
    auth = [(INBOX_AUTH_HEADER, f"Bearer {token}".encode())]
    first, second = separatie("cf-1", "s-cf-1", seed=21), separatie("cf-2", "s-cf-2", seed=22)
    async with running_app(create_app(settings)):
        produce(producer, settings.topic(INBOX), orjson.dumps(first), SENDER.encode(), auth)
        consumer = confluent_consumer(settings, group)
        consumer.subscribe([settings.topic("separatie")])
        try:
            [msg] = await poll_until(consumer, lambda got: len(got) >= 1)
            await asyncio.to_thread(consumer.commit, message=msg, asynchronous=False)  # stored: survives a restart
        finally:
            await asyncio.to_thread(consumer.close)

        value = orjson.loads(msg.value())
        headers = {k: v.decode() for k, v in msg.headers()}
        pseudonym = pseudonymise(bsn(21), settings.pseudonym_key_bytes)
        assert list(validator("SeparatieEvent").iter_errors(value)) == []
        assert list(validator("SeparatieEvent", "headers").iter_errors(headers)) == []
        assert value["id"] == "cf-1" and value["child"]["pseudonym"] == pseudonym
        assert msg.key() == pseudonym.encode() and headers["ce_id"] == f"{SENDER}/cf-1"
        assert bsn(21).encode() not in msg.value()

        # A restarted subscriber in the same group continues after what it committed.
        produce(producer, settings.topic(INBOX), orjson.dumps(second), SENDER.encode(), auth)
        await wait_until(lambda: _published(settings, 2), 60, what="second event published")
        restarted = confluent_consumer(settings, group)
        restarted.subscribe([settings.topic("separatie")])
        try:
            after = await poll_until(restarted, lambda got: len(got) >= 1)
            more = await asyncio.to_thread(restarted.poll, 2.0)
        finally:
            await asyncio.to_thread(restarted.close)
    assert [orjson.loads(m.value())["id"] for m in after] == ["cf-2"]
    assert more is None or more.error() is not None


async def _published(settings: Settings, n: int) -> bool:
    return len(await read_topic(settings, "separatie", 1.0)) >= n


# -- the indicator topic: rebuild the current table from the topic alone ------------------------------------------
def cell(indicator: str, period: str, start: str, gemeente: str) -> bytes:
    """The monitor's key of one cell: ``indicator|period|start|dims``."""
    return f"{indicator}|{period}|{start}|gemeente={gemeente}".encode()


def row(indicator: str, start: str, gemeente: str, value: int | None) -> bytes:
    """The monitor's value: a public row of docs/indicators.md plus indicator, unit and as_of."""
    return orjson.dumps(
        {
            "indicator": indicator,
            "unit": "count",
            "period": "month",
            "start": start,
            "dims": {"gemeente": gemeente},
            "value": value,
            "suppressed": value is None,
            "as_of": "2026-06-30",
        }
    )


MAY, JUNE = "2026-05-01", "2026-06-01"
STREAM: list[tuple[bytes, bytes | None]] = [
    (cell("separaties", "month", MAY, "GM0268"), row("separaties", MAY, "GM0268", None)),  # suppressed
    (cell("separaties", "month", MAY, "GM0209"), row("separaties", MAY, "GM0209", 12)),
    (cell("separaties", "month", MAY, "GM0268"), row("separaties", MAY, "GM0268", 11)),
    (cell("wachtlijst_pleegzorg", "month", MAY, "GM0268"), row("wachtlijst_pleegzorg", MAY, "GM0268", 14)),
    (cell("separaties", "month", MAY, "GM0209"), row("separaties", MAY, "GM0209", 0)),  # a correction emptied it
    (cell("wachtlijst_pleegzorg", "month", MAY, "GM0268"), None),  # tombstone: removal, compacted-topic style
    (cell("separaties", "month", MAY, "GM0268"), row("separaties", MAY, "GM0268", 13)),
    (cell("separaties", "month", JUNE, "GM0268"), row("separaties", JUNE, "GM0268", 10)),
]


def expected_table() -> dict[bytes, Any]:
    table: dict[bytes, Any] = {}
    for key, value in STREAM:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = orjson.loads(value)
    return table


def fold(table: dict[bytes, Any], key: bytes | None, value: bytes | None) -> None:
    """What a subscriber does per record of a compacted topic: the last value per key wins; null deletes."""
    assert key is not None
    if value is None:
        table.pop(key, None)
    else:
        table[key] = orjson.loads(value)


async def test_plain_aiokafka_and_confluent_kafka_rebuild_the_indicator_table_from_the_compacted_topic(
    settings: Settings,
) -> None:
    topic = settings.topic(INDICATORS)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for key, value in STREAM:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()
    for _key, value in STREAM:
        if value is not None:
            assert validator("IndicatorValue").is_valid(orjson.loads(value))
    assert validator("IndicatorValue").is_valid(None)  # tombstones are part of the contract
    assert not validator("IndicatorValue").is_valid({"period": "month", "value": 3})  # which cell?

    # plain aiokafka, fresh group, from the beginning, until caught up with the fetch high watermark
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        group_id=f"fresh-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    table: dict[bytes, Any] = {}
    try:

        async def caught_up() -> bool:
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                for m in msgs:
                    fold(table, m.key, m.value)
            parts = consumer.assignment()
            return bool(parts) and all([await _at_end(consumer, tp) for tp in parts])

        await wait_until(caught_up, 60, 0, "aiokafka caught up with the indicator topic")
    finally:
        await consumer.stop()
    assert table == expected_table()

    # confluent-kafka, another fresh group: the same table
    cf = confluent_consumer(settings, f"fresh-{uuid.uuid4().hex}")
    cf.subscribe([topic])
    try:
        got = await poll_until(cf, lambda got: len(got) >= len(STREAM))
    finally:
        await asyncio.to_thread(cf.close)
    cf_table: dict[bytes, Any] = {}
    for m in got:
        fold(cf_table, m.key(), m.value())
    assert cf_table == expected_table()


async def _at_end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    high = consumer.highwater(tp)
    return high is not None and await consumer.position(tp) >= high


# -- jeugdstroom tail ----------------------------------------------------------------------------------------------
async def test_tail_prints_decoded_records_with_headers_and_short_pseudonyms(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = settings.pseudonym_key_bytes
    p1, p2 = pseudonymise(bsn(31), key), pseudonymise(bsn(32), key)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i, (pseudonym, vorm) in enumerate([(p1, "afzonderingsruimte"), (p2, "separeerruimte")]):
            doc = separatie(f"t{i}", f"s{i}", seed=31 + i, vorm=vorm)
            doc["child"] = {"pseudonym": pseudonym, "birth_date": "2010-04-12", "gemeente": "GM0268"}
            headers = cloudevent_headers(f"{SENDER}/t{i}", "separatie", f"/instelling/{SENDER}", doc["occurred_at"])
            await producer.send_and_wait(
                settings.topic("separatie"), orjson.dumps(doc), key=pseudonym.encode(), headers=headers
            )
        await producer.send_and_wait(settings.topic("separatie"), b"\x00not json", key=b"x")
        inbox_doc = separatie("i1", "s-i1", seed=33)
        await producer.send_and_wait(
            settings.topic(INBOX), orjson.dumps(inbox_doc), headers=[(INBOX_AUTH_HEADER, b"Bearer js_secret_token")]
        )
    finally:
        await producer.stop()

    out = io.StringIO()
    n = await asyncio.wait_for(
        tail(
            settings,
            "separatie",
            from_beginning=True,
            filters=[Filter.parse("data.vorm=separeerruimte")],
            max_records=1,
            out=out,
        ),
        60,
    )
    text = out.getvalue()
    assert n == 1
    assert f"key {p2[:8]}…" in text and f'"pseudonym": "{p2[:8]}…"' in text
    assert p2 not in text and p1[:8] not in text  # shortened; the filtered-out record is not shown
    assert "ce_type: nl.jeugdstroom.separatie" in text and f"ce_id: {SENDER}/t1" in text
    assert '"vorm": "separeerruimte"' in text

    out = io.StringIO()
    await asyncio.wait_for(
        tail(
            settings, "separatie", from_beginning=True, filters=[Filter.parse(f"key={p1[:8]}…")], max_records=1, out=out
        ),
        60,
    )
    assert f"{SENDER}/t0" in out.getvalue()

    # The CLI end to end, on the inbox: the credential is masked and the BSN redacted.
    monkeypatch.setenv("JEUGDSTROOM_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("JEUGDSTROOM_TOPIC_PREFIX", settings.topic_prefix)
    code = await asyncio.wait_for(asyncio.to_thread(main, ["tail", "inbox", "--from-beginning", "--max", "1"]), 60)
    printed = capsys.readouterr().out
    assert code == 0
    assert f"{settings.topic(INBOX)}/" in printed and f"{INBOX_AUTH_HEADER}: Bearer ****" in printed
    assert "js_secret_token" not in printed and bsn(33) not in printed
    assert '"type": "separatie"' in printed
