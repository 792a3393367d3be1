"""``python -m bench [--quick] [--n 100000,1000000] [--only e2e,peer,...] [--profile]``: run the benchmarks, print
tables and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import e2e, events, limits, live, profile, tools
from bench.ceiling import PARTS as CEILING_PARTS
from bench.infra import Infra, ProcStats, load, machine
from bench.report import Table, rate, ratio
from jeugdstroom.common import db

SECTIONS = ("limits", "e2e", "peer", "rebuild", "ceiling", "scaling", "intake", "freshness")
#: Events of a national year for the rebuild's extrapolation (docs: "a year of national events is a few million").
NATIONAL_EVENTS = 3_000_000
DOC = Path("docs/benchmarks.md")
LAST_RUN = events.CACHE / "last-run.pickle"


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tables: list[Table] = []
        self.facts: dict[str, Any] = {}
        self.loads: list[tuple[str, str]] = []
        self.targets: list[tuple[str, str, str, str]] = []  # (target, measured, holds, why)
        self.limits: dict[int, dict[str, float]] = {}
        self.runs: dict[int, e2e.Run] = {}
        self.settings_by_n: dict[int, Any] = {}
        self.infra: Infra | None = None
        self.ceiling: dict[str, Any] = {}  # bench.ceiling's result at the largest N (with its process's peak RSS)

    def note_load(self, what: str) -> None:
        self.loads.append((what, load()))

    def show(self, table: Table) -> None:
        self.tables.append(table)
        print(table.text(), flush=True)

    # -- sections ------------------------------------------------------------------------------------------
    async def limits_and_e2e(self, n: int, run_e2e: bool) -> None:
        assert self.infra is not None
        print(f"\n-- N = {n:,}: events, transport and storage limits{', end to end' if run_e2e else ''}", flush=True)
        evs = events.load_events(n)
        settings = await self.infra.fresh(batch_max_records=self.args.batch)
        self.note_load(f"N={n} start")
        lim: dict[str, float] = {}
        lim["produce"] = n / await events.produce(settings, evs)
        lim["consume"] = n / await limits.consume(settings, n)
        lim["consume_orjson"] = n / await limits.consume(settings, n, "orjson")
        lim["consume_json"] = n / await limits.consume(settings, n, "json")
        storage_url = db.with_database(self.infra.postgres.url("postgres"), f"bench_storage_{n}")
        await db.ensure_database(storage_url)
        lim.update(await limits.storage(storage_url, evs))
        self.limits[n] = lim
        del evs
        if not run_e2e:
            return
        log_dir = self.infra.workdir / f"e2e-{n}"
        prof = log_dir / "profile" if self.args.profile else None
        if prof:
            prof.mkdir(parents=True, exist_ok=True)
        run = await e2e.run_pipeline(settings, n, log_dir, profile_dir=prof, infra_pids=self.infra.pids)
        self.runs[n] = run
        self.settings_by_n[n] = settings
        self.note_load(f"N={n} end")

    def limits_table(self) -> None:
        t = Table(
            "Limits: the same events without jeugdstroom's logic (events/s)",
            [
                "N",
                "produce (acks=all)",
                "consume",
                "consume + orjson",
                "consume + json",
                "PG unnest dedupe+upsert",
                "PG executemany",
                "PG COPY event rows",
            ],
        )
        for n, lim in self.limits.items():
            t.add(
                f"{n:,}",
                rate(lim["produce"]),
                rate(lim["consume"]),
                rate(lim["consume_orjson"]),
                rate(lim["consume_json"]),
                rate(lim["unnest"]),
                rate(lim["executemany"]),
                rate(lim["copy"]),
            )
        t.note = (
            "aiokafka 0.14 one `send` per event, linger 5 ms; consumer from the beginning of all typed-topic "
            "partitions; PostgreSQL batches of 5,000 in one transaction each (executemany on a 50k sample)."
        )
        self.show(t)

    def e2e_table(self) -> None:
        t = Table(
            "End to end: pre-loaded typed topics → registry → monitor → final indicators",
            [
                "N",
                "changes",
                "events/s",
                "÷ produce",
                "÷ consume",
                "÷ COPY",
                "registry ev/s",
                "monitor ch/s",
                "wall incl. start (s)",
                "registry CPU s",
                "registry peak RSS MB",
                "monitor CPU s",
                "monitor peak RSS MB",
                "PostgreSQL CPU s",
                "broker CPU s",
            ],
        )
        for n, run in self.runs.items():
            lim = self.limits[n]
            reg, mon = run.procs.get("registry"), run.procs.get("monitor")
            t.add(
                f"{n:,}",
                f"{run.changes:,}",
                rate(run.rate),
                ratio(run.rate, lim["produce"]),
                ratio(run.rate, lim["consume"]),
                ratio(run.rate, lim["copy"]),
                rate(n / run.registry_seconds if run.registry_seconds else None),
                rate(run.changes / run.monitor_seconds if run.monitor_seconds else None),
                f"{run.seconds_total:.1f}",
                f"{reg.cpu_seconds:.0f}" if reg else "—",
                f"{reg.peak_rss_mb:.0f}" if reg else "—",
                f"{mon.cpu_seconds:.0f}" if mon else "—",
                f"{mon.peak_rss_mb:.0f}" if mon else "—",
                f"{run.infra_cpu.get('postgresql', 0):.0f}",
                f"{run.infra_cpu.get('broker', 0):.0f}",
            )
        t.note = (
            "events/s = N ÷ (first stored offset → registry and monitor offsets at the end, every outbox "
            "sent); registry ev/s until the registry stored all N; monitor ch/s = changes ÷ (monitor's first "
            "stored offset → final); the number of changes depends on batch boundaries (an entity created and "
            "updated within one batch is one change), the net effect does not. Batches of up to "
            f"{self.args.batch} records. CPU = user+system seconds of the process over the run (/proc)."
        )
        self.show(t)
        if len(self.runs) >= 2:
            ns = sorted(self.runs)
            small, big = self.runs[ns[0]], self.runs[ns[-1]]
            g = Table(
                "Cost growth",
                [
                    "N",
                    "s per 1k events",
                    "registry CPU ms / event",
                    "monitor CPU ms / event",
                    "registry peak RSS MB",
                    "monitor peak RSS MB",
                ],
            )
            for n in ns:
                r = self.runs[n]
                g.add(
                    f"{n:,}",
                    f"{1000 * r.seconds / n:.2f}",
                    f"{1000 * r.procs['registry'].cpu_seconds / n:.2f}",
                    f"{1000 * r.procs['monitor'].cpu_seconds / n:.2f}",
                    f"{r.procs['registry'].peak_rss_mb:.0f}",
                    f"{r.procs['monitor'].peak_rss_mb:.0f}",
                )
            growth = (big.seconds / big.n) / (small.seconds / small.n)
            g.note = f"Time per event grows {growth:.2f}× from {ns[0]:,} to {ns[-1]:,} events (1.00× = linear)."
            self.show(g)
        for n, run in self.runs.items():
            for name, path in run.profiles.items():
                self.profile_table(f"Profile (py-spy, N={n:,}): {name}", path)
            self.statements_table(f"N={n:,}", run)

    def profile_table(self, title: str, path: Path) -> None:
        """The functions with the most py-spy samples in one process's collapsed stacks."""
        if not path.exists():
            return
        p = Table(title, ["function", "inclusive %", "self %"])
        for f, inc, own in profile.top(path):
            p.add(f.replace("|", "/"), f"{inc:.1f}", f"{own:.1f}")
        self.show(p)

    async def _child(
        self, name: str, module_args: list[str], profile_dir: Path | None, python: str | Path = sys.executable
    ) -> tuple[dict[str, Any], ProcStats, dict[str, Path]]:
        """Run ``python -m <module_args>`` as its own process (stderr in ``<name>.log``), sampling its RSS (and with
        ``profile_dir`` its stacks); returns the JSON of its last output line, its stats and its profile."""
        assert self.infra is not None
        log_path = self.infra.workdir / f"{name}.log"
        # stdout into a file, not a pipe: this loop reads it only after the child exits, and a result line longer
        # than the pipe's buffer (64 KiB; Quix's cells at N=20,000) would block the child's print, and so its exit,
        # forever
        out_path = self.infra.workdir / f"{name}.out"
        with open(log_path, "wb") as log, open(out_path, "wb") as out:
            proc = subprocess.Popen([str(python), "-m", *module_args], stdout=out, stderr=log)
        stats = ProcStats(proc.pid)
        stats.begin()
        async with e2e.profiled({name: proc.pid}, profile_dir) as profiles:
            while proc.poll() is None:
                stats.sample()
                await asyncio.sleep(0.5)
        stats.cpu_end = stats.cpu_start  # the process is gone: its CPU is no longer in /proc
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed (exit {proc.returncode}): {log_path.read_text()[-2000:]}")
        return json.loads(out_path.read_text().strip().splitlines()[-1]), stats, profiles

    def statements_table(self, what: str, run: e2e.Run) -> None:
        """PostgreSQL's busiest statements of a run (pg_stat_statements)."""
        if not run.statements:
            return
        total = run.statements_total_ms
        s = Table(
            f"PostgreSQL statements ({what}): where the database's time went",
            ["statement", "calls", "rows", "µs / event", "share %"],
        )
        for query, calls, rows, ms in run.statements:
            short = query if len(query) <= 110 else query[:107] + "…"
            s.add(f"`{short.replace('|', '/')}`", f"{calls:,}", f"{rows:,}", f"{1000 * ms / run.n:.1f}",
                  f"{100 * ms / total:.1f}")
        s.note = (
            f"pg_stat_statements over the run: {total / 1000:.1f} s of execution in all statements "
            f"({1000 * total / run.n:.1f} µs per event); the harness's own progress query is among them."
        )
        self.show(s)

    async def peer(self) -> None:
        """Monitor alone vs Quix Streams on the registry changes topic left by the largest end-to-end run."""
        assert self.infra is not None
        n = self.args.peer_n or min(self.runs)
        changes = self.runs[n].changes
        source = self.settings_by_n[n]
        print(f"\n-- peer: monitor fold vs Quix Streams on {changes:,} registry changes", flush=True)
        self.note_load("peer start")
        # jeugdstroom's monitor alone, in a fresh database, on the same topic
        mon_db = db.with_database(self.infra.postgres.url("postgres"), f"bench_peer_{n}")
        mon_settings = source.model_copy(update={"database_url": mon_db})
        await db.migrate(mon_db)
        prof = self.infra.workdir / "peer-monitor" / "profile" if self.args.profile else None
        if prof:
            prof.mkdir(parents=True, exist_ok=True)
        run = await e2e.run_pipeline(
            mon_settings,
            changes,
            self.infra.workdir / "peer-monitor",
            ("monitor",),
            changes=changes,
            profile_dir=prof,
            infra_pids=self.infra.pids,
        )
        # the monitor's fold alone on the shared series (its own process and database, same topic)
        fold_db = db.with_database(self.infra.postgres.url("postgres"), f"bench_fold_peer_{n}")
        await db.migrate(fold_db)
        prof_dir = self.infra.workdir / "peer-profile" if self.args.profile else None
        if prof_dir:
            prof_dir.mkdir(parents=True, exist_ok=True)
        shared, fold_stats, fold_profiles = await self._child(
            "fold-peer",
            ["bench.fold_peer", source.bootstrap_servers, fold_db, source.topic_prefix, str(changes),
             str(self.args.batch)],
            prof_dir,
        )
        # Quix Streams, its own process
        state = self.infra.workdir / "quix-state"
        quix, ps, _ = await self._child(
            "quix-peer",
            ["bench.quix_peer", source.bootstrap_servers, source.topic("registry.changes"), str(changes), str(state)],
            None,
            tools.quix_python(),  # its own venv: Quix's pins conflict with the project's
        )
        agree, cells = await self._compare(source.database_url, quix["cells"], "monitor")
        agree_shared, _ = await self._compare(fold_db, quix["cells"], "fold")
        mon_rate = changes / run.seconds if run.seconds else 0.0
        quix_rate = quix["records"] / quix["seconds"] if quix["seconds"] else 0.0
        shared_rate = shared["records"] / shared["seconds"] if shared["seconds"] else 0.0
        t = Table(
            "Peer: the same aggregation, same broker and topic (registry changes/s, first record → last)",
            ["system", "records", "events/s", "start-up (s)", "peak RSS MB", "vs Quix"],
        )
        mp = run.procs["monitor"]
        t.add(
            "jeugdstroom monitor (full catalogue, indicator topic)",
            f"{changes:,}",
            rate(mon_rate),
            f"{run.seconds_total - run.seconds:.1f}",
            f"{mp.peak_rss_mb:.0f}",
            ratio(mon_rate, quix_rate),
        )
        t.add(
            "jeugdstroom monitor's fold on the same three series (no publication)",
            f"{shared['records']:,}",
            rate(shared_rate),
            f"{shared['startup_s']:.1f}",
            f"{fold_stats.peak_rss_mb:.0f}",
            ratio(shared_rate, quix_rate),
        )
        t.add(
            f"Quix Streams {quix.get('version', '3')} (group_by + stateful count/distinct, RocksDB, changelog)",
            f"{quix['records']:,}",
            rate(quix_rate),
            f"{quix['startup_s']:.1f}",
            f"{ps.peak_rss_mb:.0f}",
            "1.00×",
        )
        t.note = (
            f"Quix aggregates separaties and plaatsingen per gemeente × month and distinct gesepareerde children; "
            f"the monitor folds every indicator of the catalogue (and publishes the indicator topic); the fold row "
            "runs the monitor's consumer loop and fold code (validation, dedupe, upserts and offsets in one "
            "PostgreSQL transaction per batch) on Quix's three series only. Rates from the first record folded to "
            "the last (the fold row excludes its first batch, Quix its start-up). Results compared on "
            f"{cells} cells: {'identical' if agree else 'DIFFERENT'} (monitor), "
            f"{'identical' if agree_shared else 'DIFFERENT'} (fold)."
        )
        self.show(t)
        for name, path in run.profiles.items():
            self.profile_table(f"Profile (py-spy): {name} alone on {changes:,} changes", path)
        self.statements_table(f"monitor alone on {changes:,} changes; µs per change", run)
        for path in fold_profiles.values():
            self.profile_table(f"Profile (py-spy): the monitor's fold on the shared series, {changes:,} changes", path)
        self.peer_rates = (mon_rate, quix_rate)
        self.peer_shared_rate = shared_rate
        self.peer_run = run
        self.note_load("peer end")

    @staticmethod
    async def _compare(url: str, cells: dict[str, list[int]], what: str) -> tuple[bool, int]:
        """Quix's final counts against the monitor's aggregates of the end-to-end run (separaties, plaatsingen
        instroom, distinct gesepareerde children per gemeente × month); prints the first cells that differ."""
        conn = await asyncpg.connect(url)
        try:
            mine: dict[str, list[int]] = {}
            for series, entity in (("separaties", "separatie"), ("verblijf_instroom", "plaatsing")):
                for r in await conn.fetch(
                    "SELECT dims->>'gemeente' AS g, to_char(day, 'YYYY-MM') AS m, sum(value)::bigint AS v"
                    " FROM monitor.counts WHERE indicator = $1 GROUP BY 1, 2",
                    series,
                ):
                    mine[f"{entity}|{r['g']}|{r['m']}"] = [int(r["v"]), 0]
            for r in await conn.fetch(
                "SELECT dims->>'gemeente' AS g, to_char(day, 'YYYY-MM') AS m, count(DISTINCT pseudonym) AS v"
                " FROM monitor.members WHERE indicator = 'gesepareerde_jeugdigen' AND n > 0 GROUP BY 1, 2"
            ):
                mine.setdefault(f"separatie|{r['g']}|{r['m']}", [0, 0])[1] = int(r["v"])
        finally:
            await conn.close()
        theirs = {k: [v[0], v[1] if k.startswith("separatie") else 0] for k, v in cells.items() if v[0] or v[1]}
        mine = {k: v for k, v in mine.items() if v[0] or v[1]}
        differ = sorted(k for k in theirs.keys() | mine.keys() if theirs.get(k) != mine.get(k))
        if differ:
            print(
                f"  Quix vs {what}: {len(differ)} of {len(theirs.keys() | mine.keys())} cells differ, e.g. "
                + "; ".join(f"{k} Quix {theirs.get(k)} {what} {mine.get(k)}" for k in differ[:5]),
                flush=True,
            )
        return not differ, len(mine)

    async def rebuild(self) -> None:
        """``jeugdstroom rebuild monitor`` on the state each end-to-end run left (registry entity topic → new monitor
        tables → swap), with a national year extrapolated from the entities per event and the rate measured."""
        from jeugdstroom.monitor.rebuild import Rebuild

        t = Table(
            "Rebuild: jeugdstroom rebuild monitor after end to end (entity topic → new tables → swap)",
            ["N events", "entity records", "entities", "read s", "fold s", "swap ms", "total s", "entities/s",
             "snapshot MB"],
        )
        per_event = rates = bytes_per_entity = 0.0
        for n, settings in sorted(self.settings_by_n.items()):
            print(f"\n-- rebuild after N = {n:,}", flush=True)
            pool = await db.create_pool(settings.database_url, max_size=3)  # (as the CLI: the run lock, the fold, the wait)
            try:
                stats = await Rebuild(settings, pool, progress=lambda text: print(text, flush=True)).run()
            finally:
                await pool.close()
            t.add(f"{n:,}", f"{stats.records:,}", f"{stats.entities:,}", f"{stats.read_s:.1f}", f"{stats.fold_s:.1f}",
                  f"{stats.swap_s * 1000:.0f}", f"{stats.total_s:.1f}", rate(stats.entities_per_s),
                  f"{stats.snapshot_bytes / 1e6:.0f}")
            per_event, rates = stats.entities / n, stats.entities_per_s
            bytes_per_entity = stats.snapshot_bytes / max(1, stats.entities)
            self.facts[f"rebuild_{n}"] = {"entities": stats.entities, "entities_per_s": round(stats.entities_per_s),
                                          "snapshot_bytes": stats.snapshot_bytes}
        if rates:
            national = NATIONAL_EVENTS * per_event
            t.note = (
                f"A national year ({NATIONAL_EVENTS:,} events, {per_event:.2f} entities per event as in the largest"
                f" run: about {national:,.0f} entities) at {rates:,.0f} entities/s: about"
                f" {national / rates / 60:.1f} minutes, holding about {national * bytes_per_entity / 1e6:,.0f} MB of"
                " entity records in memory (Python objects add to that). The monitor was idle during these runs; the"
                " live fold pauses only for the swap."
            )
        self.show(t)

    async def ceiling_section(self, n: int) -> None:
        """The in-process-state design's best case (bench/ceiling.py) on the end-to-end run's events."""
        print(f"\n-- ceiling: the services' logic with every state in memory, no storage, no broker, N={n:,}", flush=True)
        self.note_load("ceiling start")
        result, stats, _ = await self._child("ceiling", ["bench.ceiling", "--n", str(n), "--json"], None)
        self.ceiling = {**result, "peak_rss_mb": stats.peak_rss_mb}
        per = {k: 1e6 * result[k] / n for k in CEILING_PARTS}
        total = sum(per.values())
        t = Table(
            "Ceiling: the registry's projection and the monitor's fold with every state in memory (no storage, no broker)",
            ["N", "changes", *CEILING_PARTS.values(), "all µs / event", "2-core ceiling events/s", "peak RSS MB"],
        )
        t.add(f"{n:,}", f"{result['changes']:,}", *(f"{v:.1f}" for v in per.values()), f"{total:.1f}",
              rate((os.cpu_count() or 1) * 1e6 / total), f"{stats.peak_rss_mb:.0f}")
        t.note = (
            "`python -m bench.ceiling`: CPU µs per event of the services' own logic in one process, its inputs and "
            "states in dicts: the registry decodes and validates each event, keeps facts and corrections in memory, "
            "re-projects every touched child (and those whose 18th birthday the watermark passed), diffs it and "
            "builds each change's records (byte for byte what it writes: tests/integration/test_bench_ceiling.py); "
            "the monitor decodes and validates each change and folds it into every series. No database, broker, "
            "checkpoint or publication: the best case of state kept in the processes. Ceiling = cores ÷ CPU per "
            "event, as if both services had the cores to themselves."
        )
        self.show(t)

    async def scaling(self, n: int) -> None:
        assert self.infra is not None
        print(f"\n-- scaling: registry with 1 and 2 instances on {n:,} events", flush=True)
        evs = events.load_events(n)
        t = Table(
            "Scaling: registry alone (typed topics → registry changes published)",
            ["instances", "N", "events/s", "CPU s (sum)", "peak RSS MB (max)"],
        )
        rates = []
        for k in (1, 2):
            settings = await self.infra.fresh(batch_max_records=self.args.batch)
            await events.produce(settings, evs)
            self.note_load(f"scaling {k}")
            run = await e2e.run_pipeline(settings, n, self.infra.workdir / f"scale-{k}", ("registry",) * k)
            rates.append(run.rate)
            t.add(
                k,
                f"{n:,}",
                rate(run.rate),
                f"{sum(p.cpu_seconds for p in run.procs.values()):.0f}",
                f"{max(p.peak_rss_mb for p in run.procs.values()):.0f}",
            )
        t.note = (
            f"2 instances ÷ 1: {rates[1] / rates[0]:.2f}× on a {os.cpu_count()}-core machine that also runs "
            "the broker, PostgreSQL and this harness."
        )
        self.show(t)

    async def intake(self) -> None:
        assert self.infra is not None
        print("\n-- intake: HTTP submissions and the outbox relay", flush=True)
        self.note_load("intake start")
        settings = await self.infra.fresh()
        results, relay = await live.intake_bench(settings, self.infra.workdir / "intake", self.args.quick)
        t = Table(
            "Intake: HTTP submission, answered after the outbox commit (sequential requests)",
            ["events per request", "requests", "events/s", "p50 ms", "p99 ms"],
        )
        for r in results:
            if r.clients == 1:
                t.add(
                    f"{r.size:,}",
                    r.requests,
                    rate(r.rate),
                    f"{1000 * live.pct(r.latencies, 0.5):.1f}",
                    f"{1000 * live.pct(r.latencies, 0.99):.1f}",
                )
        self.show(t)
        t = Table(
            "Intake: concurrent clients (several institutions at once), answered after the outbox commit",
            ["clients", "events per request", "requests", "events/s", "p50 ms", "p99 ms"],
        )
        for r in results:
            if r.clients > 1:
                t.add(
                    r.clients,
                    f"{r.size:,}",
                    r.requests,
                    rate(r.rate),
                    f"{1000 * live.pct(r.latencies, 0.5):.1f}",
                    f"{1000 * live.pct(r.latencies, 0.99):.1f}",
                )
        t.note = (
            f"Outbox relay: while serving, the backlog when the submissions stopped was "
            f"{relay['backlog_at_end']:,.0f} rows (drained {relay['drain_after_submit_s']:.2f}s later); a clean "
            f"drain of all {relay['events']:,.0f} rows (marked unsent, new intake process) ran at "
            f"{relay['relay_rate']:,.0f} rows/s (first → last publication)."
        )
        self.show(t)
        self.intake_results = (results, relay)

    async def freshness(self) -> None:
        assert self.infra is not None
        seconds = 15 if self.args.quick else 60
        print(f"\n-- freshness: {self.args.rate} events/s through intake for 10s of warm-up and {seconds}s measured",
              flush=True)
        self.note_load("freshness start")
        settings = await self.infra.fresh()
        f = await live.freshness(settings, self.infra.workdir / "freshness", self.args.rate, seconds)
        t = Table(
            "Freshness: accept (intake 202) → visible in /v1/indicators",
            [
                "offered events/s",
                "seconds",
                "probes",
                "p50 s",
                "p99 s",
                "max s",
                "monitor histogram p50 ≤",
                "p99 ≤",
                "registry batch s (mean)",
                "monitor batch s (mean)",
            ],
        )
        t.add(
            rate(f["rate"]),
            f"{f['seconds']:.0f}",
            f"{f['probes']:.0f}",
            f"{f['p50']:.2f}",
            f"{f['p99']:.2f}",
            f"{f['max']:.2f}",
            f"{f['hist_p50']}",
            f"{f['hist_p99']}",
            f"{f['registry_batch_s']:.3f}",
            f"{f['monitor_batch_s']:.3f}",
        )
        t.note = (
            f"The load runs {f['warmup']:.0f} s before the first probe (consumer groups join, first batches). "
            "Probes: one separatie per second on its own day, polled every 10 ms in the API (operator token). "
            "The histogram (jeugdstroom_monitor_freshness_seconds, accept → fold committed, warm-up included) gives "
            "bucket bounds."
        )
        self.show(t)
        self.fresh = f
        self.note_load("freshness end")


