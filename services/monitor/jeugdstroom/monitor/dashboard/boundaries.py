"""Operator-supplied area boundaries for the dashboard's map (``JEUGDSTROOM_GEOJSON_FILE``, optional).

The project ships no boundaries (only approximate points, jeugdstroom.common ``data/coordinates.csv``). An operator
who has them — e.g. CBS's gebiedsindelingen from PDOK, exported as GeoJSON in WGS84 — names the file in
``JEUGDSTROOM_GEOJSON_FILE``; the page then draws each gemeente or jeugdregio with a boundary as its shape instead of
a dot. The file is a GeoJSON FeatureCollection (RFC 7946: longitude, latitude in WGS84) of Polygon or MultiPolygon
features, each with a property whose value is the area's CBS code (``statcode`` as in CBS's files, or ``code``,
``gemeente``, ``jeugdregio``): ``GM####`` for a gemeente, ``JZ##`` for a jeugdregio. Points outside the
Netherlands (e.g. RD New metres instead of degrees) refuse the file at the monitor's start.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

GEOJSON_FILE_ENV = "JEUGDSTROOM_GEOJSON_FILE"
CODE_PROPERTIES = ("statcode", "code", "gemeente", "jeugdregio")
_CODE = re.compile(r"^(GM[0-9]{4}|JZ[0-9]{2})$")
Ring = list[list[float]]


class BoundaryError(ValueError):
    """A boundaries file that cannot be used."""


def _rings(geometry: Any, where: str) -> list[Ring]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polygons = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise BoundaryError(f"{where}: geometry {kind!r}; expected Polygon or MultiPolygon")
    rings: list[Ring] = []
    for polygon in polygons:
        for ring in polygon:
            points = []
            for point in ring:
                lon, lat = float(point[0]), float(point[1])
                if not (50.5 <= lat <= 53.8 and 3.0 <= lon <= 7.5):
                    raise BoundaryError(
                        f"{where}: point ({point[0]}, {point[1]}) is not a longitude, latitude in the Netherlands"
                        " (GeoJSON is WGS84; convert RD New files first)"
                    )
                points.append([round(lon, 4), round(lat, 4)])
            rings.append(points)
    return rings


def parse(doc: Any, where: str = "boundaries") -> dict[str, dict[str, list[Ring]]]:
    """``{"gemeente": {code: rings}, "jeugdregio": {code: rings}}`` from a GeoJSON FeatureCollection."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise BoundaryError(f"{where}: not a GeoJSON FeatureCollection")
    out: dict[str, dict[str, list[Ring]]] = {"gemeente": {}, "jeugdregio": {}}
    for n, feature in enumerate(doc.get("features") or []):
        props = feature.get("properties") or {}
        codes = [str(props[p]).strip() for p in CODE_PROPERTIES if p in props and _CODE.match(str(props[p]).strip())]
        if not codes:
            raise BoundaryError(f"{where}: feature {n} has no CBS code (GM#### or JZ##) in {list(CODE_PROPERTIES)}")
        code = codes[0]
        level = "gemeente" if code.startswith("GM") else "jeugdregio"
        out[level].setdefault(code, []).extend(_rings(feature.get("geometry"), f"{where}: feature {n} ({code})"))
    if not out["gemeente"] and not out["jeugdregio"]:
        raise BoundaryError(f"{where}: no features")
    return out


def load(path: str | Path) -> dict[str, dict[str, list[Ring]]]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"{path}: {exc}") from exc
    return parse(doc, str(path))


@cache
def boundaries() -> dict[str, dict[str, list[Ring]]] | None:
    """The boundaries of ``JEUGDSTROOM_GEOJSON_FILE`` (read once per process), None when it is not set."""
    path = os.environ.get(GEOJSON_FILE_ENV)
    return load(path) if path else None
