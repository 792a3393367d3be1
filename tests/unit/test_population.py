"""Population for the rates: the CBS StatLine CSV parser, the denominators, per_1000 under disclosure control, and
the simulator's synthetic population against the ground truth's own rate computation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from jeugdstroom.cli.population import cmd_population
from jeugdstroom.common.access import Reader
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import access as scoped
from jeugdstroom.monitor import population as pop
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.catalogue import CATALOGUE
from jeugdstroom.simulator import population as synthetic
from jeugdstroom.simulator.truth import add_rates

HEADER = "ID;Geslacht;Leeftijd;BurgerlijkeStaat;RegioS;Perioden;BevolkingOp1Januari_1"


def csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def test_single_ages_are_aggregated_into_the_cbs_classes_and_the_rest_is_left_out() -> None:
    text = csv(
        '0;"Mannen";"3 jaar";"T001019";"GM0268  ";"2024JJ00";100',
        '1;"Mannen";"4 jaar";"T001019";"GM0268  ";"2024JJ00";110',
        "2;Mannen;11 jaar;T001019;GM0268;2024JJ00;120",
        "3;Vrouwen;0 jaar;T001019;GM0268;2024JJ00;90",
        "4;Vrouwen;22 jaar;T001019;GM0268;2024JJ00;200",
        "5;Vrouwen;23 jaar;T001019;GM0268;2024JJ00;999",  # 23+: no population of the rates
        "6;Vrouwen;105 jaar of ouder;T001019;GM0268;2024JJ00;5",
        "7;Totaal mannen en vrouwen;3 jaar;T001019;GM0268;2024JJ00;190",  # a total of the rows above
        "8;Vrouwen;Totaal leeftijd;T001019;GM0268;2024JJ00;88000",
        "9;Vrouwen;0 jaar;Ongehuwd;GM0268;2024JJ00;90",  # a part of the marital-status total
        "10;Mannen;3 jaar;T001019;NL01;2024JJ00;170000",  # the country: a sum of gemeenten
        "11;3000;12 tot 18 jaar;T001019;GM0241;2015JJ00;700",  # Groesbeek, merged into Berg en Dal
    )
    parsed = pop.parse(text)
    assert parsed.counts == {
        (2024, "GM0268", "0-4", "man"): 100,
        (2024, "GM0268", "4-12", "man"): 230,
        (2024, "GM0268", "0-4", "vrouw"): 90,
        (2024, "GM0268", "18-23", "vrouw"): 200,
        (2015, "GM1945", "12-18", "man"): 700,
    }
    assert parsed.years == [2015, 2024]
    assert parsed.merged == {"GM0241": "GM1945"}
    assert not parsed.synthetic


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("0;Onbekend;3 jaar;T001019;GM0268;2024JJ00;1", "Geslacht", "unknown value"),
        ("0;Mannen;0 tot 5 jaar;T001019;GM0268;2024JJ00;1", "Leeftijd", "does not fit the CBS youth-care classes"),
        ("0;Mannen;20 jaar of ouder;T001019;GM0268;2024JJ00;1", "Leeftijd", "single years"),
        ("0;Mannen;10010;T001019;GM0268;2024JJ00;1", "Leeftijd", "key code"),
        ("0;Mannen;3 jaar;T001019;GM9999;2024JJ00;1", "RegioS", "unknown gemeente code"),
        ("0;Mannen;3 jaar;T001019;GM0268;2024MM01;1", "Perioden", "2024JJ00"),
        ("0;Mannen;3 jaar;T001019;GM0268;2024JJ00;.", "BevolkingOp1Januari_1", "whole number"),
    ],
)
def test_errors_name_the_line_and_the_column(line: str, column: str, reason: str) -> None:
    with pytest.raises(pop.PopulationError) as e:
        pop.parse(csv("0;Mannen;3 jaar;T001019;GM0268;2024JJ00;1".replace("3 jaar", "5 jaar"), line), "p.csv")
    assert f"p.csv:3: column '{column}'" in str(e.value)
    assert reason in str(e.value)


def test_an_age_counted_twice_and_a_missing_column_are_errors() -> None:
    with pytest.raises(pop.PopulationError, match=r"p.csv:3: column 'Leeftijd': age 5 .* already counted on line 2"):
        pop.parse(csv("0;Mannen;5 jaar;T001019;GM0268;2024JJ00;1", "1;Mannen;4 tot 12 jaar;T001019;GM0268;2024JJ00;8"),
                  "p.csv")
    with pytest.raises(pop.PopulationError, match=r"p.csv:1: missing column 'Perioden'"):
        pop.parse("Geslacht,Leeftijd,RegioS,BevolkingOp1Januari_1\nMannen,3 jaar,GM0268,5\n", "p.csv")


def test_the_cli_reports_a_bad_file_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bevolking.csv"
    bad.write_text(csv("0;Mannen;3 jaar;T001019;GM0268;2024;x"), encoding="utf-8")
    args = argparse.Namespace(population_cmd="import", file=bad)
    assert cmd_population(args, Settings()) == 2
    assert f"{bad}:2: column 'BevolkingOp1Januari_1'" in capsys.readouterr().err


def _population() -> pop.Population:
    counts = {
        (2024, "GM0268", "0-4", "man"): 100,  # Nijmegen, JZ32
        (2024, "GM0268", "0-4", "vrouw"): 90,
        (2024, "GM0268", "12-18", "man"): 300,
        (2024, "GM0296", "12-18", "vrouw"): 50,  # Wijchen, JZ32
        (2024, "GM0363", "12-18", "man"): 1000,  # Amsterdam
        (2026, "GM0268", "0-4", "man"): 7,
    }
    return pop.Population.of(counts.items())


def test_the_denominator_follows_the_rows_dimensions() -> None:
    p = _population()
    assert p.denominator(2024, {}) == 1540  # national
    assert p.denominator(2024, {"jeugdregio": "JZ32"}) == 540
    assert p.denominator(2024, {"jeugdregio": "JZ32", "gemeente": "GM0268"}) == 490
    assert p.denominator(2024, {"gemeente": "GM0268", "leeftijdsklasse": "0-4"}) == 190
    assert p.denominator(2024, {"leeftijdsklasse": "12-18", "geslacht": "man"}) == 1300
    assert p.denominator(2024, {"gemeente": "GM0268", "geslacht": "vrouw", "instelling": "87010001"}) == 90
    assert p.denominator(2024, {"leeftijdsklasse": "23+"}) is None
    assert p.denominator(2024, {"geslacht": "onbekend"}) is None
    assert p.denominator(2024, {"gemeente": "onbekend"}) is None
    # the period's year, else the latest loaded year before it; nothing before the first
    assert p.denominator(2025, {"gemeente": "GM0268"}) == 490
    assert p.denominator(2027, {"gemeente": "GM0268"}) == 7
    assert p.denominator(2023, {}) is None


def test_only_counts_of_children_are_rated() -> None:
    rated = {i.id for i in CATALOGUE.values() if pop.rated(i.kind, i.dimensions)}
    assert {"verblijf_jeugdigen", "gesloten_actief", "gesloten_instroom", "gesepareerde_jeugdigen"} <= rated
    assert not rated & {"aandeel_gezinsgericht", "gesloten_duur", "separaties", "wachtend_pleegzorg_dagen"}
    assert pop.per_1000(3, 7) == 428.57
    assert pop.per_1000(None, 700) is None and pop.per_1000(3, None) is None


def test_a_public_rate_is_the_rate_of_the_public_value_never_of_the_exact_one() -> None:
    ind = CATALOGUE["verblijf_jeugdigen"]
    secret = b"k" * 32
    threshold = 10

    def row(dims: dict[str, str], value: int, population: int) -> dict[str, object]:
        return {"period": "year", "start": "2024-01-01", "dims": dims, "value": value, pop.KEY: population}

    small = rowlib.public(ind, row({"gemeente": "GM0268"}, 4, 1000), threshold, secret)
    assert small["suppressed"] and small["value"] is None and small["per_1000"] is None
    noised = 0
    for g in range(200):
        exact_row = row({"gemeente": "GM0268", "instelling": f"{g:08d}"}, 40, 1000)
        public = rowlib.public(ind, exact_row, threshold, secret)
        assert pop.KEY not in public
        assert public["per_1000"] == round(public["value"] * 1000 / 1000, 2)
        noised += public["value"] != 40
        assert rowlib.exact(exact_row)["per_1000"] == 40.0
    assert noised > 100  # the public rate moves with the noise: it does not give the exact count back
    # a scoped reader: exact rates inside its scope, public ones elsewhere
    rows = [row({"gemeente": "GM0268"}, 41, 1000), row({"gemeente": "GM0296"}, 41, 1000)]
    out, exact = scoped.rows_for(Reader("wijk", "gemeente:GM0268"), ind, rows, {}, threshold, secret)
    assert exact == 1
    inside, outside = out
    assert inside["exact"] and inside["per_1000"] == 41.0
    assert not outside["exact"] and outside["per_1000"] == round(outside["value"], 2)


def test_the_synthetic_population_file_loads_and_matches_the_truths_rates() -> None:
    people = synthetic.synthetic("rijk-van-nijmegen", [2025, 2026])
    text = synthetic.csv_text("rijk-van-nijmegen", 7, people)
    assert text.startswith("# SYNTHETIC population") and "NOT CBS data" in text.splitlines()[0]
    parsed = pop.parse(text)
    assert parsed.synthetic and parsed.used == len(people)
    assert sum(parsed.counts.values()) == sum(people.values())
    loaded = pop.Population.of(parsed.counts.items())
    cells = [
        {"gemeente": "GM0268", "jeugdregio": "JZ32", "instelling": "87010001", "leeftijdsklasse": "12-18"},
        {"gemeente": "GM0944", "jeugdregio": "JZ32", "instelling": "87010001", "leeftijdsklasse": "0-4"},
        {"gemeente": "GM0268", "jeugdregio": "JZ32", "instelling": "87010001", "leeftijdsklasse": "23+"},
        {"gemeente": "onbekend", "jeugdregio": "onbekend", "instelling": "87010001", "leeftijdsklasse": "4-12"},
    ]
    rows: list[dict[str, Any]] = [
        {"period": p, "start": s, "dims": d, "value": v}
        for p, s in (("year", "2025-01-01"), ("month", "2026-03-01"), ("year", "2024-01-01"))
        for d, v in zip(cells, (17, 3, 2, 5), strict=True)
    ]
    result = {"verblijf_jeugdigen": [dict(r) for r in rows], "gesloten_duur": [dict(r) for r in rows]}
    add_rates(result, people)
    assert all("per_1000" not in r for r in result["gesloten_duur"])
    seen = [r["per_1000"] for r in result["verblijf_jeugdigen"]]
    assert seen == [pop.per_1000(r["value"], loaded.denominator(int(r["start"][:4]), r["dims"])) for r in rows]
    assert sum(x is not None for x in seen) == 4  # two cells × two loaded years
