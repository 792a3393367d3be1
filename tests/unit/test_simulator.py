"""The simulator: reproducible, valid, faulty in the intended ways, at the intended scale, in bounded memory."""

from __future__ import annotations

import io
import random
import tracemalloc
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

import httpx
import orjson
import pytest

from jeugdstroom.cli.main import build_parser
from jeugdstroom.cli.simulate import cmd_simulate, stream_live
from jeugdstroom.common import geography
from jeugdstroom.common.contracts.validation import ContractError, parse_submitted
from jeugdstroom.common.settings import Settings
from jeugdstroom.simulator import faults, stream
from jeugdstroom.simulator import population as synthetic
from jeugdstroom.simulator.regions import REGIONS
from jeugdstroom.simulator.story import BsnSequence
from jeugdstroom.simulator.stream import (
    Generated,
    Params,
    children,
    children_on_day,
    generate,
    initial_children,
    new_child,
)
from jeugdstroom.simulator.truth import Truth

YEAR = Params("rijk-van-nijmegen", 365, 11, date(2025, 1, 1))


@pytest.fixture(scope="module")
def region_year() -> list[Generated]:
    return list(children(YEAR))


@pytest.fixture(scope="module")
def region_year_file() -> bytes:
    out = io.BytesIO()
    generate(YEAR, out)
    return out.getvalue()


def _bytes(params: Params) -> tuple[bytes, bytes]:
    out, truth = io.BytesIO(), Truth()
    stats = generate(params, out, truth)
    return out.getvalue(), stream.truth_document(params, truth, stats, ("day", "month", "half_year", "year"))


def test_the_same_seed_gives_identical_bytes_and_another_seed_does_not() -> None:
    params = Params("rijk-van-nijmegen", 45, 5, date(2025, 3, 1))
    events, truth = _bytes(params)
    assert _bytes(params) == (events, truth)
    other_events, other_truth = _bytes(Params("rijk-van-nijmegen", 45, 6, date(2025, 3, 1)))
    assert other_events != events and other_truth != truth


def test_every_event_is_valid_or_one_of_the_deliberately_invalid_ones(region_year: list[Generated]) -> None:
    invalid = 0
    for generated in region_year:
        for em in generated.emissions:
            raw = orjson.dumps(em.event)
            if em.invalid:
                invalid += 1
                with pytest.raises(ContractError):
                    parse_submitted(raw)
            else:
                parse_submitted(raw)
    assert 20 < invalid < 500


def test_each_invalid_kind_breaks_every_event_type_where_it_says(region_year: list[Generated]) -> None:
    """The unknown code and the missing field come from the contract (faults.py names no type): intake rejects
    each broken copy, for the field the rule picked."""
    first: dict[str, dict[str, Any]] = {}
    for g in region_year:
        for ev in g.clean:
            etype = ev.event["type"]
            if etype not in first or ("end" in ev.event["data"] and "end" not in first[etype]["data"]):
                first[etype] = ev.event  # one with an end where the type has one: end_before_start needs it
    assert set(first) == set(faults.DATA_MODELS) - {"correctie"}  # a correctie is sent by faults, never broken
    rng = random.Random(1)
    for etype, event in first.items():
        fields = {
            "unknown_code": f"data.{faults.outside_enum(etype)[0]}",
            "missing": f"data.{faults.required_field(etype)}",
            "end_before_start": "data.end",
        }
        for kind in faults.INVALID_KINDS:
            if kind == "end_before_start" and "end" not in event["data"]:
                continue
            bad = faults.broken(event, kind, rng, YEAR.window)
            with pytest.raises(ContractError) as caught:
                parse_submitted(orjson.dumps(bad))
            if kind in fields:
                assert [e.field for e in caught.value.errors] == [fields[kind]], (etype, kind)
        assert faults.outside_enum(etype)[1] not in get_args(
            faults.DATA_MODELS[etype].model_fields[faults.outside_enum(etype)[0]].annotation
        )


