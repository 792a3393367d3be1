"""Database restart mid-stream: the scenario's own PostgreSQL (on a fixed port, so every URL stays valid) is
stopped and started again while a simulated region streams in. The services retry and reconnect, senders retry
what intake could not accept meanwhile, and the result equals the ground truth exactly."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import pytest

from jeugdstroom.common.embedded import free_port
from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import own_infra, running_system, simulated
from tests.support import SCENARIO_TIMEOUT, wait_until

pytestmark = pytest.mark.e2e


async def db_restart_scenario(infra: Infra, folder: Path, report: Recorder, days: int, seed: int, restarts: int,
                              down: float, seconds: float) -> None:
    stream = simulated(folder, days, seed)
    rng = random.Random(seed)
    statuses: list[int] = []

    async def on_response(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    with own_infra(infra, postgres_port=free_port()) as mine:
        pg = mine.postgres
        assert pg is not None
        async with running_system(mine, folder) as system, httpx.AsyncClient(
                timeout=60, event_hooks={"response": [on_response]}) as client:
            sending = asyncio.create_task(system.send(stream.path, rate=stream.events / seconds, client=client))
            try:
                for _ in range(restarts):
                    # A seeded random moment, with room between outages for a sender's retries (about 15 s).
                    await asyncio.sleep(rng.uniform(down + 2, max(down + 3, seconds / (restarts + 1))))
                    await asyncio.to_thread(pg.stop)
                    await asyncio.sleep(down)  # the length of the outage
                    await asyncio.to_thread(pg.start)
                await sending
            finally:
                sending.cancel()
            await system.drained()
            for proc in system.procs.values():  # the same processes, ready again: none had to be restarted
                assert proc.proc is not None and proc.proc.poll() is None, f"{proc.name} exited"
                await wait_until(lambda p=proc: _ready(p.url), 30, what=f"{proc.name} ready")  # type: ignore[misc]
            result = await system.assert_exact(stream)
    refused = sum(1 for s in statuses if s >= 500)
    report.record(
        "Database restart",
        f"embedded PostgreSQL stopped (fast shutdown) for {down:.0f} s and started again, {restarts}× at seeded"
        f" random moments while {stream.events} events of {days} days streamed in",
        f"services reconnected by themselves (no restart); {refused} requests answered 5xx during the outages and"
        f" were retried by the sender; exact ground truth ({result.compared} rows)",
    )


async def _ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2) as c:
        return (await c.get(f"{url}/readyz")).status_code == 200


@pytest.mark.timeout(SCENARIO_TIMEOUT)
async def test_database_restart_mid_stream(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await db_restart_scenario(infra, tmp_path, fault_report, days=90, seed=9301, restarts=2, down=3, seconds=20)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_database_restarts_during_a_region_year(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await db_restart_scenario(infra, tmp_path, fault_report, days=365, seed=9302, restarts=6, down=8, seconds=120)
