"""Geography as versioned reference data: the gemeenten of the current CBS indeling, their jeugdregio, and the
gemeente codes that herindelingen merged away (docs/geography.md).

Every reader (monitor, simulator, iJw adapter, dashboard) uses this module, so a gemeente lands in the same
jeugdregio everywhere. The shipped files are ``data/gemeenten.csv`` (CBS Gebiedsindelingen 2025) and
``data/herindelingen.csv``; ``JEUGDSTROOM_REGIONS_FILE`` replaces the first with a newer indeling in the same layout
and ``JEUGDSTROOM_HERINDELINGEN_FILE`` adds herindelingen to the second, both without a release.

The rule for old codes: a gemeente code that a herindeling merged away counts in its successor in the current
indeling, whatever the date of the event — as CBS republishes its time series in the latest indeling. A code that is
neither a current nor a historic gemeente maps to :data:`UNKNOWN`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

UNKNOWN = "onbekend"
REGIONS_FILE_ENV = "JEUGDSTROOM_REGIONS_FILE"
HERINDELINGEN_FILE_ENV = "JEUGDSTROOM_HERINDELINGEN_FILE"
GEMEENTE_COLUMNS = ("gemeente", "gemeente_naam", "jeugdregio", "jeugdregio_naam")
HERINDELING_COLUMNS = ("gemeente", "gemeente_naam", "opvolger", "datum")
#: The dimensions whose values this module names.
NAMED_DIMENSIONS = ("gemeente", "jeugdregio")


class GeographyError(ValueError):
    """A geography file that cannot be used (wrong layout, unknown successor, conflicting rows)."""


@dataclass(frozen=True, slots=True)
class Gemeente:
    code: str  # GM####
    naam: str
    jeugdregio: str  # JZ##
    jeugdregio_naam: str


@dataclass(frozen=True, slots=True)
class Herindeling:
    code: str  # the old GM#### code
    naam: str
    opvolger: str  # its successor in the current indeling
    datum: date  # the first day the old code no longer existed


@dataclass(frozen=True)
class Geography:
    gemeenten: Mapping[str, Gemeente]
    herindelingen: Mapping[str, Herindeling]
    source: str
    #: Every jeugdregio of the indeling: code → name, sorted by code (derived from ``gemeenten``).
    jeugdregios: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        regios = dict(sorted({g.jeugdregio: g.jeugdregio_naam for g in self.gemeenten.values()}.items()))
        object.__setattr__(self, "jeugdregios", regios)

    def current(self, code: str) -> str | None:
        """The current gemeente code for a current or historic code, else None."""
        if code in self.gemeenten:
            return code
        h = self.herindelingen.get(code)
        return h.opvolger if h is not None else None

    def gemeente(self, code: str) -> str:
        """The gemeente dimension value: the current (successor) code, or ``onbekend``."""
        return self.current(code) or UNKNOWN

    def jeugdregio(self, code: str) -> str:
        """The jeugdregio code (JZ##) of a current or historic gemeente code, or ``onbekend``."""
        now = self.current(code)
        return self.gemeenten[now].jeugdregio if now is not None else UNKNOWN

    def name(self, dimension: str, value: str) -> str | None:
        """The name of a gemeente or jeugdregio dimension value (``onbekend`` for the unknown value); None for
        another dimension or a value this indeling does not know."""
        if value == UNKNOWN and dimension in NAMED_DIMENSIONS:
            return UNKNOWN
        if dimension == "gemeente":
            now = self.current(value)
            return self.gemeenten[now].naam if now is not None else None
        if dimension == "jeugdregio":
            return self.jeugdregios.get(value)
        return None

    def gemeenten_of(self, jeugdregio: str) -> list[str]:
        """The current gemeente codes of a jeugdregio, sorted."""
        return sorted(c for c, g in self.gemeenten.items() if g.jeugdregio == jeugdregio)


def _rows(text: str, columns: tuple[str, ...], where: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in columns if c not in (reader.fieldnames or ())]
    if missing:
        raise GeographyError(f"{where}: missing column(s) {missing}; expected header {','.join(columns)}")
    rows = []
    for n, row in enumerate(reader, 2):
        values = {c: (row.get(c) or "").strip() for c in columns}
        empty = [c for c, v in values.items() if not v]
        if empty:
            raise GeographyError(f"{where}: data row {n}: empty {empty}")
        rows.append(values)
    return rows


def _code(value: str, prefix: str, where: str) -> str:
    if not (len(value) == 6 and value.startswith(prefix) and value[2:].isdigit()):
        raise GeographyError(f"{where}: {value!r} is not a {prefix}#### code")
    return value


def parse(gemeenten_text: str, herindelingen_texts: Iterable[tuple[str, str]] = (), source: str = "") -> Geography:
    """A geography from the text of a gemeenten file and of herindelingen files (``(text, where)`` pairs; a later
    file's row for the same old code wins). Successor chains (A → B, later B → C) resolve to the current code."""
    where = source or "gemeenten"
    gemeenten: dict[str, Gemeente] = {}
    region_names: dict[str, str] = {}
    for r in _rows(gemeenten_text, GEMEENTE_COLUMNS, where):
        code = _code(r["gemeente"], "GM", where)
        regio = r["jeugdregio"]
        if not (len(regio) == 4 and regio.startswith("JZ") and regio[2:].isdigit()):
            raise GeographyError(f"{where}: {regio!r} is not a JZ## jeugdregio code")
        if code in gemeenten:
            raise GeographyError(f"{where}: gemeente {code} listed twice")
        if region_names.setdefault(regio, r["jeugdregio_naam"]) != r["jeugdregio_naam"]:
            raise GeographyError(f"{where}: jeugdregio {regio} has two names")
        gemeenten[code] = Gemeente(code, r["gemeente_naam"], regio, r["jeugdregio_naam"])
    if not gemeenten:
        raise GeographyError(f"{where}: no gemeenten")
    raw: dict[str, Herindeling] = {}
    for text, hwhere in herindelingen_texts:
        for r in _rows(text, HERINDELING_COLUMNS, hwhere):
            try:
                datum = date.fromisoformat(r["datum"])
            except ValueError as exc:
                raise GeographyError(f"{hwhere}: {r['gemeente']}: datum {r['datum']!r} is not YYYY-MM-DD") from exc
            old = _code(r["gemeente"], "GM", hwhere)
            raw[old] = Herindeling(old, r["gemeente_naam"], _code(r["opvolger"], "GM", hwhere), datum)
    herindelingen: dict[str, Herindeling] = {}
    for old, h in raw.items():
        if old in gemeenten:
            continue  # a code that exists again in the current indeling (a newer regions file) is current
        succ, seen = h.opvolger, {old}
        while succ not in gemeenten:
            if succ in seen or succ not in raw:
                raise GeographyError(
                    f"herindeling {old} ({h.naam}) → {h.opvolger}: no successor in the current indeling ({where})"
                )
            seen.add(succ)
            succ = raw[succ].opvolger
        herindelingen[old] = Herindeling(old, h.naam, succ, h.datum)
    return Geography(gemeenten, herindelingen, where)


def _shipped(name: str) -> str:
    return resources.files("jeugdstroom.common").joinpath(f"data/{name}").read_text(encoding="utf-8")


def load(regions_file: str | Path | None = None, herindelingen_file: str | Path | None = None) -> Geography:
    """The shipped geography, or the indeling of ``regions_file`` (same layout as ``data/gemeenten.csv``) and the
    shipped herindelingen plus those of ``herindelingen_file``."""
    if regions_file:
        path = Path(regions_file)
        gemeenten_text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        gemeenten_text, source = _shipped("gemeenten.csv"), "jeugdstroom.common/data/gemeenten.csv"
    texts = [(_shipped("herindelingen.csv"), "jeugdstroom.common/data/herindelingen.csv")]
    if herindelingen_file:
        texts.append((Path(herindelingen_file).read_text(encoding="utf-8"), str(herindelingen_file)))
    geo = parse(gemeenten_text, texts, source)
    if regions_file:
        # a gemeente of the shipped indeling must stay resolvable: current, or merged by a listed herindeling
        shipped = parse(_shipped("gemeenten.csv"))
        lost = [f"{c} ({g.naam})" for c, g in shipped.gemeenten.items() if geo.current(c) is None]
        if lost:
            raise GeographyError(
                f"{source}: gemeente(n) of the shipped indeling neither listed nor merged by a herindeling:"
                f" {', '.join(lost)}; list their herindelingen in {HERINDELINGEN_FILE_ENV} (docs/geography.md)"
            )
    return geo


@cache
def geography() -> Geography:
    """The geography of this process: the shipped files unless ``JEUGDSTROOM_REGIONS_FILE`` /
    ``JEUGDSTROOM_HERINDELINGEN_FILE`` name others (read once per process)."""
    return load(os.environ.get(REGIONS_FILE_ENV) or None, os.environ.get(HERINDELINGEN_FILE_ENV) or None)


def gemeente(code: str) -> str:
    """The current gemeente code of a current or historic code, else ``onbekend``."""
    return geography().gemeente(code)


def jeugdregio(code: str) -> str:
    """The jeugdregio code (JZ##) of a current or historic gemeente code, else ``onbekend``."""
    return geography().jeugdregio(code)


def name(dimension: str, value: str) -> str | None:
    """The name of a gemeente or jeugdregio dimension value (see :meth:`Geography.name`)."""
    return geography().name(dimension, value)


def names(dims: Mapping[str, str]) -> dict[str, str]:
    """The names of the gemeente and jeugdregio values among ``dims`` (values without a known name left out)."""
    out = {}
    for d in NAMED_DIMENSIONS:
        if d in dims:
            n = geography().name(d, dims[d])
            if n is not None:
                out[d] = n
    return out


# -- positions for the dashboard's dot map ------------------------------------------------------------------
COORDINATE_COLUMNS = ("gemeente", "lat", "lon")


def parse_coordinates(text: str, where: str = "coordinates") -> dict[str, tuple[float, float]]:
    """gemeente code → (lat, lon) from a file in the layout of ``data/coordinates.csv``; a point outside the
    Netherlands' bounding box is an error (a swapped or mistyped column)."""
    out: dict[str, tuple[float, float]] = {}
    for r in _rows(text, COORDINATE_COLUMNS, where):
        code = _code(r["gemeente"], "GM", where)
        try:
            lat, lon = float(r["lat"]), float(r["lon"])
        except ValueError as exc:
            raise GeographyError(f"{where}: {code}: lat/lon must be numbers") from exc
        if not (50.6 <= lat <= 53.7 and 3.2 <= lon <= 7.3):
            raise GeographyError(f"{where}: {code}: ({lat}, {lon}) lies outside the Netherlands")
        if code in out:
            raise GeographyError(f"{where}: gemeente {code} listed twice")
        out[code] = (lat, lon)
    return out


@cache
def coordinates() -> dict[str, tuple[float, float]]:
    """The shipped approximate position of every gemeente (``data/coordinates.csv``; its header names the source)."""
    return parse_coordinates(_shipped("coordinates.csv"), "jeugdstroom.common/data/coordinates.csv")


def positions(
    geo: Geography, points: Mapping[str, tuple[float, float]] | None = None
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(gemeente → (lat, lon), jeugdregio → (lat, lon)) for the gemeenten of ``geo`` that have a point; a
    jeugdregio sits at the mean of its gemeenten's points (a dot map's position, not an area centroid)."""
    pts = coordinates() if points is None else points
    gemeenten = {c: pts[c] for c in geo.gemeenten if c in pts}
    regios: dict[str, tuple[float, float]] = {}
    for regio in geo.jeugdregios:
        members = [gemeenten[c] for c in geo.gemeenten_of(regio) if c in gemeenten]
        if members:
            regios[regio] = (
                round(sum(p[0] for p in members) / len(members), 3),
                round(sum(p[1] for p in members) / len(members), 3),
            )
    return gemeenten, regios
