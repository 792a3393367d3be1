"""National acceptance: a 1% sample of the ``nl`` simulation (every gemeente of the current CBS indeling, weighted by
inhabitants, some children reported under gemeente codes that herindelingen merged away) for two months, sent over
HTTP through intake, registry and monitor, equals the simulator's independent ground truth exactly — every indicator,
period and dimension, including jeugdregio for gemeenten all over the country. Same machinery as test_acceptance.py."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from jeugdstroom.cli.simulate import register_senders, stream_live
from jeugdstroom.common import geography
from jeugdstroom.common.kafka import REGISTRY_CHANGES, TYPED_TOPICS
from jeugdstroom.common.settings import Settings
from tests.support import (
    ServiceProcess,
    caught_up,
    compare_with_truth,
    simulate,
    wait_until,
)

pytestmark = pytest.mark.e2e

REGION = "nl"
SCALE = 0.01  # 1% of the national volume: about 10 new children a day and 410 already in care
DAYS = 61
SEED = 20261206


def reported_gemeenten(events: Path) -> list[str]:
    with events.open("rb") as f:
        return [orjson.loads(line)["child"]["gemeente"] for line in f if b'"child"' in line]


async def rows(monitor_url: str, settings: Settings, indicator: str, group_by: str, as_of: str) -> list[dict[str, Any]]:
    token = settings.operator_token.get_secret_value()  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=monitor_url, headers={"authorization": f"Bearer {token}"}) as client:
        resp = await client.get(
            f"/v1/indicators/{indicator}", params={"period": "year", "group_by": group_by, "as_of": as_of}
        )
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["rows"]
    return found


async def test_a_national_sample_equals_the_ground_truth_in_every_jeugdregio(
    system: tuple[Settings, dict[str, ServiceProcess]], tmp_path: Path
) -> None:
    settings, procs = system
    geo = geography.geography()
    events = tmp_path / "events.ndjson"
    truth = simulate(events, REGION, DAYS, SEED, SCALE)
    stream = truth["params"]["stream"]
    assert stream["faults"], "the simulated stream must carry sender faults"
    sent = reported_gemeenten(events)
    old = {g for g in sent if g in geo.herindelingen}
    assert old, "some children must be reported under a gemeente code that a herindeling merged away"

    tokens = await register_senders(settings, REGION)
    counts = await stream_live(events, procs["intake"].url, tokens, rate=1e9, batch=500, progress=io.StringIO())
    assert counts.get("rejected", 0) == stream["faults"].get("invalid", 0), counts
    assert sum(counts.values()) == stream["events"]

    groups = {"registry": TYPED_TOPICS, "monitor": (REGISTRY_CHANGES,)}
    await wait_until(lambda: caught_up(settings, groups), 600, interval=1.0, what="registry and monitor caught up")

    result = await compare_with_truth(procs["monitor"].url, settings, truth)
    assert not result.failures, result.report()
    assert result.compared > 2_000, f"only {result.compared} rows compared"

    # No valid gemeente lands in onbekend, merged codes count in their successor, and the children come from
    # many jeugdregio's, each with its name (the truth agrees, so this checks the monitor's own output too).
    as_of = truth["params"]["as_of"]
    by_regio = await rows(procs["monitor"].url, settings, "verwijzers", "jeugdregio", as_of)
    regios = {r["dims"]["jeugdregio"] for r in by_regio}
    assert geography.UNKNOWN not in regios
    assert len(regios) >= 30, sorted(regios)
    assert regios <= set(geo.jeugdregios)
    assert all(r["names"]["jeugdregio"] == geo.jeugdregios[r["dims"]["jeugdregio"]] for r in by_regio)
    by_gemeente = await rows(procs["monitor"].url, settings, "verwijzers", "gemeente", as_of)
    gemeenten = {r["dims"]["gemeente"] for r in by_gemeente}
    assert gemeenten <= set(geo.gemeenten), gemeenten - set(geo.gemeenten)  # no old code, no onbekend
    assert len(gemeenten) >= 100
    truth_regios = {r["dims"]["jeugdregio"] for rs in truth["indicators"].values() for r in rs if "jeugdregio" in r["dims"]}
    assert geography.UNKNOWN not in truth_regios and len(truth_regios) >= 30
