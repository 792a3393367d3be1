"""Load: a region's stream submitted at a sustained rate far above the expected one (docs/reliability.md), with
the resident memory of every service sampled: every request answered 202, memory bounded, the backlog drains and
the result equals the ground truth."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import System, rss_kib, running_system, simulated

pytestmark = pytest.mark.e2e

#: Resident memory a service may reach under load (MiB): far above what they need, far below trouble.
RSS_LIMIT_MIB = 300


async def sample_rss(system: System, samples: dict[str, list[int]]) -> None:
    while True:
        for name, proc in system.procs.items():
            assert proc.proc is not None
            samples[name].append(rss_kib(proc.proc.pid))
        await asyncio.sleep(0.5)  # the sampling interval


async def load_scenario(infra: Infra, folder: Path, report: Recorder, days: int, seed: int, rate: float) -> None:
    stream = simulated(folder, days, seed)
    statuses: list[int] = []

    async def on_response(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    async with running_system(infra, folder) as system, httpx.AsyncClient(
            timeout=60, event_hooks={"response": [on_response]}) as client:
        samples: dict[str, list[int]] = {name: [] for name in system.procs}
        sampler = asyncio.create_task(sample_rss(system, samples))
        try:
            started = time.monotonic()
            await system.send(stream.path, rate=rate, batch=200, client=client)
            sent_in = time.monotonic() - started
            await system.drained()
            drained_in = time.monotonic() - started
        finally:
            sampler.cancel()
        assert statuses and set(statuses) == {202}, sorted(set(statuses))
        peaks = {name: max(s) // 1024 for name, s in samples.items()}
        assert all(len(s) >= 10 for s in samples.values())
        assert max(peaks.values()) < RSS_LIMIT_MIB, peaks
        result = await system.assert_exact(stream)
    report.record(
        "Load",
        f"{stream.events} events ({days} simulated days) submitted at a target of {rate:.0f} events/s (reached"
        f" {stream.events / sent_in:.0f}/s over {sent_in:.0f} s, {len(statuses)} requests; the region normally sends"
        f" about {stream.events / days:.0f} a day)",
        f"all answered 202; backlog drained {drained_in - sent_in:.0f} s after the last request; peak RSS (MiB) "
        + ", ".join(f"{k} {v}" for k, v in peaks.items())
        + f" (limit {RSS_LIMIT_MIB}); exact ground truth ({result.compared} rows)",
    )


async def test_sustained_load_is_absorbed_with_bounded_memory(
        infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await load_scenario(infra, tmp_path, fault_report, days=90, seed=9701, rate=200)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_sustained_load_of_a_region_year(infra: Infra, tmp_path: Path, fault_report: Recorder) -> None:
    await load_scenario(infra, tmp_path, fault_report, days=365, seed=9702, rate=200)
