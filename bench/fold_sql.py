"""PostgreSQL's CPU for the fold's upsert statement alone, two versions interleaved batch by batch (so a change of
the machine's load hits both alike): ``.venv/bin/python -m bench.fold_sql OLD.sql [--children N] [--batch B]``.

OLD.sql holds another version of ``queries.sql``'s ``apply_deltas`` statement taking the arguments of
``old_args`` (one dims_key and one JSON text per row: 34 arrays, the layout of ``repository.apply_deltas``); "new"
is whatever ``repository.apply_deltas`` sends now. Made to measure a variant that sent the batch's distinct dims once
(no gain: see the fold section of docs/benchmarks.md). The stream of
``bench.monitor_fold`` is folded; the first half of its batches is applied (so the second half meets existing rows,
as a replay does), then each later batch is applied by each version in a transaction that is rolled back, in
alternating order, and the server backend's CPU (/proc) is summed per version. Prints µs of PostgreSQL CPU per
change for each.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from tests.integration.monitor_stream import LAST

from bench.infra import CLK_TCK, scratch_database
from bench.monitor_fold import records
from jeugdstroom.common import db
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.processor import MonitorProcessor


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def old_args(deltas: Any) -> list[Any]:
    rows = repo._delta_rows(deltas)
    args: list[Any] = []
    for table, width in (("count", 5), ("stock", 5), ("stock_month", 5), ("member", 6), ("duration", 6),
                         ("member_span", 7)):
        batch = rows[table]
        args.extend(list(col) for col in zip(*batch, strict=True)) if batch else args.extend([] for _ in range(width))
    return args


class Capture:
    """A connection stand-in that keeps the statement and arguments of ``execute``."""

    async def execute(self, sql: str, *args: Any) -> None:
        self.sql, self.args = sql, list(args)


async def run(old_sql: str, children: int, batch: int) -> None:
    recs = records(children, 7)
    async with scratch_database("fold_sql", ("common", "monitor")) as (_pg, url):
        processor = MonitorProcessor(Settings(database_url=url, operator_token=SecretStr("b"), topic_prefix="b"),
                                     clock=lambda: LAST)
        changes = [processor.decode(r)[1] for r in recs]
        batches = [fold.net(changes[i : i + batch], FOLDS) for i in range(0, len(changes), batch)]
        conn = await db.connect(url)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        half = len(batches) // 2
        for d in batches[:half]:
            await repo.apply_deltas(conn, d)
        cpu = {"old": 0.0, "new": 0.0}
        for i, d in enumerate(batches[half:]):
            new = Capture()
            await repo.apply_deltas(new, d)  # type: ignore[arg-type]
            versions = {"old": (old_sql, old_args(d)), "new": (new.sql, new.args)}
            for name in (("old", "new") if i % 2 == 0 else ("new", "old")):
                sql, args = versions[name]
                tr = conn.transaction()
                await tr.start()
                c0 = backend_cpu(pid)
                await conn.execute(sql, *args)
                cpu[name] += backend_cpu(pid) - c0
                await tr.rollback()
            await repo.apply_deltas(conn, d)  # then really, so the next batch meets this one's rows
        n = min(len(changes), len(batches[half:]) * batch)
        for name, s in cpu.items():
            print(f"{name}: {s / n * 1e6:.1f} µs PostgreSQL CPU per change ({len(batches) - half} batches)")
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.fold_sql", description=__doc__.split("\n")[0])
    p.add_argument("old_sql", type=Path)
    p.add_argument("--children", type=int, default=8000)
    p.add_argument("--batch", type=int, default=2000)
    a = p.parse_args()
    asyncio.run(run(a.old_sql.read_text(), a.children, a.batch))


if __name__ == "__main__":
    main()
