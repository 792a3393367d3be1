"""The built-in dashboard page at ``/`` for people without Grafana.

A static page (``static/``: HTML, one script, one stylesheet and the vendored uPlot chart library) that
reads the monitor's *public* JSON API (``/v1/indicators``) from the browser and polls it every few
seconds. Without a token every value it shows is public output (docs/privacy.md); a reader token typed into its
token field is kept in the tab's sessionStorage and sent as a header (never in a URL), and the page shows the
token's scope ("exact voor gemeente:GM0268"). It compares areas (every jeugdregio, or every gemeente of a region),
draws the nulmeting and target where rows carry them, offers month, half-year and year periods with year-on-year, and
exports the API's rows as CSV (README.md, Dashboard); a dot map (or the shapes of ``JEUGDSTROOM_GEOJSON_FILE``,
``boundaries.py``) colours the compared areas, and "data t/m" comes from ``/v1/completeness``. The only server-side data it adds is ``/dashboard/config.json``: the suppression threshold and
every jeugdregio and gemeente of the current indeling with its name (for its filters) and its approximate position
(for its dot map; ``data/coordinates.csv`` in jeugdstroom.common).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from jeugdstroom.common import geography
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.dashboard import boundaries

STATIC = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/dashboard/static"

# The page loads only its own files and talks only to its own origin.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _latlon(point: tuple[float, float] | None) -> dict[str, float]:
    return {} if point is None else {"lat": point[0], "lon": point[1]}


def add_dashboard_routes(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard page at ``/``, its static files and its small configuration document."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC), name="dashboard-static")
    shapes = boundaries.boundaries()  # a broken JEUGDSTROOM_GEOJSON_FILE fails the start, not the page

    @app.get(
        "/dashboard/boundaries.json",
        tags=["dashboard"],
        summary="Area boundaries of JEUGDSTROOM_GEOJSON_FILE for the map (404 when none are configured)",
        responses={404: {"description": "No boundaries configured (JEUGDSTROOM_GEOJSON_FILE unset)"}},
    )
    async def dashboard_boundaries() -> dict[str, Any]:
        if shapes is None:
            raise HTTPException(404, f"no boundaries configured ({boundaries.GEOJSON_FILE_ENV})")
        return shapes

    @app.get("/", include_in_schema=False)
    async def dashboard_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=_SECURITY_HEADERS)

    @app.get(
        "/dashboard/config.json",
        tags=["dashboard"],
        summary="Settings of the dashboard page: suppression threshold, every jeugdregio and gemeente with its name",
    )
    async def dashboard_config() -> dict[str, Any]:
        geo = geography.geography()
        gemeenten = sorted(geo.gemeenten.values(), key=lambda g: (g.naam.lower(), g.code))
        g_pos, r_pos = geography.positions(geo)  # the dot map's approximate positions (data/coordinates.csv)
        return {
            "suppression_threshold": settings.suppression_threshold,
            "boundaries": shapes is not None,
            "gemeenten": [
                {"gemeente": g.code, "naam": g.naam, "jeugdregio": g.jeugdregio, **_latlon(g_pos.get(g.code))}
                for g in gemeenten
            ],
            "jeugdregios": [
                {"jeugdregio": code, "naam": naam, **_latlon(r_pos.get(code))}
                for code, naam in sorted(geo.jeugdregios.items(), key=lambda kv: (kv[1].lower(), kv[0]))
            ],
        }
