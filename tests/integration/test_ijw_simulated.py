"""The simulator's iJw output: the stories of simulated children as iJw 3.2 messages, valid against the published
XSDs, all accepted by ``POST /v1/ijw``, giving one event for every native event of the story's iJw projection
(``test_ijw_indicators.py`` compares the indicators of both)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from jeugdstroom.simulator import ijw
from jeugdstroom.simulator.regions import REGIONS
from jeugdstroom.simulator.stream import Params, children
from tests.support import register_sender, running_app

pytestmark = pytest.mark.integration
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ijw-3.2"
CHILDREN = 80


def _simulated() -> tuple[list[ijw.Message], Counter[str]]:
    params = Params("rijk-van-nijmegen", days=120, seed=11, start=date(2025, 3, 1))
    region = REGIONS[params.region]
    projected: list[ijw.Projected] = []
    initial = region.initial_placements + region.initial_measures
    every = children(params)
    chosen = [*itertools.islice(every, 20), *itertools.islice(every, initial - 20, initial - 20 + CHILDREN)]
    for n, generated in enumerate(chosen):  # 20 children in care at the start, then the first referrals of the window
        events = [ev.event for ev in generated.clean]
        fallback = region.pool("residentieel", generated.child.gemeente)[0].code
        projected += ijw.project(events, fallback, correct=n % 4 == 0)  # some with a delete-then-resend
    projected.sort(key=lambda p: p.message.at)
    expressible = Counter(p.event["type"] for p in projected)  # the native events of the iJw projection, by type
    return [p.message for p in projected], expressible


def test_every_simulated_message_is_valid_against_the_xsds() -> None:
    schemas = {k: xmlschema.XMLSchema(str(REFERENCE / f"{k.upper()}.xsd")) for k in ijw.BERICHT_CODES}
    messages, expressible = _simulated()
    assert {m.kind for m in messages} == {"jw315", "jw301", "jw305", "jw307"}
    assert expressible["plaatsing"] > 20 and expressible["correctie"] > 0
    for m in messages:
        errors = [f"{e.path}: {e.reason}" for e in schemas[m.kind].iter_errors(m.xml.decode())]
        assert errors == [], (m.kind, errors)


async def test_simulated_ijw_traffic_goes_through_post_v1_ijw(settings: Settings) -> None:
    messages, expressible = _simulated()
    tokens: dict[str, str] = {}
    for code in sorted({m.sender for m in messages}):
        tokens[code] = await register_sender(settings, code)
    answers: Counter[int] = Counter()
    refused: list[tuple[str, Any]] = []
    async with running_app(create_app(settings, inbox=False)) as client:
        for m in messages:
            resp = await client.post("/v1/ijw", content=m.xml, headers={
                "content-type": "application/xml", "authorization": f"Bearer {tokens[m.sender]}"})
            answers[resp.status_code] += 1
            if resp.status_code >= 300:
                refused.append((m.kind, resp.json()))
            else:
                assert not resp.json()["skipped"], resp.json()
    assert refused == []
    assert answers[202] == len(messages)  # every message brought something new
    async with await db.create_pool(settings.database_url) as pool:
        rows = await pool.fetch("SELECT type, count(*) AS n FROM intake.accepted_events GROUP BY type")
        linked = await pool.fetchval("SELECT count(*) FROM outbox WHERE topic LIKE '%.plaatsing'"
                                     " AND position('aanmelding_id' in convert_from(value, 'UTF8')) > 0")
    assert {r["type"]: r["n"] for r in rows} == dict(expressible)  # one event per expressible native event
    assert linked > 0  # JW315 → JW301 → JW305 links reach the plaatsing events
