"""The walking skeleton as real processes: HTTP → intake → topic → registry → changes → monitor → API.

Also: a kill -9 of the registry between batches loses nothing and counts nothing twice, and no BSN
reaches a topic or a table.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from jeugdstroom.cli import restore
from jeugdstroom.common.kafka import ALL_TOPICS, INBOX, INDICATORS, REGISTRY_CHANGES
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app as intake_app
from jeugdstroom.monitor.app import create_app as monitor_app
from jeugdstroom.registry.app import create_app as registry_app
from tests.conftest import Infra, fresh_settings
from tests.factories import SENDER, bsn, separatie
from tests.support import (
    ServiceProcess,
    pg_backup,
    pg_dump,
    pg_restore_fresh,
    read_topic,
    register_sender,
    running_app,
    service_ports,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def system(infra: Infra, log_dir: Path) -> AsyncIterator[tuple[Settings, dict[str, ServiceProcess]]]:
    settings = service_ports(await fresh_settings(infra))
    procs = {name: ServiceProcess(name, settings, log_dir) for name in ("intake", "registry", "monitor")}
    try:
        await asyncio.gather(*(p.start() for p in procs.values()))
        yield settings, procs
    finally:
        for p in procs.values():
            p.stop()


async def exact_counts(settings: Settings, monitor: ServiceProcess) -> dict[tuple[str, str], int]:
    auth = {"authorization": f"Bearer {settings.operator_token.get_secret_value()}"}  # type: ignore[union-attr]
    async with httpx.AsyncClient(timeout=5) as c:
        resp = await c.get(f"{monitor.url}/v1/indicators/separaties", params={"period": "month", "group_by": "gemeente"},
                           headers=auth)
    resp.raise_for_status()
    return {(r["start"][:7], r["dims"]["gemeente"]): r["value"] for r in resp.json()["rows"]}


def episode(n: int, gemeente: str) -> list[dict[str, object]]:
    """Start and end of separatie episode n as two events; month by n."""
    month = 1 + n % 6
    start = f"2026-{month:02d}-10T08:00:00+02:00"
    end = f"2026-{month:02d}-10T09:30:00+02:00"
    return [separatie(f"e{n}-start", f"s{n}", seed=n, start=start, gemeente=gemeente),
            separatie(f"e{n}-end", f"s{n}", seed=n, start=start, end=end, gemeente=gemeente)]


def expected(ns: range, gemeente_of: dict[int, str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for n in ns:
        key = (f"2026-{1 + n % 6:02d}", gemeente_of[n])
        out[key] = out.get(key, 0) + 1
    return out


async def test_separatie_flows_from_http_to_indicator_and_survives_registry_kill(
        system: tuple[Settings, dict[str, ServiceProcess]]) -> None:
    settings, procs = system
    token = await register_sender(settings, SENDER, "e2e")
    gemeenten = ["GM0268", "GM0296", "GM1945"]
    gemeente_of = {n: gemeenten[n % 3] for n in range(120)}
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=procs["intake"].url, headers=auth, timeout=10) as client:
        async def send(ns: range) -> None:
            batch = [e for n in ns for e in episode(n, gemeente_of[n])]
            resp = await client.post("/v1/events", json=batch)
            assert resp.status_code == 202
            assert {r["status"] for r in resp.json()["results"]} <= {"accepted", "duplicate"}

        # One event through the skeleton.
        one = await client.post("/v1/events", json=episode(0, gemeente_of[0])[0])
        assert one.status_code == 202
        await wait_until(lambda: _counts_equal(settings, procs["monitor"], expected(range(1), gemeente_of)), 30,
                         what="first separatie in the indicator")

        # Batches, with the registry killed (-9) after each and restarted, and duplicates resent.
        await send(range(0, 40))
        await wait_until(lambda: _counts_equal(settings, procs["monitor"], expected(range(40), gemeente_of)), 30,
                         what="40 episodes")
        procs["registry"].kill()
        await send(range(40, 80))
        await send(range(30, 50))  # resend: duplicates
        await procs["registry"].start()
        backup = pg_backup(settings)  # mid-stream: the registry is catching up, 80–119 are not yet sent
        await send(range(80, 120))
        procs["registry"].kill()
        await procs["registry"].start()
        await wait_until(lambda: _counts_equal(settings, procs["monitor"], expected(range(120), gemeente_of)), 60,
                         what="all 120 episodes, none lost or double")

    # Public output suppresses small cells.
    async with httpx.AsyncClient(timeout=5) as c:
        public = (await c.get(f"{procs['monitor'].url}/v1/indicators/separaties",
                              params={"period": "month", "group_by": "gemeente"})).json()
    assert all(r["value"] is None and r["suppressed"] for r in public["rows"] if 0 < (r["value"] or 1) < 10)
    assert all(r["value"] is None or r["value"] >= 10 for r in public["rows"])

    # Metrics of the monitor show the headline gauge.
    async with httpx.AsyncClient(timeout=5) as c:
        metrics = (await c.get(f"{procs['monitor'].url}/metrics")).text
    assert "jeugdstroom_monitor_freshness_seconds_count" in metrics

    # No BSN in clear text on any topic or in any table; every record the project publishes (every topic but the
    # senders' inbox) is a CloudEvent by the CloudEvents SDK's own Kafka binding (binary content mode).
    bsns = {bsn(n).encode() for n in range(120)}
    ce_types: dict[str, set[str]] = {}
    for short in ALL_TOPICS:
        for rec in await read_topic(settings, short, 1.0):
            blob = (rec.value or b"") + (rec.key or b"") + b"".join(v for _, v in rec.headers)
            assert not any(b in blob for b in bsns), f"BSN found on topic {short}"
            if short != INBOX:
                event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(rec.headers), rec.key, rec.value or b""))
                assert event.get_id() and event.get_source() and event.get_time() is not None
                if rec.value is not None:
                    assert event.get_data() == orjson.loads(rec.value)
                ce_types.setdefault(short, set()).add(event.get_type())
    assert ce_types["separatie"] == {"nl.jeugdstroom.separatie"}
    assert ce_types[REGISTRY_CHANGES] >= {"nl.jeugdstroom.registry.change.separatie"}
    assert ce_types[INDICATORS] == {"nl.jeugdstroom.indicator"}  # the monitor's topic included
    dump = pg_dump(settings)
    assert dump and not any(b in dump for b in bsns), "BSN found in the database"

    # Backup and restore (docs/operations.md): the database is lost; the mid-stream backup is restored into a fresh
    # database, `jeugdstroom restored` prepares it, the services resume from the restored offsets and reach the
    # ground truth exactly: nothing accepted after the backup is lost (Kafka still holds it), nothing counts twice.
    for p in procs.values():
        p.stop()
    restored_settings = await pg_restore_fresh(settings, backup, settings.database_url.rsplit("/", 1)[1] + "_r")
    # one record per batch now: the restored registry cuts the changes it derives again differently from the first
    # run, which without `restored` would count the difference twice (docs/operations.md)
    restored_settings = restored_settings.model_copy(update={"batch_max_records": 1})
    counted = await restore.restored(restored_settings)
    assert counted["monitor partitions moved to the end"] == settings.partitions
    async with contextlib.AsyncExitStack() as apps:  # in this process: cheaper than starting three more processes
        for create in (intake_app, registry_app):
            await apps.enter_async_context(running_app(create(restored_settings)))
        monitor = await apps.enter_async_context(running_app(monitor_app(restored_settings)))
        await wait_until(lambda: _settled(restored_settings, monitor, expected(range(120), gemeente_of)), 60,
                         what="the restored system back at all 120 episodes, none lost or double")


async def _settled(settings: Settings, monitor: httpx.AsyncClient, want: dict[tuple[str, str], int]) -> bool:
    """Every outbox row published, the monitor at the end of registry.changes, and the counts as wanted."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        if await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            return False
        stored = {r["partition"]: r["next_offset"] for r in await conn.fetch(
            "SELECT partition, next_offset FROM consumer_offsets WHERE consumer = 'monitor' AND topic = $1",
            settings.topic(REGISTRY_CHANGES))}
    finally:
        await conn.close()
    ends = await restore.topic_end(settings, settings.topic(REGISTRY_CHANGES))
    if not all(stored.get(p, 0) >= end for p, end in ends.items()):
        return False
    auth = {"authorization": f"Bearer {settings.operator_token.get_secret_value()}"}  # type: ignore[union-attr]
    resp = await monitor.get("/v1/indicators/separaties", params={"period": "month", "group_by": "gemeente"},
                             headers=auth)
    resp.raise_for_status()
    return {(r["start"][:7], r["dims"]["gemeente"]): r["value"] for r in resp.json()["rows"]} == want


async def _counts_equal(settings: Settings, monitor: ServiceProcess, want: dict[tuple[str, str], int]) -> bool:
    return await exact_counts(settings, monitor) == want
