"""Acceptance: a simulated region-year with sender faults, sent over HTTP through intake, registry and monitor,
equals the simulator's independent ground truth exactly — every indicator, every period, every dimension."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from jeugdstroom.cli.population import import_file
from jeugdstroom.cli.simulate import register_senders, stream_live
from jeugdstroom.common.kafka import REGISTRY_CHANGES, TYPED_TOPICS
from jeugdstroom.common.settings import Settings
from tests.support import (
    SCENARIO_TIMEOUT,
    ServiceProcess,
    caught_up,
    compare_with_truth,
    simulate,
    wait_until,
)

pytestmark = pytest.mark.e2e

REGION = "rijk-van-nijmegen"
DAYS = 365
SEED = 20261123


@pytest.mark.timeout(SCENARIO_TIMEOUT)
async def test_a_region_year_with_faults_equals_the_ground_truth(
        system: tuple[Settings, dict[str, ServiceProcess]], tmp_path: Path) -> None:
    settings, procs = system
    events = tmp_path / "events.ndjson"
    population = tmp_path / "population-synthetic.csv"
    truth = simulate(events, REGION, DAYS, SEED, population=population)
    stream = truth["params"]["stream"]
    assert stream["faults"], "the simulated stream must carry sender faults"

    tokens = await register_senders(settings, REGION)
    progress = io.StringIO()
    counts = await stream_live(events, procs["intake"].url, tokens, rate=1e9, batch=500, progress=progress)
    assert counts.get("rejected", 0) == stream["faults"].get("invalid", 0), counts
    assert sum(counts.values()) == stream["events"]

    groups = {"registry": TYPED_TOPICS, "monitor": (REGISTRY_CHANGES,)}
    await wait_until(lambda: caught_up(settings, groups), 600, interval=1.0, what="registry and monitor caught up")

    # the run's synthetic population, loaded as `jeugdstroom population import` does: per_1000 is compared too
    assert await import_file(settings, population) > 0
    result = await compare_with_truth(procs["monitor"].url, settings, truth)
    assert result.empty <= {"herhaald_beroep"}, f"empty truth: {result.empty}"
    assert not result.failures, result.report()
    assert result.compared > 10_000, f"only {result.compared} rows compared"
    rated = [r for r in truth["indicators"]["verblijf_jeugdigen"] if r.get("per_1000") is not None]
    assert len(rated) > 100, "the rates must have been compared on many rows"
