"""The indicator-topic publication in a process of its own (``JEUGDSTROOM_MONITOR_PUBLISHER=process``, the default).

Why a process: a publication is CPU-bound Python (recomputing, comparing and encoding thousands of cells). As a task
in the monitor's event loop it held the loop between its awaits: the fold and the JSON API waited behind it, and the
whole monitor could use one core at most (docs/benchmarks.md, round 4: with the publication switched off the
freshness probes' p99 fell from 29.3 s to 2.65 s). In a child process, lowered in priority (``nice`` +10), the fold,
the API and the registry come first, and the publication uses the other core when it is free.

The monitor starts the child and owns it (:func:`run`, supervised like every background task):

* **stdin, monitor → child**: the first line is the settings (JSON, secrets included: a pipe, not the environment
  or the command line); then one line per committed fold, ``1`` when its batch settled the backlog (the end of its
  partitions, and none upstream) and ``0`` while a backlog waits behind it, here or in the registry (the
  :class:`~jeugdstroom.monitor.publication.loop.PublicationLoop`'s ``settled`` and ``wake``). End of file: the
  monitor stopped or died (also under kill -9): the child stops, an in-flight chunk rolls back and stays pending.
* **stdout, child → monitor**: one JSON line per publication round with the publication's metrics (the round's
  seconds, and cumulative counter values), which the monitor adds to its own ``/metrics`` (:class:`Forwarded`), so
  the metrics and alerts stay where operators look for them. Logs go to stderr, as the monitor's.

What a crash costs is unchanged: pending cells are durable and published by the next child; the pair locks
(publisher.publish_work) keep an old child that is still finishing a chunk and its successor in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import Counter
from pydantic import SecretStr

from jeugdstroom.common.settings import Settings

log = logging.getLogger(__name__)

#: How much the child's scheduling priority is lowered (``os.nice``): the fold, the API and the registry first.
NICE = 10
#: Seconds the monitor waits for a stopping child before it kills it.
STOP_S = 10.0


def settings_line(settings: Settings) -> bytes:
    """The settings as the child's first stdin line: JSON with the secrets' values (``model_dump`` masks them)."""
    data = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return orjson.dumps(data) + b"\n"


def _counters() -> list[Counter]:
    """The counters a publication increments (in the child), forwarded to the monitor's registry."""
    from jeugdstroom.common.observability import outbox_metrics
    from jeugdstroom.monitor.publisher import CELLS

    metrics = outbox_metrics("monitor")
    return [CELLS, metrics.published, metrics.publish_errors]


def snapshot(counters: list[Counter]) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Cumulative values of ``counters`` (their ``_total`` samples, per label set), by counter name."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for counter in counters:
        for family in counter.collect():
            out[family.name] = [(dict(s.labels), s.value) for s in family.samples if s.name.endswith("_total")]
    return out


class Forwarded:
    """The monitor's side of the child's metrics: adds what a child counted since its last report to the monitor's
    own counters, and observes its rounds in the publication histogram. One per child: a child counts from zero."""

    def __init__(self, counters: list[Counter], observe: Callable[[float], None]) -> None:
        self.counters = {c._name: c for c in counters}  # the name without _total, as collect() names the family
        self.observe = observe
        self.seen: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def apply(self, report: dict[str, Any]) -> None:
        if (took := report.get("round")) is not None:
            self.observe(float(took))
        for name, samples in report.get("counters", {}).items():
            counter = self.counters.get(name)
            if counter is None:
                continue
            for labels, value in samples:
                key = (name, tuple(sorted(labels.items())))
                delta = float(value) - self.seen.get(key, 0.0)
                self.seen[key] = float(value)
                if delta > 0:
                    (counter.labels(**labels) if labels else counter).inc(delta)


