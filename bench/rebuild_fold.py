"""``python -m bench.rebuild_fold [--n 20000] [--repeat 3] [--profile]``: the monitor rebuild's fold phase (entity
versions → aggregates in ``monitor_rebuild``) on a snapshot of the entity topic, in isolation.

The snapshot is made once (the registry alone on the first N events of ``bench.events``, the entity topic read to
its end) and cached in ``.bench-cache/entities-<N>.pickle``; each repetition then runs ``Rebuild.begin`` and
``Rebuild.fold`` on a scratch database (fsync off: this measures the rebuild's own work). Prints entities/s and the
CPU per entity of this process and of PostgreSQL (on a shared machine the wall time says little; the CPU does).
``--breakdown`` prints where the Python CPU per entity goes (validation, fold functions, summing, rows), no database.
``--workers 1`` folds in this process; more fork workers (``monitor.rebuild_workers``), whose CPU is shown apart."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pickle
import pstats
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import e2e, events
from bench.infra import Infra, scratch_database, tree_cpu
from jeugdstroom.common import db
from jeugdstroom.monitor.rebuild import EntityReader, Rebuild, Record


async def snapshot(n: int) -> dict[str, Record]:
    path = events.CACHE / f"entities-{n}.pickle"
    if path.exists():
        loaded: dict[str, Record] = pickle.loads(path.read_bytes())
        return loaded
    infra = Infra.start(durable=False)
    try:
        settings = await infra.fresh()
        await events.produce(settings, events.load_events(n))
        await e2e.run_pipeline(settings, n, Path(tempfile.mkdtemp(prefix="rebuild-fold-")), ("registry",))
        reader = EntityReader(settings)
        pool = await db.create_pool(settings.database_url, max_size=2)
        rebuild = Rebuild(settings, pool)
        try:
            await reader.start()
            await rebuild.read(reader)
        finally:
            await reader.stop()
            await pool.close()
    finally:
        infra.stop()
    path.write_bytes(pickle.dumps(rebuild.snapshot))
    return rebuild.snapshot


def pg_cpu_of(root: int) -> float:
    """CPU seconds of PostgreSQL: its running processes (``tree_cpu``) and the backends that have exited (the
    workers' connections), which the postmaster has waited for."""
    fields = Path(f"/proc/{root}/stat").read_text().rsplit(")", 1)[1].split()
    return tree_cpu(root) + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the rebuild's forked workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def breakdown(snap: dict[str, Record], repeat: int) -> None:
    """Python CPU per entity of each step of the fold phase, best of ``repeat``."""
    from jeugdstroom.monitor import fold, publisher
    from jeugdstroom.monitor import repository as repo
    from jeugdstroom.monitor.catalogue import FOLDS
    from jeugdstroom.monitor.rebuild import _CHANGE

    values = [r.value for r in snap.values() if r.value is not None]
    best: dict[str, float] = {}
    for _ in range(repeat):
        t = [time.process_time()]
        changes = [_CHANGE.validate_json(v) for v in values]
        t.append(time.process_time())
        items = sum(len(fn(c.after)) for c in changes for _, fn in FOLDS.get(c.entity, ()))
        t.append(time.process_time())
        total: dict[tuple[object, ...], int] = {}
        fold.accumulate(changes, FOLDS, total)
        t.append(time.process_time())
        publisher.affected(total, date(2026, 12, 31))
        t.append(time.process_time())
        repo._delta_rows({k: v for k, v in total.items() if v}, ordered=False)
        t.append(time.process_time())
        steps = ("validate", "fold functions alone", "accumulate (fold functions + keys)", "affected", "rows")
        for i, name in enumerate(steps):
            best[name] = min(best.get(name, 1e9), (t[i + 1] - t[i]) / len(values))
    print(f"breakdown, {len(values):,} entities, {items:,} items, {len(total):,} keys (µs per entity, best of {repeat}):")
    for name, v in best.items():
        print(f"  {name}: {1e6 * v:.1f}")


async def main(args: argparse.Namespace) -> None:
    snap = await snapshot(args.n)
    say = (lambda text: print(text, flush=True)) if args.progress else None
    if args.breakdown:
        breakdown(snap, args.repeat)
        return
    async with scratch_database("rebuild_fold", ("common", "monitor")) as (pg, url):
        assert pg.proc is not None
        pool = await db.create_pool(url, max_size=3)
        try:
            for i in range(args.repeat):
                rebuild = Rebuild(None, pool, as_of=lambda: date(2026, 12, 31), progress=say,  # type: ignore[arg-type]
                                  workers=args.workers, database_url=url)
                rebuild.snapshot = dict(snap)
                await rebuild.begin()
                prof = cProfile.Profile() if args.profile and i == args.repeat - 1 else None
                t0, c0, p0 = time.perf_counter(), time.process_time(), pg_cpu_of(pg.proc.pid)
                w0 = children_cpu()
                if prof:
                    prof.enable()
                await rebuild.fold()
                if prof:
                    prof.disable()
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                pg_cpu = pg_cpu_of(pg.proc.pid) - p0
                workers_cpu = children_cpu() - w0
                n = rebuild.stats.entities
                print(
                    f"fold ({rebuild.workers} worker{'s' if rebuild.workers > 1 else ''}): {n:,} entities in"
                    f" {wall:.2f}s wall ({n / wall:,.0f} entities/s); CPU per entity: python {1e6 * cpu / n:.1f} µs"
                    f" (+ workers {1e6 * workers_cpu / n:.1f} µs), PostgreSQL {1e6 * pg_cpu / n:.1f} µs;"
                    f" load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                await rebuild.abort()
                if prof:
                    pstats.Stats(prof).sort_stats("tottime").print_stats(18)
        finally:
            await pool.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bench.rebuild_fold", description=__doc__)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--breakdown", action="store_true")
    p.add_argument("--progress", action="store_true", help="print the rebuild's progress lines")
    p.add_argument("--workers", type=int, default=None, help="fold processes (default: one per core, at most 4)")
    asyncio.run(main(p.parse_args()))
