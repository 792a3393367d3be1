"""Issue 24 item 5: an iJw-only stream gives exactly the indicators of the native stream of the same stories.

The same simulated stories (a few hundred children over five months: placements and their ends, pleegzorg
aanmeldingen that wait and get placed, stops with a reden, delete-then-resend corrections, resends) go once as
native events through ``POST /v1/events`` and once as iJw messages through ``POST /v1/ijw``, each into a system of its own
(database and topic prefix: intake, registry and monitor in process), and every indicator × period × dimension
grouping that the monitor answers — all dimensions, and the totals — must be equal row for row, field for field.
"The same stories" is the iJw projection (``jeugdstroom.simulator.ijw.project``): the native events that say what
the iJw messages say. The native system is also compared with the simulator's independent ground truth of that
projection.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from jeugdstroom.cli.simulate import stream_ijw
from jeugdstroom.common.kafka import REGISTRY_CHANGES, TYPED_TOPICS
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app as intake_app
from jeugdstroom.monitor.app import create_app as monitor_app
from jeugdstroom.registry.app import create_app as registry_app
from jeugdstroom.simulator import ijw
from jeugdstroom.simulator.regions import REGIONS
from jeugdstroom.simulator.stream import Params, children
from jeugdstroom.simulator.truth import Truth
from tests.conftest import Infra, fresh_settings
from tests.support import caught_up, differences, keyed, monitor_rows, register_sender, running_app, wait_until

pytestmark = pytest.mark.integration

PARAMS = Params("rijk-van-nijmegen", days=150, seed=20261206, start=date(2025, 9, 1))
PERIODS = ["day", "month", "half_year", "year"]
RowKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass
class Stories:
    """The chosen children's iJw projections (each in sending order) and all of them in sending order."""

    children: list[list[ijw.Projected]]
    sent: list[ijw.Projected]
    corrected: int


def stories() -> Stories:
    """Children in care at the start (placements, measures) and, from the referrals of the window, every child with
    a pleegzorg aanmelding or a placement and a sample of the others; every third child with a stop gets the
    delete-then-resend correction."""
    region = REGIONS[PARAMS.region]
    initial = region.initial_placements + region.initial_measures
    chosen: list[list[ijw.Projected]] = []
    corrected = stops = 0
    for i, generated in enumerate(children(PARAMS)):
        events = [ev.event for ev in generated.clean]
        if i < initial:
            keep = i < 40 or region.initial_placements <= i < region.initial_placements + 10
        else:
            keep = i % 12 == 0 or any(
                e["type"] == "plaatsing" or (e["type"] == "aanmelding" and e["data"]["zorgvorm"] == "pleegzorg")
                for e in events)
        if not keep:
            continue
        has_stop = any(e["type"] == "plaatsing" and e["data"]["status"] == "beeindigd" for e in events)
        correct = has_stop and stops % 3 == 0
        stops += has_stop
        projected = ijw.project(events, region.pool("residentieel", generated.child.gemeente)[0].code, correct)
        corrected += sum(p.event["type"] == "correctie" for p in projected)
        if projected:
            chosen.append(projected)
    sent = sorted(itertools.chain.from_iterable(chosen), key=lambda p: p.message.at)
    return Stories(chosen, sent, corrected)


@contextlib.asynccontextmanager
async def system(infra: Infra, senders: set[str]) -> AsyncIterator[tuple[Settings, dict[str, str],
                                                                           httpx.AsyncClient, httpx.AsyncClient]]:
    """intake, registry and monitor in process on a database and topic prefix of their own; yields the settings,
    the sender tokens, an intake client and a monitor client with the operator token."""
    settings = await fresh_settings(infra)
    tokens = {code: await register_sender(settings, code) for code in sorted(senders)}
    async with contextlib.AsyncExitStack() as stack:
        intake = await stack.enter_async_context(running_app(intake_app(settings, inbox=False)))
        await stack.enter_async_context(running_app(registry_app(settings)))
        monitor = await stack.enter_async_context(running_app(monitor_app(settings)))
        monitor.headers["authorization"] = f"Bearer {settings.operator_token.get_secret_value()}"  # type: ignore[union-attr]
        monitor.timeout = httpx.Timeout(120)
        yield settings, tokens, intake, monitor


async def settled(settings: Settings) -> None:
    groups = {"registry": TYPED_TOPICS, "monitor": (REGISTRY_CHANGES,)}
    await wait_until(lambda: caught_up(settings, groups), 90, interval=0.5, what="registry and monitor caught up")


async def indicator_rows(monitor: httpx.AsyncClient) -> dict[tuple[str, str], dict[RowKey, bytes]]:
    """Every row the monitor answers exactly: per indicator, grouped by all its dimensions and by none, every
    period kind, as of the window's last day; each row whole (every field the API gives)."""
    catalogue = (await monitor.get("/v1/indicators")).json()
    out: dict[tuple[str, str], dict[RowKey, bytes]] = {}
    for ind in catalogue:
        for group in (",".join(ind["dimensions"]), ""):
            rows: dict[RowKey, bytes] = {}
            for period in PERIODS:
                resp = await monitor.get(f"/v1/indicators/{ind['id']}", params={
                    "period": period, "group_by": group, "as_of": PARAMS.window.as_of.isoformat()})
                assert resp.status_code == 200, resp.text
                assert resp.json()["exact"] is True
                for r in resp.json()["rows"]:
                    key = (r["period"], r["start"], tuple(sorted(r["dims"].items())))
                    assert key not in rows, f"duplicate row {ind['id']} {key}"
                    rows[key] = orjson.dumps(r, option=orjson.OPT_SORT_KEYS)
            out[ind["id"], group] = rows
    return out


