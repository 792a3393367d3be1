"""A simulated stream through the real intake: senders registered by the simulator, every event answered as
the simulator intends (invalid ones rejected, duplicates recognised, nothing conflicting or forbidden)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from jeugdstroom.cli.simulate import register_senders, stream_live
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from jeugdstroom.simulator.stream import Params, children, generate
from tests.support import running_app

pytestmark = pytest.mark.integration


async def test_a_simulated_stream_is_accepted_by_intake_as_intended(settings: Settings, tmp_path: Path) -> None:
    params = Params("rijk-van-nijmegen", 30, 21, date(2025, 9, 1))
    path = tmp_path / "events.ndjson"
    with path.open("wb") as f:
        generate(params, f)
    faults = Counter(em.fault for g in children(params) for em in g.emissions)
    tokens = await register_senders(settings, params.region)
    async with running_app(create_app(settings, inbox=False)) as client:
        counts = await stream_live(path, "http://app", tokens, rate=1_000_000, batch=200, client=client)
    assert counts["conflict"] == 0 and counts["forbidden"] == 0
    assert counts["rejected"] == faults["invalid"] > 0
    assert counts["duplicate"] == faults["duplicate"] > 0
    assert counts["accepted"] == sum(faults.values()) - faults["invalid"] - faults["duplicate"]
