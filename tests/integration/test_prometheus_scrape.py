"""A real Prometheus server scrapes the running embedded system and answers queries about it.

intake, registry and monitor run as processes; Prometheus (the Debian package ``prometheus``, which
scripts/test installs when missing) scrapes their ``/metrics`` every second and loads the alert rules of
deploy/prometheus/rules.yml. The test fails, never skips, when the binary is missing.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from jeugdstroom.common.embedded import free_port
from jeugdstroom.common.settings import Settings
from tests.conftest import Infra, fresh_settings
from tests.factories import SENDER, separatie
from tests.support import ServiceProcess, register_sender, running_services, service_ports, wait_until
from tests.unit.test_deploy import EXPORTED

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
TZ = ZoneInfo("Europe/Amsterdam")
JOBS = ("intake", "registry", "monitor")
EPISODES = 30  # far above the suppression threshold: the public value (noisy, docs/privacy.md) is never hidden


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(
            "the Prometheus server is missing: install the Debian package `prometheus` "
            "(apt-get install --no-install-recommends prometheus); scripts/test does this when run as root"
        )
    return path


@contextlib.contextmanager
def prometheus_server(procs: dict[str, ServiceProcess], workdir: Path) -> Iterator[str]:
    """Prometheus scraping ``procs`` every second, with the deploy rules; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(RULES, workdir / "rules.yml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{procs[name].port}"]}],
            }
            for name in JOBS
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log_path = workdir / "prometheus.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    try:
        yield f"http://127.0.0.1:{port}"
        assert proc.poll() is None, f"prometheus exited: {log_path.read_text()[-3000:]}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
async def system(infra: Infra, log_dir: Path) -> AsyncIterator[tuple[Settings, dict[str, ServiceProcess]]]:
    settings = service_ports(await fresh_settings(infra))
    async with running_services(settings, log_dir, JOBS) as procs:
        yield settings, procs


async def query(base: str, promql: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as c:
        resp = await c.get(f"{base}/api/v1/query", params={"query": promql})
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1) as c:
            return (await c.get(f"{base}/-/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_prometheus_scrapes_the_running_system(
    system: tuple[Settings, dict[str, ServiceProcess]], tmp_path: Path
) -> None:
    settings, procs = system
    token = await register_sender(settings, SENDER, "prometheus")
    now = datetime.now(TZ)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    step = (now - month_start) / (EPISODES + 1)
    events = [
        separatie(
            f"p{k}", f"p-sep-{k}", seed=500 + k, start=(month_start + step * (k + 1)).isoformat(), gemeente="GM0268"
        )
        for k in range(EPISODES)
    ]
    async with httpx.AsyncClient(
        base_url=procs["intake"].url, timeout=10, headers={"authorization": f"Bearer {token}"}
    ) as c:
        resp = await c.post("/v1/events", json=events)
    assert resp.status_code == 202, resp.text

    with prometheus_server(procs, tmp_path / "prometheus") as base:
        await wait_until(lambda: ready(base), 60, 0.2, "prometheus ready")

        # Every service is a healthy target.
        async def all_up() -> dict[str, str]:
            got = {r["metric"]["job"]: r["value"][1] for r in await query(base, "up")}
            return got if got == dict.fromkeys(JOBS, "1") else {}

        await wait_until(all_up, 60, 0.5, "up == 1 for intake, registry and monitor")

        # The headline indicator, as Prometheus stores it, equals the monitor's own answer.
        async def headline() -> dict[str, float]:
            rows = await query(
                base, 'sum by (jeugdregio) (jeugdstroom_monitor_indicator_value{indicator="separaties", gemeente=""})'
            )
            return {r["metric"].get("jeugdregio", ""): float(r["value"][1]) for r in rows}

        params = {"period": "year", "group_by": "jeugdregio", "from": f"{now.year}-01-01"}
        url = f"{procs['monitor'].url}/v1/indicators/separaties"
        op = {"authorization": f"Bearer {settings.operator_token.get_secret_value()}"}  # type: ignore[union-attr]

        async def counted() -> bool:
            async with httpx.AsyncClient(timeout=5) as c:
                rows = (await c.get(url, params=params, headers=op)).json()["rows"]
            return [r["value"] for r in rows] == [EPISODES]

        await wait_until(counted, 90, 0.5, "every separatie counted by the monitor")
        # the gauges are per jeugdregio and vorm (separaties has a vorm dimension): their sum is the sum of the API's
        # public rows per jeugdregio and vorm (each a noisy value of its own, docs/privacy.md)
        async with httpx.AsyncClient(timeout=5) as c:
            api = (await c.get(url, params={**params, "group_by": "jeugdregio,vorm"})).json()
        by_regio: dict[str, float] = {}
        for r in api["rows"]:
            if r["value"] is not None:
                regio = r["dims"]["jeugdregio"]
                by_regio[regio] = by_regio.get(regio, 0) + r["value"]
        assert set(by_regio) == {"JZ32"} and abs(by_regio["JZ32"] - EPISODES) <= 20
        await wait_until(
            lambda: _has_value(headline(), "JZ32", by_regio["JZ32"]),
            90,
            0.5,
            "separaties of JZ32 in Prometheus",
        )
        assert await headline() == {"JZ32": float(by_regio["JZ32"])}

        # The pipeline's own metrics arrive too: events accepted, processed by the registry, freshness.
        accepted = await query(base, 'sum(jeugdstroom_intake_events_total{type="separatie"})')
        assert accepted and float(accepted[0]["value"][1]) == EPISODES
        freshness = await query(base, "sum(jeugdstroom_monitor_freshness_seconds_count)")
        assert freshness and float(freshness[0]["value"][1]) >= EPISODES

        # Every metric the rules and Grafana dashboards use (test_deploy.EXPORTED) is exposed by the running
        # services, with or without samples yet (Prometheus keeps the families' metadata from the scrape).
        async def exposed() -> set[str]:
            async with httpx.AsyncClient(timeout=5) as c:
                names = set((await c.get(f"{base}/api/v1/metadata")).json()["data"])
            return names if names >= EXPORTED else set()

        await wait_until(exposed, 30, 0.5, f"metadata of {sorted(EXPORTED)}")

        # The deploy rules load and evaluate without errors against the real series.
        async def rules_evaluated() -> list[dict[str, Any]]:
            async with httpx.AsyncClient(timeout=5) as c:
                groups = (await c.get(f"{base}/api/v1/rules")).json()["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) else []

        rules = await wait_until(rules_evaluated, 30, 0.5, "every rule evaluated once")
        unhealthy = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
        assert not unhealthy, unhealthy
        firing = [r["name"] for r in rules if r.get("type") == "alerting" and r.get("state") == "firing"]
        assert firing == [], f"alerts firing on a healthy system: {firing}"


async def _has_value(got: Any, jeugdregio: str, want: float) -> bool:
    return bool((await got).get(jeugdregio) == want)
