"""iJw adapter: from messages to events (one test per mapping rule), ids, and intake's own checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jeugdstroom.cli.main import build_parser
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.intake.ijw.convert import Conversion, State, convert, id_part, prepare, reden_einde
from jeugdstroom.intake.ijw.mapping import load_mapping
from jeugdstroom.intake.ijw.message import IjwRejected, Problem, parse_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
MAPPING = load_mapping()
KEY = b"k" * 16


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def _convert(xml: str, state: State | None = None) -> Conversion:
    return convert(parse_message(xml.encode()), MAPPING, state, KEY)


def _events(xml: str) -> list[dict[str, Any]]:
    return [d.event for d in _convert(xml).events]


# -- JW315 → aanmelding ----------------------------------------------------------------------------------------
def test_jw315_gives_an_aanmelding_per_requested_product() -> None:
    first, second = _events(_text("jw315_b.xml"))
    assert first == {
        "id": "ijw:jw315:VOT-B1:2026-01-15:B-001", "type": "aanmelding", "schema_version": 1,
        "occurred_at": "2026-01-15T00:00:00+01:00", "sender": "12345678",
        "child": {"bsn": "295289260", "birth_date": "2011-01-02", "gemeente": "GM0296", "geslacht": "man"},
        "data": {"aanmelding_id": "ijw:12345678:B-001", "verwijzer": "huisarts", "zorgvorm": "ambulant",
                 "aanbieder": "12345678"},  # the Afzender: the JW315 comes from the aanbieder
    }
    assert second["data"]["zorgvorm"] == "gezinshuis"


@pytest.mark.parametrize(("code", "verwijzer"), [
    ("01", "wijkteam"), ("02", "huisarts"), ("03", "jeugdarts"), ("04", "gecertificeerde_instelling"),
    ("05", "medisch_specialist"), ("06", "zelf"), ("08", "rechter_raad"),
])
def test_verwijzer_type_cod327_maps_to_our_verwijzer(code: str, verwijzer: str) -> None:
    (event,) = _events(_text("jw315_a.xml").replace("<ijw:Type>01<", f"<ijw:Type>{code}<"))
    assert event["data"]["verwijzer"] == verwijzer


def test_the_requested_product_gives_the_zorgvorm_through_the_mapping() -> None:
    (event,) = _events(_text("jw315_a.xml").replace("<ijw:Code>44P01<", "<ijw:Code>44P02<"))
    assert event["data"]["zorgvorm"] == "pleegzorg"  # netwerkpleegzorg is pleegzorg as a zorgvorm
    (event,) = _events(_text("jw315_c.xml"))
    assert event["data"]["zorgvorm"] == "gesloten"


# -- JW301 → beschikking toewijzing -------------------------------------------------------------------------
def test_jw301_gives_a_toewijzing_per_product_sent_by_the_gemeente() -> None:
    (event,) = _events(_text("jw301_a.xml"))
    assert event["sender"] == "GM0268" and event["child"]["gemeente"] == "GM0268"
    assert event["occurred_at"] == "2026-01-20T10:30:00+01:00"  # Toewijzingsdatum + -tijd, Dutch time
    assert event["data"] == {"beschikking_id": "ijw:9000001", "soort": "toewijzing", "status": "afgegeven",
                             "start": "2026-02-01", "end": "2026-12-31", "aanmelding_id": "ijw:12345678:A-001"}
    without_end = _events(_text("jw301_b.xml"))[0]
    assert "end" not in without_end["data"]


# -- JW305/JW307 → plaatsing -------------------------------------------------------------------------------
def test_jw305_gives_plaatsing_gestart_for_placement_products_and_skips_the_rest() -> None:
    conversion = _convert(_text("jw305_b.xml"))
    (derived,) = conversion.events
    assert derived.element == "/Bericht/Client/StartProducten/StartProduct[2]"
    assert derived.event["id"] == "ijw:jw305:9100002:2026-02-10"
    assert derived.event["data"] == {"plaatsing_id": "ijw:9100002:2026-02-10", "status": "gestart",
                                     "vorm": "gezinshuis", "provider": "12345678", "start": "2026-02-10"}
    assert [s.as_dict() for s in conversion.skipped] == [{
        "element": "/Bericht/Client/StartProducten/StartProduct[1]",
        "reason": "product is not a placement form (zorgvorm ambulant)"}]


def test_jw307_gives_plaatsing_beeindigd_for_the_same_placement() -> None:
    (event,) = _events(_text("jw307_a.xml"))
    (start,) = _events(_text("jw305_a.xml"))
    assert event["data"]["plaatsing_id"] == start["data"]["plaatsing_id"]
    assert event["occurred_at"] == "2026-04-30T00:00:00+02:00"  # summer time
    assert event["data"] == {"plaatsing_id": "ijw:9000001:2026-02-03", "status": "beeindigd",
                             "vorm": "pleegzorg_bestand", "provider": "12345678", "start": "2026-02-03",
                             "end": "2026-04-30", "reden_einde": "voortijdig"}


@pytest.mark.parametrize(("code", "reden"), [
    ("31", "volgens_plan"), ("32", "voortijdig"), ("33", "voortijdig"), ("34", "voortijdig"), ("35", "voortijdig"),
    ("38", "overplaatsing"), ("02", "anders"), ("20", "anders"), ("36", "anders"), ("37", "anders"),
    ("39", "anders"),
])
def test_reden_beeindiging_jz588_maps_to_reden_einde(code: str, reden: str) -> None:
    assert reden_einde(code) == reden
    (event,) = _events(_text("jw307_a.xml").replace("<RedenBeeindiging>33<", f"<RedenBeeindiging>{code}<"))
    assert event["data"]["reden_einde"] == reden


# -- StatusAanlevering ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "status"), [("jw305_b_gewijzigd.xml", "2"), ("jw307_a.xml", "9"),
                                             ("jw307_a.xml", "2")])
def test_status_aanlevering_2_and_9_are_refused_in_start_and_stop_cs058(name: str, status: str) -> None:
    text = _text(name).replace("<StatusAanlevering>1<", f"<StatusAanlevering>{status}<")
    with pytest.raises(IjwRejected) as info:
        _convert(text)
    (problem,) = info.value.problems
    assert problem.element.endswith("[1]/StatusAanlevering")
    assert problem.reason.startswith(f"StatusAanlevering {status} is not allowed in JW30")
    assert "(iJw CS058: 1 or 3)" in problem.reason and "(IV008)" in problem.reason
    assert info.value.kind == name[:5]


def test_status_aanlevering_3_withdraws_the_event_of_the_first_delivery() -> None:
    (correctie,) = _events(_text("jw305_c_verwijderd.xml"))
    (original,) = _events(_text("jw305_c.xml"))
    assert correctie["data"] == {"target_id": original["id"], "action": "intrekken"}
    assert correctie["occurred_at"] == "2026-03-05T00:00:00+01:00"  # Dagtekening of the deleting message
    (stop,) = _events(_text("jw307_a.xml").replace("<StatusAanlevering>1<", "<StatusAanlevering>3<"))
    assert stop["data"] == {"target_id": "ijw:jw307:9000001:2026-02-03", "action": "intrekken"}


# -- ids -----------------------------------------------------------------------------------------------------
def test_ids_are_deterministic_and_resends_yield_the_same_events() -> None:
    for name in ("jw315_b.xml", "jw301_b.xml", "jw305_b.xml", "jw307_a.xml", "jw305_c_verwijderd.xml"):
        assert _events(_text(name)) == _events(_text(name))
    renamed = _text("jw315_a.xml").replace("VOT-A1", "VOT-A2")
    assert _events(renamed)[0]["id"] != _events(_text("jw315_a.xml"))[0]["id"]  # another verzoek, another event


def test_unusual_values_become_stable_id_parts() -> None:
    assert id_part("A-001") == "A-001"
    assert id_part("ref 12/3") == id_part("ref 12/3") and id_part("ref 12/3").startswith("~")
    assert id_part("ref 12/3") != id_part("ref 12/4")
    (event,) = _events(_text("jw315_a.xml").replace(">A-001<", ">ref 12/3<"))
    assert event["data"]["aanmelding_id"] == f"ijw:12345678:{id_part('ref 12/3')}"


def test_the_same_record_twice_in_one_message_is_refused() -> None:
    text = _text("jw305_a.xml")
    start = text.index("<StartProduct>")
    end = text.index("</StartProducten>")
    with pytest.raises(IjwRejected) as info:
        _convert(text[:end] + text[start:end] + text[end:])
    assert info.value.problems == [Problem("/Bericht/Client/StartProducten/StartProduct[2]",
                                           "repeats the record at /Bericht/Client/StartProducten/StartProduct[1] "
                                           "(same identity)")]


# -- whole-message refusals -----------------------------------------------------------------------------------
def test_an_unmapped_product_refuses_the_whole_message() -> None:
    with pytest.raises(IjwRejected) as info:
        _convert(_text("jw305_unmapped_product.xml"))
    (problem,) = info.value.problems
    assert problem.element == "/Bericht/Client/StartProducten/StartProduct[2]/Product"
    assert "category 55 code 55L01 has no mapping for GM0268" in problem.reason


def test_prepare_pseudonymises_through_intakes_own_check() -> None:
    msg = parse_message(_text("jw305_a.xml").encode())
    _, checked = prepare(msg, "12345678", KEY, MAPPING)
    (c,) = checked
    assert c.event is not None and c.result is None
    assert c.event.child.model_dump(mode="json") == {
        "pseudonym": pseudonymise("938570833", KEY), "birth_date": "2009-05-14", "gemeente": "GM0268",
        "geslacht": "vrouw"}
    assert b"938570833" not in c.event.model_dump_json().encode()


def test_prepare_refuses_a_message_of_another_sender_with_403() -> None:
    msg = parse_message(_text("jw305_a.xml").encode())
    with pytest.raises(IjwRejected) as info:
        prepare(msg, "87654321", KEY, MAPPING)
    assert info.value.status == 403
    assert info.value.problems == [Problem("/Bericht/Header/Afzender", "does not match the token's sender")]
    gemeente = parse_message(_text("jw301_a.xml").encode())
    assert prepare(gemeente, "GM0268", KEY, MAPPING)[1][0].event is not None


def test_contract_rules_are_reported_at_the_record() -> None:
    backwards = _text("jw301_a.xml").replace("<Einddatum>2026-12-31<", "<Einddatum>2026-01-01<")
    with pytest.raises(IjwRejected) as info:
        prepare(parse_message(backwards.encode()), "GM0268", KEY, MAPPING)
    assert info.value.problems == [Problem("/Bericht/Client/ToegewezenProducten/ToegewezenProduct[1]",
                                           "data.end: must not be before start")]


def test_the_command_line_parses_ijw_import(tmp_path: Path) -> None:
    args = build_parser().parse_args(["ijw", "import", "a.xml", "b.xml", "--url", "http://h:1", "--token", "t"])
    assert (args.cmd, args.ijw_cmd, args.files, args.url, args.token) == (
        "ijw", "import", [Path("a.xml"), Path("b.xml")], "http://h:1", "t")


@pytest.mark.parametrize(("code", "geslacht"), [("1", "man"), ("2", "vrouw"), ("0", None)])
def test_geslacht_is_mapped_and_onbekend_is_left_out(code: str, geslacht: str | None) -> None:
    """iJw LDT_Geslacht (basisschema 3.2): 0 onbekend, 1 mannelijk, 2 vrouwelijk; onbekend is the absent field."""
    xml = _text("jw315_b.xml").replace("<Geslacht>1</Geslacht>", f"<Geslacht>{code}</Geslacht>")
    assert f"<Geslacht>{code}</Geslacht>" in xml
    (first, _) = _events(xml)
    assert first["child"].get("geslacht") == geslacht


def test_a_geslacht_outside_the_code_list_is_refused() -> None:
    xml = _text("jw315_b.xml").replace("<Geslacht>1</Geslacht>", "<Geslacht>3</Geslacht>")
    with pytest.raises(IjwRejected) as info:
        parse_message(xml.encode())
    assert any(p.element.endswith("/Client/Geslacht") and "LDT_Geslacht" in p.reason for p in info.value.problems)


def _category_47(name: str) -> str:
    """The fixture with its product replaced by jeugdreclassering (category 47, no product code)."""
    return _text(name).replace("<ijw:Categorie>44</ijw:Categorie>", "<ijw:Categorie>47</ijw:Categorie>").replace(
        "<ijw:Code>44P01</ijw:Code>", ""
    )


def test_category_47_gives_jeugdreclassering_events_not_jeugdbescherming() -> None:
    """Issue 23 item 6: JW305/JW307 of product category 47 are the GI's jeugdreclassering trajectory, an event type
    of its own (its aanmelding zorgvorm stays jeugdbescherming: the Zorgvorm enum is closed)."""
    (start,) = _events(_category_47("jw305_a.xml"))
    (stop,) = _events(_category_47("jw307_a.xml"))
    assert start["type"] == stop["type"] == "jeugdreclassering"
    assert start["data"] == {"jeugdreclassering_id": "ijw:9000001:2026-02-03", "status": "gestart",
                             "start": "2026-02-03"}
    assert stop["data"] == {"jeugdreclassering_id": "ijw:9000001:2026-02-03", "status": "beeindigd",
                            "start": "2026-02-03", "end": "2026-04-30"}
    assert MAPPING.resolve("GM0268", "47", None).zorgvorm == "jeugdbescherming"
    assert MAPPING.resolve("GM0268", "48", None).kind == "jeugdbescherming"
