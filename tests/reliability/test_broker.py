"""Broker faults, each on a broker of the scenario's own:

* freeze (SIGSTOP … SIGCONT) mid-stream: intake keeps answering 202 (its outbox absorbs), nothing is lost;
* data loss (the memory-only broker restarted empty): registry and monitor recover by themselves and stay exact
  for what they processed; ``jeugdstroom replay --since`` republishes from the outbox what only the lost broker
  held, and the result equals the ground truth.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from jeugdstroom.common.kafka import REGISTRY_CHANGES
from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import GROUPS, System, own_infra, running_system, simulated
from tests.support import SCENARIO_TIMEOUT, TruthKey, monitor_rows, service_env, wait_until

pytestmark = pytest.mark.e2e


# -- freeze ----------------------------------------------------------------------------------------------------
async def freeze_scenario(infra: Infra, folder: Path, report: Recorder, days: int, seed: int, freeze: float,
                          seconds: float) -> None:
    stream = simulated(folder, days, seed)
    answers: list[tuple[float, int]] = []

    async def on_response(response: httpx.Response) -> None:
        answers.append((time.monotonic(), response.status_code))

    with own_infra(infra, broker=True) as mine:
        assert mine.broker is not None and mine.broker.proc is not None
        async with running_system(mine, folder) as system, httpx.AsyncClient(
                timeout=30, event_hooks={"response": [on_response]}) as client:
            sending = asyncio.create_task(system.send(stream.path, rate=stream.events / seconds, client=client))
            try:
                await wait_until(lambda: _answered(answers, 20), 60, what="the stream flowing")
                mine.broker.proc.send_signal(signal.SIGSTOP)
                frozen_at = time.monotonic()
                try:
                    await asyncio.sleep(freeze)  # the length of the fault, not a synchronisation
                    backlog = await _unsent(system)
                finally:
                    mine.broker.proc.send_signal(signal.SIGCONT)
                thawed_at = time.monotonic()
                await sending
            finally:
                sending.cancel()
            during = [status for t, status in answers if frozen_at <= t <= thawed_at]
            assert len(during) >= 5, f"only {len(during)} requests answered during the freeze"
            assert set(during) == {202}, during
            assert {status for _, status in answers} == {202}
            assert backlog > 0, "the outbox held nothing back during the freeze"
            await system.drained()
            result = await system.assert_exact(stream)
    report.record(
        "Broker freeze",
        f"embedded broker SIGSTOPped for {freeze:.0f} s mid-stream ({stream.events} events of {days} days), then"
        " SIGCONT",
        f"{len(during)} requests answered 202 during the freeze, {backlog} events waited in the outbox; exact"
        f" ground truth ({result.compared} rows)",
    )


async def _answered(answers: list[tuple[float, int]], n: int) -> bool:
    return len(answers) >= n


async def _unsent(system: System) -> int:
    rows = await system.fetch("SELECT count(*) AS n FROM outbox WHERE producer = 'intake' AND sent_at IS NULL")
    return int(rows[0]["n"])


async def test_broker_frozen_mid_stream_intake_answers_and_nothing_is_lost(
        infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await freeze_scenario(infra, tmp_path, fault_report, days=90, seed=9101, freeze=8, seconds=25)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_broker_frozen_for_30_seconds(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await freeze_scenario(infra, tmp_path, fault_report, days=365, seed=9102, freeze=30, seconds=90)


# -- data loss -------------------------------------------------------------------------------------------------
async def progress(system: System) -> dict[str, int]:
    """Counts that say how far the system is: events accepted by intake and processed by the registry, changes
    written by the registry and processed by the monitor, outbox rows (and indicator cells) not yet published."""
    changes = system.settings.topic(REGISTRY_CHANGES)
    rows = await system.fetch(
        """SELECT
             (SELECT count(*) FROM outbox WHERE producer = 'intake') AS accepted,
             (SELECT count(*) FROM registry.facts) + (SELECT count(*) FROM registry.corrections) AS registry,
             (SELECT count(*) FROM outbox WHERE producer = 'registry' AND topic = $1) AS changes,
             (SELECT count(*) FROM processed_events WHERE consumer = 'monitor') AS monitor,
             (SELECT count(*) FROM outbox WHERE sent_at IS NULL)
               + (SELECT count(*) FROM monitor.publish_pending) AS unsent""",
        changes,
    )
    return {k: int(v) for k, v in rows[0].items()}


async def settled(system: System, missing: int) -> bool:
    """Everything published and processed, except ``missing`` accepted events the registry never saw."""
    p = await progress(system)
    return p["unsent"] == 0 and p["registry"] == p["accepted"] - missing and p["monitor"] == p["changes"]


async def offsets_within_log(system: System) -> bool:
    """Every offset the registry and monitor stored lies within the (new) log: they noticed the loss and reset."""
    stored = await system.fetch("SELECT consumer, topic, partition, next_offset FROM consumer_offsets"
                                " WHERE consumer = ANY($1::text[])", list(GROUPS))
    wanted = {system.settings.topic(s) for shorts in GROUPS.values() for s in shorts}
    if not {r["topic"] for r in stored} <= wanted:
        return False
    consumer = AIOKafkaConsumer(bootstrap_servers=system.settings.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(r["topic"], r["partition"]) for r in stored])
        # a topic without stored offsets is fine only while nothing was ever written to it (e.g. no
        # jeugdreclassering in this stream): every topic with records must have been consumed
        await consumer.topics()  # metadata of every topic, for partitions_for_topic
        unconsumed = wanted - {r["topic"] for r in stored}
        parts = [TopicPartition(t, p) for t in unconsumed for p in (consumer.partitions_for_topic(t) or ())]
        written = await consumer.end_offsets(parts) if parts else {}
    finally:
        await consumer.stop()
    if any(end > 0 for end in written.values()):
        return False
    return all(r["next_offset"] <= ends[TopicPartition(r["topic"], r["partition"])] for r in stored)


async def snapshot(system: System, periods: list[str], as_of: str) -> dict[str, dict[TruthKey, tuple[object, ...]]]:
    """The monitor's exact rows of every indicator, grouped by all its dimensions."""
    async with httpx.AsyncClient(base_url=system.monitor_url, headers=system.operator_headers, timeout=60) as c:
        catalogue = (await c.get("/v1/indicators")).json()
        return {i["id"]: await monitor_rows(c, i["id"], i["dimensions"], periods, as_of) for i in catalogue}


