"""The dashboard page's routes and static files, without a database (the page itself is tested in tests/browser)."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from jeugdstroom.common import geography
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.dashboard import STATIC, STATIC_PREFIX, add_dashboard_routes


def client(threshold: int = 10) -> httpx.AsyncClient:
    app = FastAPI()
    add_dashboard_routes(app, Settings(suppression_threshold=threshold))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor")


async def test_page_is_served_at_root_with_a_strict_content_security_policy() -> None:
    async with client() as c:
        resp = await c.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert '<html lang="nl">' in resp.text


async def test_every_file_the_page_references_is_served() -> None:
    async with client() as c:
        page = (await c.get("/")).text
        refs = re.findall(r'(?:src|href)="(/dashboard/static/[^"]+)"', page)
        assert {
            f"{STATIC_PREFIX}/app.js",
            f"{STATIC_PREFIX}/style.css",
            f"{STATIC_PREFIX}/vendor/uplot/uPlot.iife.min.js",
        } <= set(refs)
        for ref in refs:
            resp = await c.get(ref)
            assert resp.status_code == 200, ref
            assert resp.content, ref
        assert (await c.get(f"{STATIC_PREFIX}/../__init__.py")).status_code == 404


def test_vendored_chart_library_ships_with_its_licence() -> None:
    vendor = STATIC / "vendor" / "uplot"
    licence = (vendor / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Leon Sorokin" in licence
    assert (
        (vendor / "uPlot.iife.min.js").read_text(encoding="utf-8").startswith("/*! https://github.com/leeoniya/uPlot")
    )


async def test_config_gives_threshold_and_every_jeugdregio_and_gemeente_by_name() -> None:
    async with client(threshold=7) as c:
        config = (await c.get("/dashboard/config.json")).json()
    assert config["suppression_threshold"] == 7
    geo = geography.geography()
    assert {g["gemeente"]: g["jeugdregio"] for g in config["gemeenten"]} == {
        c: g.jeugdregio for c, g in geo.gemeenten.items()
    }
    assert len(config["gemeenten"]) == 342 and len(config["jeugdregios"]) == 42
    nijmegen = next(g for g in config["gemeenten"] if g["gemeente"] == "GM0268")
    assert (nijmegen["naam"], nijmegen["jeugdregio"]) == ("Nijmegen", "JZ32")
    assert abs(nijmegen["lat"] - 51.84) < 0.1 and abs(nijmegen["lon"] - 5.86) < 0.15  # a position for the map
    rvn = next(r for r in config["jeugdregios"] if r["jeugdregio"] == "JZ32")
    assert rvn["naam"] == "Rijk van Nijmegen"
    names = [r["naam"] for r in config["jeugdregios"]]
    assert names == sorted(names, key=str.lower)  # listed by name, as a person looks them up


async def test_page_has_a_pause_control_a_polite_error_line_and_labelled_choices() -> None:
    """WCAG 2.2.2 (pause), 4.1.3 (status messages without stealing focus) and labelled form controls."""
    async with client() as c:
        page = (await c.get("/")).text
    assert re.search(r'<button type="button" id="refresh-toggle"[^>]*>Pauzeer verversen</button>', page)
    error = re.search(r'<p id="error"[^>]*>', page)
    assert error is not None
    assert 'role="status"' in error[0] and 'aria-live="polite"' in error[0] and 'role="alert"' not in error[0]
    for control in ("filter-jeugdregio", "filter-gemeente", "filter-periode", "compare-indicator", "access-token"):
        assert f'<label for="{control}">' in page, control
    periods = re.findall(r'<option value="(month|half_year|year)">(\w+)</option>', page)
    assert periods == [("month", "Maand"), ("half_year", "Halfjaar"), ("year", "Jaar")]
    assert 'id="compare-bars" class="bars" aria-hidden="true"' in page  # the table beside it carries the numbers


def test_page_script_says_the_catalogue_targets_in_dutch() -> None:
    """Every target text of the catalogue has a Dutch version in the page (the catalogue's own text is English)."""
    from jeugdstroom.monitor.catalogue import CATALOGUE

    script = (STATIC / "app.js").read_text(encoding="utf-8")
    block = script[script.index("const TARGET_NL = {") : script.index("};", script.index("const TARGET_NL = {"))]
    with_target = {ind.id for ind in CATALOGUE.values() if ind.target}
    assert with_target and all(f"\n    {i}: " in block for i in with_target), with_target
