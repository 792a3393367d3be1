"""iJw adapter: hardened XML parsing and the structural check of iJw 3.2 messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from jeugdstroom.intake.ijw.message import IjwRejected, Problem, parse_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
HOSTILE_BSN = "033650202"  # the child in the invalid fixtures: never in an error
VALID = sorted(p.name for p in FIXTURES.glob("jw3*.xml") if "unmapped" not in p.name and "missing" not in p.name)


def _problems(data: bytes) -> list[Problem]:
    with pytest.raises(IjwRejected) as info:
        parse_message(data)
    assert info.value.status == 422
    assert HOSTILE_BSN not in str(info.value) and "938570833" not in str(info.value)
    return info.value.problems


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", VALID)
def test_every_hand_written_message_parses(name: str) -> None:
    msg = parse_message(_fixture(name))
    assert msg.kind == name[:5]
    assert msg.records
    assert msg.client.bsn not in repr(msg)  # the BSN never shows in a repr (logs, tracebacks)


def test_header_client_and_records_are_read() -> None:
    msg = parse_message(_fixture("jw315_b.xml"))
    assert (msg.header.afzender, msg.header.ontvanger, msg.header.identificatie) == ("12345678", "0296", "VOT-B1")
    assert msg.header.dagtekening.isoformat() == "2026-01-15"
    assert msg.client.birth_date.isoformat() == "2011-01-02"
    assert [r.element for r in msg.records] == ["/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[1]",
                                                "/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[2]"]
    assert msg.records[1].fields["Product/Code"] == "44G01"
    assert msg.records[1].fields["Verwijzer/Type"] == "02"
    assert parse_message(_fixture("jw301_a.xml")).juridische_status == "04"


@pytest.mark.parametrize("name", ["billion_laughs.xml", "external_entity.xml"])
def test_dtds_and_entities_are_refused_before_anything_is_expanded_or_fetched(name: str) -> None:
    assert _problems(_fixture(name)) == [Problem("(document)", "must not contain a DTD or entity declarations")]


def test_malformed_xml_names_the_position_not_the_content() -> None:
    (problem,) = _problems(_fixture("malformed.xml"))
    assert problem.element == "(document)" and problem.reason.startswith("is not well-formed XML (line ")


def test_other_releases_and_other_documents_are_not_ijw_3_2() -> None:
    assert _problems(_fixture("ijw_3_1.xml")) == [Problem("/Bericht", "is iJw release 3.1, not 3.2")]
    assert _problems(b"<Bericht/>")[0].element == "/"
    assert _problems(b'<Other xmlns="http://www.istandaarden.nl/ijw/3_2/jw305/schema"/>')[0].element == "/"
    jw317 = b'<Bericht xmlns="http://www.istandaarden.nl/ijw/3_2/jw317/schema"/>'
    assert "JW317 is not supported" in _problems(jw317)[0].reason


def test_a_missing_required_element_is_named_by_its_path() -> None:
    assert _problems(_fixture("jw305_missing_begindatum.xml")) == [
        Problem("/Bericht/Client/StartProducten/StartProduct[1]/Begindatum", "is required")]


def _edit(name: str, old: str, new: str) -> bytes:
    text = _fixture(name).decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(("old", "new", "element", "reason"), [
    ("<BerichtCode>438<", "<BerichtCode>440<", "/Bericht/Header/BerichtCode", "must be 438"),
    ("<BerichtSubversie>2<", "<BerichtSubversie>1<", "/Bericht/Header/BerichtSubversie", "must be 2"),
    ("<Bsn>938570833<", "<Bsn>938570834<", "/Bericht/Client/Bsn", "must be 9 digits that pass the elfproef"),
    ("<Ontvanger>0268<", "<Ontvanger>GM0268<", "/Bericht/Header/Ontvanger", "must be a gemeente code of 4 digits"),
    ("<Begindatum>2026-02-03<", "<Begindatum>2026-02-30<",
     "/Bericht/Client/StartProducten/StartProduct[1]/Begindatum", "must be a date (YYYY-MM-DD)"),
    ("<StatusAanlevering>1<", "<StatusAanlevering>4<",
     "/Bericht/Client/StartProducten/StartProduct[1]/StatusAanlevering",
     "must be a StatusAanlevering (COD467) code (1, 2, 3)"),
    ("<Begindatum>", "<Extra>x</Extra><Begindatum>",
     "/Bericht/Client/StartProducten/StartProduct[1]/Extra", "is not allowed here (unknown element or wrong order)"),
    ("<Header>", "<Header>text", "/Bericht/Header", "must not contain text besides its elements"),
])
def test_structure_violations_name_the_element_and_rule_without_the_value(old: str, new: str, element: str,
                                                                         reason: str) -> None:
    problems = _problems(_edit("jw305_a.xml", old, new))
    assert Problem(element, reason) in problems
    assert "938570834" not in str(problems)


def test_elements_out_of_order_are_refused() -> None:
    swapped = _edit("jw305_a.xml", "<Bsn>938570833</Bsn>", "").replace(
        b"<StartProducten>", b"<Bsn>938570833</Bsn><StartProducten>")
    problems = _problems(swapped)
    assert Problem("/Bericht/Client/Bsn", "is required") in problems


def test_a_wrong_verwijzer_code_is_refused() -> None:
    (problem,) = _problems(_edit("jw315_a.xml", "<Type>01<", "<Type>07<"))
    assert problem.element == "/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[1]/Verwijzer/Type"
    assert problem.reason.startswith("must be a COD327 code (01, 02, 03, 04, 05, 06, 08)")
