"""iJw adapter: hardened XML parsing and the structural check of iJw 3.2 messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from jeugdstroom.intake.ijw.message import IjwRejected, Problem, canonical_nummer, parse_message, parse_time

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
HOSTILE_BSN = "033650202"  # the child in the invalid fixtures: never in an error
#: Fixtures that break the XSDs on purpose (tests/unit/test_ijw_xsd.py asserts that they do).
XSD_INVALID = ("jw305_missing_begindatum.xml", "jw305_one_namespace.xml")
VALID = sorted(p.name for p in FIXTURES.glob("jw3*.xml") if p.name not in XSD_INVALID)


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
    ("<Bsn>938570833<", "<Bsn>938570834<", "/Bericht/Client/Bsn", "must be 9 digits that pass the elfproef (CS002)"),
    ("<Ontvanger>0268<", "<Ontvanger>GM0268<", "/Bericht/Header/Ontvanger", "must be a gemeente code of 4 digits"),
    ("<Begindatum>2026-02-03<", "<Begindatum>2026-02-30<",
     "/Bericht/Client/StartProducten/StartProduct[1]/Begindatum", "must be a date (YYYY-MM-DD)"),
    ("<StatusAanlevering>1<", "<StatusAanlevering>4<",
     "/Bericht/Client/StartProducten/StartProduct[1]/StatusAanlevering",
     "must be a StatusAanlevering (COD467) code (1, 2, 3, 9)"),
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
    (problem,) = _problems(_edit("jw315_a.xml", "<ijw:Type>01<", "<ijw:Type>07<"))
    assert problem.element == "/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[1]/Verwijzer/Type"
    assert problem.reason.startswith("must be a COD327 code (01, 02, 03, 04, 05, 06, 08)")


def test_children_of_the_shared_types_must_be_in_the_basisschema_namespace() -> None:
    """The XSDs' elementFormDefault="qualified": BerichtIdentificatie/Identificatie, Product/Categorie … are in the
    basisschema namespace; the old one-namespace style of the fixtures is refused, with the reason."""
    problems = _problems(_fixture("jw305_one_namespace.xml"))
    assert Problem("/Bericht/Header/BerichtIdentificatie/Identificatie",
                   "is not allowed here (wrong order, or not in the basisschema namespace)") in problems
    assert Problem("/Bericht/Client/Geboortedatum/Datum", "is required") in problems
    swapped = _edit("jw305_a.xml", "<Begindatum>2026-02-03</Begindatum>",
                    '<ijw:Begindatum>2026-02-03</ijw:Begindatum>')  # a message element in the basisschema namespace
    assert Problem("/Bericht/Client/StartProducten/StartProduct[1]/Begindatum", "is required") in _problems(swapped)


def test_a_refused_message_of_a_recognised_type_names_its_type() -> None:
    with pytest.raises(IjwRejected) as info:
        parse_message(_fixture("jw305_missing_begindatum.xml"))
    assert info.value.kind == "jw305"
    with pytest.raises(IjwRejected) as other:
        parse_message(_fixture("ijw_3_1.xml"))
    assert other.value.kind is None


@pytest.mark.parametrize(("old", "new"), [
    (">A-001<", ">" + "R" * 36 + "<"),  # LDT_Referentie: up to 36
    (">A-001<", "> ref 12/3 met spaties <"),  # white space is part of an xs:string value
    (">VOT-A1<", ">VOT A1 2026<"),  # LDT_IdentificatieBericht: 12 characters, spaces allowed
])
def test_values_the_xsd_allows_are_accepted(old: str, new: str) -> None:
    msg = parse_message(_edit("jw315_a.xml", old, new))
    assert new[1:-1] in (msg.header.identificatie, msg.records[0].fields["ReferentieAanbieder"])


@pytest.mark.parametrize(("old", "new", "element"), [
    (">A-001<", ">" + "R" * 37 + "<", "/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[1]/ReferentieAanbieder"),
    (">A-001<", ">   <", "/Bericht/Client/AangevraagdeProducten/AangevraagdProduct[1]/ReferentieAanbieder"),
    (">VOT-A1<", ">VOT-A1-202601<", "/Bericht/Header/BerichtIdentificatie/Identificatie"),
])
def test_values_the_xsd_refuses_are_refused(old: str, new: str, element: str) -> None:
    assert element in [p.element for p in _problems(_edit("jw315_a.xml", old, new))]


@pytest.mark.parametrize(("tijd", "parsed"), [
    ("10:30:00", "10:30:00"),
    ("10:30:00.5", "10:30:00.500000"),
    ("10:30:00.123456789", "10:30:00.123456"),  # xs:time allows any number of fraction digits
    ("24:00:00", "00:00:00"),  # xs:time's end of day
])
def test_toewijzingstijd_is_an_xs_time_without_zone(tijd: str, parsed: str) -> None:
    assert parse_time(tijd).isoformat() == parsed
    parse_message(_edit("jw301_a.xml", ">10:30:00<", f">{tijd}<"))
    for bad in ("10:30:00Z", "10:30:00+01:00", "10:30", "25:00:00"):
        assert _problems(_edit("jw301_a.xml", ">10:30:00<", f">{bad}<"))[0].element.endswith("/Toewijzingstijd")


def test_toewijzingnummer_is_an_xs_integer_up_to_nine_nines() -> None:
    msg = parse_message(_edit("jw305_a.xml", ">9000001<", ">0009000001<"))
    assert canonical_nummer(msg.records[0].fields["ToewijzingNummer"]) == "9000001"
    assert _problems(_edit("jw305_a.xml", ">9000001<", ">1000000000<"))[0].element.endswith("/ToewijzingNummer")
    assert _problems(_edit("jw305_a.xml", ">9000001<", ">TN-1<"))[0].element.endswith("/ToewijzingNummer")


def test_toewijzingnummer_and_product_are_optional_in_start_and_stop() -> None:
    text = _fixture("jw307_a.xml").decode()
    bare = text.replace("<ToewijzingNummer>9000001</ToewijzingNummer>", "")
    bare = bare[: bare.index("<Product>")] + bare[bare.index("</Product>") + len("</Product>"):]
    (record,) = parse_message(bare.encode()).records
    assert "ToewijzingNummer" not in record.fields and "Product/Categorie" not in record.fields
