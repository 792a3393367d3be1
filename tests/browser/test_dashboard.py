"""The monitor's dashboard page (``/``) in a real headless Chromium, driven with Playwright for Python.

Needs the Debian package ``chromium`` (/usr/bin/chromium; scripts/test installs it when missing) and
``playwright`` from the dev extras (no browser download: Playwright drives the system Chromium). Both
tests fail, never skip, when either is missing. Screenshots go to ``artifacts/`` (CI artifact, git-ignored).

1. Against the running system (intake → registry → monitor as processes, separaties sent over HTTP):
   the headline value and the monthly table equal what the public API returns, a chart is drawn, small
   cells show as suppressed, the page updates live when new events arrive, and the gemeente filter works.
2. With the API answered by the test in the row format of docs/indicators.md (dims, start,
   target_status): target status colours per instelling and on the headline card.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from jeugdstroom.common import access, geography
from jeugdstroom.common.geography import positions
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import completeness
from jeugdstroom.monitor.dashboard import STATIC
from tests.conftest import Infra, fresh_settings
from tests.factories import SENDER, separatie
from tests.support import ServiceProcess, register_sender, running_services, service_ports, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
TZ = ZoneInfo("Europe/Amsterdam")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NIJMEGEN, WIJCHEN = "GM0268", "GM0296"


def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail(
            "Chromium not found: install the Debian package `chromium` "
            "(apt-get install --no-install-recommends chromium); scripts/test does this when run as root"
        )
    return path


@pytest.fixture
async def browser_context(tmp_path: Path) -> AsyncIterator[Any]:
    """A persistent-profile Chromium context (the profile is the test's ``--user-data-dir``)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is not installed: .venv/bin/pip install -e '.[dev]' (it drives /usr/bin/chromium)")
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            locale="nl-NL",
            timezone_id="Europe/Amsterdam",
        )
        try:
            yield context
        finally:
            await context.close()


# -- test data --------------------------------------------------------------------------------------------
def month_start(t: datetime) -> datetime:
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def episodes(prefix: str, starts: list[datetime], gemeente: str, seed0: int) -> list[dict[str, Any]]:
    """One separatie (start only) per start time, each of another child."""
    return [
        separatie(f"{prefix}-{k}", f"{prefix}-sep-{k}", seed=seed0 + k, start=t.isoformat(), gemeente=gemeente)
        for k, t in enumerate(starts)
    ]


def spread(begin: datetime, end: datetime, n: int) -> list[datetime]:
    """n instants strictly between ``begin`` and ``end``."""
    step = (end - begin) / (n + 1)
    return [begin + step * (k + 1) for k in range(n)]


