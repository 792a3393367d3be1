"""The dot map's positions (libs/common/jeugdstroom/common/data/coordinates.csv) against the independent reference
list in ../shared/reference: every gemeente within 15 km of the reference point, every jeugdregio (drawn at the
mean of its gemeenten's points, not an area centroid) within 20 km of the reference centre; served by
GET /v1/geography and the dashboard's config."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from jeugdstroom.common import geography
from jeugdstroom.common.geography import GeographyError, load, parse_coordinates, positions

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in km (equirectangular; exact enough over the Netherlands)."""
    dlat = (a[0] - b[0]) * 111.2
    dlon = (a[1] - b[1]) * 111.2 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dlat, dlon)


def read(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_gemeente_has_a_position_within_15_km_of_the_reference() -> None:
    ref = read("gemeente_jeugdregio_2025.csv")
    gemeenten, _ = positions(load())
    assert set(gemeenten) == {r["gemeente"] for r in ref}
    far = {
        r["gemeente"]: round(d, 1)
        for r in ref
        if (d := km(gemeenten[r["gemeente"]], (float(r["gemeente_lat"]), float(r["gemeente_lon"])))) > 15
    }
    assert not far, far


def test_every_jeugdregio_position_lies_within_20_km_of_the_reference_centre() -> None:
    ref = read("jeugdregio_2025.csv")
    _, regios = positions(load())
    assert set(regios) == {r["jeugdregio"] for r in ref}
    far = {
        r["jeugdregio"]: round(d, 1)
        for r in ref
        if (d := km(regios[r["jeugdregio"]], (float(r["lat"]), float(r["lon"])))) > 20
    }
    assert not far, far


def test_a_region_sits_at_the_mean_of_its_gemeenten_and_one_without_points_is_left_out() -> None:
    geo = load()
    points = {"GM0268": (51.84, 5.85), "GM0296": (51.80, 5.73)}
    gemeenten, regios = positions(geo, points)
    assert gemeenten == points
    assert regios == {"JZ32": (51.82, 5.79)}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("gemeente,lat,lon\nGM0268,5.85,51.84\n", "outside the Netherlands"),
        ("gemeente,lat,lon\nGM0268,51.8,x\n", "must be numbers"),
        ("gemeente,lat,lon\nGM0268,51.8,5.8\nGM0268,51.8,5.8\n", "twice"),
        ("gemeente,lat\nGM0268,51.8\n", "missing column"),
    ],
)
def test_a_broken_coordinates_file_is_refused(text: str, error: str) -> None:
    with pytest.raises(GeographyError, match=error):
        parse_coordinates(text)


def test_the_geography_document_and_the_dashboard_config_carry_the_positions() -> None:
    from fastapi.testclient import TestClient

    from jeugdstroom.monitor.app import geography_document

    doc = geography_document(geography.geography())
    nijmegen = next(g for g in doc["gemeenten"] if g["gemeente"] == "GM0268")
    assert (nijmegen["lat"], nijmegen["lon"]) == geography.coordinates()["GM0268"]
    jz32 = next(r for r in doc["jeugdregios"] if r["jeugdregio"] == "JZ32")
    assert km((jz32["lat"], jz32["lon"]), (51.82, 5.82)) < 15
    assert doc["coordinates_source"].endswith("coordinates.csv")

    from fastapi import FastAPI

    from jeugdstroom.common.settings import Settings
    from jeugdstroom.monitor.dashboard import add_dashboard_routes

    app = FastAPI()
    add_dashboard_routes(app, Settings())
    config = TestClient(app).get("/dashboard/config.json").json()
    assert all("lat" in g and "lon" in g for g in config["gemeenten"])
    assert len([r for r in config["jeugdregios"] if "lat" in r]) == 42


# -- operator-supplied boundaries (JEUGDSTROOM_GEOJSON_FILE) ----------------------------------------------------
def square(code: str, lon: float, lat: float, d: float = 0.03, prop: str = "statcode") -> dict[str, object]:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Feature", "properties": {prop: code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_boundaries_of_a_geojson_file_by_cbs_code_and_served_to_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from jeugdstroom.common.settings import Settings
    from jeugdstroom.monitor.dashboard import add_dashboard_routes, boundaries

    multi = {
        "type": "Feature",
        "properties": {"code": "JZ32", "naam": "Rijk van Nijmegen"},
        "geometry": {"type": "MultiPolygon", "coordinates": [square("x", 5.8, 51.8)["geometry"]["coordinates"]] * 2},  # type: ignore[index]
    }
    doc = {"type": "FeatureCollection", "features": [square("GM0268", 5.85, 51.84), multi]}
    parsed = boundaries.parse(doc)
    assert set(parsed["gemeente"]) == {"GM0268"} and len(parsed["jeugdregio"]["JZ32"]) == 2
    assert parsed["gemeente"]["GM0268"][0][0] == [5.82, 51.81]

    path = tmp_path / "grenzen.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setenv(boundaries.GEOJSON_FILE_ENV, str(path))
    boundaries.boundaries.cache_clear()
    try:
        app = FastAPI()
        add_dashboard_routes(app, Settings())
        client = TestClient(app)
        assert client.get("/dashboard/config.json").json()["boundaries"] is True
        assert client.get("/dashboard/boundaries.json").json()["jeugdregio"]["JZ32"] == parsed["jeugdregio"]["JZ32"]
        monkeypatch.delenv(boundaries.GEOJSON_FILE_ENV)
        boundaries.boundaries.cache_clear()
        plain = FastAPI()
        add_dashboard_routes(plain, Settings())
        assert TestClient(plain).get("/dashboard/boundaries.json").status_code == 404
    finally:
        boundaries.boundaries.cache_clear()


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": [square("Nijmegen", 5.85, 51.84, prop="naam")]}, "no CBS code"),
        ({"type": "FeatureCollection", "features": [square("GM0268", 187000, 428000)]}, "RD New"),  # metres
        ({"type": "FeatureCollection", "features": []}, "no features"),
    ],
)
def test_a_broken_boundaries_file_is_refused(doc: dict[str, object], error: str) -> None:
    from jeugdstroom.monitor.dashboard.boundaries import BoundaryError, parse

    with pytest.raises(BoundaryError, match=error):
        parse(doc)