def test_a_region_year_has_every_event_type_and_every_fault(
    region_year: list[Generated], region_year_file: bytes
) -> None:
    types: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    soorten: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for g in region_year:
        for em in g.emissions:
            types[em.event["type"]] += 1
            faults[em.fault] += 1
            data = em.event.get("data", {})
            if em.event["type"] == "correctie" and not em.invalid:
                actions[data["action"]] += 1
            if em.event["type"] == "beschikking" and not em.invalid:
                soorten[data["soort"]] += 1
            if em.event["type"] == "plaatsing" and not em.invalid and "reden_einde" in data:
                reasons[data["reden_einde"]] += 1
    assert set(types) == {"aanmelding", "beschikking", "plaatsing", "separatie", "jeugdreclassering", "correctie"}
    assert types["jeugdreclassering"] > 10  # iJw category 47: trajectories of children known to a GI
    assert all(faults[f] > 10 for f in ("late", "duplicate", "wrong", "correctie", "invalid"))
    assert actions["intrekken"] > 10 and actions["vervangen"] > 10
    assert {"toewijzing", "ots", "voorlopige_ots", "voogdij", "machtiging_gesloten", "spoedmachtiging"} <= set(soorten)
    assert set(reasons) == {"volgens_plan", "voortijdig", "overplaatsing", "meerderjarig", "anders"}
    assert 4000 < len(region_year) < 12000  # thousands of children a year
    lines = region_year_file.splitlines()
    assert len(lines) == sum(len(g.emissions) for g in region_year)
    # out-of-order delivery: a plaatsing's end or a separatie's end sometimes arrives before its start
    first_seen: dict[tuple[str, str], int] = {}
    ends_first = 0
    for n, line in enumerate(lines):
        ev = orjson.loads(line)
        if ev["type"] in ("plaatsing", "separatie") and isinstance(ev.get("data"), dict):
            key = (ev["type"], str(ev["data"].get(f"{ev['type']}_id")))
            if "end" not in ev["data"]:
                ends_first += key in first_seen
            first_seen.setdefault(key, n)
    assert ends_first > 0


def test_corrections_come_from_the_target_sender_after_the_target(region_year_file: bytes) -> None:
    position: dict[tuple[str, str], int] = {}
    checked = 0
    for n, line in enumerate(region_year_file.splitlines()):
        ev = orjson.loads(line)
        position.setdefault((ev["sender"], ev["id"]), n)
        if ev["type"] == "correctie" and ("replacement" in ev["data"] or ev["data"]["action"] == "intrekken"):
            target = (ev["sender"], ev["data"]["target_id"])
            assert position[target] < n
            if "replacement" in ev["data"]:
                assert ev["data"]["replacement"]["id"] == ev["data"]["target_id"]
                assert ev["data"]["replacement"]["sender"] == ev["sender"]
            checked += 1
    assert checked > 20


def test_senders_are_the_institutions_and_duplicates_repeat_content(region_year: list[Generated]) -> None:
    region = REGIONS["rijk-van-nijmegen"]
    known = {inst.code for inst in region.all_institutions()}
    by_key: dict[tuple[str, str], bytes] = {}
    for g in region_year:
        for em in g.emissions:
            ev = em.event
            assert ev["sender"] in known
            if ev["type"] == "plaatsing" and not em.invalid:
                assert ev["data"]["provider"] == ev["sender"]
            if ev["type"] == "aanmelding" and not em.fault and ev["data"]["zorgvorm"] != "jeugdbescherming":
                assert ev["sender"] == ev["child"]["gemeente"]
            raw = orjson.dumps(ev)
            key = (ev["sender"], ev["id"])
            if em.fault == "duplicate":
                assert by_key[key] == raw
            by_key.setdefault(key, raw)
    assert len({g.child.bsn for g in region_year}) == len(region_year)


def test_faults_do_not_change_the_truth(region_year: list[Generated]) -> None:
    """Truth from what was sent (duplicates, corrections, invalid events) equals truth from the clean story."""
    sent, clean = Truth(), Truth()
    for g in region_year:
        sent.add_child((em.event, em.invalid) for em in g.emissions)
        clean.add_child((ev.event, False) for ev in g.clean)
    as_of = YEAR.window.as_of
    assert sent.result(as_of, ("month", "year")) == clean.result(as_of, ("month", "year"))
    # ... and the faults are there: withdrawing or keeping the wrong versions would change it
    naive = Truth()
    for g in region_year:
        naive.add_child((em.event, False) for em in g.emissions if em.event["type"] != "correctie" and not em.invalid)
    assert naive.result(as_of, ("year",)) != clean.result(as_of, ("year",))


def test_the_truth_of_a_region_year_has_rows_for_every_indicator(region_year: list[Generated]) -> None:
    truth = Truth()
    for g in region_year:
        truth.add_child((em.event, em.invalid) for em in g.emissions)
    result = truth.result(YEAR.window.as_of, ("month", "year"))
    empty = [indicator for indicator, rows in result.items() if not rows]
    assert empty == []
    gesloten = sum(
        r["value"] for r in result["gesloten_instroom"] if r["period"] == "year" and r["start"] == "2025-01-01"
    )
    assert 20 < gesloten < 200
    waiting = sum(
        r["value"] for r in result["wachtlijst_pleegzorg"] if r["period"] == "year" and r["start"] == "2025-01-01"
    )
    assert 3 < waiting < 80  # Rijk van Nijmegen: from over 20 towards 5


