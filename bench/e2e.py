"""End to end: pre-loaded typed topics → registry → monitor (real processes) until the indicators are final."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from tests.support import ServiceProcess

from bench.infra import ProcStats, tree_cpu
from bench.tools import py_spy
from jeugdstroom.common.embedded import free_port
from jeugdstroom.common.settings import Settings

POLL = 0.5


@dataclass
class Progress:
    """Where the pipeline is, read from PostgreSQL (the stored offsets are the only ones that count)."""

    registry_offsets: int = 0
    changes_total: int = 0  # registry outbox rows (each is one record on registry.changes)
    unsent: int = 0  # outbox rows not sent + indicator cells not yet published
    monitor_offsets: int = 0


async def progress(conn: asyncpg.Connection, changes_topic: str) -> Progress:
    """The stored offsets (``unsent`` is left at -1: see :func:`unsent`)."""
    row = await conn.fetchrow(
        """SELECT
             (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer LIKE 'registry%') AS reg,
             (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = 'monitor'
                AND topic = $1) AS mon""",
        changes_topic,
    )
    assert row is not None
    return Progress(int(row["reg"]), 0, -1, int(row["mon"]))


async def unsent(conn: asyncpg.Connection) -> int:
    """Outbox rows not sent + indicator cells not yet published: counted only once the registry has stored every
    event and the monitor's offsets stood still since the last poll (then they decide whether the run is final).
    The harness's own queries were a fifth of PostgreSQL's statement time when it counted the backlog at every
    poll, and a third when it counted from the registry's end on. Now 0 or 1 (whether any row is unsent or pending),
    read as the relays read (outbox.UNSENT): the first row of the partial index ``outbox_unsent``; a count of every
    unsent row took 6–13 % of PostgreSQL's statement time in N=5,000 runs (with stale statistics the planner scanned
    the whole outbox)."""
    return int(await conn.fetchval(
        "SELECT (SELECT id FROM outbox WHERE producer >= '' AND sent_at IS NULL ORDER BY producer, id LIMIT 1)"
        " IS NOT NULL OR EXISTS (SELECT 1 FROM monitor.publish_pending)"
    ))


async def changes_total(conn: asyncpg.Connection, changes_topic: str) -> int:
    """Records the registry published on its changes topic (stable once it is done and its outbox is empty)."""
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", changes_topic))


@dataclass
class Run:
    n: int
    seconds_total: float = 0.0  # launch of the processes → final
    seconds: float = 0.0  # first stored offset → final
    registry_seconds: float = 0.0  # first stored offset → registry has stored all n
    monitor_seconds: float = 0.0  # monitor's first stored offset → final
    changes: int = 0
    procs: dict[str, ProcStats] = field(default_factory=dict)
    profiles: dict[str, Path] = field(default_factory=dict)
    infra_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of PostgreSQL and the broker
    #: PostgreSQL's busiest statements over the run: (statement, calls, rows, total ms)
    statements: list[tuple[str, int, int, float]] = field(default_factory=list)
    statements_total_ms: float = 0.0

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0


async def statements(conn: asyncpg.Connection, run: Run, k: int = 15) -> None:
    """The ``k`` statements of this run's database with the most execution time (the harness's own progress
    query included: it polls every POLL seconds)."""
    where = "dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    run.statements_total_ms = float(
        await conn.fetchval(f"SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements WHERE {where}")
    )
    rows = await conn.fetch(
        f"SELECT regexp_replace(query, '\\s+', ' ', 'g') AS q, calls, rows, total_exec_time AS ms"
        f" FROM pg_stat_statements WHERE {where} ORDER BY total_exec_time DESC LIMIT $1",
        k,
    )
    run.statements = [(r["q"], int(r["calls"]), int(r["rows"]), float(r["ms"])) for r in rows]


def service(name: str, settings: Settings, log_dir: Path) -> ServiceProcess:
    ports = {f"{s}_port": free_port() for s in ("intake", "registry", "monitor")}
    log_dir.mkdir(parents=True, exist_ok=True)
    return ServiceProcess(name, settings.model_copy(update=ports), log_dir)


@contextlib.asynccontextmanager
async def profiled(pids: Mapping[str, int], out_dir: Path | None) -> AsyncIterator[dict[str, Path]]:
    """py-spy sampling of the processes ``pids`` (by name) while the block runs (raw collapsed stacks)."""
    if out_dir is None:
        yield {}
        return
    spies: list[subprocess.Popen[bytes]] = []
    paths: dict[str, Path] = {}
    for name, pid in pids.items():
        paths[name] = out_dir / f"{name}.collapsed"
        spies.append(
            subprocess.Popen(
                [
                    str(py_spy()),
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "50",
                    "-f",
                    "raw",
                    "-o",
                    str(paths[name]),
                    "--nonblocking",
                    "--subprocesses",  # the monitor's publication process
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        yield paths
    finally:
        for s in spies:
            s.send_signal(signal.SIGINT)
        for s in spies:
            try:
                s.wait(30)
            except subprocess.TimeoutExpired:
                s.kill()


async def run_pipeline(
    settings: Settings,
    n: int,
    log_dir: Path,
    names: Sequence[str] = ("registry", "monitor"),
    profile_dir: Path | None = None,
    timeout: float = 3600,
    changes: int | None = None,
    infra_pids: dict[str, int] | None = None,
) -> Run:
    """Start the services on pre-loaded topics and wait until every event is folded (or, without a monitor,
    until the registry has stored all ``n`` and published its changes). With ``changes`` (a monitor alone on a
    pre-loaded changes topic): until the monitor has stored all ``changes`` records and published its rows."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {
        f"{name}{i}" if names.count(name) > 1 else name: service(name, settings, log_dir / f"{name}{i}")
        for i, name in enumerate(names)
    }
    for p in procs.values():
        p.log_path.parent.mkdir(parents=True, exist_ok=True)
    run = Run(n)
    conn = await asyncpg.connect(settings.database_url)
    stats = await conn.fetchval("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
    if stats:  # loaded by bench/infra.py; another server may not have it
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
    launched = time.perf_counter()
    try:
        await asyncio.gather(*(p.start(timeout=120) for p in procs.values()))
        for name, p in procs.items():
            assert p.proc is not None
            run.procs[name] = ProcStats(p.proc.pid)
            run.procs[name].begin()
        infra_start = {k: tree_cpu(pid) for k, pid in (infra_pids or {}).items()}
        changes_topic = settings.topic("registry.changes")
        with_monitor = "monitor" in names
        first = first_monitor = registry_done = None
        last_monitor = -1
        pids = {name: p.proc.pid for name, p in procs.items() if p.proc is not None}
        async with profiled(pids, profile_dir) as run.profiles:
            while time.perf_counter() - launched < timeout:
                now = time.perf_counter()
                pr = await progress(conn, changes_topic)
                for ps in run.procs.values():
                    ps.sample()
                if changes is not None:
                    pr.registry_offsets = n if pr.monitor_offsets >= changes else pr.monitor_offsets
                if first is None and pr.registry_offsets > 0:
                    first = now
                if first_monitor is None and pr.monitor_offsets > 0:
                    first_monitor = now
                if registry_done is None and pr.registry_offsets >= n:
                    registry_done = now
                if pr.registry_offsets >= n and pr.monitor_offsets == last_monitor:  # the monitor paused: maybe final
                    pr.unsent = await unsent(conn)
                last_monitor = pr.monitor_offsets
                if pr.registry_offsets >= n and pr.unsent == 0:
                    if changes is not None:
                        run.changes = changes
                        break
                    if not run.changes:
                        run.changes = await changes_total(conn, changes_topic)
                    if not with_monitor or pr.monitor_offsets >= run.changes:
                        break
                for name, p in procs.items():
                    assert p.proc is not None
                    if p.proc.poll() is not None:
                        raise RuntimeError(f"{name} exited: {p.log_path.read_text()[-2000:]}")
                await asyncio.sleep(POLL)
            else:
                raise TimeoutError(f"pipeline not final after {timeout}s: {pr}")
        end = time.perf_counter()
        for ps in run.procs.values():
            ps.end()
        run.infra_cpu = {k: tree_cpu(pid) - infra_start[k] for k, pid in (infra_pids or {}).items()}
        assert first is not None and registry_done is not None
        run.seconds_total = end - launched
        run.seconds = end - first
        run.registry_seconds = registry_done - first
        run.monitor_seconds = end - first_monitor if first_monitor is not None else 0.0
        if stats:
            await statements(conn, run)
        return run
    finally:
        await conn.close()
        for p in procs.values():
            p.stop()