async def post_events(intake: ServiceProcess, token: str, events: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(base_url=intake.url, headers={"authorization": f"Bearer {token}"}, timeout=10) as c:
        resp = await c.post("/v1/events", json=events)
    assert resp.status_code == 202, resp.text
    assert {r["status"] for r in resp.json()["results"]} == {"accepted"}


async def public_rows(monitor: ServiceProcess, **params: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as c:
        resp = await c.get(f"{monitor.url}/v1/indicators/separaties", params=params)
    resp.raise_for_status()
    rows: list[dict[str, Any]] = resp.json()["rows"]
    return rows


async def exact_total(settings: Settings, monitor: ServiceProcess) -> int:
    token = settings.operator_token.get_secret_value() if settings.operator_token else ""
    async with httpx.AsyncClient(timeout=5) as c:
        resp = await c.get(
            f"{monitor.url}/v1/indicators/separaties",
            params={"period": "year", "group_by": ""},
            headers={"authorization": f"Bearer {token}"},
        )
    resp.raise_for_status()
    return sum(r["value"] for r in resp.json()["rows"])


MONTHS_NL = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def dutch_date(day: date) -> str:
    return f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}"


def row_start(row: dict[str, Any]) -> str:
    return str(row.get("start") or row.get("period_start"))


def shown(value: int | None, suppressed: bool) -> str:
    """How the page writes a public value (Dutch number format; these tests stay below 1000)."""
    return "<10" if suppressed else str(value)


async def headline(page: Any) -> str:
    text: str = await page.locator('#card-separaties [data-role="headline-value"]').inner_text()
    return text.strip()


async def api_headline(monitor: ServiceProcess, year: int, **filters: str) -> str:
    rows = [
        r
        for r in await public_rows(monitor, period="year", group_by="", **filters)
        if row_start(r).startswith(str(year))
    ]
    if not rows:
        return "0"
    assert len(rows) == 1, rows
    return shown(rows[0]["value"], rows[0]["suppressed"])


# -- 1. the page against the running system ---------------------------------------------------------------
async def test_dashboard_renders_live_public_indicators(infra: Infra, log_dir: Path, browser_context: Any) -> None:
    settings = service_ports(await fresh_settings(infra))
    now = datetime.now(TZ)
    this_month = month_start(now)
    last_month = month_start(this_month - timedelta(days=1))
    async with running_services(settings, log_dir) as procs:
        monitor = procs["monitor"]
        token = await register_sender(settings, SENDER, "dashboard")
        # This month 12 in Nijmegen and 3 in Wijchen; last month 4 in Nijmegen (a suppressed month).
        first = [
            *episodes("nm", spread(this_month, now, 12), NIJMEGEN, 1000),
            *episodes("wc", spread(this_month, now, 3), WIJCHEN, 2000),
            *episodes("lm", spread(last_month, this_month, 4), NIJMEGEN, 3000),
        ]
        await post_events(procs["intake"], token, first)

        async def all_counted(n: int) -> bool:
            return await exact_total(settings, monitor) == n

        await wait_until(
            lambda: all_counted(19 if last_month.year == now.year else 15), 60, what="the separaties in the monitor"
        )

        page = await browser_context.new_page()
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("response", lambda r: console_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        trend_urls: list[str] = []  # the page's requests for the separaties trend table (for the CSV comparison)
        page.on(
            "request",
            lambda r: (
                trend_urls.append(r.url)
                if "/v1/indicators/separaties?" in r.url
                and "period=month" in r.url
                and "group_by=&" in r.url
                and "to=" not in r.url
                else None
            ),
        )
        # The instelling's name, as `jeugdstroom sender add --name` records it for the monitor.
        conn = await asyncpg.connect(settings.database_url)
        try:
            await completeness.set_name(conn, SENDER, "Jeugdzorg Test")
            own = await access.add_token(conn, "instelling zelf", f"instelling:{SENDER}")
            other = await access.add_token(conn, "andere instelling", "instelling:99999999")
        finally:
            await conn.close()
        response = await page.goto(f"{monitor.url}/?poll=1")
        assert response is not None and response.status == 200
        assert "default-src 'none'" in (await response.all_headers())["content-security-policy"]
        await page.wait_for_selector('body[data-state="ready"]', timeout=30_000)

        # Dutch title, English subtitle, the filters are labelled form controls.
        assert await page.locator("h1").inner_text() == "Jeugdhulp in cijfers"
        assert await page.get_by_label("Gemeente").count() == 1
        assert await page.get_by_label("Jeugdregio").count() == 1

        # Headline: the running year's public value, as the API returns it (15 or 19 with the public output's
        # noise, docs/privacy.md).
        want = await api_headline(monitor, now.year)
        assert want == "<10" or abs(int(want) - (19 if last_month.year == now.year else 15)) <= 25
        await wait_until(lambda: _equals(headline(page), want), 20, what=f"headline {want}")

        # A chart is drawn (uPlot renders to a canvas).
        assert await page.locator("#ind-separaties .chart canvas").count() >= 1
        box = await page.locator("#ind-separaties .chart canvas").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100

        # Month table: this month (15) and last month (4) as the public API shows them (a noisy value, "<10", or
        # nothing: docs/privacy.md).
        this_key, last_key = this_month.strftime("%Y-%m"), last_month.strftime("%Y-%m")
        monthly = {row_start(r)[:7]: r for r in await public_rows(monitor, period="month", group_by="")}
        table = page.locator('#ind-separaties [data-role="month-table"]')
        for key in (this_key, last_key):
            r = monthly.get(key)
            cell_text = (await table.locator(f'tr[data-month="{key}"] td').first.text_content() or "").strip()
            assert cell_text == (shown(r["value"], r["suppressed"]) if r else "0"), (key, r)
            flag = await table.locator(f'tr[data-month="{key}"]').get_attribute("data-suppressed")
            assert flag == ("true" if r and r["suppressed"] else "false")

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        # Live: two more episodes arrive; the page shows them without a reload.
        refreshes_before = int(await page.locator("body").get_attribute("data-refreshes") or "0")
        await post_events(procs["intake"], token, episodes("live", spread(this_month, now, 2), NIJMEGEN, 4000))
        await wait_until(
            lambda: all_counted((19 if last_month.year == now.year else 15) + 2),
            60,
            what="the two new separaties in the monitor",
        )
        want = await api_headline(monitor, now.year)
        assert want == "<10" or abs(int(want) - (21 if last_month.year == now.year else 17)) <= 25
        # The page polls (no reload): wait for a refresh that ends after the new episodes were counted. Asserting it
        # at once raced the poll when the public headline did not change (the noise can give 19 and 21 one value).
        async def refreshed() -> bool:
            return int(await page.locator("body").get_attribute("data-refreshes") or "0") > refreshes_before

        await wait_until(refreshed, 20, what="a refresh of the page after the new episodes")
        await wait_until(lambda: _equals(headline(page), want), 20, what=f"live update to {want}")

        # Filter by gemeente: Wijchen's 3 episodes are a small cell: "<10" or nothing in public output.
        # Completeness: every event was accepted today, by one instelling with no rhythm yet: "data t/m" today.
        today = datetime.now(TZ).date()
        text = page.locator("#completeness-text")
        await wait_until(lambda: _contains(text.inner_text(), f"Data t/m {dutch_date(today)}"), 20, what="data t/m")
        assert "1 instelling: 1 nog zonder ritme" in await text.inner_text()
        assert await page.locator("#completeness-details").is_hidden()  # public: no per-instelling list
        op = {
            "authorization": f"Bearer {settings.operator_token.get_secret_value() if settings.operator_token else ''}"
        }
        async with httpx.AsyncClient(base_url=monitor.url, timeout=5) as c:
            public = (await c.get("/v1/completeness")).json()
            operator = (await c.get("/v1/completeness", headers=op)).json()
            own_view = (await c.get("/v1/completeness", headers={"authorization": f"Bearer {own}"})).json()
            other_view = (await c.get("/v1/completeness", headers={"authorization": f"Bearer {other}"})).json()
            by_instelling = (await c.get("/v1/indicators/separaties", params={"group_by": "instelling"})).json()
        assert (public["data_tm"], public["instellingen"], public["onbekend"]) == (today.isoformat(), 1, 1)
        assert public["per_instelling"] is None
        # per instelling: the operator sees all, an instelling's token its own only
        assert own_view["per_instelling"] == operator["per_instelling"] and other_view["per_instelling"] == []
        [mine] = operator["per_instelling"]
        assert (mine["instelling"], mine["naam"], mine["status"], mine["last_day"]) == (
            SENDER,
            "Jeugdzorg Test",
            "onbekend",
            today.isoformat(),
        )
        # the instelling by name in the API rows and in the page's per-instelling table (code in the tooltip)
        assert {r["names"]["instelling"] for r in by_instelling["rows"]} == {"Jeugdzorg Test"}
        name_cell = page.locator(
            f'#ind-separaties [data-role="instelling-table"] tr[data-instelling="{SENDER}"] th span'
        )
        await wait_until(lambda: _equals(name_cell.inner_text(), "Jeugdzorg Test"), 20, what="instelling name")
        assert await name_cell.get_attribute("title") == f"Instellingscode {SENDER}"

        # Map: all 42 jeugdregio's at their positions; only Rijk van Nijmegen has separaties (shown or suppressed
        # as the public API says), the others are empty.
        dots = page.locator("#compare-map .map-area")
        await wait_until(lambda: _count(dots, 42), 20, what="42 jeugdregio's on the map")
        regio_rows = await public_rows(monitor, period="month", group_by="jeugdregio", **{"from": f"{this_key}-01"})
        jz32 = [r for r in regio_rows if r["dims"]["jeugdregio"] == "JZ32" and row_start(r).startswith(this_key)]
        assert len(jz32) == 1 and {r["dims"]["jeugdregio"] for r in regio_rows} == {"JZ32"}
        dot = page.locator('#compare-map .map-area[data-code="JZ32"]')
        await wait_until(
            lambda: _attr(dot, "data-suppressed", str(jz32[0]["suppressed"]).lower()), 20, what="JZ32 on the map"
        )
        classes = {
            await d.get_attribute("data-class")
            for d in await dots.all()
            if await d.get_attribute("data-code") != "JZ32"
        }
        assert classes == {"0"}

        # CSV: the page's download of the trend table equals the API's format=csv for the same query.
        await page.locator("#ind-separaties details summary").click()
        async with page.expect_download() as dl_info:
            await page.get_by_role("button", name="Download CSV van Separaties en afzonderingen gestart").click()
        download = await dl_info.value
        page_csv = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8")
        async with httpx.AsyncClient(timeout=5) as c:
            api = await c.get(trend_urls[-1], params={"format": "csv"})
        assert api.status_code == 200 and api.headers["content-type"].startswith("text/csv")
        assert page_csv == api.text, (page_csv, api.text)
        assert page_csv.startswith("\ufeffindicator;versie;periode;start;waarde;onderdrukt;")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.locator("#vergelijking").screenshot(path=str(ARTIFACTS / "dashboard-live-map.png"))

        await page.get_by_label("Gemeente").select_option(WIJCHEN)
        wijchen = await api_headline(monitor, now.year, gemeente=WIJCHEN)
        assert wijchen in {"<10", "0"}
        await wait_until(lambda: _equals(headline(page), wijchen), 20, what="Wijchen small")
        flag = await page.locator('#card-separaties [data-role="headline-value"]').get_attribute("data-suppressed")
        assert flag == ("true" if wijchen == "<10" else "false")
        assert f"gemeente={WIJCHEN}" in page.url
        await page.screenshot(path=str(ARTIFACTS / "dashboard-wijchen.png"), full_page=True)
        await assert_no_serious_axe_violations(page)  # the live page, with its CSP, every headline indicator

        # The filters list every jeugdregio and gemeente of the indeling by name.
        assert await page.locator("#filter-jeugdregio option").count() == 43  # "Alle" and the 42 jeugdregio's
        assert await page.locator("#filter-gemeente option").count() == 343
        assert await page.locator('#filter-gemeente option[value="GM0296"]').inner_text() == "Wijchen"

        # Filter by jeugdregio: all of it lies in Rijk van Nijmegen (JZ32), so (up to the noise) the total comes back.
        await page.get_by_label("Gemeente").select_option("")
        await page.get_by_label("Jeugdregio").select_option(label="Rijk van Nijmegen")
        assert "jeugdregio=JZ32" in page.url
        regio = await api_headline(monitor, now.year, jeugdregio="JZ32")
        assert regio == "<10" or abs(int(regio) - (21 if last_month.year == now.year else 17)) <= 25
        await wait_until(lambda: _equals(headline(page), regio), 20, what="jeugdregio total")

        assert not console_errors, console_errors


async def _equals(text: Any, want: str) -> bool:
    return bool(await text == want)


# -- 2. the docs/indicators.md row format and target status colours --------------------------------------
DOCS_CATALOGUE: list[dict[str, Any]] = [
    {
        "id": "separaties",
        "title_nl": "Separaties en afzonderingen gestart",
        "title_en": "Seclusion episodes started",
        "unit": "episodes",
        "kind": "count",
        "dimensions": ["gemeente", "jeugdregio", "instelling", "vorm"],
        "direction": "down",
        "target": "-50% vs the institution's nulmeting in year one, then towards 0",
        "headline": True,
    },
    {
        "id": "wachtlijst_pleegzorg",
        "title_nl": "Wachtlijst pleegzorg",
        "title_en": "Foster care waiting list",
        "unit": "children",
        "kind": "stock",
        "dimensions": ["gemeente", "jeugdregio"],
        "direction": "down",
        "target": "fewer than 5 in Rijk van Nijmegen",
        "headline": True,
    },
    {
        "id": "herhaald_beroep",
        "title_nl": "Herhaald beroep",
        "title_en": "Repeat referrals",
        "unit": "referrals",
        "kind": "count",
        "dimensions": ["gemeente", "jeugdregio"],
        "direction": "down",
        "target": None,
        "headline": False,
    },
]


def docs_rows(indicator: str, period: str, group_by: str, year: int, month: str) -> list[dict[str, Any]]:
    """Rows in the format of docs/indicators.md (start, dims, value, suppressed, target_status)."""
    if indicator == "separaties" and group_by == "instelling":
        return [
            {
                "period": "year",
                "start": f"{year}-01-01",
                "dims": {"instelling": "11111111"},
                "value": 42,
                "suppressed": False,
                "target_status": "off_track",
            },
            {
                "period": "year",
                "start": f"{year}-01-01",
                "dims": {"instelling": "22222222"},
                "value": None,
                "suppressed": True,
                "target_status": "on_track",
            },
        ]
    if indicator == "separaties":
        start = f"{year}-01-01" if period == "year" else f"{month}-01"
        return [{"period": period, "start": start, "dims": {}, "value": 48, "suppressed": False}]
    # wachtlijst_pleegzorg: a stock with its own status per month.
    return (
        [
            {
                "period": "month",
                "start": f"{month}-01",
                "dims": {},
                "value": 3,
                "suppressed": False,
                "target_status": "on_track",
            }
        ]
        if period == "month"
        else []
    )


async def test_dashboard_shows_target_status_from_the_documented_row_format(browser_context: Any) -> None:
    now = datetime.now(TZ)
    month = now.strftime("%Y-%m")
    requested: list[str] = []

    async def handle(route: Any) -> None:
        url = httpx.URL(route.request.url)
        requested.append(str(url))
        path = url.path
        if path == "/":
            await route.fulfill(path=str(STATIC / "index.html"), content_type="text/html; charset=utf-8")
        elif path.startswith("/dashboard/static/"):
            await route.fulfill(path=str(STATIC / path.removeprefix("/dashboard/static/")))
        elif path == "/dashboard/config.json":
            await route.fulfill(
                json={
                    "suppression_threshold": 10,
                    "jeugdregios": [{"jeugdregio": "JZ32", "naam": "Rijk van Nijmegen"}],
                    "gemeenten": [{"gemeente": NIJMEGEN, "naam": "Nijmegen", "jeugdregio": "JZ32"}],
                }
            )
        elif path == "/v1/indicators":
            await route.fulfill(json=DOCS_CATALOGUE)
        elif path.startswith("/v1/indicators/"):
            rows = docs_rows(
                path.rsplit("/", 1)[1], url.params["period"], url.params.get("group_by", ""), now.year, month
            )
            await route.fulfill(body=json.dumps({"rows": rows}), content_type="application/json")
        else:
            await route.fulfill(status=404, body="not found")

    page = await browser_context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    await page.route("http://dashboard.test/**", handle)
    await page.goto("http://dashboard.test/?poll=60")
    await page.wait_for_selector('body[data-state="ready"]', timeout=30_000)

    # The page asks for totals (no group_by) and, for a target per instelling, per instelling.
    assert any("group_by=instelling" in u for u in requested)
    assert any("/v1/indicators/separaties" in u and "group_by=&" in u + "&" for u in requested)

    # Only the catalogue's headline indicators get a card.
    assert await page.locator(".card").count() == 2
    assert await page.locator("#card-herhaald_beroep").count() == 0

    sep = page.locator("#card-separaties")
    assert (await sep.locator('[data-role="headline-value"]').inner_text()).strip() == "48"
    assert await sep.get_attribute("data-status") == "off_track"
    assert "1 van 2 instellingen niet op koers" in await sep.locator('[data-role="status"]').inner_text()
    colour = await sep.evaluate("el => getComputedStyle(el).borderTopColor")
    assert colour == "rgb(163, 38, 27)"  # --off-track

    rows = page.locator('#ind-separaties [data-role="instelling-table"] tbody tr')
    assert await rows.count() == 2
    assert await rows.nth(0).get_attribute("data-status") == "off_track"
    assert (await rows.nth(1).locator("td").first.inner_text()).strip() == "<10"
    assert await rows.nth(1).get_attribute("data-status") == "on_track"

    wacht = page.locator("#card-wachtlijst_pleegzorg")
    assert (await wacht.locator('[data-role="headline-value"]').inner_text()).strip() == "3"
    assert await wacht.get_attribute("data-status") == "on_track"
    badge_colour = await wacht.locator('[data-role="status"]').evaluate("el => getComputedStyle(el).color")
    assert badge_colour == "rgb(27, 110, 58)"  # --on-track

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-targets.png"), full_page=True)
    assert not page_errors, page_errors


# -- 3. a reader token: in sessionStorage, sent as a header, never in a URL -------------------------------------
async def test_dashboard_sends_a_reader_token_as_a_header_and_shows_its_scope(browser_context: Any) -> None:
    now = datetime.now(TZ)
    month = now.strftime("%Y-%m")
    token = "jsr_secret-token-for-the-test"
    seen: list[tuple[str, str | None]] = []  # (url, authorization header)

    async def handle(route: Any) -> None:
        url = httpx.URL(route.request.url)
        auth = route.request.headers.get("authorization")
        seen.append((str(url), auth))
        path = url.path
        if path == "/":
            await route.fulfill(path=str(STATIC / "index.html"), content_type="text/html; charset=utf-8")
        elif path.startswith("/dashboard/static/"):
            await route.fulfill(path=str(STATIC / path.removeprefix("/dashboard/static/")))
        elif path == "/dashboard/config.json":
            await route.fulfill(json={"suppression_threshold": 10, "jeugdregios": [], "gemeenten": []})
        elif path == "/v1/indicators":
            await route.fulfill(json=DOCS_CATALOGUE)
        elif path.startswith("/v1/indicators/"):
            rows = docs_rows(
                path.rsplit("/", 1)[1], url.params["period"], url.params.get("group_by", ""), now.year, month
            )
            scope = "gemeente:GM0268" if auth == f"Bearer {token}" else None
            await route.fulfill(body=json.dumps({"scope": scope, "rows": rows}), content_type="application/json")
        else:
            await route.fulfill(status=404, body="not found")

    page = await browser_context.new_page()
    await page.route("http://dashboard.test/**", handle)
    await page.goto("http://dashboard.test/?poll=60")
    await page.wait_for_selector('body[data-state="ready"]', timeout=30_000)
    assert all(auth is None for _, auth in seen)  # no token yet: public requests
    assert (await page.locator("#access-scope").inner_text()).strip() == ""

    await page.locator("#access-token").fill(token)
    await page.get_by_role("button", name="Gebruik").click()
    await wait_until(lambda: _equals(page.locator("#access-scope").inner_text(), "exact voor gemeente:GM0268"), 20)
    assert await page.evaluate("() => sessionStorage.getItem('jeugdstroom.token')") == token
    assert await page.locator("#access-token").input_value() == ""  # not left in the field
    sent = [u for u, auth in seen if auth == f"Bearer {token}"]
    # only to the indicator API and completeness (per instelling for the operator or the instelling's own token)
    assert sent and all("/v1/indicators/" in u or u.endswith("/v1/completeness") for u in sent)
    assert any("/v1/indicators/" in u for u in sent)
    assert not any(token in u for u, _ in seen) and token not in page.url  # never in a URL

    await page.get_by_role("button", name="Wis").click()
    assert await page.evaluate("() => sessionStorage.getItem('jeugdstroom.token')") is None
    assert (await page.locator("#access-scope").inner_text()).strip() == ""


# -- 4. the analyst's page: names, comparison, nulmeting and target lines, periods, CSV, accessibility -----------
AXE = ROOT / ".data" / "node" / "node_modules" / "axe-core" / "axe.min.js"
GEMEENTEN = [
    {"gemeente": "GM0209", "naam": "Beuningen", "jeugdregio": "JZ32"},
    {"gemeente": "GM0268", "naam": "Nijmegen", "jeugdregio": "JZ32"},
    {"gemeente": "GM0296", "naam": "Wijchen", "jeugdregio": "JZ32"},
    {"gemeente": "GM1900", "naam": "Súdwest-Fryslân", "jeugdregio": "JZ05"},
    {"gemeente": "GM0014", "naam": "Groningen", "jeugdregio": "JZ01"},
]
REGIOS = [
    {"jeugdregio": "JZ01", "naam": "Groningen"},
    {"jeugdregio": "JZ05", "naam": "Friesland"},
    {"jeugdregio": "JZ32", "naam": "Rijk van Nijmegen"},
]
#: Public values of separaties in the running period, by area (None: suppressed).
REGIO_VALUES: dict[str, int | None] = {"JZ01": 120, "JZ05": None, "JZ32": 48}
GEMEENTE_VALUES: dict[str, int | None] = {"GM0268": 30, "GM0296": None, "GM0209": 12}
#: per 1,000 jeugdigen of the gemeenten (the rates' `per_1000`; None: suppressed or no population).
GEMEENTE_RATES: dict[str, float | None] = {"GM0268": 2.5, "GM0296": None, "GM0209": 4.1}
ANALYST_CATALOGUE: list[dict[str, Any]] = [
    {**DOCS_CATALOGUE[0], "dimensions": ["gemeente", "jeugdregio", "instelling", "vorm"]},
    DOCS_CATALOGUE[1],
]


def _period_start(day: datetime, period: str) -> str:
    if period == "year":
        return f"{day.year}-01-01"
    if period == "half_year":
        return f"{day.year}-{'01' if day.month <= 6 else '07'}-01"
    return f"{day.year}-{day.month:02d}-01"


def _names(dims: dict[str, str]) -> dict[str, str]:
    names = {g["gemeente"]: g["naam"] for g in GEMEENTEN} | {r["jeugdregio"]: r["naam"] for r in REGIOS}
    return {k: names[v] for k, v in dims.items() if k in ("gemeente", "jeugdregio")}


#: /v1/completeness as the operator sees it (per instelling); the page shows what the API gives.
COMPLETENESS: dict[str, Any] = {
    "as_of": "2026-12-06",
    "data_tm": "2026-12-04",
    "instellingen": 2,
    "op_schema": 1,
    "achter": 1,
    "onbekend": 0,
    "per_instelling": [
        {
            "instelling": "11111111",
            "naam": "Instelling Noord",
            "last_event_at": "2026-12-04T10:00:00+00:00",
            "last_day": "2026-12-04",
            "active_days": 200,
            "rhythm_days": 1.0,
            "allowance_days": 3,
            "status": "op_schema",
        },
        {
            "instelling": "22222222",
            "naam": None,
            "last_event_at": "2026-11-01T10:00:00+00:00",
            "last_day": "2026-11-01",
            "active_days": 40,
            "rhythm_days": 7.0,
            "allowance_days": 15,
            "status": "achter",
        },
    ],
}


def _square(lon: float, lat: float, d: float = 0.025) -> list[list[list[float]]]:
    return [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]


#: /dashboard/boundaries.json (monitor/dashboard/boundaries.py's shape): two of the region's gemeenten have one.
BOUNDARIES: dict[str, Any] = {
    "gemeente": {"GM0268": _square(5.85, 51.84), "GM0209": _square(5.77, 51.86)},
    "jeugdregio": {},
}


def analyst_config() -> dict[str, Any]:
    """/dashboard/config.json with the product's positions of these areas (jeugdstroom.common geography)."""
    g_pos, r_pos = positions(geography.geography())
    return {
        "suppression_threshold": 10,
        "boundaries": True,  # JEUGDSTROOM_GEOJSON_FILE set: shapes where it has them (BOUNDARIES), dots elsewhere
        "jeugdregios": [{**r, "lat": r_pos[r["jeugdregio"]][0], "lon": r_pos[r["jeugdregio"]][1]} for r in REGIOS],
        "gemeenten": [{**g, "lat": g_pos[g["gemeente"]][0], "lon": g_pos[g["gemeente"]][1]} for g in GEMEENTEN],
    }


def analyst_rows(indicator: str, params: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    """Public rows as the monitor gives them (names, version, nulmeting and target on year totals)."""
    period, group_by = params.get("period", "month"), params.get("group_by", "")
    start = _period_start(now, period)
    if indicator != "separaties":
        return [{"period": "month", "start": start, "dims": {}, "value": 3, "suppressed": False, "version": 2}]
    if group_by == "instelling":  # the first instelling with the name its sender registration gave
        rows = docs_rows(indicator, "year", group_by, now.year, now.strftime("%Y-%m"))
        return [{**rows[0], "names": {"instelling": "Instelling Noord"}}, *rows[1:]]
    if group_by in ("jeugdregio", "gemeente"):
        if group_by == "gemeente":
            values = GEMEENTE_VALUES if params.get("jeugdregio") == "JZ32" else {}
        else:
            values = REGIO_VALUES
        rows = []
        for code, value in values.items():
            dims = {group_by: code}
            rows.append(
                {
                    "period": period,
                    "start": start,
                    "dims": dims,
                    "names": _names(dims),
                    "value": value,
                    "suppressed": value is None,
                    "version": 1,
                    **({"per_1000": GEMEENTE_RATES[code]} if group_by == "gemeente" else {}),
                    **(
                        {"baseline_year": 2022, "baseline": 60, "change": value - 60}
                        if value and period == "year"
                        else {}
                    ),
                }
            )
        return rows
    value = 180 if "jeugdregio" not in params else 48
    earlier = _period_start(now.replace(year=now.year - 1), period)
    rows = [{"period": period, "start": earlier, "dims": {}, "value": 30, "suppressed": False, "version": 1}]
    row: dict[str, Any] = {"period": period, "start": start, "dims": {}, "value": value, "suppressed": False}
    if period == "year":
        row |= {
            "baseline_year": 2022,
            "baseline": 40,
            "change": value - 40,
            "target": 20.0,
            "target_status": "off_track",
        }
    return [*rows, {**row, "version": 1}]


async def test_dashboard_for_the_analyst(browser_context: Any) -> None:
    now = datetime.now(TZ)
    requests: list[httpx.URL] = []
    answered: dict[str, list[dict[str, Any]]] = {}  # the rows given per request query, for the CSV comparison
    failing = {"on": False}

    async def handle(route: Any) -> None:
        url = httpx.URL(route.request.url)
        path = url.path
        if path == "/":
            await route.fulfill(path=str(STATIC / "index.html"), content_type="text/html; charset=utf-8")
        elif path.startswith("/dashboard/static/"):
            await route.fulfill(path=str(STATIC / path.removeprefix("/dashboard/static/")))
        elif path == "/dashboard/config.json":
            await route.fulfill(json=analyst_config())
        elif path == "/v1/indicators":
            await route.fulfill(json=ANALYST_CATALOGUE)
        elif path == "/v1/completeness":
            await route.fulfill(json=COMPLETENESS)
        elif path == "/dashboard/boundaries.json":
            await route.fulfill(json=BOUNDARIES)
        elif path.startswith("/v1/indicators/"):
            requests.append(url)
            if failing["on"]:
                await route.fulfill(status=503, body="unavailable")
                return
            params = dict(url.params)
            rows = analyst_rows(path.rsplit("/", 1)[1], params, now)
            answered[f"{path}?{url.query.decode()}"] = rows
            await route.fulfill(body=json.dumps({"scope": None, "rows": rows}), content_type="application/json")
        else:
            await route.fulfill(status=404, body="not found")

    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: npm install --prefix .data/node axe-core@4 (scripts/test does this)")
    page = await browser_context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    await page.route("http://dashboard.test/**", handle)
    await page.goto("http://dashboard.test/?poll=1")
    await page.wait_for_selector('body[data-compare="separaties:jeugdregio:"]', timeout=30_000)

    # Completeness: "data t/m" and, where the API gives it, the list per instelling (by name, code in the tooltip).
    want = "Data t/m 4 december 2026 · 2 instellingen: 1 binnen hun ritme, 1 achter"
    await wait_until(lambda: _equals(page.locator("#completeness-text").inner_text(), want), 20, what="data t/m")
    behind = page.locator('#completeness-table tr[data-code="22222222"]')
    assert await behind.get_attribute("data-status") == "achter"
    cells = [(await c.text_content() or "").strip() for c in await behind.locator("th, td").all()]
    assert cells == ["22222222", "1 november 2026", "elke 7 dag(en), uiterlijk na 15", "achter"], cells
    noord = page.locator('#completeness-table tr[data-code="11111111"] th span')
    assert await noord.text_content() == "Instelling Noord" and await noord.get_attribute("title") == (
        "Instellingscode 11111111"
    )
    # the per-instelling target table names the instelling too
    assert await page.locator(
        '#ind-separaties [data-role="instelling-table"] tr[data-instelling="11111111"] th span'
    ).text_content() == ("Instelling Noord")

    # Comparison, nationally: every jeugdregio by name (code in the tooltip), sorted high to low, suppressed as <10.
    table = page.locator("#compare-table tbody tr")
    assert await table.count() == 3
    assert [await table.nth(k).get_attribute("data-code") for k in range(3)] == ["JZ01", "JZ32", "JZ05"]
    first = table.nth(0).locator("th span")
    assert await first.text_content() == "Groningen" and await first.get_attribute("title") == "Jeugdregiocode JZ01"
    assert (await table.nth(2).locator("td").first.text_content() or "").strip() == "<10"
    assert await page.locator("#compare-bars .bar-row").count() == 3
    assert "Nederland: 180" in await page.locator("#compare-what").inner_text()

    # Map: a dot per jeugdregio at its position, coloured by value (5 classes up to the highest), the suppressed
    # one hatched, each a named control; the comparison table is its text alternative.
    dots = page.locator("#compare-map .map-area")
    await wait_until(lambda: _count(dots, 3), 20, what="three dots")
    jz01, jz05, jz32 = (page.locator(f'#compare-map .map-area[data-code="{c}"]') for c in ("JZ01", "JZ05", "JZ32"))
    assert await jz01.get_attribute("aria-label") == "Groningen: 120" and await jz01.get_attribute("role") == "button"
    assert (await jz01.get_attribute("data-class"), await jz32.get_attribute("data-class")) == ("4", "1")
    assert await jz05.get_attribute("data-suppressed") == "true"
    assert await jz05.locator("circle").get_attribute("fill") == "url(#map-hatch)"
    assert "onderdrukt (<10)" in (await jz05.get_attribute("aria-label") or "")
    y01 = float(await jz01.locator("circle").get_attribute("cy") or "0")
    y32 = float(await jz32.locator("circle").get_attribute("cy") or "0")
    assert y01 < y32  # Groningen lies north of Nijmegen
    assert "tabel van de vergelijking" in await page.locator("#compare-map-caption").inner_text()
    await page.screenshot(path=str(ARTIFACTS / "dashboard-map.png"), full_page=True)
    # a click on a dot filters the page to that jeugdregio (and zooms the map into its gemeenten)
    await jz32.click()
    await page.wait_for_selector('body[data-compare="separaties:gemeente:JZ32"]', timeout=20_000)
    assert "jeugdregio=JZ32" in page.url
    await wait_until(lambda: _count(dots, 3), 20, what="the region's three gemeenten on the map")
    # per 1,000 jeugdigen where the rows carry it: sorted by it, in the table and on the map
    await wait_until(
        lambda: _contains(page.locator("#compare-what").inner_text(), "per 1.000 jeugdigen"), 20, what="rate"
    )
    table_codes = [await table.nth(k).get_attribute("data-code") for k in range(3)]
    assert table_codes == ["GM0209", "GM0268", "GM0296"], table_codes
    assert (await table.nth(0).locator("td").nth(4).text_content() or "").strip() == "4,1"
    wijchen = page.locator('#compare-map .map-area[data-code="GM0296"]')
    assert await wijchen.get_attribute("data-suppressed") == "true"
    # operator-supplied boundaries: a shape where the file has one, the dot elsewhere
    assert await page.locator('#compare-map .map-area[data-code="GM0268"] path').count() == 1
    assert await wijchen.locator("circle").count() == 1 and await wijchen.locator("path").count() == 0
    assert await page.locator('#compare-map .map-area[data-code="GM0209"]').get_attribute("aria-label") == (
        "Beuningen: 4,1 per 1.000 jeugdigen"
    )
    # by keyboard: one tab stop on the map, arrows move between the dots, Enter filters by the focused gemeente
    await page.locator('#compare-map .map-area[tabindex="0"]').focus()
    assert await page.evaluate("() => document.activeElement.dataset.code") == "GM0209"
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate("() => document.activeElement.dataset.code") == "GM0268"
    await page.keyboard.press("Enter")
    await wait_until(lambda: _contains(_url(page), "gemeente=GM0268"), 20, what="gemeente from the map")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-map-region.png"), full_page=True)
    await page.get_by_role("button", name="Terug naar heel Nederland").click()
    await page.wait_for_selector('body[data-compare="separaties:jeugdregio:"]', timeout=20_000)
    assert "jeugdregio=" not in page.url and "gemeente=" not in page.url

    # Tables are updated in place: the same <tr> survives refreshes (screen readers keep their place).
    kept = await page.locator('#compare-table tbody tr[data-code="JZ32"]').element_handle()
    month_row = await page.locator('#ind-separaties [data-role="month-table"] tbody tr').first.element_handle()
    refreshes = int(await page.locator("body").get_attribute("data-refreshes") or "0")
    await wait_until(lambda: _more_refreshes(page, refreshes + 2), 20, what="two more refreshes")
    assert await kept.evaluate("el => el.isConnected") and await month_row.evaluate("el => el.isConnected")

    # Pause (WCAG 2.2.2): no refreshes while paused; resume refreshes again.
    # by keyboard: Tab from the last header control reaches the button, Enter presses it
    await page.locator("#access-clear").focus()
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.id") == "refresh-toggle"
    assert await page.get_by_role("button", name="Pauzeer verversen").count() == 1
    await page.keyboard.press("Enter")
    paused_at = int(await page.locator("body").get_attribute("data-refreshes") or "0")
    await page.wait_for_timeout(3500)
    assert int(await page.locator("body").get_attribute("data-refreshes") or "0") <= paused_at + 1  # one in flight
    settled = int(await page.locator("body").get_attribute("data-refreshes") or "0")
    await page.wait_for_timeout(2500)
    assert int(await page.locator("body").get_attribute("data-refreshes") or "0") == settled
    assert "gepauzeerd" in await page.locator("#status").inner_text()
    assert await page.evaluate("() => document.activeElement.id") == "refresh-toggle"  # focus stays on the control
    await page.get_by_role("button", name="Hervat verversen").press("Space")
    await wait_until(lambda: _more_refreshes(page, settled), 20, what="refresh after resume")

    # Select a jeugdregio (by keyboard): the comparison shows its gemeenten, the selected one highlighted.
    await page.get_by_label("Jeugdregio").focus()
    await page.get_by_label("Jeugdregio").select_option("JZ32")
    await page.get_by_label("Gemeente").select_option("GM0268")
    await page.wait_for_selector('body[data-compare="separaties:gemeente:JZ32"]', timeout=20_000)
    await wait_until(lambda: _count(page.locator("#compare-table tbody tr"), 3), 20, what="three gemeenten")
    selected = page.locator('#compare-table tbody tr[data-selected="true"]')
    assert await selected.count() == 1 and await selected.get_attribute("data-code") == "GM0268"
    assert "Nijmegen (geselecteerd)" in (await selected.locator("th").text_content() or "")
    assert await page.locator('#compare-bars .bar-row[data-selected="true"]').get_attribute("data-code") == "GM0268"
    area = page.locator("#area")
    assert await area.inner_text() == "Getoond: Gemeente Nijmegen, jeugdregio Rijk van Nijmegen"
    assert await area.locator("abbr").first.get_attribute("title") == "code GM0268"
    assert await page.locator('#filter-gemeente option[value="GM0268"]').get_attribute("title") == "GM0268"

    # Year: the nulmeting and target lines are drawn and named, in Dutch, with year-on-year in the table.
    await page.get_by_label("Periode").select_option("year")
    assert "periode=year" in page.url and "jeugdregio=JZ32" in page.url and "gemeente=GM0268" in page.url
    legend = page.locator('#ind-separaties [data-role="legend"]')
    await wait_until(lambda: _contains(legend.inner_text(), "Nulmeting 2022: 40"), 20, what="nulmeting legend")
    assert "Doel: 20" in await legend.inner_text()
    this_year = page.locator(f'#ind-separaties [data-role="month-table"] tr[data-month="{now.year}-01"]')
    cells = [(await c.text_content() or "").strip() for c in await this_year.locator("td").all()]
    assert cells[:3] == ["48", "30", "+18"], cells
    assert "Niet op koers" in cells[3]
    assert (
        "Nulmeting 2022: 40, verschil +8" in await page.locator('#card-separaties [data-role="baseline"]').inner_text()
    )
    # the chart has the value, nulmeting and target series (uPlot draws one path per series)
    assert await page.locator("#ind-separaties .chart .u-legend, #ind-separaties .chart canvas").count() >= 1
    target_nl = await page.locator("#ind-separaties .target").inner_text()
    assert target_nl.startswith("Doel: per instelling: −50% ten opzichte van haar nulmeting"), target_nl
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-analyst-year.png"), full_page=True)

    # Half-year: the API is asked for half_year periods, the table shows six of them by Dutch name.
    await page.get_by_label("Periode").select_option("half_year")
    rows = page.locator('#ind-separaties [data-role="month-table"] tbody tr')
    await wait_until(lambda: _attr(rows.first, "data-period", "half_year"), 20, what="half-year rows")
    assert await rows.count() == 6
    half = "1e" if now.month <= 6 else "2e"
    assert (await rows.first.locator("th").text_content() or "").strip() == f"{half} halfjaar {now.year}"
    assert any(u.params.get("period") == "half_year" for u in requests)

    # CSV of the comparison: `;`, UTF-8 with BOM, one line per row the API gave, values as it gave them.
    await page.get_by_label("Periode").select_option("year")
    await wait_until(lambda: _contains(page.locator("#compare-what").inner_text(), str(now.year)), 20, what="year")
    await page.locator("#vergelijking details summary").click()
    async with page.expect_download() as dl_info:
        await page.get_by_role("button", name="Download CSV van de vergelijking").click()
    download = await dl_info.value
    raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[:5] == ["indicator", "versie", "periode", "start", "gemeente"]
    api = [rs for q, rs in answered.items() if "group_by=gemeente" in q and "period=year" in q][-1]
    got = {r[header.index("gemeente")]: dict(zip(header, r, strict=True)) for r in (x.split(";") for x in lines[1:])}
    assert set(got) == {r["dims"]["gemeente"] for r in api}
    for r in api:
        line = got[r["dims"]["gemeente"]]
        assert line["waarde"] == ("" if r["suppressed"] else str(r["value"]))
        assert line["onderdrukt"] == ("ja" if r["suppressed"] else "nee")
        assert line["gemeente_naam"] == r["names"]["gemeente"]
        assert line["nulmeting"] == (str(r["baseline"]) if "baseline" in r else "")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-comparison.png"), full_page=True)

    # CSV of an indicator's trend table: the totals the API gave for the view (year, Nijmegen), nulmeting and target.
    await page.locator("#ind-separaties details summary").click()
    async with page.expect_download() as dl_info:
        await page.get_by_role("button", name="Download CSV van Separaties en afzonderingen gestart").click()
    download = await dl_info.value
    assert download.suggested_filename == "separaties-year.csv"
    text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8-sig")
    trend = [
        rs
        for q, rs in answered.items()
        if q.startswith("/v1/indicators/separaties?")
        and "group_by=&" in q
        and "period=year" in q
        and "gemeente=GM0268" in q
        and f"from={now.year - 5}" in q
    ][-1]
    head, *body = [line.split(";") for line in text.splitlines()]
    assert [dict(zip(head, line, strict=True))["start"] for line in body] == [r["start"] for r in trend]
    current = dict(zip(head, body[-1], strict=True))
    assert (current["waarde"], current["nulmeting_jaar"], current["nulmeting"], current["verschil"]) == (
        "48",
        "2022",
        "40",
        "8",
    )
    assert (current["doel"], current["doelstatus"], current["versie"]) == ("20", "niet op koers", "1")

    # axe-core: no serious or critical WCAG violations, with the tables open.
    for summary in await page.locator("details summary").all():
        if not await summary.evaluate("el => el.parentElement.open"):
            await summary.click()
    await assert_no_serious_axe_violations(page)

    # Reflow (WCAG 1.4.10): at 320 CSS pixels wide nothing needs horizontal scrolling.
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.wait_for_timeout(300)
    overflow = await page.evaluate("() => document.documentElement.scrollWidth")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-narrow.png"), full_page=True)
    wide = await page.evaluate(
        "() => Array.from(document.querySelectorAll('body *'))"
        ".filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > 321).map(e => e.tagName + '#' + e.id)"
    )
    assert overflow <= 320 and not wide, (overflow, wide)  # wide tables scroll inside their own focusable region
    await page.set_viewport_size({"width": 1280, "height": 900})

    # An error is announced once (a polite live region written only when its text changes), not on every poll.
    error = page.locator("#error")
    assert await error.get_attribute("role") == "status" and await error.get_attribute("aria-live") == "polite"
    failing["on"] = True
    await wait_until(lambda: _contains(error.inner_text(), "Gegevens konden niet worden opgehaald"), 20, what="error")
    writes = int(await error.get_attribute("data-writes") or "0")
    failed_polls = len(requests)
    await wait_until(lambda: _true(len(requests) > failed_polls + 8), 20, what="more failed polls")
    assert int(await error.get_attribute("data-writes") or "0") == writes  # not written (announced) again
    failing["on"] = False
    await wait_until(lambda: _equals(error.inner_text(), ""), 20, what="error cleared")
    assert not page_errors, page_errors


async def _url(page: Any) -> str:
    return str(page.url)


async def _more_refreshes(page: Any, than: int) -> bool:
    return int(await page.locator("body").get_attribute("data-refreshes") or "0") > than


async def _count(locator: Any, n: int) -> bool:
    return bool(await locator.count() == n)


async def _contains(text: Any, part: str) -> bool:
    return part in await text


async def _attr(locator: Any, name: str, want: str) -> bool:
    return bool(await locator.get_attribute(name) == want)


async def _true(value: bool) -> bool:
    return value


async def assert_no_serious_axe_violations(page: Any) -> None:
    """Run axe-core against WCAG 2.0/2.1 A and AA: no serious or critical violations. The script is evaluated
    through the DevTools protocol, so the page's Content-Security-Policy (no inline scripts) stays as served."""
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: npm install --prefix .data/node axe-core@4 (scripts/test does this)")
    source = await asyncio.to_thread(AXE.read_text, encoding="utf-8")
    await page.evaluate(f"(() => {{ {source}\n; return typeof window.axe; }})()")
    assert await page.evaluate("() => typeof window.axe.run") == "function"
    result = await page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    bad = [
        (v["id"], v["impact"], len(v["nodes"])) for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad
    assert result["passes"], "axe ran no checks"