def test_national_volume_per_day_is_a_few_million_events_a_year() -> None:
    """Sample three days of national referrals (never a whole national year) and extrapolate."""
    params = Params("nl", 1200, 3, date(2021, 1, 1))  # a long window, so every cohort's story is told
    bsns = BsnSequence()
    kids = events = 0
    for day in (0, 100, 200):
        for c in range(children_on_day(params, day)):
            g = new_child(params, day, c, bsns.next())
            kids += 1
            events += len(g.emissions)
    per_day_children, per_day_events = kids / 3, events / 3
    assert 900 < per_day_children < 1100  # hundreds of thousands of children a year
    assert 1_500_000 < per_day_events * 365 < 5_000_000  # a few million events a year
    assert REGIONS["nl"].new_children_per_day / REGIONS["rijk-van-nijmegen"].new_children_per_day > 40


def test_the_national_region_spreads_children_over_every_gemeente_by_inhabitants() -> None:
    """nl: every gemeente of the current indeling, weighted by (approximate) inhabitants, some children reported
    under a gemeente code that a herindeling merged away; a scaled sample keeps the proportions."""
    nl = REGIONS["nl"]
    geo = geography.geography()
    assert set(nl.gemeente_codes) == set(geo.gemeenten)
    weights = dict(zip(nl.gemeente_codes, nl.gemeente_weights, strict=True))
    assert 17_000_000 < sum(weights.values()) < 19_000_000
    assert weights["GM0363"] > weights["GM0599"] > weights["GM0268"] > weights["GM0088"]  # down to Schiermonnikoog
    params = Params("nl", 400, 9, date(2021, 1, 1), scale=0.2)
    assert initial_children(params) == round(17000 * 0.2) + round(24000 * 0.2)
    bsns = BsnSequence()
    kids = [new_child(params, day, c, bsns.next()) for day in range(0, 40) for c in range(children_on_day(params, day))]
    assert 150 < len(kids) / 40 < 250  # 20% of about 1000 a day
    regios = Counter(geo.jeugdregio(g.child.gemeente) for g in kids)
    assert len(regios) >= 38 and "onbekend" not in regios
    assert regios["JZ13"] > regios["JZ32"]  # Amsterdam-Amstelland has more children than Rijk van Nijmegen
    reported = [g.child.reported_gemeente for g in kids if g.child.reported_gemeente]
    assert reported and all(geo.gemeente(r) != r and r not in geo.gemeenten for r in reported)
    for g in kids:  # events carry the reported code; the story (pools, gemeente as sender) the current one
        for em in g.emissions:
            if not em.invalid:
                assert geo.gemeente(em.event["child"]["gemeente"]) == g.child.gemeente
    with pytest.raises(ValueError, match="scale"):
        Params("nl", 30, 1, date(2025, 1, 1), scale=0).validate(date(2026, 1, 1))