def save(bench: Bench, started: datetime) -> None:
    """Keep the run's results (``--render`` writes the document again from them)."""
    bench.infra = None
    events.CACHE.mkdir(exist_ok=True)
    LAST_RUN.write_bytes(pickle.dumps((bench, started)))


async def main(args: argparse.Namespace) -> Bench | None:
    if args.render:
        bench, started = pickle.loads(LAST_RUN.read_bytes())
        write_doc(bench, started, bench.args)
        return None
    if args.rerun:
        # the key numbers again (e.g. when other work disturbed the first run), appended to the last run's document
        first, started = pickle.loads(LAST_RUN.read_bytes())
        args.no_doc, args.rerun = True, False
        again = await main(args)
        assert again is not None
        first.reruns = [*getattr(first, "reruns", []), (datetime.now(UTC), vars(args), again.tables, again.loads)]
        save(first, started)
        write_doc(first, started, first.args)
        return None
    ns = [int(x) for x in args.n.split(",")] if args.n else ([20_000, 50_000] if args.quick else [100_000, 1_000_000])
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    bench = Bench(args)
    bench.facts = machine()
    bench.note_load("start")
    started = datetime.now(UTC)
    bench.infra = Infra.start(durable=args.durable)
    print(f"machine: {bench.facts}\nworkdir: {bench.infra.workdir}", flush=True)
    try:
        if only & {"limits", "e2e", "peer", "rebuild"}:
            for n in ns:  # (a rebuild needs the state an end-to-end run leaves)
                await bench.limits_and_e2e(n, run_e2e=bool(only & {"e2e", "peer", "rebuild"}))
            bench.limits_table()
            if bench.runs:
                bench.e2e_table()
        if "peer" in only and bench.runs:
            try:
                await bench.peer()
            except Exception as exc:  # e.g. the Quix peer's watchdog: keep the other sections and the document
                print(f"\npeer failed: {exc}", flush=True)
                bench.facts["peer"] = f"failed ({type(exc).__name__}); see the run's output"
        if "rebuild" in only and bench.runs:
            await bench.rebuild()
        if "ceiling" in only:
            await bench.ceiling_section(max(ns))
        if "scaling" in only:
            await bench.scaling(min(ns))
        if "intake" in only:
            await bench.intake()
        if "freshness" in only:
            try:
                await bench.freshness()
            except Exception as exc:  # e.g. a probe timing out on an overloaded machine: keep the other sections
                print(f"\nfreshness failed: {exc!r}", flush=True)
                bench.facts["freshness"] = f"failed ({type(exc).__name__}); see the run's output"
    finally:
        bench.note_load("end")
        bench.infra.stop()
    if not args.no_doc:
        save(bench, started)
        write_doc(bench, started, args)
    return bench


