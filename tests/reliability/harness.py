"""Pieces of the reliability scenarios: a simulated stream with its ground truth, the three services as processes
on a broker and database of the scenario's choice, waiting until everything is processed, and the exact
comparison with the truth."""

from __future__ import annotations

import contextlib
import io
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from jeugdstroom.cli.simulate import register_senders, stream_live
from jeugdstroom.common.embedded import EmbeddedBroker, EmbeddedPostgres
from jeugdstroom.common.kafka import REGISTRY_CHANGES, TYPED_TOPICS
from jeugdstroom.common.settings import Settings
from tests.conftest import Infra, fresh_settings
from tests.support import (
    Comparison,
    ServiceProcess,
    caught_up,
    compare_with_truth,
    running_services,
    service_ports,
    simulate,
    wait_until,
)

REGION = "rijk-van-nijmegen"
#: Consumer groups and the topics they consume (for ``caught_up``).
GROUPS: dict[str, tuple[str, ...]] = {"registry": TYPED_TOPICS, "monitor": (REGISTRY_CHANGES,)}


@dataclass
class Stream:
    """A simulated region stream (NDJSON in sending order) and its ground truth."""

    path: Path
    truth: dict[str, Any]

    @property
    def events(self) -> int:
        return int(self.truth["params"]["stream"]["events"])

    @property
    def invalid(self) -> int:
        return int(self.truth["params"]["stream"]["faults"].get("invalid", 0))

    def bsns(self) -> set[str]:
        """Every BSN the stream carries (also of invalid events and inside corrections)."""
        out: set[str] = set()
        with self.path.open("rb") as f:
            for line in f:
                _collect_bsns(orjson.loads(line), out)
        return out

    def split(self, *fractions: float) -> list[Path]:
        """The stream cut into consecutive parts at the given fractions of its lines (files next to it)."""
        lines = [line for line in self.path.read_bytes().splitlines(keepends=True) if line.strip()]
        cuts = [0, *(int(len(lines) * f) for f in fractions), len(lines)]
        parts = []
        for i, (a, b) in enumerate(itertools.pairwise(cuts)):
            part = self.path.with_name(f"{self.path.stem}.part{i}.ndjson")
            part.write_bytes(b"".join(lines[a:b]))
            parts.append(part)
        return parts


def _collect_bsns(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "bsn" and isinstance(v, str):
                out.add(v)
            else:
                _collect_bsns(v, out)
    elif isinstance(node, list):
        for v in node:
            _collect_bsns(v, out)


def simulated(folder: Path, days: int, seed: int) -> Stream:
    path = folder / "events.ndjson"
    return Stream(path, simulate(path, REGION, days, seed))


@dataclass
class System:
    """The three services as processes, with the region's senders registered."""

    settings: Settings
    procs: dict[str, ServiceProcess]
    tokens: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def intake_url(self) -> str:
        return self.procs["intake"].url

    @property
    def monitor_url(self) -> str:
        return self.procs["monitor"].url

    @property
    def operator_headers(self) -> dict[str, str]:
        token = self.settings.operator_token.get_secret_value()  # type: ignore[union-attr]
        return {"authorization": f"Bearer {token}"}

    async def send(self, path: Path, rate: float = 1e9, batch: int = 200,
                   client: httpx.AsyncClient | None = None) -> dict[str, int]:
        """Post a stream (file) to intake, each event as its sender; adds to ``counts``."""
        counts = await stream_live(path, self.intake_url, self.tokens, rate=rate, batch=batch, client=client,
                                   progress=io.StringIO())
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        return counts

    async def drained(self, timeout: float = 300) -> None:
        """Wait until every outbox row is published and both consumers stored offsets at the end of their topics."""
        await wait_until(lambda: caught_up(self.settings, GROUPS), timeout, interval=0.5,
                         what="outboxes drained, registry and monitor caught up")

    async def compare(self, stream: Stream) -> Comparison:
        return await compare_with_truth(self.monitor_url, self.settings, stream.truth)

    async def assert_exact(self, stream: Stream) -> Comparison:
        """Every indicator equals the ground truth, and every event was answered as the stream expects."""
        assert self.counts.get("rejected", 0) == stream.invalid, self.counts
        assert sum(self.counts.values()) == stream.events, self.counts
        result = await self.compare(stream)
        assert not result.failures, result.report()
        assert result.compared > 1000, f"only {result.compared} rows compared"
        return result

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.settings.database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def running_system(infra: Infra, log_dir: Path, **overrides: object) -> AsyncIterator[System]:
    """Fresh database and topics on ``infra``, the three services started, the region's senders registered."""
    settings = service_ports(await fresh_settings(infra, **overrides))
    async with running_services(settings, log_dir) as procs:
        yield System(settings, procs, await register_senders(settings, REGION))


@contextlib.contextmanager
def own_infra(base: Infra, broker: bool = False, postgres_port: int | None = None) -> Iterator[Infra]:
    """An Infra with a broker and/or a PostgreSQL of the scenario's own (so it may freeze, empty or restart them);
    the rest is the session's. ``postgres_port``: a fixed port, so URLs stay valid across restarts."""
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jeugdstroom-reliability-")))
        own_broker: EmbeddedBroker | None = base.broker
        bootstrap = base.bootstrap_servers
        if broker:
            own_broker = EmbeddedBroker(log_path=folder / "broker.log").start()
            stack.callback(own_broker.stop)
            bootstrap = own_broker.bootstrap_servers
        own_pg: EmbeddedPostgres | None = base.postgres
        admin_url = base.admin_url
        if postgres_port is not None:
            own_pg = EmbeddedPostgres(folder / "pg", port=postgres_port, durable=False).start()
            stack.callback(own_pg.remove)
            admin_url = own_pg.url("postgres")
        yield Infra(bootstrap, admin_url, own_broker, own_pg)


def rss_kib(pid: int) -> int:
    """Resident set size of a process (kB), from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")