def test_generation_streams_in_bounded_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Memory stays far below the output size: children are written out as they are generated."""
    params = Params("rijk-van-nijmegen", 200, 4, date(2025, 1, 1))
    expected = io.BytesIO()
    generate(params, expected)
    monkeypatch.setattr(stream, "BUFFERED_LINES", 500)
    with (tmp_path / "events.ndjson").open("wb") as f:
        tracemalloc.start()
        try:
            generate(params, f)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    written = (tmp_path / "events.ndjson").read_bytes()
    assert written == expected.getvalue()  # flushing to disk does not change the stream
    assert peak < len(written) / 2, (peak, len(written))


def test_every_event_lies_in_the_past_and_the_window_must_end_before_today() -> None:
    params = Params("rijk-van-nijmegen", 30, 2, stream.default_start(30))
    out = io.BytesIO()
    generate(params, out)
    latest = max(
        datetime.fromisoformat(orjson.loads(line)["occurred_at"]).date()
        for line in out.getvalue().splitlines()
        if not orjson.loads(line)["id"].endswith("-x")
    )
    assert latest < stream.today()
    with pytest.raises(ValueError, match="before today"):
        Params("rijk-van-nijmegen", 30, 2, stream.today()).validate(stream.today())


# -- command line ----------------------------------------------------------------------------------------------
def test_the_command_writes_events_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(
        [
            "simulate",
            "--region",
            "rijk-van-nijmegen",
            "--days",
            "20",
            "--seed",
            "9",
            "--start",
            "2025-05-01",
            "--out",
            str(tmp_path / "e.ndjson"),
            "--truth",
            str(tmp_path / "t.json"),
            "--truth-periods",
            "month,year",
        ]
    )
    assert cmd_simulate(args, Settings()) == 0
    truth = orjson.loads((tmp_path / "t.json").read_bytes())
    assert truth["params"]["as_of"] == "2025-05-20" and truth["params"]["periods"] == ["month", "year"]
    assert truth["params"]["stream"]["events"] == len((tmp_path / "e.ndjson").read_bytes().splitlines())
    assert {r["period"] for rows in truth["indicators"].values() for r in rows} == {"month", "year"}
    captured = capsys.readouterr()
    assert "100%" in captured.err and "events →" in captured.out
    args.start = date(2099, 1, 1)
    assert cmd_simulate(args, Settings()) == 2


def test_the_cli_samples_the_national_region_and_up_offers_it(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["simulate", "--region", "nl", "--scale", "0.002", "--days", "10", "--start", "2025-05-01",
         "--truth", str(tmp_path / "t.json"), "--truth-periods", "year",
         "--population-out", str(tmp_path / "population-synthetic.csv")]
    )
    assert cmd_simulate(args, Settings()) == 0
    doc = orjson.loads((tmp_path / "t.json").read_bytes())
    params = doc["params"]
    assert params["region"] == "nl" and params["scale"] == 0.002 and params["population"] == "synthetic"
    # the synthetic population: every gemeente, marked as invented, scaled like the run; the truth's rates use it
    lines = (tmp_path / "population-synthetic.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# SYNTHETIC population") and "NOT CBS data" in lines[0]
    assert len({line.split(";")[4] for line in lines[2:]}) == 342
    amsterdam = sum(int(line.split(";")[-1]) for line in lines[2:] if ";GM0363;" in line)
    full = sum(n for (_, g, _, _), n in synthetic.synthetic("nl", [2025]).items() if g == "GM0363")
    assert 150_000 < full < 250_000 and abs(amsterdam - 0.002 * full) <= 46  # scaled like the run (± rounding)
    rated = [r for r in doc["indicators"]["verblijf_jeugdigen"] if r.get("per_1000") is not None]
    assert rated and all(0 < r["per_1000"] < 1000 for r in rated)
    assert all("per_1000" not in r for r in doc["indicators"]["gesloten_duur"])
    assert 60 < params["stream"]["children"] < 140  # 0.2% of 41,000 in care and of 10 days of 1,000 a day
    up = build_parser().parse_args(["up", "--region", "nl", "--demo-scale", "0.05"])
    assert (up.region, up.demo_scale) == ("nl", 0.05)
    assert build_parser().parse_args(["up"]).region == "rijk-van-nijmegen"  # the regional demo stays the default


async def test_live_streaming_posts_each_event_as_its_own_sender(tmp_path: Path) -> None:
    params = Params("rijk-van-nijmegen", 5, 8, date(2025, 6, 1))
    path = tmp_path / "e.ndjson"
    with path.open("wb") as f:
        generate(params, f)
    tokens = {inst.code: f"token-{inst.code}" for inst in REGIONS["rijk-van-nijmegen"].all_institutions()}
    seen: list[str] = []

    def intake(request: httpx.Request) -> httpx.Response:
        sender = request.headers["authorization"].removeprefix("Bearer token-")
        results: list[dict[str, Any]] = []
        for line in request.content.splitlines():
            ev = orjson.loads(line)
            assert ev["sender"] == sender
            seen.append(ev["id"])
            try:
                parse_submitted(line)
                results.append({"status": "accepted", "id": ev["id"]})
            except ContractError:
                results.append({"status": "rejected", "errors": []})
        return httpx.Response(202, json={"results": results})

    progress = io.StringIO()
    async with httpx.AsyncClient(transport=httpx.MockTransport(intake)) as client:
        counts = await stream_live(
            path, "http://intake", tokens, rate=1_000_000, batch=50, client=client, progress=progress
        )
    lines = path.read_bytes().splitlines()
    assert seen == [orjson.loads(line)["id"] for line in lines]  # in file order
    assert counts["accepted"] + counts["rejected"] == len(lines) and counts["accepted"] > 0
    assert "100%" in progress.getvalue()


def test_children_have_a_geslacht_and_onbekend_is_left_out(region_year: list[Generated]) -> None:
    by_child: dict[str, set[str]] = {}
    for generated in region_year:
        for em in generated.emissions:
            if not em.invalid and "child" in em.event:
                child = em.event["child"]
                by_child.setdefault(child["bsn"], set()).add(child.get("geslacht", "onbekend"))
    assert all(len(values) == 1 for values in by_child.values())  # one geslacht per child, in every event
    counts = Counter(next(iter(v)) for v in by_child.values())
    assert set(counts) == {"man", "vrouw", "onbekend"}
    assert counts["onbekend"] < counts["vrouw"] < counts["man"]
