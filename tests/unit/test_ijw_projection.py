"""The simulator's iJw projection (``jeugdstroom.simulator.ijw.project``): which native events iJw carries, with which
sender, fields and event time, in which sending order — and ``jeugdstroom simulate --format ijw``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import xmlschema

from jeugdstroom.cli.main import build_parser
from jeugdstroom.cli.simulate import cmd_simulate
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.ijw.message import parse_message
from jeugdstroom.simulator import ijw

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ijw-3.2"
AMS = ZoneInfo("Europe/Amsterdam")
CHILD = {"bsn": "111222333", "birth_date": "2008-04-12", "gemeente": "GM0268"}
FALLBACK = "99999999"


@pytest.fixture(scope="module")
def schemas() -> dict[str, xmlschema.XMLSchema]:
    return {k: xmlschema.XMLSchema(str(REFERENCE / f"{k.upper()}.xsd")) for k in ijw.BERICHT_CODES}


def ev(eid: str, etype: str, sender: str, at: str, **data: Any) -> dict[str, Any]:
    return {"id": eid, "type": etype, "schema_version": 1, "occurred_at": at, "sender": sender, "child": CHILD,
            "data": data}


def story() -> list[dict[str, Any]]:
    """A pleegzorg aanmelding whose toewijzing is decided earlier on the same day (hours), placed and ended at 18;
    an aanmelding by verwijzer ``anders`` with toewijzing and placement; a separatie and an OTS."""
    return [
        ev("A1", "aanmelding", "GM0268", "2025-03-03T15:00:00+01:00", aanmelding_id="A1", verwijzer="wijkteam",
           zorgvorm="pleegzorg", urgent=True),
        ev("B1", "beschikking", "GM0268", "2025-03-03T08:30:00Z", beschikking_id="B1", soort="toewijzing",
           status="afgegeven", start="2025-03-03", aanmelding_id="A1"),
        ev("P1", "plaatsing", "11111111", "2025-03-13T09:00:00+01:00", plaatsing_id="P1", status="gestart",
           vorm="pleegzorg_bestand", provider="11111111", start="2025-03-13", aanmelding_id="A1"),
        ev("P1e", "plaatsing", "11111111", "2025-06-20T10:00:00+02:00", plaatsing_id="P1", status="beeindigd",
           vorm="pleegzorg_bestand", provider="11111111", start="2025-03-13", end="2025-06-20",
           reden_einde="meerderjarig", aanmelding_id="A1"),
        ev("A2", "aanmelding", "GM0268", "2025-04-01T10:00:00+02:00", aanmelding_id="A2", verwijzer="anders",
           zorgvorm="residentieel"),
        ev("B2", "beschikking", "GM0268", "2025-04-02T10:00:00+02:00", beschikking_id="B2", soort="toewijzing",
           status="afgegeven", start="2025-04-02", aanmelding_id="A2"),
        ev("P2", "plaatsing", "22222222", "2025-04-05T10:00:00+02:00", plaatsing_id="P2", status="gestart",
           vorm="residentieel", provider="22222222", start="2025-04-05", aanmelding_id="A2"),
        ev("S1", "separatie", "22222222", "2025-04-06T10:00:00+02:00", separatie_id="S1", vorm="separeerruimte",
           start="2025-04-06T10:00:00+02:00"),
        ev("O1", "beschikking", "33333333", "2025-04-07T10:00:00+02:00", beschikking_id="O1", soort="ots",
           status="afgegeven", start="2025-04-07"),
    ]


def by_id(projected: list[ijw.Projected]) -> dict[str, ijw.Projected]:
    return {p.event["id"]: p for p in projected}


def test_the_projection_keeps_what_ijw_carries_as_ijw_carries_it() -> None:
    p = by_id(ijw.project(story(), FALLBACK))
    assert set(p) == {"A1", "B1", "P1", "P1e", "B2", "P2"}  # no JW315 for `anders`, no separatie, no OTS
    a1 = p["A1"].event
    assert a1["sender"] == "11111111"  # the provider's verzoek om toewijzing, not the gemeente's aanmelding
    assert a1["occurred_at"] == "2025-03-03T00:00:00+01:00"  # the Dagtekening: a day
    assert a1["data"] == {  # no urgent; the aanbieder is the JW315's sender
        "aanmelding_id": "A1", "verwijzer": "wijkteam", "zorgvorm": "pleegzorg", "aanbieder": "11111111"
    }
    assert p["B1"].event["occurred_at"] == "2025-03-03T09:30:00+01:00"  # Toewijzingsdatum/-tijd, local
    assert p["B1"].event["sender"] == "GM0268" and p["B1"].message.sender == "GM0268"
    stop = p["P1e"].event
    assert stop["occurred_at"] == "2025-06-20T00:00:00+02:00" and stop["data"]["reden_einde"] == "anders"
    assert stop["data"]["aanmelding_id"] == "A1" and p["P1"].event["data"]["aanmelding_id"] == "A1"
    # the toewijzing names aanmelding A2 (its ReferentieAanbieder), the placement cannot: A2 has no JW315
    assert p["B2"].event["data"]["aanmelding_id"] == "A2" and "aanmelding_id" not in p["P2"].event["data"]
    assert b"<ToewijzingNummer>" in p["P2"].message.xml  # the placement still carries its toewijzing


def test_messages_follow_the_ijw_process_whatever_the_hour_in_the_story() -> None:
    projected = ijw.project(story(), FALLBACK)
    order = [p.event["id"] for p in projected]
    assert order.index("A1") < order.index("B1") < order.index("P1") < order.index("P1e")
    assert [p.message.at for p in projected] == sorted(p.message.at for p in projected)
    b1 = by_id(projected)["B1"]
    assert b1.message.at > by_id(projected)["A1"].message.at  # sent after the JW315, decided before it
    assert datetime.fromisoformat(b1.event["occurred_at"]) < b1.message.at


def test_a_correction_is_a_wrong_stop_its_delete_and_the_right_stop(schemas: dict[str, xmlschema.XMLSchema]) -> None:
    projected = ijw.project(story(), FALLBACK, correct=True)
    order = [p.event["id"] for p in projected]
    assert order[order.index("P1e-w"):order.index("P1e") + 1] == ["P1e-w", "P1e-d", "P1e"]
    p = by_id(projected)
    wrong, delete, right = p["P1e-w"], p["P1e-d"], p["P1e"]
    assert wrong.event["data"]["end"] == "2025-06-19" and wrong.event["data"]["reden_einde"] == "voortijdig"
    assert delete.event["type"] == "correctie"
    assert delete.event["data"] == {"target_id": "P1e-w", "action": "intrekken"}
    assert b"<StatusAanlevering>3</StatusAanlevering>" in delete.message.xml
    assert b"<Einddatum>2025-06-19</Einddatum>" in delete.message.xml  # the record it deletes
    assert right.event["data"]["end"] == "2025-06-20"
    for x in projected:
        assert schemas[x.message.kind].is_valid(x.message.xml.decode()), x.event["id"]
        assert parse_message(x.message.xml).kind == x.message.kind


def test_simulate_format_ijw_writes_one_valid_message_per_file_and_the_truth_of_the_projection(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], schemas: dict[str, xmlschema.XMLSchema]) -> None:
    out = tmp_path / "ijw"
    args = build_parser().parse_args([
        "simulate", "--format", "ijw", "--days", "10", "--seed", "3", "--start", "2025-05-01",
        "--out", str(out), "--truth", str(tmp_path / "t.json"), "--truth-periods", "month"])
    assert cmd_simulate(args, Settings()) == 0
    files = sorted(out.iterdir())
    truth = orjson.loads((tmp_path / "t.json").read_bytes())
    assert truth["params"]["stream"]["events"] == len(files) > 100
    assert truth["indicators"]["verblijf_actief"] and truth["indicators"]["verwijzers"]
    kinds = {f.name.split("-")[1] for f in files}
    assert kinds == {"jw301", "jw305", "jw307", "jw315"}
    sent = [parse_message(f.read_bytes()) for f in files]
    for f, msg in list(zip(files, sent, strict=True))[::7]:
        assert schemas[msg.kind].is_valid(f.read_text()), f.name
    assert all(f.name.split("-")[1] == m.kind and f.name.split("-")[2] == (
        "GM" + m.header.afzender if m.kind == "jw301" else m.header.afzender) + ".xml" for f, m in zip(
        files, sent, strict=True))
    assert "iJw messages" in capsys.readouterr().out
    assert cmd_simulate(args, Settings()) == 2  # the directory is not empty any more
    assert date.fromisoformat(truth["params"]["as_of"]) == date(2025, 5, 10)
