"""The cost of the monitor's indicator-topic publication (``publisher.publish_work``), without broker or services
(its records go to a sink that drops them):
``.venv/bin/python -m bench.monitor_publish [--children N] [--repeat R]``; prints a table.

An embedded PostgreSQL (as the tests use) gets a fresh database; the mixed registry-change stream of the monitor
tests (``tests/integration/monitor_stream.py``, every entity, corrections and withdrawals, duplicates dropped as
the consumer's dedupe would) is folded into it in batches of 2,000 with ``repository.apply_deltas``, except a
held-out set of changes whose days all lie in the last 30 days before ``as_of``. Then, as of the stream's last day:

* **affected**: ``publisher.affected`` over every key of the stream at once (in the service it runs per folded
  batch, in the fold's transaction; CPU seconds);
* **wide, first**: ``publish_work`` for every cell the whole stream affected (every indicator × month, half-year
  and year since the first day) with nothing published yet (rolled back and repeated);
* **wide, unchanged**: the same once everything is published (nothing to write; the comparison path);
* **wide, rewritten**: the same after ``forget_published`` (as ``jeugdstroom republish indicators``; not timed):
  every cell computed, sent and its ``monitor.published`` row rewritten (rolled back and repeated);
* **steady**: the held-out changes folded in small batches, each batch's ``apply_deltas`` followed by the
  ``publish_work`` of its affected cells (committed, as when the monitor has caught up); the publication alone is
  timed.

Columns: wall seconds, this process's CPU seconds (``time.process_time``: Python, including asyncpg's decoding)
and the PostgreSQL backend's CPU seconds (/proc). Medians over ``--repeat`` runs for the wide cases, totals and
per-batch means for steady. Last, digests of what was published (the records' keys, values and ``ce_id`` in order,
and ``monitor.published``): a change meant only to make the publication cheaper must leave them as they were.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from pydantic import SecretStr, TypeAdapter
from tests.integration.monitor_stream import LAST, build_stream

from bench.infra import scratch_database
from jeugdstroom.common import db
from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.common.outbox import OutRow
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold, publisher
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.fold import Key

CLK_TCK = os.sysconf("SC_CLK_TCK")
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)


@dataclass
class Cost:
    wall: float
    cpu: float
    pg_cpu: float
    records: int


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK



#: The records the sink got since the last :func:`_records_digest` (references only: hashed outside the timing).
_SENT: list[OutRow] = []


async def _dropped(rows: Sequence[OutRow]) -> None:
    """The publication's sink here: the broker's part is not measured (the records are only kept for the digest)."""
    _SENT.extend(rows)


def _records_digest() -> str:
    """A digest of the records sent since the last call (key, value and ``ce_id``, in order; ``ce_time`` and the trace
    context differ per run), to check that a change of the publication leaves its output byte-identical."""
    h = hashlib.blake2b(digest_size=16)
    for r in _SENT:
        ce_id = next((v for k, v in r.headers if k == "ce_id"), b"")
        for part in (r.key or b"", r.value or b"\0", ce_id):  # (a tombstone: value \0)
            h.update(len(part).to_bytes(4, "big") + part)
    _SENT.clear()
    return h.hexdigest()


async def _published_digest(conn: asyncpg.Connection) -> str:
    """A digest of ``monitor.published`` (every column, by key)."""
    rows = await conn.fetch(
        "SELECT key, indicator, period, start::text, dims::text, digest::text, source::text"
        " FROM monitor.published ORDER BY key"
    )
    return hashlib.blake2b(orjson.dumps([tuple(r) for r in rows]), digest_size=16).hexdigest()


async def _measure(conn: asyncpg.Connection, pg_pid: int, fn: Callable[[], Awaitable[int]]) -> Cost:
    pg0, cpu0, wall0 = _proc_cpu(pg_pid), time.process_time(), time.perf_counter()
    n = await fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Cost(wall, cpu, _proc_cpu(pg_pid) - pg0, n)


def _changes(children: int, seed: int) -> list[AnyChange]:
    seen: set[str] = set()
    out: list[AnyChange] = []
    for _, raw in build_stream(seed, children).changes:
        if raw["change_id"] not in seen:  # the consumer's dedupe
            seen.add(raw["change_id"])
            out.append(_CHANGE.validate_json(orjson.dumps(raw)))  # as the processor decodes
    return out


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _median(costs: list[Cost]) -> Cost:
    def med(f: str) -> float:
        return float(statistics.median(getattr(c, f) for c in costs))

    return Cost(med("wall"), med("cpu"), med("pg_cpu"), costs[0].records)


async def run(children: int, seed: int, repeat: int, steady_batches: int, steady_size: int) -> None:
    as_of = LAST
    recent = as_of - timedelta(days=30)
    changes = _changes(children, seed)
    per_change = [fold.deltas([c], FOLDS) for c in changes]
    held = [i for i, d in enumerate(per_change) if d and all(recent <= k.day <= as_of for k in d)][
        -steady_batches * steady_size :
    ]
    held_set = set(held)
    async with scratch_database("monitor_publish", ("common", "monitor")) as (_, url):
        settings = Settings(database_url=url, operator_token=SecretStr("bench"), topic_prefix="bench")
        conn = await db.connect(url)
        pg_pid = await conn.fetchval("SELECT pg_backend_pid()")
        try:
            total: Counter[Key] = Counter()
            t0 = time.perf_counter()
            rest = [c for i, c in enumerate(changes) if i not in held_set]
            for batch in _batches(rest, 2000):
                deltas = fold.deltas(batch, FOLDS)
                total.update(deltas)
                async with conn.transaction():
                    await repo.apply_deltas(conn, deltas)
            await conn.execute("VACUUM ANALYZE")
            fold_s = time.perf_counter() - t0
            stock_rows = await conn.fetchval("SELECT count(*) FROM monitor.stock_deltas")
            work_keys = [k for k, v in total.items() if v != 0]
            del total, per_change
            gc.collect()
            gc.freeze()  # the stream held in memory is not the service's heap: keep it out of the collector's passes

            affected_cpu = []
            for _ in range(repeat):
                cpu0 = time.process_time()
                publisher.affected(work_keys, as_of)
                affected_cpu.append(time.process_time() - cpu0)
            works = iter([publisher.affected(work_keys, as_of) for _ in range(3 * repeat + 1)])

            async def wide() -> int:
                return await publisher.publish_work(conn, settings, next(works), as_of, _dropped)

            async def rolled_back(fn: Callable[[], Awaitable[int]]) -> Cost:
                tr = conn.transaction()
                await tr.start()
                try:
                    return await _measure(conn, pg_pid, fn)
                finally:
                    await tr.rollback()

            first, first_digests = [], set()
            for _ in range(repeat):
                first.append(await rolled_back(wide))
                first_digests.add(_records_digest())
            async with conn.transaction():
                await wide()
            _records_digest()
            wide_table = await _published_digest(conn)
            unchanged = [await rolled_back(wide) for _ in range(repeat)]
            unchanged_digest = _records_digest()

            rewrites: list[Cost] = []
            for _ in range(repeat):
                tr = conn.transaction()
                await tr.start()
                try:
                    await conn.execute(publisher.Q.forget_published)  # (not timed: every cell written again)
                    rewrites.append(await _measure(conn, pg_pid, wide))
                finally:
                    await tr.rollback()
            rewritten_digest = _records_digest()
            steady: list[Cost] = []
            for idx in _batches(held, steady_size):
                deltas = fold.deltas([changes[i] for i in idx], FOLDS)
                async with conn.transaction():
                    await repo.apply_deltas(conn, deltas)

                    work = publisher.affected(deltas, as_of)  # (the fold's part: it defers these cells)

                    async def one(work: dict[tuple[str, str], publisher.Affected] = work) -> int:
                        return await publisher.publish_work(conn, settings, work, as_of, _dropped)

                    steady.append(await _measure(conn, pg_pid, one))
            steady_digest, steady_table = _records_digest(), await _published_digest(conn)
        finally:
            await conn.close()
    print(
        f"stream: {len(changes):,} changes ({children:,} children, seed {seed}), {stock_rows:,} day-level stock rows,"
        f" folded in {fold_s:.1f} s; as_of {as_of}; steady: {len(steady)} batches of {steady_size} changes"
        f" (days {recent} … {as_of})"
    )
    print(
        f"publisher.affected over the whole stream's {len(work_keys):,} keys (the fold's part, per batch in the"
        f" service): {statistics.median(affected_cpu):.3f} s CPU (median of {repeat})"
    )
    print()
    print("| case | records | wall s | python CPU s | PostgreSQL CPU s |")
    print("|---|---|---|---|---|")
    wide_cases = (("wide, first", first), ("wide, unchanged", unchanged), ("wide, rewritten", rewrites))
    for name, c in ((name, _median(costs)) for name, costs in wide_cases):
        print(f"| {name} (median of {repeat}) | {c.records:,} | {c.wall:.3f} | {c.cpu:.3f} | {c.pg_cpu:.3f} |")
    n = max(1, len(steady))
    tot = Cost(
        sum(c.wall for c in steady),
        sum(c.cpu for c in steady),
        sum(c.pg_cpu for c in steady),
        sum(c.records for c in steady),
    )
    print(f"| steady, total of {len(steady)} | {tot.records:,} | {tot.wall:.3f} | {tot.cpu:.3f} | {tot.pg_cpu:.3f} |")
    print(
        f"| steady, per batch | {tot.records / n:.1f} | {tot.wall / n:.4f} | {tot.cpu / n:.4f} | {tot.pg_cpu / n:.4f} |"
    )
    print()
    print(
        f"output digests (records: key, value, ce_id in order; monitor.published by key): wide first"
        f" {'/'.join(sorted(first_digests))}, its table {wide_table}, wide unchanged {unchanged_digest},"
        f" wide rewritten {rewritten_digest},"
        f" steady {steady_digest}, its table {steady_table}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.monitor_publish", description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=15000, help="children in the stream (≈7.5 changes each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each wide case (median reported)")
    parser.add_argument("--steady-batches", type=int, default=20)
    parser.add_argument("--steady-size", type=int, default=20, help="changes per steady-state batch")
    args = parser.parse_args()
    asyncio.run(run(args.children, args.seed, args.repeat, args.steady_batches, args.steady_size))


if __name__ == "__main__":
    main()
