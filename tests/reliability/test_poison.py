"""Poison: records that can never be processed, produced straight into the typed topics (and the registry's
change topic) in the middle of a simulated stream, become dead letters with their reason and origin; the loop
goes on and every indicator still equals the ground truth."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from jeugdstroom.common.contracts.deadletter import HEADER_ORIGIN, HEADER_REASON_CLASS, DeadLetter
from jeugdstroom.common.kafka import REGISTRY_CHANGES
from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import System, running_system, simulated
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.e2e


def poison_records(published: dict[str, Any]) -> list[tuple[str, bytes | None, set[str], str]]:
    """(topic short name, value, acceptable reason classes, consumer) of each poison record; ``published`` is a real
    published event to derive well-formed but invalid ones from."""
    future = {**published, "id": "poison-version", "schema_version": 99}
    broken = {**published, "id": "poison-contract", "child": {**published["child"], "gemeente": "Nijmegen"}}
    untyped = {k: v for k, v in published.items() if k != "data"} | {"id": "poison-nodata"}
    return [
        ("separatie", b"\x00\xff{not json", {"unparseable", "contract"}, "registry"),
        ("plaatsing", orjson.dumps(future), {"unknown_schema_version"}, "registry"),
        ("aanmelding", orjson.dumps(broken), {"contract"}, "registry"),
        ("beschikking", orjson.dumps(untyped), {"contract"}, "registry"),
        ("correctie", None, {"empty"}, "registry"),
        (REGISTRY_CHANGES, b"\x89PNG\r\n\x1a\n", {"unparseable", "contract"}, "monitor"),
        (REGISTRY_CHANGES, orjson.dumps({"entity": "plaatsing", "before": "x"}), {"contract"}, "monitor"),
    ]


async def inject(system: System, records: list[tuple[str, bytes | None, set[str], str]]) -> dict[str, tuple[int, int]]:
    """Produce the poison records; returns origin topic → (partition, offset) of each (one per topic and value)."""
    producer = AIOKafkaProducer(bootstrap_servers=system.settings.bootstrap_servers, enable_idempotence=False)
    await producer.start()
    origins: dict[str, tuple[int, int]] = {}
    try:
        for i, (short, value, _, _) in enumerate(records):
            md = await producer.send_and_wait(system.settings.topic(short), value=value, key=f"poison-{i}".encode())
            origins[f"{i}"] = (md.partition, md.offset)
    finally:
        await producer.stop()
    return origins


async def test_poison_records_are_dead_lettered_with_reason_and_origin(
        infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    stream = simulated(tmp_path, 60, 9401)
    first, rest = stream.split(0.5)
    async with running_system(infra, tmp_path) as system:
        await system.send(first)
        published = await wait_until(lambda: read_topic(system.settings, "plaatsing", 1.0), 30, what="a plaatsing")
        records = poison_records(orjson.loads(published[0].value))
        sending = asyncio.create_task(system.send(rest, rate=stream.events))  # poison lands mid-stream
        try:
            origins = await inject(system, records)
            await sending
        finally:
            sending.cancel()
        await system.drained()

        dead = [r for r in await read_topic(system.settings, "deadletter", 2.0)]
        assert len(dead) == len(records), [orjson.loads(r.value)["reason"] for r in dead]
        by_origin = {}
        for r in dead:
            body = DeadLetter.model_validate_json(r.value)
            headers = {k: v.decode() for k, v in r.headers}
            assert headers[HEADER_ORIGIN] == f"{body.topic}/{body.partition}/{body.offset}"
            assert headers[HEADER_REASON_CLASS] == body.reason_class
            assert body.reason, "a dead letter says why"
            by_origin[(body.topic, body.partition, body.offset)] = body
        for i, (short, value, reasons, consumer) in enumerate(records):
            partition, offset = origins[f"{i}"]
            body = by_origin[(system.settings.topic(short), partition, offset)]
            assert body.reason_class in reasons, (short, body.reason_class, body.reason)
            assert body.consumer == consumer
            original = base64.b64decode(body.value_b64) if body.value_b64 is not None else None
            assert original == value, "the dead letter carries the original bytes"
            assert body.key_b64 is not None and base64.b64decode(body.key_b64) == f"poison-{i}".encode()
        result = await system.assert_exact(stream)
        for name in ("registry", "monitor"):
            assert await _ready(system, name), f"{name} stopped after a few poison records"
    fault_report.record(
        "Poison records",
        f"{len(records)} records produced straight into typed topics and the change topic mid-stream: corrupt"
        " bytes, schema_version 99, a contract violation, an event without data, an empty value, a corrupt and an"
        " invalid registry change",
        f"each dead-lettered once with reason class, reason, origin and original bytes; services stay ready; exact"
        f" ground truth ({result.compared} rows)",
    )


async def _ready(system: System, name: str) -> bool:
    import httpx

    async with httpx.AsyncClient(timeout=5) as c:
        return (await c.get(f"{system.procs[name].url}/readyz")).status_code == 200
