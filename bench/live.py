"""Intake throughput and latency, the outbox relay's drain rate, and freshness (accept → visible in the API)."""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from tests.support import ServiceProcess, register_sender

from bench.e2e import service
from jeugdstroom.common.contracts.validation import ContractError, parse_submitted
from jeugdstroom.common.settings import Settings
from jeugdstroom.simulator.stream import Params, default_start, generate

PROBE_SENDER = "99999990"


def submitted_events(days: int, seed: int = 11) -> dict[str, list[dict[str, Any]]]:
    """Valid simulated events as institutions send them (child by BSN), unique per (sender, id), by sender."""
    buf = io.BytesIO()
    generate(Params("nl", days, seed, default_start(days)), buf)
    by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for line in buf.getvalue().splitlines():
        try:
            event = parse_submitted(line)
        except ContractError:
            continue
        if (event.sender, event.id) in seen:
            continue
        seen.add((event.sender, event.id))
        by_sender[event.sender].append(orjson.loads(line))
    return by_sender


def batches(by_sender: dict[str, list[dict[str, Any]]], size: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Batches of ``size`` events of one sender each, taken from every sender in turn."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for sender, events in by_sender.items():
        out += [(sender, events[i : i + size]) for i in range(0, len(events) - size + 1, size)]
    out.sort(key=lambda b: b[1][0]["occurred_at"])
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]


@dataclass
class IntakeResult:
    size: int
    requests: int
    events: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    #: Clients with a request in flight at once (1: sequential requests).
    clients: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def tokens_for(settings: Settings, senders: list[str]) -> dict[str, str]:
    return {s: await register_sender(settings, s, f"bench {s}") for s in senders}


