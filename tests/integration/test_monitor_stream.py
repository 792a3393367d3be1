"""A mixed realistic stream of registry changes into a running monitor process (killed -9 mid-stream and
restarted; duplicates; corrections): every indicator, every period, equals the independent oracle."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from pydantic import TypeAdapter

from jeugdstroom.cli.main import main as cli_main
from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from tests.conftest import Infra, fresh_settings
from tests.integration.monitor_stream import DIMS, build_stream, oracle, produce
from tests.support import ServiceProcess, service_ports, wait_until

pytestmark = pytest.mark.integration

AS_OF = date(2026, 6, 30)
PERIODS = ("day", "month", "half_year", "year")


async def processed(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'monitor'"))
    finally:
        await conn.close()


async def test_every_indicator_equals_the_oracle_after_duplicates_corrections_and_kill(
    infra: Infra, log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = service_ports(await fresh_settings(infra, batch_max_records=40))
    stream = build_stream(seed=6, children=160)
    adapter: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)
    for _, change in stream.changes:  # the stream honours the contract
        adapter.validate_json(orjson.dumps(change))
    distinct_ids = len({c["change_id"] for _, c in stream.changes})
    assert len(stream.changes) > distinct_ids > 800  # duplicates included
    assert all(
        stream.final[e] for e in ("separatie", "plaatsing", "aanmelding", "beschikking", "achttien_in_pleegzorg")
    )
    token = settings.operator_token.get_secret_value()  # type: ignore[union-attr]

    cut = len(stream.changes) * 3 // 5
    await produce(settings, stream.changes[:cut])
    monitor = ServiceProcess("monitor", settings, log_dir)
    await monitor.start()
    try:
        await wait_until(lambda: processed(settings.database_url), 60, what="the monitor to fold something")
        monitor.kill()  # kill -9 while it folds (batches of 40 records)
        await produce(settings, stream.changes[cut:])
        await monitor.start()
        await wait_until(lambda: _all_processed(settings.database_url, distinct_ids), 120, what="every change folded")

        want = oracle(stream.final, AS_OF)
        assert sum(len(v) for v in want.values()) > 1000
        auth = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=monitor.url, headers=auth, timeout=30) as client:
            catalogue = (await client.get("/v1/indicators")).json()
            assert {i["id"]: tuple(i["dimensions"]) for i in catalogue} == DIMS
            mismatches: list[str] = []
            for ind in DIMS:
                for period in PERIODS:
                    got = await _rows(client, ind, period, DIMS[ind])
                    if got != want[(ind, period)]:
                        mismatches.append(_diff(ind, period, got, want[(ind, period)]))
            assert not mismatches, "\n".join(mismatches)
            # every indicator has rows: the stream exercises the whole catalogue
            assert all(want[(ind, "year")] for ind in DIMS)

        # the CLI prints the headline table and one indicator's rows from the running monitor
        capsys.readouterr()
        rc = await asyncio.to_thread(
            cli_main, ["indicators", "--url", monitor.url, "--token", token, "--as-of", AS_OF.isoformat()]
        )
        table = capsys.readouterr().out
        assert rc == 0 and all(ind in table for ind in DIMS)
        total_2026 = sum(r["value"] for r in want[("separaties", "year")] if r["start"] == "2026-01-01")
        line = next(x for x in table.splitlines() if x.startswith("separaties "))
        assert line.split()[-1] == str(total_2026)
        rc = await asyncio.to_thread(
            cli_main,
            [
                "indicators",
                "wachtlijst_pleegzorg",
                "--url",
                monitor.url,
                "--group-by",
                "jeugdregio",
                "--as-of",
                AS_OF.isoformat(),
            ],
        )
        assert rc == 0 and "JZ32" in capsys.readouterr().out
    finally:
        monitor.stop()
    assert "Traceback" not in monitor.log_path.read_text()


async def _all_processed(url: str, n: int) -> bool:
    return await processed(url) >= n


async def _rows(client: httpx.AsyncClient, ind: str, period: str, dims: tuple[str, ...]) -> list[dict[str, Any]]:
    resp = await client.get(
        f"/v1/indicators/{ind}", params={"period": period, "group_by": ",".join(dims), "as_of": AS_OF.isoformat()}
    )
    resp.raise_for_status()
    body = resp.json()
    assert body["exact"] is True
    out = []
    for r in body["rows"]:
        assert r.pop("suppressed") is False
        # names of the geography dimensions (the oracle compares codes): right for every code in the row
        assert r.pop("names", {}) == {d: NAMES[d][v] for d, v in r["dims"].items() if d in NAMES}
        assert r.pop("version") == body["version"] >= 1
        for extra in ("baseline_year", "baseline", "change"):  # the nulmeting: tests/integration/test_monitor_repository
            r.pop(extra, None)
        assert r.pop("per_1000", None) is None  # no population loaded: no rate (tests/unit/test_population.py)
        out.append(r)
    return out


NAMES = {
    "gemeente": {"GM0268": "Nijmegen", "GM0296": "Wijchen", "GM1945": "Berg en Dal", "GM0209": "Beuningen",
                 "GM0363": "Amsterdam"},
    "jeugdregio": {"JZ32": "Rijk van Nijmegen", "JZ13": "Amsterdam-Amstelland"},
    "geslacht": {"man": "Man", "vrouw": "Vrouw", "onbekend": "Onbekend"},
}


def _diff(ind: str, period: str, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> str:
    def key(r: dict[str, Any]) -> str:
        return f"{r['start']} {sorted(r['dims'].items())}"

    g, w = {key(r): r for r in got}, {key(r): r for r in want}
    diffs = [
        f"  {k}: monitor {g.get(k)} oracle {w.get(k)}" for k in sorted(g.keys() | w.keys()) if g.get(k) != w.get(k)
    ]
    return f"{ind}/{period}: {len(diffs)} rows differ\n" + "\n".join(diffs[:5])
