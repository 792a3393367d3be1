"""The registry as a real process, killed with -9 while it consumes and restarted: the final state is the state of
an uninterrupted run (no event lost, none applied twice, every emitted change exactly once)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry.processor import GROUP
from tests.integration.test_registry import (
    change_totals,
    dump,
    episodes,
    expected,
    processed,
    produce,
    state_totals,
    uids,
    wait_processed,
)
from tests.support import ServiceProcess, service_ports, wait_until
from tests.unit.test_registry_stream import generate, run

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(settings.database_url, max_size=2)
    yield p
    await p.close()


async def test_kill_9_mid_stream_and_restart_gives_the_uninterrupted_state(
    settings: Settings, pool: asyncpg.Pool, log_dir: Path
) -> None:
    settings = service_ports(settings.model_copy(update={"batch_max_records": 40}))
    stream = generate(150, seed=77)
    events = stream.ordered()
    random.Random(1).shuffle(events)
    reference = run(stream.ordered())
    total = uids(events)
    thirds = [events[: total // 3], events[total // 3 : 2 * total // 3], events[2 * total // 3 :]]
    registry = ServiceProcess("registry", settings, log_dir)
    await registry.start()
    try:
        done = 0
        for part in thirds[:2]:
            await produce(settings, part)
            goal = done + 1

            async def progressing(goal: int = goal) -> bool:
                return await processed(pool, GROUP) >= goal

            await wait_until(progressing, 60, 0.01, "registry consuming")
            registry.kill()  # -9 as soon as it is consuming this part: most likely inside a batch
            await produce(settings, part[: len(part) // 2])  # redelivered duplicates while it is down
            await registry.start()
            done += len(part)
        await produce(settings, thirds[2])
        await wait_processed(pool, GROUP, total, 120)
    finally:
        registry.stop()
    d = await dump(pool)
    assert episodes(d) == expected(reference)
    assert d["findings"] == reference.findings()
    assert await change_totals(pool, settings, GROUP) == state_totals(d)