def write_doc(bench: Bench, started: datetime, args: argparse.Namespace) -> None:
    from bench.doc import render

    DOC.write_text(render(bench, started, args))
    print(f"\nwrote {DOC}")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small N and short runs (minutes, not an hour)")
    p.add_argument("--n", help="comma-separated event counts for limits and end to end (default 100000,1000000)")
    p.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    p.add_argument("--profile", action="store_true", help="sample registry and monitor with py-spy during end to end")
    p.add_argument("--batch", type=int, default=2000, help="consumer batch size of the services (records)")
    p.add_argument(
        "--fast",
        dest="durable",
        action="store_false",
        help="PostgreSQL with fsync and synchronous_commit off, as the tests (default: durable, as `jeugdstroom up`)",
    )
    p.add_argument("--rate", type=int, default=500, help="events/s offered in the freshness section (default 500)")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--render", action="store_true", help="only write docs/benchmarks.md again from the last run")
    p.add_argument(
        "--rerun",
        action="store_true",
        help="run the selected sections again and append their tables to the last run's document",
    )
    p.add_argument(
        "--why",
        default="other work on the machine disturbed the run above",
        help="with --rerun: why the sections were run again (printed in the document)",
    )
    p.add_argument(
        "--peer-n", type=int, help="the end-to-end N whose changes topic the peer runs on (default smallest)"
    )
    return p.parse_args()


if __name__ == "__main__":
    t0 = time.perf_counter()
    asyncio.run(main(parse()))
    print(f"done in {time.perf_counter() - t0:.0f}s")
