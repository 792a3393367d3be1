"""Population per gemeente × year × leeftijdsklasse × geslacht, the denominator of the rates (``per_1000``).

:func:`parse` reads a CSV in the layout of CBS StatLine table 03759ned ("Bevolking op 1 januari en gemiddeld;
geslacht, leeftijd en regio") as its open data export gives it (docs/population.md): single-year ages (or the
youth-care classes themselves) are aggregated into the CBS youth-care classes 0-4, 4-12, 12-18 and 18-23; older ages
and totals are left out. :func:`replace` stores it, replacing every year the file holds (a re-import of a year is
idempotent). :func:`denominator` gives the population of a row's cell (docs/indicators.md, Rates).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jeugdstroom.common import geography
from jeugdstroom.common.db import Conn
from jeugdstroom.common.sql import load_queries

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

#: The youth-care classes that have a population (23+ has none: the youth population is 0 to 23 years).
CLASSES: dict[str, tuple[int, int]] = {"0-4": (0, 4), "4-12": (4, 12), "12-18": (12, 18), "18-23": (18, 23)}
YOUTH_END = 23
GESLACHT = {"3000": "man", "mannen": "man", "4000": "vrouw", "vrouwen": "vrouw"}
GESLACHT_TOTAL = {"t001038", "totaal mannen en vrouwen"}
#: Dimensions that select the denominator; every other dimension of a row only splits its numerator.
POPULATION_DIMS = ("gemeente", "jeugdregio", "leeftijdsklasse", "geslacht")
#: Row key of the denominator between the database read and the public/exact row (removed by rows.exact/public).
KEY = "_population"

Key = tuple[int, str, str, str]  # (jaar, gemeente, leeftijdsklasse, geslacht)

_COLUMNS: dict[str, tuple[str, ...]] = {
    "geslacht": ("Geslacht",),
    "leeftijd": ("Leeftijd",),
    "regio": ("RegioS", "Regio's", "Regios"),
    "perioden": ("Perioden",),
    "aantal": ("BevolkingOp1Januari_1", "Bevolking op 1 januari (aantal)", "Bevolking op 1 januari"),
}
_OPTIONAL = {"burgerlijke_staat": ("BurgerlijkeStaat", "Burgerlijke staat")}
_SINGLE = re.compile(r"^(\d{1,3}) jaar$")
_OLDER = re.compile(r"^(\d{1,3}) jaar of ouder$")
_RANGE = re.compile(r"^(\d{1,3}) tot (\d{1,3}) jaar$")
_PERIOD = re.compile(r"^(\d{4})(JJ00)?$")


class PopulationError(ValueError):
    """A population file that cannot be read; the message names the file, line and column."""


@dataclass
class Parsed:
    counts: dict[Key, int] = field(default_factory=dict)
    lines: int = 0  # data lines read
    used: int = 0  # data lines counted
    synthetic: bool = False  # the file says it holds synthetic (simulated) figures
    merged: dict[str, str] = field(default_factory=dict)  # historic code → successor met in the file

    @property
    def years(self) -> list[int]:
        return sorted({k[0] for k in self.counts})


def _age_span(value: str) -> tuple[int, int] | None:
    """Ages [lo, hi) of a Leeftijd value; None for ages at or over 23 and for totals (left out)."""
    v = value.strip()
    low = v.lower()
    if low.startswith("totaal") or v == "10000":
        return None
    if m := _SINGLE.match(v):
        age = int(m.group(1))
        return None if age >= YOUTH_END else (age, age + 1)
    if m := _OLDER.match(v):
        if int(m.group(1)) >= YOUTH_END:
            return None
        raise ValueError(f"{v!r} mixes youth and adult ages; export single years (e.g. '17 jaar')")
    if m := _RANGE.match(v):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo >= YOUTH_END:
            return None
        if (lo, hi) not in CLASSES.values():
            raise ValueError(
                f"age class {v!r} does not fit the CBS youth-care classes (0 tot 4, 4 tot 12, 12 tot 18, 18 tot 23"
                " jaar); export single years"
            )
        return lo, hi
    if v.isdigit():
        raise ValueError(f"{v!r} is a Leeftijd key code; export the labels ('7 jaar') or add them")
    raise ValueError(f"unknown age {v!r} (expected e.g. '7 jaar', '4 tot 12 jaar' or 'Totaal')")


def age_class(age: int) -> str:
    for name, (lo, hi) in CLASSES.items():
        if lo <= age < hi:
            return name
    raise ValueError(f"age {age} has no youth-care class")


def parse(text: str, source: str = "population file", geo: geography.Geography | None = None) -> Parsed:
    """The population in ``text`` aggregated into youth-care classes; raises :class:`PopulationError` naming the
    line and column of the first problem."""
    geo = geo or geography.geography()
    out = Parsed()
    data = _data_lines(text, out)
    if not data:
        raise PopulationError(f"{source}: no header line")
    header_line = data[0][1]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    rows = csv.reader((line for _, line in data), delimiter=delimiter)
    header = [h.strip() for h in next(rows)]
    index = _column_index(header, f"{source}:{data[0][0]}")
    ages_seen: dict[tuple[int, str, str], dict[int, int]] = defaultdict(dict)
    counts: dict[Key, int] = defaultdict(int)
    for (number, _), row in zip(data[1:], rows, strict=True):
        out.lines += 1
        cells = _Cells(row, number, header, index, source)
        parsed = _parse_row(cells, geo, out)
        if parsed is None:
            continue
        year, regio, gemeente, geslacht, span, n = parsed
        seen = ages_seen[year, regio, geslacht]
        for age in range(*span):
            if age in seen:
                raise cells.fail("leeftijd", f"age {age} of {regio} {geslacht} {year} already counted on line {seen[age]}")
            seen[age] = number
        counts[year, gemeente, age_class(span[0]), geslacht] += n
        out.used += 1
    out.counts = dict(counts)
    return out


def _data_lines(text: str, out: Parsed) -> list[tuple[int, str]]:
    """The numbered non-empty lines that are not comments (a comment naming "synthetic" marks ``out`` synthetic)."""
    data: list[tuple[int, str]] = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if line.startswith("#"):
            out.synthetic = out.synthetic or "synthetic" in line.lower()
            continue
        if line.strip():
            data.append((number, line))
    return data


def _column_index(header: list[str], where: str) -> dict[str, int]:
    """Column key → position in ``header``; a :class:`PopulationError` at ``where`` when a required one is missing."""
    index: dict[str, int] = {}
    for key, names in {**_COLUMNS, **_OPTIONAL}.items():
        for name in names:
            if name in header:
                index[key] = header.index(name)
                break
        else:
            if key in _COLUMNS:
                raise PopulationError(
                    f"{where}: missing column {names[0]!r} (header: {', '.join(header)}); expected"
                    " Geslacht, Leeftijd, RegioS, Perioden and BevolkingOp1Januari_1 (docs/population.md)"
                )
    return index


@dataclass
class _Cells:
    """One data line's cells by column key, with errors naming the line and column."""

    row: list[str]
    number: int
    header: list[str]
    index: dict[str, int]
    source: str

    def cell(self, key: str) -> str:
        i = self.index[key]
        if i >= len(self.row):
            raise PopulationError(f"{self.source}:{self.number}: column {self.header[i]!r}: missing value")
        return self.row[i].strip()

    def fail(self, key: str, message: str) -> PopulationError:
        return PopulationError(f"{self.source}:{self.number}: column {self.header[self.index[key]]!r}: {message}")


