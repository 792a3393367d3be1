"""``jeugdstroom population import``: stored per year, a re-import replaces its years (idempotent) and leaves the
others; the monitor's cached population follows an import."""

from __future__ import annotations

from pathlib import Path

import pytest

from jeugdstroom.cli.population import import_file
from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import population as pop

pytestmark = pytest.mark.integration

HEADER = "ID;Geslacht;Leeftijd;BurgerlijkeStaat;RegioS;Perioden;BevolkingOp1Januari_1\n"


async def test_a_reimport_replaces_its_years_and_keeps_the_others(settings: Settings, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "2024-2025.csv"
    first.write_text(HEADER + "0;Mannen;3 jaar;T001019;GM0268;2024JJ00;100\n"
                     "1;Vrouwen;15 jaar;T001019;GM0241;2024JJ00;40\n"  # Groesbeek → Berg en Dal
                     "2;Mannen;3 jaar;T001019;GM0268;2025JJ00;101\n", encoding="utf-8")
    assert await import_file(settings, first) == 3
    err = capsys.readouterr().err
    assert "GM0241 merged away: counted in GM1945" in err and "2024: 2 gemeenten, 140 people" in err
    assert await import_file(settings, first) == 3  # idempotent

    conn = await db.connect(settings.database_url)
    try:
        loaded = await pop.load(conn)
        assert loaded.denominator(2024, {}) == 140 and loaded.denominator(2025, {}) == 101
        again = tmp_path / "2024.csv"
        again.write_text(HEADER + "0;Vrouwen;20 jaar;T001019;GM0268;2024JJ00;7\n", encoding="utf-8")
        assert await import_file(settings, again) == 1
        rows = await conn.fetch("SELECT jaar, gemeente, leeftijdsklasse, geslacht, aantal FROM monitor.population"
                                " ORDER BY jaar")
        assert [tuple(r) for r in rows] == [(2024, "GM0268", "18-23", "vrouw", 7), (2025, "GM0268", "0-4", "man", 101)]
        loaded = await pop.load(conn)  # the cache follows the import
        assert loaded.denominator(2024, {"gemeente": "GM0268"}) == 7
        sources = await conn.fetch("SELECT jaar, source, synthetic FROM monitor.population_import ORDER BY jaar")
        assert [tuple(r) for r in sources] == [(2024, "2024.csv", False), (2025, "2024-2025.csv", False)]
    finally:
        await conn.close()