async def post(client: httpx.AsyncClient, url: str, token: str, body: Any) -> httpx.Response:
    r = await client.post(
        f"{url}/v1/events",
        content=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if r.status_code not in (200, 202):
        raise RuntimeError(f"intake answered {r.status_code}: {r.text[:300]}")
    return r


#: Clients that submit batches of 1,000 at the same time in the concurrent row (several institutions at once).
CONCURRENT_CLIENTS = 2


async def intake_bench(settings: Settings, log_dir: Path, quick: bool) -> tuple[list[IntakeResult], dict[str, float]]:
    """Sequential submissions of single events and batches of 100 and 1,000 (each answer after the outbox commit),
    then batches of 1,000 from :data:`CONCURRENT_CLIENTS` clients at once (a row with ``clients`` > 1, after the
    sequential ones); then the relay's drain of the backlog."""
    by_sender = submitted_events(15 if quick else 80)
    tokens = await tokens_for(settings, list(by_sender))
    intake = service("intake", settings, log_dir)
    await intake.start(120)
    results: list[IntakeResult] = []
    conn = await asyncpg.connect(settings.database_url)
    try:
        used: set[tuple[str, str]] = set()
        # the concurrent clients' batches, kept aside first: a sequential batch of 100 takes events out of a
        # sender's batch of 1,000, and the concurrent part used to find none left (a run's row had 0 requests)
        reserved = batches(by_sender, 1000)[-(6 if quick else 16) :]
        used.update((s, e["id"]) for s, b in reserved for e in b)

        def unused(size: int) -> list[tuple[str, list[dict[str, Any]]]]:
            return [(s, b) for s, b in batches(by_sender, size) if not any((s, e["id"]) in used for e in b)]

        async with httpx.AsyncClient(timeout=120) as client:

            async def submit(res: IntakeResult, sender: str, body: Any, events: list[dict[str, Any]]) -> None:
                t0 = time.perf_counter()
                await post(client, intake.url, tokens[sender], body)
                res.latencies.append(time.perf_counter() - t0)
                res.requests += 1
                res.events += len(events)
                used.update((sender, e["id"]) for e in events)

            plan = [(1, 100 if quick else 300), (100, 30 if quick else 60), (1000, 8 if quick else 25)]
            first_sent_at = None
            for size, count in plan:
                todo = unused(size)[:count]
                res = IntakeResult(size, 0, 0, 0.0)
                started = time.perf_counter()
                first_sent_at = first_sent_at or started
                for sender, batch in todo:
                    await submit(res, sender, batch[0] if size == 1 else batch, batch)
                res.seconds = time.perf_counter() - started
                results.append(res)
            # concurrent: each client takes the next batch from one shared queue as soon as its last one is answered
            queue = iter(reserved)
            concurrent = IntakeResult(1000, 0, 0, 0.0, clients=CONCURRENT_CLIENTS)

            async def client_loop() -> None:
                for sender, batch in queue:
                    await submit(concurrent, sender, batch, batch)

            started = time.perf_counter()
            await asyncio.gather(*(client_loop() for _ in range(CONCURRENT_CLIENTS)))
            concurrent.seconds = time.perf_counter() - started
            results.append(concurrent)
            submitted_end = time.perf_counter()
        # the relay: how fast the backlog left behind by the submissions drains
        total = await conn.fetchval("SELECT count(*) FROM outbox WHERE producer = 'intake'")
        backlog = await conn.fetchval("SELECT count(*) FROM outbox WHERE producer = 'intake' AND sent_at IS NULL")
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE producer = 'intake' AND sent_at IS NULL"):
            await asyncio.sleep(0.05)
        drained = time.perf_counter()
        span = await conn.fetchrow(
            "SELECT extract(epoch FROM max(sent_at) - min(sent_at)) AS s, count(*) AS n FROM outbox"
            " WHERE producer = 'intake'"
        )
        assert span is not None
        relay = {
            "events": float(total),
            "backlog_at_end": float(backlog),
            "drain_after_submit_s": drained - submitted_end,
            "relay_rate_live": float(span["n"]) / max(float(span["s"] or 0.0), 1e-3),
            "submit_seconds": submitted_end - (first_sent_at or submitted_end),
        }
        # a clean drain: every row unsent again, a new intake process relays the backlog (republished records are
        # duplicates a subscriber absorbs by ce_id; these are the benchmark's own topics)
        intake.stop()
        await conn.execute("UPDATE outbox SET sent_at = NULL WHERE producer = 'intake'")
        intake = service("intake", settings, log_dir)
        await intake.start(120)
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE producer = 'intake' AND sent_at IS NULL"):
            await asyncio.sleep(0.05)
        span = await conn.fetchrow(
            "SELECT extract(epoch FROM max(sent_at) - min(sent_at)) AS s, count(*) AS n FROM outbox"
            " WHERE producer = 'intake'"
        )
        assert span is not None
        relay["relay_rate"] = float(span["n"]) / max(float(span["s"] or 0.0), 1e-3)
        return results, relay
    finally:
        await conn.close()
        intake.stop()


# -- freshness ---------------------------------------------------------------------------------------------------
def probe_event(i: int) -> dict[str, Any]:
    """A separatie on its own day (from 2015-01-01 on) by the probe sender: the API row of that day shows it."""
    import random

    from jeugdstroom.common.bsn import random_bsn

    day = date(2015, 1, 1) + timedelta(days=i)
    start = f"{day.isoformat()}T10:00:00+01:00"
    return {
        "id": f"probe-{i}",
        "type": "separatie",
        "schema_version": 1,
        "occurred_at": start,
        "sender": PROBE_SENDER,
        "child": {"bsn": random_bsn(random.Random(i)), "birth_date": "2005-03-01", "gemeente": "GM0268"},
        "data": {"separatie_id": f"probe-{i}", "vorm": "separeerruimte", "start": start},
    }


def metric_mean(metrics: str, name: str) -> float:
    """The mean of a Prometheus histogram (sum ÷ count) from its exposition text."""
    values = {}
    for line in metrics.splitlines():
        for part in ("_sum", "_count"):
            if line.startswith(f"{name}{part} "):
                values[part] = float(line.rsplit(" ", 1)[1])
    return values.get("_sum", 0.0) / values["_count"] if values.get("_count") else float("nan")


def histogram_quantiles(metrics: str, name: str, qs: tuple[float, ...]) -> dict[float, float]:
    """Quantiles (bucket upper bounds) of a Prometheus histogram from its exposition text."""
    buckets: list[tuple[float, float]] = []
    for line in metrics.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0.0
    out = {}
    for q in qs:
        out[q] = next((le for le, c in buckets if total and c >= q * total), float("nan"))
    out[0.0] = total  # the count
    return out


async def freshness(settings: Settings, log_dir: Path, rate: int, seconds: int, warmup: int = 10) -> dict[str, float]:
    """A steady ``rate`` events/s through intake: ``warmup`` seconds first (consumer groups join, the first batches;
    not measured), then ``seconds`` with a probe event every second whose accept → visible latency is measured by
    polling ``/v1/indicators``; plus the monitor's own histogram (over the whole run)."""
    by_sender = submitted_events(max(5, rate * (seconds + warmup) // 2500 + 3), seed=13)
    tokens = await tokens_for(settings, [*by_sender, PROBE_SENDER])
    procs = {n: service(n, settings, log_dir) for n in ("intake", "registry", "monitor")}
    await asyncio.gather(*(p.start(120) for p in procs.values()))
    op = settings.operator_token.get_secret_value() if settings.operator_token else ""
    latencies: list[float] = []
    try:
        chunk = max(1, rate // 10)  # one request every 100 ms
        plan = batches(by_sender, chunk)
        total = rate * (seconds + warmup)
        if len(plan) * chunk < total:
            plan += batches(by_sender, 1)[: total - len(plan) * chunk]
        async with httpx.AsyncClient(timeout=30) as client:

            async def probe(i: int) -> None:
                ev = probe_event(i)
                await post(client, procs["intake"].url, tokens[PROBE_SENDER], ev)
                accepted = time.perf_counter()
                day = ev["data"]["start"][:10]
                url = (
                    f"{procs['monitor'].url}/v1/indicators/separaties?period=day&instelling={PROBE_SENDER}"
                    f"&from={day}&to={date.fromisoformat(day) + timedelta(days=1)}"
                )
                while time.perf_counter() - accepted < 60:
                    r = await client.get(url, headers={"Authorization": f"Bearer {op}"})
                    if r.status_code == 200 and r.json()["rows"]:
                        latencies.append(time.perf_counter() - accepted)
                        return
                    await asyncio.sleep(0.01)

            probes: list[asyncio.Task[None]] = []
            started = time.perf_counter()
            sent = 0
            i = 0
            while time.perf_counter() - started < seconds + warmup and i < len(plan):
                tick = started + i * 0.1
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
                sender, batch = plan[i]
                await post(client, procs["intake"].url, tokens[sender], batch)
                sent += len(batch)
                if i % 10 == 5 and i >= warmup * 10:
                    probes.append(asyncio.create_task(probe(i // 10)))
                i += 1
            elapsed = time.perf_counter() - started
            await asyncio.gather(*probes)
            metrics = (await client.get(f"{procs['monitor'].url}/metrics")).text
            batch_times: dict[str, float] = {}
            for name in ("registry", "monitor"):
                text = metrics if name == "monitor" else (await client.get(f"{procs[name].url}/metrics")).text
                batch_times[f"{name}_batch_s"] = metric_mean(text, f"jeugdstroom_{name}_batch_seconds")
        hist = histogram_quantiles(metrics, "jeugdstroom_monitor_freshness_seconds", (0.5, 0.99))
        return {
            **batch_times,
            "rate": sent / elapsed,
            "seconds": elapsed - warmup,
            "warmup": float(warmup),
            "probes": float(len(latencies)),
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "max": max(latencies, default=float("nan")),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "hist_p50": hist[0.5],
            "hist_p99": hist[0.99],
            "hist_count": hist[0.0],
        }
    finally:
        for p in procs.values():
            p.stop()


__all__ = ["ServiceProcess", "freshness", "intake_bench"]
