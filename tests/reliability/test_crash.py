"""Crash: kill -9 the registry and the monitor at seeded random moments while a simulated region streams through
the system, restart them each time; the final indicators equal the ground truth exactly."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import running_system, simulated
from tests.support import SCENARIO_TIMEOUT

pytestmark = pytest.mark.e2e


async def crash_scenario(infra: Infra, folder: Path, report: Recorder, days: int, kills: int, seed: int,
                         seconds: float) -> None:
    stream = simulated(folder, days, seed)
    rng = random.Random(seed)
    victims = ["registry"] * kills + ["monitor"] * kills
    rng.shuffle(victims)
    async with running_system(infra, folder) as system:
        # The stream is paced to last about as long as the kills take, so kills hit a flowing system.
        sending = asyncio.create_task(system.send(stream.path, rate=stream.events / seconds))
        try:
            for victim in victims:
                await asyncio.sleep(rng.uniform(0.1, 2 * seconds / len(victims)))  # a seeded random moment
                proc = system.procs[victim]
                proc.kill()
                await proc.start()
            await sending
        finally:
            sending.cancel()
        await system.drained()
        result = await system.assert_exact(stream)
    report.record(
        "Crash (kill -9)",
        f"{kills}× registry and {kills}× monitor killed with SIGKILL at seeded random moments (seed {seed}) while"
        f" {stream.events} events of {days} simulated days streamed in; each restarted at once",
        f"exact ground truth: {result.compared} rows of {len(stream.truth['indicators'])} indicators equal",
    )


@pytest.mark.timeout(SCENARIO_TIMEOUT)
async def test_kill_9_of_registry_and_monitor_mid_stream_loses_and_doubles_nothing(
        infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await crash_scenario(infra, tmp_path, fault_report, days=90, kills=10, seed=9001, seconds=24)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_kill_9_during_a_region_year(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await crash_scenario(infra, tmp_path, fault_report, days=365, kills=40, seed=9002, seconds=150)