def _parse_row(
    cells: _Cells, geo: geography.Geography, out: Parsed
) -> tuple[int, str, str, str, tuple[int, int], int] | None:
    """(year, regio, current gemeente, geslacht, age span, people) of one line; None for a line that is a total,
    an aggregate or outside the ages of youth care."""
    cell, fail = cells.cell, cells.fail
    if "burgerlijke_staat" in cells.index:
        staat = cell("burgerlijke_staat")
        if staat != "T001019" and not staat.lower().startswith("totaal"):
            return None  # a part of the total: counting it as well would count people twice
    geslacht_value = cell("geslacht")
    if geslacht_value.lower() in GESLACHT_TOTAL:
        return None
    geslacht = GESLACHT.get(geslacht_value.lower())
    if geslacht is None:
        raise fail("geslacht", f"unknown value {geslacht_value!r} (expected Mannen/Vrouwen or 3000/4000)")
    regio = cell("regio")
    if not regio.startswith("GM"):
        return None  # Nederland, provinces, other regions: aggregates of gemeenten
    gemeente = geo.current(regio)
    if gemeente is None:
        raise fail("regio", f"unknown gemeente code {regio!r} (neither current nor merged away)")
    if gemeente != regio:
        out.merged[regio] = gemeente
    period = _PERIOD.match(cell("perioden"))
    if period is None:
        raise fail("perioden", f"expected a year like 2024JJ00, got {cell('perioden')!r}")
    try:
        span = _age_span(cell("leeftijd"))
    except ValueError as e:
        raise fail("leeftijd", str(e)) from None
    if span is None:
        return None
    raw = cell("aantal")
    if not raw.isdigit():
        raise fail("aantal", f"expected a whole number of people, got {raw!r}")
    return int(period.group(1)), regio, gemeente, geslacht, span, int(raw)


def read(path: Path, geo: geography.Geography | None = None) -> Parsed:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    return parse(text, str(path), geo)