def replay(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    """``jeugdstroom replay`` as an operator runs it (settings from the environment)."""
    return subprocess.run([sys.executable, "-m", "jeugdstroom.cli.main", "replay", *args],
                          env=service_env(system.settings), capture_output=True, text=True, check=True, timeout=60)


async def data_loss_scenario(infra: Infra, folder: Path, report: Recorder, days: int, seed: int) -> None:
    stream = simulated(folder, days, seed)
    first, lost, last = stream.split(0.5, 0.75)
    with own_infra(infra, broker=True) as mine:
        assert mine.broker is not None
        async with running_system(mine, folder) as system:
            since = (await system.fetch("SELECT now() AS t"))[0]["t"]
            await system.send(first)
            await system.drained()
            periods, as_of = ["month", "year"], stream.truth["params"]["as_of"]
            before = await snapshot(system, periods, as_of)

            # The registry is down while the next part is accepted and published: it exists only on the broker.
            system.procs["registry"].stop()
            lost_counts = await system.send(lost)
            await wait_until(lambda: _no_unsent(system), 60, what="the lost part published")
            mine.broker.restart_empty()
            await system.procs["registry"].start()

            # Without an operator: both consumers notice that their stored offsets lie beyond the log, reset, and
            # the state is exactly what it was.
            await wait_until(lambda: offsets_within_log(system), 120, 0.5, what="consumers reset to the new log")
            assert await snapshot(system, periods, as_of) == before, "state changed by the broker's data loss"

            # New events flow: processed despite the old (larger) offsets the consumers had stored.
            await system.send(last)
            missing = lost_counts.get("accepted", 0)
            assert missing > 0
            await wait_until(lambda: settled(system, missing), 180, 0.5, what="the last part processed")

            # The operator republishes the outbox since before the stream: duplicates are absorbed, the lost part
            # is processed, and the result is the ground truth.
            dry = replay(system, "--since", since.isoformat(), "--dry-run")
            assert (await progress(system))["unsent"] == 0, "a dry run changed the outbox"
            accepted = (await progress(system))["accepted"]
            assert sum(int(line.split()[0]) for line in dry.stdout.splitlines() if "intake" in line) == accepted
            done = replay(system, "--since", since.isoformat())
            assert done.stdout == dry.stdout
            await wait_until(lambda: settled(system, 0), 180, 0.5, what="the replay processed")
            await system.drained()
            result = await system.assert_exact(stream)
    report.record(
        "Broker data loss",
        f"registry stopped, {missing} accepted events published, then the broker restarted empty (memory"
        " storage: all topics, offsets and groups gone); registry restarted, more events sent; then"
        f" `jeugdstroom replay --since {_short(since)}`",
        "without an operator: consumers reset to the new log, state unchanged, new events processed; after the"
        f" replay (duplicates absorbed): exact ground truth ({result.compared} rows)",
    )


def _short(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


async def _no_unsent(system: System) -> bool:
    return (await progress(system))["unsent"] == 0


@pytest.mark.timeout(SCENARIO_TIMEOUT)
async def test_broker_data_loss_recovers_and_replay_restores_the_truth(
        infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await data_loss_scenario(infra, tmp_path, fault_report, days=60, seed=9201)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_broker_data_loss_in_a_region_year(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await data_loss_scenario(infra, tmp_path, fault_report, days=365, seed=9202)