def first_differences(a: dict[RowKey, bytes], b: dict[RowKey, bytes], limit: int = 5) -> list[str]:
    diff = [f"{k}: native {a.get(k)!r} ijw {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return diff[:limit]


async def run_native(infra: Infra, sent: list[ijw.Projected]) -> tuple[Settings, dict[tuple[str, str], Any],
                                                                       dict[str, Any]]:
    events = [p.event for p in sent]
    answers: Counter[str] = Counter()
    async with system(infra, {e["sender"] for e in events}) as (settings, tokens, intake, monitor):
        for sender, run in itertools.groupby(events, key=lambda e: e["sender"]):
            batch = list(run)
            resp = await intake.post("/v1/events", content=orjson.dumps(batch), headers={
                "content-type": "application/json", "authorization": f"Bearer {tokens[sender]}"})
            assert resp.status_code == 202, resp.text
            answers.update(r["status"] for r in resp.json()["results"])
        assert answers == {"accepted": len(events)}, answers
        again = events[::10]  # resent: duplicates that change nothing
        for sender, run in itertools.groupby(again, key=lambda e: e["sender"]):
            resp = await intake.post("/v1/events", content=orjson.dumps(list(run)), headers={
                "content-type": "application/json", "authorization": f"Bearer {tokens[sender]}"})
            answers.update(r["status"] for r in resp.json()["results"])
        assert answers == {"accepted": len(events), "duplicate": len(again)}, answers
        await settled(settings)
        rows = await indicator_rows(monitor)
        # the simulator's ground truth of the projection against the native system (as of the same day)
        dims = {i["id"]: i["dimensions"] for i in (await monitor.get("/v1/indicators")).json()}
        truth = Truth()
        for story in _by_child(sent):
            truth.add_child((e, False) for e in story)
        truth_diff: dict[str, list[str]] = {}
        for indicator, expected in truth.result(PARAMS.window.as_of, PERIODS).items():
            seen = await monitor_rows(monitor, indicator, dims[indicator], PERIODS, PARAMS.window.as_of.isoformat())
            truth_diff[indicator] = differences(keyed(expected), seen)
    return settings, rows, truth_diff


def _by_child(sent: list[ijw.Projected]) -> list[list[dict[str, Any]]]:
    per: dict[str, list[dict[str, Any]]] = {}
    for p in sent:
        per.setdefault(p.event["child"]["bsn"], []).append(p.event)
    return list(per.values())


async def run_ijw(infra: Infra, sent: list[ijw.Projected]) -> dict[tuple[str, str], Any]:
    answers: Counter[int] = Counter()
    refused: list[Any] = []
    async with system(infra, {p.message.sender for p in sent}) as (settings, tokens, intake, monitor):
        for p in sent:
            resp = await intake.post("/v1/ijw", content=p.message.xml, headers={
                "content-type": "application/xml", "authorization": f"Bearer {tokens[p.message.sender]}"})
            answers[resp.status_code] += 1
            body = resp.json()
            if resp.status_code != 202 or body["skipped"] or body["summary"].get("accepted") != 1:
                refused.append((p.message.kind, resp.status_code, body))
        assert refused[:3] == [] and answers == {202: len(sent)}, (answers, refused[:3])
        # resent (by the command's live feed): the same message is the same events, whatever came after it (TR056)
        again = await stream_ijw([p.message for p in sent[::10]], "http://app", tokens, 1e9, intake)
        assert again == {"200": len(sent[::10])}, again
        await settled(settings)
        return await indicator_rows(monitor)


async def test_an_ijw_only_stream_gives_exactly_the_indicators_of_the_native_stream(infra: Infra) -> None:
    s = stories()
    types = Counter(p.event["type"] for p in s.sent)
    kinds = Counter(p.message.kind for p in s.sent)
    assert len(s.children) >= 300 and s.corrected >= 5, (len(s.children), s.corrected)
    assert min(kinds.values()) >= 40 and set(kinds) == set(ijw.BERICHT_CODES), kinds
    assert types["correctie"] == s.corrected
    pleegzorg = sum(p.event["type"] == "aanmelding" and p.event["data"]["zorgvorm"] == "pleegzorg" for p in s.sent)
    linked = sum(p.event["type"] == "plaatsing" and "aanmelding_id" in p.event["data"] for p in s.sent)
    assert pleegzorg >= 20 and linked >= 50, (pleegzorg, linked)

    _, native, truth_diff = await run_native(infra, s.sent)
    via_ijw = await run_ijw(infra, s.sent)

    # the scenario is not empty where it matters: the pleegzorg waiting list fills and empties, waits are measured
    waiting = [orjson.loads(v)["value"] for k, v in sorted(native["wachtlijst_pleegzorg", ""].items())
               if k[0] == "day"]
    assert max(waiting) >= 3 and any(b < a for a, b in itertools.pairwise(waiting)), waiting
    assert native["wachttijd_plaatsing", ""], "no wachttijd_plaatsing rows"
    assert sum(len(rows) for rows in native.values()) > 5_000

    assert set(native) == set(via_ijw)
    failures = {f"{ind} by [{group}]": first_differences(native[ind, group], via_ijw[ind, group])
                for ind, group in native if native[ind, group] != via_ijw[ind, group]}
    assert failures == {}, orjson.dumps(failures, option=orjson.OPT_INDENT_2).decode()
    truth_failures = {ind: diff for ind, diff in truth_diff.items() if diff}
    assert truth_failures == {}, orjson.dumps(truth_failures, option=orjson.OPT_INDENT_2).decode()
