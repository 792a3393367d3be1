"""The iJw fixtures against the published iJw 3.2 XSDs (../shared/reference/ijw-3.2, test-only copies), the project's
structural check against the XSDs (never stricter), and the optional XSD validation (JEUGDSTROOM_IJW_XSD_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import xmlschema

from jeugdstroom.intake.ijw.message import IjwRejected, Problem, parse_message, parse_xml
from jeugdstroom.intake.ijw.xsd import XsdSetupError, XsdValidator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ijw-3.2"
#: Fixtures that break the XSDs on purpose; every other iJw 3.2 fixture is meant to be valid.
XSD_INVALID = ("jw305_missing_begindatum.xml", "jw305_one_namespace.xml")
MESSAGES = sorted(p.name for p in FIXTURES.glob("jw3*.xml"))
VALID = [n for n in MESSAGES if n not in XSD_INVALID]


@pytest.fixture(scope="module")
def schemas() -> dict[str, xmlschema.XMLSchema]:
    assert REFERENCE.is_dir(), REFERENCE
    return {k: xmlschema.XMLSchema(str(REFERENCE / f"{k.upper()}.xsd")) for k in ("jw301", "jw305", "jw307", "jw315")}


def test_the_fixture_lists_are_complete() -> None:
    assert set(XSD_INVALID) <= set(MESSAGES)
    assert len(VALID) >= 15


@pytest.mark.parametrize("name", VALID)
def test_every_fixture_meant_to_be_valid_is_valid_against_the_xsd(name: str,
                                                                  schemas: dict[str, xmlschema.XMLSchema]) -> None:
    errors = list(schemas[name[:5]].iter_errors(str(FIXTURES / name)))
    assert errors == [], [f"{e.path}: {e.reason}" for e in errors]


@pytest.mark.parametrize("name", XSD_INVALID)
def test_the_known_invalid_fixtures_are_invalid_against_the_xsd(name: str,
                                                                schemas: dict[str, xmlschema.XMLSchema]) -> None:
    assert not schemas[name[:5]].is_valid(str(FIXTURES / name))


@pytest.mark.parametrize("name", VALID)
def test_the_structural_check_is_never_stricter_than_the_xsd(name: str) -> None:
    """Every XSD-valid message passes the project's own check (whatever the iJw rules then say about it)."""
    msg = parse_message((FIXTURES / name).read_bytes())
    assert msg.kind == name[:5] and msg.records


@pytest.mark.parametrize("name", XSD_INVALID)
def test_the_structural_check_refuses_the_known_invalid_fixtures_too(name: str) -> None:
    with pytest.raises(IjwRejected):
        parse_message((FIXTURES / name).read_bytes())


# -- JEUGDSTROOM_IJW_XSD_DIR --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def validator() -> XsdValidator:
    return XsdValidator(REFERENCE)


def test_configured_xsds_accept_the_valid_fixtures(validator: XsdValidator) -> None:
    for name in VALID:
        assert validator(name[:5], parse_xml((FIXTURES / name).read_bytes())) == [], name
        parse_message((FIXTURES / name).read_bytes(), validator)


def test_configured_xsds_refuse_what_only_the_xsd_checks_without_echoing_values(validator: XsdValidator) -> None:
    # Geslacht is read (issue 19): the structural check refuses a code outside LDT_Geslacht (0, 1, 2) itself.
    text = (FIXTURES / "jw305_a.xml").read_text().replace("<Geslacht>2<", "<Geslacht>7<")
    with pytest.raises(IjwRejected) as info:
        parse_message(text.encode(), validator)
    assert info.value.kind == "jw305"
    assert info.value.problems == [Problem("/Bericht/Client/Geslacht", "must be a LDT_Geslacht code (0, 1, 2)")]
    # the Naam is content the structural check does not read: only the XSD refuses a name that is too long
    naam = (FIXTURES / "jw305_a.xml").read_text().replace(">Voorbeeld<", ">" + "938570833 " * 30 + "<")
    parse_message(naam.encode())  # the structural check alone lets it through
    with pytest.raises(IjwRejected) as long_name:
        parse_message(naam.encode(), validator)
    assert "938570833" not in str(long_name.value.problems)
    assert long_name.value.problems[0].element == "/Bericht/Client/Naam/Geslachtsnaam/Achternaam"


def test_a_folder_without_the_xsds_stops_intake_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(XsdSetupError, match="not a folder"):
        XsdValidator(tmp_path / "nowhere")
    with pytest.raises(XsdSetupError, match=r"JW301\.xsd is missing"):
        XsdValidator(tmp_path)
    for f in REFERENCE.iterdir():
        shutil.copy(f, tmp_path / f.name.lower())  # file names as downloaded may differ in case
    assert XsdValidator(tmp_path)("jw305", parse_xml((FIXTURES / "jw305_a.xml").read_bytes())) == []


def test_without_xmlschema_the_setting_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_xmlschema(name: str, *args: object, **kwargs: object) -> object:
        if name == "xmlschema":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_xmlschema)
    with pytest.raises(XsdSetupError, match=r"xmlschema is not installed.*jeugdstroom\[ijw-xsd\]"):
        XsdValidator(REFERENCE)