async def run(settings: Settings, settled: asyncio.Event, wake: asyncio.Event) -> None:
    """Start ``settings.monitor_publishers`` publication processes (each runs a
    :class:`~jeugdstroom.monitor.publication.loop.PublicationLoop` as worker i of n: they share the pending pairs)
    and serve them until cancelled (then close their stdin and wait for them; kill them after :data:`STOP_S`). Raises when a child exits by itself,
    so that the supervisor starts them again."""
    from jeugdstroom.monitor.publication.loop import PUBLICATION

    procs = await _spawn(settings.monitor_publishers)
    pipes = [(p.stdin, p.stdout) for p in procs]

    async def signals() -> None:
        first = settings_line(settings)
        for stdin, _ in pipes:
            assert stdin is not None
            stdin.write(first)
        while True:
            for stdin, _ in pipes:
                assert stdin is not None
                await stdin.drain()
            await wake.wait()
            wake.clear()
            line = b"1\n" if settled.is_set() else b"0\n"
            for stdin, _ in pipes:
                assert stdin is not None
                stdin.write(line)

    async def reports(stdout: asyncio.StreamReader | None) -> None:
        assert stdout is not None
        forwarded = Forwarded(_counters(), PUBLICATION.observe)  # one per child: each counts from zero
        while line := await stdout.readline():
            try:
                forwarded.apply(orjson.loads(line))
            except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
                log.warning("monitor publisher: unreadable report %r", line[:200])

    tasks = [asyncio.create_task(signals()), *(asyncio.create_task(reports(out)) for _, out in pipes)]
    exits = [asyncio.create_task(p.wait()) for p in procs]
    try:
        await asyncio.wait([*tasks, *exits], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            if t.done() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        codes = [p.returncode for p in procs]
        raise RuntimeError(f"a monitor publisher process exited (exit codes {codes})")
    finally:
        for t in tasks:
            t.cancel()
        await _stop(procs)


async def _spawn(workers: int) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "jeugdstroom.monitor.publication.child", str(i), str(workers),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for i in range(workers)
    ]


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    """End of file on each child's stdin, then wait for it (kill it after :data:`STOP_S`)."""
    for proc in procs:
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), STOP_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# -- the child ------------------------------------------------------------------------------------------------------
async def _serve(settings: Settings, reader: asyncio.StreamReader, worker: tuple[int, int]) -> None:
    from jeugdstroom.common import db
    from jeugdstroom.common.kafka import make_producer
    from jeugdstroom.common.service import Resources
    from jeugdstroom.monitor import fold, publisher
    from jeugdstroom.monitor.periods import today
    from jeugdstroom.monitor.publication.loop import PublicationLoop

    fold.configure(settings.verlengde_pleegzorg_tot)
    counters = _counters()
    loop = PublicationLoop(settings, today, worker)

    def report(took: float | None) -> None:
        line: dict[str, Any] = {"counters": snapshot(counters)}
        if took is not None:
            line["round"] = took
        sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
        sys.stdout.buffer.flush()

    async def signals() -> None:
        while line := await reader.readline():
            if line.strip() == b"1":
                loop.settled.set()
            else:
                loop.settled.clear()
            loop.wake.set()

    pool = await db.connect_with_retry(settings.database_url, max_size=2)
    res = Resources(settings, pool, make_producer(settings))  # its producer started at the first send
    publishing = asyncio.create_task(loop.run(pool, publisher.broker_sink(res.started_producer), report))
    listening = asyncio.create_task(signals())
    try:
        await asyncio.wait([publishing, listening], return_when=asyncio.FIRST_COMPLETED)
        if publishing.done():
            publishing.result()  # raises what stopped it
    finally:
        for t in (publishing, listening):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            await res.producer.stop()
        await pool.close()


async def _main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    first = await reader.readline()
    if not first:
        return  # the monitor went away before it sent the settings
    settings = Settings(**orjson.loads(first))

    from jeugdstroom.common import tracing
    from jeugdstroom.common.observability import setup_logging

    setup_logging(settings.log_level, "monitor-publisher")
    tracing.configure("monitor")  # the publication's spans, as before, under the monitor's service name
    worker = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (0, 1)
    log.info("monitor publisher %d of %d: started (pid %d, nice +%d)", worker[0] + 1, worker[1], os.getpid(), NICE)
    await _serve(settings, reader, worker)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group: the monitor decides
    with contextlib.suppress(OSError):
        os.nice(NICE)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())


if __name__ == "__main__":
    main()