async def replace(conn: Conn, parsed: Parsed, source: str, progress: Callable[[str], None] | None = None) -> int:
    """Store the parsed population, replacing every year it holds (in one transaction); returns rows written."""
    say = progress or (lambda _: None)
    records = [(y, g, k, s, n) for (y, g, k, s), n in sorted(parsed.counts.items())]
    async with conn.transaction():
        for year in parsed.years:
            mine = [r for r in records if r[0] == year]
            await conn.execute(Q.delete_population_year, year)
            await conn.copy_records_to_table(
                "population",
                schema_name="monitor",
                records=mine,
                columns=["jaar", "gemeente", "leeftijdsklasse", "geslacht", "aantal"],
            )
            await conn.execute(
                Q.population_imported,
                year,
                source,
                parsed.synthetic,
            )
            people = sum(r[4] for r in mine)
            say(f"  {year}: {len({r[1] for r in mine})} gemeenten, {people:,} people aged 0 to 23 (replaced)")
    return len(records)


# -- denominators -----------------------------------------------------------------------------------------------
Area = tuple[str, str]  # ("gemeente", code) | ("jeugdregio", code) | ("", "") for the country


@dataclass(frozen=True)
class Population:
    """The stored population rolled up to every cell a row can have: (year, area, class or "", geslacht or "")."""

    totals: Mapping[tuple[int, Area, str, str], int]
    years: tuple[int, ...]

    @classmethod
    def of(cls, counts: Iterable[tuple[Key, int]], geo: geography.Geography | None = None) -> Population:
        geo = geo or geography.geography()
        totals: dict[tuple[int, Area, str, str], int] = defaultdict(int)
        years: set[int] = set()
        for (year, gemeente, klasse, geslacht), n in counts:
            years.add(year)
            areas: tuple[Area, ...] = (("gemeente", gemeente), ("jeugdregio", geo.jeugdregio(gemeente)), ("", ""))
            for area in areas:
                for k in (klasse, ""):
                    for s in (geslacht, ""):
                        totals[year, area, k, s] += n
        return cls(dict(totals), tuple(sorted(years)))

    def year_for(self, year: int) -> int | None:
        """The population year used for a period starting in ``year``: that year, else the latest loaded year
        before it (None when every loaded year is later)."""
        earlier = [y for y in self.years if y <= year]
        return earlier[-1] if earlier else None

    def denominator(self, year: int, dims: Mapping[str, str]) -> int | None:
        """The population of a cell with dimension values ``dims`` (group_by and filters) in a period starting in
        ``year``; None when there is none (no population loaded for that cell: an unknown gemeente, geslacht
        onbekend, class 23+, no year loaded)."""
        use = self.year_for(year)
        if use is None:
            return None
        if "gemeente" in dims:
            area: Area = ("gemeente", dims["gemeente"])
        elif "jeugdregio" in dims:
            area = ("jeugdregio", dims["jeugdregio"])
        else:
            area = ("", "")
        n = self.totals.get((use, area, dims.get("leeftijdsklasse", ""), dims.get("geslacht", "")))
        return n if n else None


_cache: dict[str, tuple[object, Population]] = {}


async def load(conn: Conn) -> Population:
    """The stored population (read again only after an import changed it)."""
    stamp = await conn.fetchrow(Q.population_stamp)
    version = (stamp["n"], stamp["at"]) if stamp is not None else None
    hit = _cache.get("population")
    if hit is not None and hit[0] == version:
        return hit[1]
    rows = await conn.fetch(Q.population)
    pop = Population.of(((r["jaar"], r["gemeente"], r["leeftijdsklasse"], r["geslacht"]), r["aantal"]) for r in rows)
    _cache["population"] = (version, pop)
    return pop


def rated(kind: str, dimensions: Iterable[str]) -> bool:
    """Whether an indicator gets ``per_1000``: the indicators about children (those with the leeftijdsklasse
    dimension) whose value counts children or items (count, distinct, stock), not durations or shares."""
    return kind in ("count", "distinct", "stock") and "leeftijdsklasse" in tuple(dimensions)


def per_1000(value: float | None, population: int | None) -> float | None:
    """``value`` per 1,000 of ``population``, rounded to 2 decimals; None without a value or population."""
    if value is None or not population:
        return None
    return round(value * 1000 / population, 2)


async def add_denominators(
    conn: Conn, kind: str, dimensions: Iterable[str], rows: list[dict[str, object]], filters: Mapping[str, str]
) -> list[dict[str, object]]:
    """The rows with their population (private key :data:`KEY`) when the indicator is rated; unchanged else."""
    if not rated(kind, dimensions):
        return rows
    pop = await load(conn)
    out = []
    for r in rows:
        dims = {**filters, **r["dims"]}  # type: ignore[dict-item]
        year = int(str(r["start"])[:4])
        out.append({**r, KEY: pop.denominator(year, dims)})
    return out
