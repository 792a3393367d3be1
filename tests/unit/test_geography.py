"""The geography reference data (jeugdstroom.common.geography) against CBS's 2025 indeling, the herindelingen rule,
and loading a newer indeling through JEUGDSTROOM_REGIONS_FILE."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from jeugdstroom.common import geography
from jeugdstroom.common.geography import UNKNOWN, GeographyError, load, parse

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def reference() -> dict[str, dict[str, str]]:
    with (REFERENCE / "gemeente_jeugdregio_2025.csv").open(encoding="utf-8") as f:
        return {r["gemeente"]: r for r in csv.DictReader(f)}


def test_every_gemeente_and_its_jeugdregio_equal_cbs_2025() -> None:
    ref = reference()
    geo = load()
    assert len(ref) == 342
    assert set(geo.gemeenten) == set(ref)
    for code, r in ref.items():
        g = geo.gemeenten[code]
        assert (g.naam, g.jeugdregio, g.jeugdregio_naam) == (r["gemeente_naam"], r["jeugdregio"], r["jeugdregio_naam"])


def test_the_42_jeugdregios_have_their_cbs_names() -> None:
    with (REFERENCE / "jeugdregio_2025.csv").open(encoding="utf-8") as f:
        ref = {r["jeugdregio"]: r for r in csv.DictReader(f)}
    geo = load()
    assert len(geo.jeugdregios) == 42
    assert geo.jeugdregios == {code: r["jeugdregio_naam"] for code, r in ref.items()}
    for code, r in ref.items():
        assert len(geo.gemeenten_of(code)) == int(r["gemeenten"]), code
    assert geo.jeugdregios["JZ32"] == "Rijk van Nijmegen"
    assert geo.gemeenten_of("JZ32") == ["GM0209", "GM0225", "GM0252", "GM0268", "GM0296", "GM0944", "GM1945"]


def test_the_shipped_file_names_its_source_and_date() -> None:
    text = resources.files("jeugdstroom.common").joinpath("data/gemeenten.csv").read_text(encoding="utf-8")
    header = " ".join(line for line in text.splitlines() if line.startswith("#"))
    assert "CBS Gebiedsindelingen 2025" in header and "2025-01-01" in header


def test_every_herindeling_successor_is_a_2025_gemeente_and_every_old_code_is_gone() -> None:
    ref = reference()
    geo = load()
    assert len(geo.herindelingen) >= 60
    for old, h in geo.herindelingen.items():
        assert old not in ref, f"{old} ({h.naam}) is still a gemeente in 2025"
        assert h.opvolger in ref, f"{old} ({h.naam}) → {h.opvolger} is not a 2025 gemeente"
    # every herindeling since 2018 that CBS lists, by year (the count of codes that ceased to exist)
    per_year: dict[int, int] = {}
    for h in geo.herindelingen.values():
        per_year[h.datum.year] = per_year.get(h.datum.year, 0) + 1
    assert (per_year[2018], per_year[2019], per_year[2021], per_year[2022], per_year[2023]) == (11, 34, 4, 11, 3)
    assert 2020 not in per_year and 2024 not in per_year and 2025 not in per_year


@pytest.mark.parametrize(
    ("old", "successor", "jeugdregio"),
    [
        ("GM0241", "GM1945", "JZ32"),  # Groesbeek → Berg en Dal (Rijk van Nijmegen)
        ("GM0457", "GM0363", "JZ13"),  # Weesp → Amsterdam, 24 March 2022
        ("GM0788", "GM0824", "JZ35"),  # Haaren (split 2021) → Oisterwijk, which received the largest part
        ("GM0140", "GM1900", "JZ02"),  # Littenseradiel (split 2018) → Súdwest-Fryslân
        ("GM0053", "GM1966", "JZ01"),  # Winsum (split 2019) → Het Hogeland
        ("GM0501", "GM1992", "JZ29"),  # Brielle → Voorne aan Zee (2023)
    ],
)
def test_a_merged_gemeente_counts_in_its_successor(old: str, successor: str, jeugdregio: str) -> None:
    geo = load()
    assert geo.gemeente(old) == successor
    assert geo.jeugdregio(old) == jeugdregio == geo.jeugdregio(successor)
    assert geo.name("gemeente", old) == geo.gemeenten[successor].naam


def test_unknown_codes_stay_onbekend() -> None:
    geo = load()
    for code in ("GM9999", "GM0000", "0268", "", "onbekend"):
        assert geo.gemeente(code) == UNKNOWN
        assert geo.jeugdregio(code) == UNKNOWN
    assert geo.name("gemeente", "GM9999") is None
    assert geo.name("jeugdregio", "JZ40") is None  # JZ40 does not exist in 2025
    assert geo.name("jeugdregio", UNKNOWN) == UNKNOWN
    assert geography.names({"gemeente": "GM0268", "jeugdregio": "JZ32", "vorm": "x"}) == {
        "gemeente": "Nijmegen",
        "jeugdregio": "Rijk van Nijmegen",
    }


def newer_indeling() -> str:
    """A hypothetical newer indeling: the shipped one, with Heumen and Mook en Middelaar merged into GM2001."""
    shipped = resources.files("jeugdstroom.common").joinpath("data/gemeenten.csv").read_text(encoding="utf-8")
    lines = [line for line in shipped.splitlines() if not line.startswith(("GM0252,", "GM0944,"))]
    return "\n".join([*lines, "GM2001,Maas en Heuvel,JZ32,Rijk van Nijmegen"]) + "\n"


NEWER_HERINDELINGEN = """gemeente,gemeente_naam,opvolger,datum
GM0252,Heumen,GM2001,2027-01-01
GM0944,Mook en Middelaar,GM2001,2027-01-01
"""


def test_a_newer_indeling_loads_from_the_regions_file(tmp_path: Path) -> None:
    regions, herindelingen = tmp_path / "gemeenten.csv", tmp_path / "herindelingen.csv"
    regions.write_text(newer_indeling(), encoding="utf-8")
    herindelingen.write_text(NEWER_HERINDELINGEN, encoding="utf-8")
    geo = load(regions, herindelingen)
    assert geo.source == str(regions)
    assert len(geo.gemeenten) == 341 and "GM2001" in geo.gemeenten and "GM0252" not in geo.gemeenten
    assert geo.gemeente("GM0944") == "GM2001" and geo.jeugdregio("GM0944") == "JZ32"
    assert geo.gemeente("GM0241") == "GM1945"  # the shipped herindelingen still apply
    assert geo.gemeente("GM0457") == "GM0363"
    assert len(geo.gemeenten_of("JZ32")) == 6
    # a herindeling whose successor is not in the indeling (nor merged on) is refused, never silently unknown
    with pytest.raises(GeographyError, match=r"neither listed nor merged by a herindeling: GM0252 \(Heumen\)"):
        load(regions)  # the new indeling without its herindelingen: Heumen would silently become onbekend
    with pytest.raises(GeographyError, match="no successor in the current indeling"):
        parse(newer_indeling(), [("gemeente,gemeente_naam,opvolger,datum\nGM0001,X,GM0252,2020-01-01\n", "h")])


def test_the_setting_selects_the_regions_file_for_the_whole_process(tmp_path: Path) -> None:
    regions = tmp_path / "gemeenten.csv"
    regions.write_text(newer_indeling(), encoding="utf-8")
    herindelingen = tmp_path / "herindelingen.csv"
    herindelingen.write_text(NEWER_HERINDELINGEN, encoding="utf-8")
    code = (
        "from jeugdstroom.common import geography as g;"
        "print(len(g.geography().gemeenten), g.jeugdregio('GM0252'), g.gemeente('GM0252'))"
    )
    env = {
        **os.environ,
        "JEUGDSTROOM_REGIONS_FILE": str(regions),
        "JEUGDSTROOM_HERINDELINGEN_FILE": str(herindelingen),
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["341", "JZ32", "GM2001"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gemeente,naam\nGM0001,X\n", "missing column"),
        ("gemeente,gemeente_naam,jeugdregio,jeugdregio_naam\nGM01,X,JZ01,A\n", "is not a GM#### code"),
        ("gemeente,gemeente_naam,jeugdregio,jeugdregio_naam\nGM0001,X,R1,A\n", "is not a JZ## jeugdregio code"),
        ("gemeente,gemeente_naam,jeugdregio,jeugdregio_naam\nGM0001,X,JZ01,A\nGM0001,Y,JZ01,A\n", "listed twice"),
        ("gemeente,gemeente_naam,jeugdregio,jeugdregio_naam\nGM0001,X,JZ01,A\nGM0002,Y,JZ01,B\n", "two names"),
        ("gemeente,gemeente_naam,jeugdregio,jeugdregio_naam\nGM0001,,JZ01,A\n", "empty"),
    ],
)
def test_a_broken_regions_file_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(GeographyError, match=message):
        parse(text)
