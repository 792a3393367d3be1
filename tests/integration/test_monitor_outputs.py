"""The monitor's public outputs on a realistic stream: small-cell suppression (public never below the
threshold, operator exact), the compacted indicator topic carrying the current public values (and only
changed rows), and the Prometheus headline gauges."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import disclosure, publisher
from jeugdstroom.monitor.app import create_app, headline_by_geslacht
from jeugdstroom.monitor.catalogue import CATALOGUE, SERIES, USERS
from tests.conftest import Infra, fresh_settings
from tests.integration.monitor_stream import DIMS, Stream, build_stream, produce
from tests.support import read_topic, running_app, wait_until

pytestmark = pytest.mark.integration

#: The monitor's migrations (one is run again by a test).
MIGRATIONS = Path(publisher.__file__).parent / "migrations"


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fed(settings: Settings, stream: Stream) -> AsyncIterator[httpx.AsyncClient]:
    """The monitor app in-process, with the stream folded and its outbox published."""
    async with running_app(create_app(settings)) as client:
        await produce(settings, stream.changes)
        n = len({c["change_id"] for _, c in stream.changes})
        url = settings.database_url
        await wait_until(
            lambda: _at_least(url, "SELECT count(*) FROM processed_events WHERE consumer = 'monitor'", n),
            120,
            what="every change folded",
        )
        await wait_until(
            lambda: _at_least(
                url,
                "SELECT -(SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
                " - (SELECT count(*) FROM monitor.publish_pending)",
                0,
            ),
            60,
            what="indicator topic published and outbox relayed",
        )
        yield client


def _sent(topic: str) -> float:
    """The monitor's count of indicator records sent to ``topic`` (this process's metrics registry)."""
    return REGISTRY.get_sample_value("jeugdstroom_monitor_outbox_published_total", {"topic": topic}) or 0.0


async def _at_least(url: str, sql: str, n: int) -> bool:
    return await _count(url, sql) >= n


#: The instellingen with separaties in the test stream (each has a target status for the running year).
SEPARATIES_INSTELLINGEN = {"11111111", "22222222", "33333333"}


def _small(row: dict[str, Any], kind: str, threshold: int) -> bool:
    if kind in ("duration", "waiting"):
        return bool(row["n"] is not None and row["n"] < threshold)
    if kind == "ratio":
        return bool(row["denominator"] is not None and row["denominator"] < threshold)
    return bool(row["value"] is not None and 0 < row["value"] < threshold)


async def test_public_output_is_suppressed_and_operator_output_exact(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    threshold = settings.suppression_threshold
    assert threshold == 10
    auth = {"authorization": f"Bearer {settings.operator_token.get_secret_value()}"}  # type: ignore[union-attr]
    stream = build_stream(seed=11, children=220)
    async with fed(settings, stream) as client:
        catalogue = {i["id"]: i for i in (await client.get("/v1/indicators")).json()}
        dimensions = (await client.get("/v1/dimensions")).json()
        assert {d for i in catalogue.values() for d in i["dimensions"]} <= set(dimensions)
        assert {n for n, d in dimensions.items() if d["filter"]} == {
            "gemeente",
            "jeugdregio",
            "instelling",
            "leeftijdsklasse",
            "geslacht",
            "aanbieder",
        }

        # the age class: a dimension of the indicators about children, grouped and filtered like any other
        async def year_rows(**params: str) -> list[dict[str, Any]]:
            resp = await client.get(
                "/v1/indicators/verblijf_actief", params={"period": "year", "as_of": "2026-06-30", **params}, headers=auth
            )
            assert resp.status_code == 200, resp.text
            rows: list[dict[str, Any]] = resp.json()["rows"]
            return rows

        per_class = {
            r["dims"]["leeftijdsklasse"]: r["value"]
            for r in await year_rows(group_by="leeftijdsklasse")
            if r["start"] == "2026-01-01"
        }
        assert set(per_class) <= {"0-4", "4-12", "12-18", "18-23", "23+"} and len(per_class) >= 2
        total = next(r["value"] for r in await year_rows() if r["start"] == "2026-01-01")
        assert sum(per_class.values()) == total
        klasse, value = max(per_class.items(), key=lambda kv: kv[1])
        assert [r["value"] for r in await year_rows(leeftijdsklasse=klasse) if r["start"] == "2026-01-01"] == [value]
        bad_class = await client.get("/v1/indicators/verblijf_actief", params={"leeftijdsklasse": "12-17"})
        assert bad_class.status_code == 422
        not_by_age = await client.get("/v1/indicators/separaties", params={"leeftijdsklasse": "12-18"}, headers=auth)
        assert not_by_age.status_code == 422  # separaties are not published by age

        # geslacht: grouped, filtered and named like any other dimension; aanbieder: a filter of the waiting times
        per_geslacht = {
            r["dims"]["geslacht"]: (r["value"], r["names"]["geslacht"])
            for r in await year_rows(group_by="geslacht")
            if r["start"] == "2026-01-01"
        }
        assert set(per_geslacht) == {"man", "vrouw", "onbekend"}
        assert {n for _, n in per_geslacht.values()} == {"Man", "Vrouw", "Onbekend"}
        assert sum(v for v, _ in per_geslacht.values()) == total
        assert [r["value"] for r in await year_rows(geslacht="vrouw") if r["start"] == "2026-01-01"] == [
            per_geslacht["vrouw"][0]
        ]
        assert (await client.get("/v1/indicators/verblijf_actief", params={"geslacht": "x"})).status_code == 422
        wait = {"period": "year", "as_of": "2026-06-30", "group_by": "aanbieder"}
        waits = (await client.get("/v1/indicators/wachttijd_beschikking", params=wait, headers=auth)).json()["rows"]
        assert {r["dims"]["aanbieder"] for r in waits} >= {"onbekend", "11111111"}
        named = (
            await client.get(
                "/v1/indicators/wachttijd_beschikking",
                params={**wait, "group_by": "", "aanbieder": "11111111"},
                headers=auth,
            )
        ).json()["rows"]
        assert [r["n"] for r in named] == [r["n"] for r in waits if r["dims"]["aanbieder"] == "11111111"]
        assert (await client.get("/v1/indicators/verwijzers", params={"aanbieder": "onbekend"})).status_code == 422
        conn = await asyncpg.connect(settings.database_url)
        try:  # the Prometheus gauge by geslacht: bounded labels, public values
            gauges = await headline_by_geslacht(conn, threshold, date(2026, 6, 30), disclosure.noise_secret(settings))
        finally:
            await conn.close()
        assert gauges and {g for _, _, g in gauges} <= {"man", "vrouw", "onbekend"}
        assert {i for i, _, _ in gauges} <= {i for i, info in catalogue.items() if "geslacht" in info["dimensions"]}
        shown = hidden = noised = 0
        for ind, info in catalogue.items():
            for period in ("month", "year"):
                regional = ("jeugdregio",) if "jeugdregio" in DIMS[ind] else ()
                for group_by in ("", *regional, ",".join(DIMS[ind])):
                    params = {"period": period, "group_by": group_by}
                    pub = (await client.get(f"/v1/indicators/{ind}", params=params)).json()
                    op = (await client.get(f"/v1/indicators/{ind}", params=params, headers=auth)).json()
                    assert pub["exact"] is False and op["exact"] is True
                    exact = {(o["start"], tuple(sorted(o["dims"].items()))): o for o in op["rows"]}
                    for o in op["rows"]:
                        assert o["suppressed"] is False and o["value"] is not None
                    # public rows: noisy values (docs/privacy.md) of existing cells, never a small number
                    for p in pub["rows"]:
                        o = exact[(p["start"], tuple(sorted(p["dims"].items())))]
                        assert not _small(p, info["kind"], threshold), (ind, p)
                        if p["suppressed"]:
                            assert p["value"] is None
                            hidden += 1
                            continue
                        shown += 1
                        size = (
                            "n" if info["kind"] == "duration" else "denominator" if info["kind"] == "ratio" else "value"
                        )
                        assert abs(p[size] - o[size]) <= 25, (ind, p, o)  # noise of sd 2
                        noised += p[size] != o[size]
                        if info["kind"] == "duration":
                            assert (p["value"], p["p90"]) == (o["value"], o["p90"])  # order statistics: exact
                    for o in op["rows"]:  # every small cell is hidden or absent or shows a value >= threshold
                        if _small(o, info["kind"], threshold):
                            p = next(
                                (p for p in pub["rows"] if (p["start"], p["dims"]) == (o["start"], o["dims"])), None
                            )
                            assert p is None or p["suppressed"] or not _small(p, info["kind"], threshold)
        assert hidden > 100 and shown > 20 and noised > shown // 3  # all cases occur on this stream

        # a filter and a target row: separaties per instelling per year carry a target status once a
        # nulmeting exists (the stream starts in July 2024, so 2025 is every instelling's nulmeting)
        rows = (
            await client.get(
                "/v1/indicators/separaties",
                params={"period": "year", "group_by": "instelling", "as_of": "2026-06-30"},
                headers=auth,
            )
        ).json()
        statuses = {r["start"]: r.get("target_status") for r in rows["rows"]}
        assert {statuses.get("2024-01-01"), statuses.get("2025-01-01")} == {None}
        assert statuses["2026-01-01"] in {"on_track", "off_track"}
        bad = await client.get("/v1/indicators/separaties_per_100_opnames", params={"gemeente": "GM0268"})
        assert bad.status_code == 422  # a rate per instelling has no gemeente dimension
        assert (await client.get("/v1/indicators/nope")).status_code == 404

        # Prometheus: headline gauges per jeugdregio from PostgreSQL, suppressed like public output
        async def gauges() -> list[tuple[str, float]]:
            text = (await client.get("/metrics")).text
            return [
                (m.group(1), float(m.group(2)))
                for m in re.finditer(r"^jeugdstroom_monitor_indicator_value\{(.*)\} (\S+)$", text, re.M)
            ]

        samples = await wait_until(gauges, 30, what="headline gauges")
        for labels, value in samples:
            assert set(re.findall(r"(\w+)=", labels)) == {
                "indicator", "jeugdregio", "gemeente", "vorm", "jeugdregio_naam", "gemeente_naam"
            }
            if 'jeugdregio="JZ32"' in labels:
                assert 'jeugdregio_naam="Rijk van Nijmegen"' in labels  # a person reads the name
            if 'indicator="aandeel_gezinsgericht"' in labels:
                assert 0 <= value <= 1
            else:
                assert value >= threshold  # small cells have no sample

        async def target_gauges() -> list[tuple[str, ...]] | None:
            """The off-track samples, once a refresh that began after the last fold has set them (the gauges are
            recomputed every few seconds; the first refresh may have read a partly folded stream)."""
            text = (await client.get("/metrics")).text
            found: list[tuple[str, ...]] = re.findall(
                r'^jeugdstroom_monitor_target_off_track\{indicator="(\w+)",instelling="(\w*)",'
                r'jeugdregio="([\w-]*)",jeugdregio_naam="([\w ]*)"\} (\S+)$',
                text,
                re.M,
            )
            return found if {inst for i, inst, *_ in found if i == "separaties"} == with_status else None

        # the gauge's instellingen: those whose public row of the running year has a status (a suppressed row has
        # none, and whether a row is suppressed depends on this run's noise secret)
        public_rows = (
            await client.get("/v1/indicators/separaties", params={"period": "year", "group_by": "instelling"})
        ).json()["rows"]
        this_year = f"{date.today().year}-01-01"
        with_status = {r["dims"]["instelling"] for r in public_rows
                       if r["start"] == this_year and r.get("target_status") is not None}
        assert with_status and with_status <= SEPARATIES_INSTELLINGEN
        off_track = await wait_until(target_gauges, 30, what="target gauges of the whole stream")
        assert {(i, r, n) for i, _, r, n, _ in off_track if i == "wachtlijst_pleegzorg"} == {
            ("wachtlijst_pleegzorg", "JZ32", "Rijk van Nijmegen")
        }
        assert {v for *_, v in off_track} <= {"0.0", "1.0"}


async def test_indicator_topic_carries_the_current_public_values(infra: Infra) -> None:
    # two publisher processes (the default; tests otherwise run one): the topic must be complete when they share it
    settings = await fresh_settings(infra, suppression_threshold=2, monitor_publishers=2)
    stream = build_stream(seed=12, children=60)
    async with fed(settings, stream) as client:
        want: dict[str, dict[str, Any]] = {}
        for ind in DIMS:  # the topic's cells: the public API rows at each of the indicator's topic groupings
            for period, dims in itertools.product(("month", "half_year", "year"), CATALOGUE[ind].topic_groupings):
                body = (
                    await client.get(f"/v1/indicators/{ind}", params={"period": period, "group_by": ",".join(dims)})
                ).json()
                for r in body["rows"]:
                    assert set(r["dims"]) == set(dims)
                    key = f"{ind}|{period}|{r['start']}|" + ";".join(f"{k}={v}" for k, v in sorted(r["dims"].items()))
                    want[key] = r
        assert len(want) > 500 and {k.split("|")[3] for k in want} >= {"", "jeugdregio=JZ32"}

        records = await read_topic(settings, "indicators", 5.0)
        # the publication ran in its own process (publication/child.py): its counts reached the monitor's metrics
        topic = settings.topic("indicators")

        async def forwarded() -> bool:
            return _sent(topic) == len(records)

        await wait_until(forwarded, 10, what=f"{len(records)} records counted in the monitor's metrics")
        latest: dict[str, dict[str, Any]] = {}
        for rec in records:
            latest[rec.key.decode()] = orjson.loads(rec.value)
        current = {k: v for k, v in latest.items() if not _empty(v)}
        assert set(current) == set(want)
        for key, row in want.items():
            value = current[key]
            assert value["indicator"] == key.split("|")[0]
            assert value["version"] == row["version"] >= 1
            # the topic carries the public row; the nulmeting, the targets and the rates are the API's (docs/monitor.md)
            api_only = ("baseline_year", "baseline", "change", "per_1000", "target", "target_status")
            api = {k: v for k, v in row.items() if k not in api_only}
            assert {k: v for k, v in value.items() if k not in ("indicator", "unit", "as_of")} == api, key
        assert any(v["suppressed"] for v in current.values()) and any(not v["suppressed"] for v in current.values())

        # one more separatie: only rows whose public value changed are published
        pseudonym, change = next(
            (p, c)
            for p, c in stream.changes
            if c["entity"] == "separatie" and c["before"] is None and c["after"]["start"] is not None
        )
        after = {
            **change["after"],
            "separatie_id": "extra",
            "end": None,
            "start": change["after"]["start"] + timedelta(minutes=1),
        }
        await produce(settings, [(pseudonym, {**change, "change_id": "extra:1", "after": after})])
        seen = {(r.partition, r.offset) for r in records}
        await wait_until(lambda: _more(settings, len(seen)), 60, what="new indicator records")
        new = [r for r in await read_topic(settings, "indicators", 5.0) if (r.partition, r.offset) not in seen]
        assert new
        from_separaties = {u.id for sid, s in SERIES.items() if s.entity == "separatie" for u in USERS[sid]}
        assert {r.key.decode().split("|")[0] for r in new} <= from_separaties
        for rec in new:
            old = latest.get(rec.key.decode())
            assert old is None or {k: v for k, v in old.items() if k != "as_of"} != {
                k: v for k, v in orjson.loads(rec.value).items() if k != "as_of"
            }

        # a cell published at an earlier grouping (the full dimension set, before migration 0018): the migration
        # queues every published cell, and the next publication sends a tombstone for its key
        old_dims = {"gemeente": "GM0268", "jeugdregio": "JZ32", "instelling": "11111111", "vorm": "separatie"}
        old_key = "separaties|month|2025-03-01|" + ";".join(f"{k}={v}" for k, v in sorted(old_dims.items()))
        pool = await db.create_pool(settings.database_url, min_size=1, max_size=1)  # (the services' codecs)
        try:
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO monitor.published (key, indicator, period, start, dims, digest, source)"
                    " VALUES ($1, 'separaties', 'month', '2025-03-01', $2::jsonb, '\\x01', '\\x01')",
                    old_key,
                    old_dims,
                )
                await conn.execute((MIGRATIONS / "0018_topic_groupings.sql").read_text())

                async def tombstone() -> bool:
                    records = await read_topic(settings, "indicators", 2.0)
                    return any(r.key == old_key.encode() and r.value is None for r in records)

                await wait_until(tombstone, 60, what="a tombstone for the old grouping's key")
                assert not await conn.fetchval("SELECT count(*) FROM monitor.published WHERE key = $1", old_key)
                [gone] = [r for r in await read_topic(settings, "indicators", 2.0) if r.key == old_key.encode()]
                headers = dict(gone.headers)  # a tombstone carries the topic's CloudEvents headers too
                assert headers["ce_specversion"] == b"1.0" and headers["ce_id"] == f"{old_key}#removed".encode()
                assert headers["ce_type"] == b"nl.jeugdstroom." + publisher.INDICATOR_CE_TYPE.encode()

                # `jeugdstroom republish indicators` (after a broker lost the topic): every visible cell is sent again
                records = await read_topic(settings, "indicators", 2.0)
                before = {(r.partition, r.offset) for r in records}
                visible = {k for k, v in {r.key.decode(): r.value for r in records}.items()
                           if v is not None and not _empty(orjson.loads(v))}
                assert len(visible) >= len(want) - 10
                async with conn.transaction():
                    assert await publisher.republish_all(conn) >= len(visible)

                async def sent_again() -> bool:
                    records = await read_topic(settings, "indicators", 2.0)
                    return {r.key.decode() for r in records if (r.partition, r.offset) not in before} >= visible

                await wait_until(sent_again, 60, what="every visible cell sent again")
        finally:
            await pool.close()


async def _more(settings: Settings, n: int) -> bool:
    return len(await read_topic(settings, "indicators", 2.0)) > n


def _empty(v: dict[str, Any]) -> bool:
    """A published row of a cell that no longer has a value."""
    if "n" in v:
        return bool(v["n"] == 0)
    if "denominator" in v:
        return bool(v["denominator"] == 0)
    return bool(v["value"] == 0)
