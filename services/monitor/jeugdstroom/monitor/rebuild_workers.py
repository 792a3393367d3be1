"""The rebuild's fold (step 3 of :mod:`jeugdstroom.monitor.rebuild`) in several processes.

The fold of a snapshot is per-entity Python (validation, the catalogue's fold functions, summing, COPY rows), so one
process folds one entity after the other while PostgreSQL waits, and PostgreSQL then copies and indexes while Python
waits. Here the work is split by **series**: a delta key starts with its series, and every series belongs to one
entity kind (``Series.entity``), so workers that fold disjoint sets of series write disjoint keys — each worker sums
its own deltas and COPYs its own rows into the bare copies, with nothing to merge. A worker validates only the
versions of the kinds its series read (an entity kind with no series is validated, and counted, by one worker), so
a kind is validated twice only where its series are split to balance the work. The plan (:func:`plan`) balances the
(kind, series) units by a cost sampled on the snapshot itself, keeping kinds whole where that costs no time.

Workers are forked (:mod:`multiprocessing`'s ``fork``): they read the snapshot's values from the parent's memory
without it being pickled to them; each opens its own database connection for its COPY. A worker that fails (a
version that is not a valid registry change, a database error) fails the rebuild, which then drops the copies as
before. ``workers=1`` folds in the calling process (the same functions, no fork).

Exactness: the sum over the workers' disjoint keys is :func:`jeugdstroom.monitor.fold.accumulate` over every version
(tests/unit/test_rebuild_workers.py), and the stock month sums (``repository._delta_rows``) are per series and
dimensions, so they too fall into one worker each.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import asyncpg
from pydantic import TypeAdapter, ValidationError

from jeugdstroom.common.contracts.unions import CHANGE_CLASSES, AnyChange, RegistryChange
from jeugdstroom.common.db import Conn
from jeugdstroom.monitor import fold, publisher
from jeugdstroom.monitor import repository as repo
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.fold import FoldFn, Key
from jeugdstroom.monitor.publication.pending import Affected

#: A registry change of any entity (the union; the rebuild's late records and a version of an unknown kind).
CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)
#: Per entity kind, its change contract alone (``RegistryChange`` without the discriminator's dispatch; the same
#: validation: the union's member for that ``entity``).
_BY_KIND: dict[str, TypeAdapter[Any]] = {kind: TypeAdapter(cls) for kind, cls in CHANGE_CLASSES.items()}
#: Versions folded between two progress updates (and per call of ``fold.accumulate``).
CHUNK = 2_000
#: Versions per kind the plan folds to estimate the cost of each unit.
SAMPLE = 150
#: A worker's time per row it writes, for the plan: summing into a dict that grows to millions of keys (which a
#: sample's small dict does not show: its fold is 2-4× cheaper per entity), building and encoding the row, PostgreSQL
#: taking it (calibrated with bench.rebuild_fold at N=20,000 and 100,000: the workers finish together).
ROW_S = 12e-6

#: The versions of each kind as the parent holds them: (entity topic key, value). Set by :func:`run` before the
#: workers fork, read by the forked workers (never pickled).
_VERSIONS: dict[str, list[tuple[str, bytes]]] = {}
#: Per worker, the versions it has folded so far (shared memory; the parent reads it for progress).
_DONE: Any = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """One worker's share: per entity kind, the series it folds (an empty tuple: validate and count only)."""

    index: int
    series: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def versions(self, counts: Mapping[str, int]) -> int:
        return sum(counts.get(k, 0) for k in self.series)


@dataclass(slots=True)
class Result:
    """What a worker hands back: the entities it folded per kind (each kind's count is the same in every worker
    that reads it), the cells its deltas may have changed, and the rows it wrote."""

    entities: dict[str, int]
    affected: dict[tuple[str, str], Affected]
    rows: dict[str, int]  # per table
    fold_s: float = 0.0
    copy_s: float = 0.0


def kind_of(key: str) -> str:
    """The entity kind of an entity topic key (``entity_topic_key``: ``kind|pseudonym|instelling|id``)."""
    return key.partition("|")[0]


def group(snapshot: Mapping[str, Any]) -> dict[str, list[tuple[str, bytes]]]:
    """The snapshot's versions (``Record``s with a value; tombstones left out) by entity kind."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for key, rec in snapshot.items():
        if rec.value is not None:
            out.setdefault(kind_of(key), []).append((key, rec.value))
    return out


def validate(key: str, kind: str, value: bytes) -> AnyChange:
    """A version as a registry change, checked against the kind its key names; a version that is not a valid registry
    change fails the rebuild, naming its key."""
    adapter = _BY_KIND.get(kind, CHANGE)  # (a kind this version does not know: the union names the error)
    try:
        change: AnyChange = adapter.validate_json(value)
    except ValidationError as exc:
        raise ValueError(f"entity topic record {key}: not a valid registry change: {exc}") from None
    if change.entity != kind:
        raise ValueError(f"entity topic record of kind {kind} holds a {change.entity} change")
    return change


def fold_part(
    assignment: Assignment,
    versions: Mapping[str, Sequence[tuple[str, bytes]]],
    folds: Mapping[str, Sequence[tuple[str, FoldFn]]] = FOLDS,
    done: Callable[[int], None] | None = None,
) -> tuple[dict[tuple[Any, ...], int], dict[str, int]]:
    """Fold the versions of ``assignment``'s kinds with its series only: the summed deltas (plain tuples of
    :class:`Key`'s fields, zero sums kept, as ``fold.accumulate``) and the entities folded per kind."""
    total: dict[tuple[Any, ...], int] = {}
    entities: dict[str, int] = {}
    n = 0
    for kind, series in assignment.series.items():
        wanted = set(series)
        mine = {kind: [(s, fn) for s, fn in folds.get(kind, ()) if s in wanted]}
        count = 0
        batch: list[AnyChange] = []
        for key, value in versions.get(kind, ()):
            change = validate(key, kind, value)
            if change.after is None:
                continue
            count += 1
            batch.append(change)
            if len(batch) >= CHUNK:
                fold.accumulate(batch, mine, total)
                n += len(batch)
                batch = []
                if done is not None:
                    done(n)
        fold.accumulate(batch, mine, total)
        n += len(batch)
        entities[kind] = count
    if done is not None:
        done(n)
    return total, entities


def plan(
    versions: Mapping[str, Sequence[tuple[str, bytes]]],
    workers: int,
    folds: Mapping[str, Sequence[tuple[str, FoldFn]]] = FOLDS,
    sample: int = SAMPLE,
) -> list[Assignment]:
    """Split the (kind, series) units over ``workers`` (at most: fewer when there are fewer units). A kind's
    validation counts once per worker that reads the kind, so of two splits — every unit greedily onto the worker
    where it ends lowest, largest first (:func:`_by_units`), and whole kinds so, then single series moved off the
    busiest worker while that shortens it (:func:`_by_kinds`) — the one with the lower sum of the longest and the
    mean worker's cost is taken. Costs are CPU times on a sample of each kind's versions and the rows their sums
    would COPY, scaled to the kind's count."""
    units: list[tuple[float, str, str | None]] = []
    validation: dict[str, float] = {}
    for kind, items in versions.items():
        if not items:
            continue
        scale = len(items) / min(len(items), sample)
        changes = [validate(k, kind, v) for k, v in items[:sample]]
        validation[kind] = least_cpu(functools.partial(_validate_all, kind, items[:sample])) * scale
        afters = [c for c in changes if c.after is not None]
        fns = folds.get(kind, ())
        if not fns:
            units.append((0.0, kind, None))
        for series, fn in fns:
            sums: dict[tuple[Any, ...], int] = {}
            fold.accumulate(afters, {kind: [(series, fn)]}, sums)
            rows = _rows(sums)  # (scaled: an upper bound, keys merge as entities add up)
            cpu = least_cpu(functools.partial(_fold_new, afters, {kind: [(series, fn)]}))
            units.append(((cpu + rows * ROW_S) * scale, kind, series))
    n = max(1, min(workers, len(units)))
    cost = {(kind, unit): c for c, kind, unit in units if unit is not None}
    candidates = [_by_units(units, validation, n), _by_kinds(units, validation, cost, n)]
    shares = min(candidates, key=lambda c: _score(c, validation, cost))
    used = [share for share in shares if share]
    return [Assignment(i, {k: tuple(s) for k, s in share.items()}) for i, share in enumerate(used)]


def _rows(sums: Mapping[tuple[Any, ...], int]) -> int:
    """The rows ``sums`` would COPY: its nonzero keys and, for stocks, their month sums."""
    months = {(k[1], k[2].year, k[2].month, k[3]) for k, v in sums.items() if v and k[0] == "stock"}
    return sum(1 for v in sums.values() if v) + len(months)


def _validate_all(kind: str, items: Sequence[tuple[str, bytes]]) -> list[AnyChange]:
    return [validate(k, kind, v) for k, v in items]


def _fold_new(changes: Sequence[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]]) -> None:
    fold.accumulate(changes, folds, {})


def least_cpu(run: Callable[[], object], times: int = 3) -> float:
    """The least CPU time of ``times`` runs (a sample's time, scaled up by the plan, must not carry a collection or
    another process's interruption)."""
    best = float("inf")
    for _ in range(times):
        t0 = time.process_time()
        run()
        best = min(best, time.process_time() - t0)
    return best


Share = dict[str, list[str]]  # one worker's kinds and their series (a kind with no series: validated only)


def _load(share: Share, validation: Mapping[str, float], cost: Mapping[tuple[str, str], float]) -> float:
    return sum(validation[kind] + sum(cost[(kind, s)] for s in series) for kind, series in share.items())


def _score(
    shares: list[Share], validation: Mapping[str, float], cost: Mapping[tuple[str, str], float]
) -> tuple[float, int]:
    loads = [_load(share, validation, cost) for share in shares]
    return max(loads) + sum(loads) / len(loads), sum(map(len, shares))


def _by_units(units: list[tuple[float, str, str | None]], validation: Mapping[str, float], n: int) -> list[Share]:
    loads = [0.0] * n
    shares: list[Share] = [{} for _ in range(n)]
    for c, kind, unit in sorted(units, key=lambda u: (-u[0], u[1], u[2] or "")):
        best = min(range(n), key=lambda w: (loads[w] + c + (0.0 if kind in shares[w] else validation[kind]), w))
        loads[best] += c + (0.0 if kind in shares[best] else validation[kind])
        got = shares[best].setdefault(kind, [])
        if unit is not None:
            got.append(unit)
    return shares


def _by_kinds(
    units: list[tuple[float, str, str | None]],
    validation: Mapping[str, float],
    cost: Mapping[tuple[str, str], float],
    n: int,
) -> list[Share]:
    kinds: dict[str, list[str]] = {}
    for _, kind, unit in units:
        got = kinds.setdefault(kind, [])
        if unit is not None:
            got.append(unit)
    shares: list[Share] = [{} for _ in range(n)]
    loads = [0.0] * n
    whole = {kind: validation[kind] + sum(cost[(kind, s)] for s in series) for kind, series in kinds.items()}
    for kind in sorted(kinds, key=lambda k: (-whole[k], k)):
        best = min(range(n), key=lambda w: (loads[w], w))
        shares[best][kind] = list(kinds[kind])
        loads[best] += whole[kind]
    for _ in range(4 * len(cost)):  # moves that shorten the busiest worker (each does: bounded anyway)
        loads = [_load(share, validation, cost) for share in shares]
        hi = max(range(n), key=lambda w: (loads[w], -w))
        lo = min(range(n), key=lambda w: (loads[w], w))
        move: tuple[float, str, str] | None = None
        for kind, series in shares[hi].items():
            for s in series:
                c = cost[(kind, s)]
                after_hi = loads[hi] - c - (validation[kind] if len(series) == 1 else 0.0)
                after_lo = loads[lo] + c + (0.0 if kind in shares[lo] else validation[kind])
                longest = max(after_hi, after_lo)
                if longest < loads[hi] and (move is None or longest < move[0]):
                    move = (longest, kind, s)
        if move is None:
            break
        _, kind, s = move
        shares[hi][kind].remove(s)
        if not shares[hi][kind]:
            del shares[hi][kind]
        shares[lo].setdefault(kind, []).append(s)
    return shares


def summed(total: dict[tuple[Any, ...], int]) -> dict[Key, int]:
    """The nonzero sums (rows unpack keys by position: a plain tuple serves as a :class:`Key`)."""
    return cast(dict[Key, int], {k: v for k, v in total.items() if v})


async def write(conn: Conn, total: dict[tuple[Any, ...], int], schema: str) -> dict[str, int]:
    """COPY the nonzero sums into the (empty) bare copies of ``schema`` (in the caller's transaction); rows per
    table."""
    return await repo.copy_deltas(conn, summed(total), schema)


def _mark(index: int) -> Callable[[int], None]:
    def done(n: int) -> None:
        if _DONE is not None:
            _DONE[index] = n

    return done


def _worker(assignment: Assignment, as_of: date, database_url: str, schema: str) -> Result:
    """In a forked worker: fold the assignment, note its affected cells, COPY its rows (own connection and
    transaction)."""
    gc.disable()  # nothing it makes is in a cycle; a collection would walk (and so copy) the parent's heap
    t0 = time.monotonic()
    total, entities = fold_part(assignment, _VERSIONS, done=_mark(assignment.index))
    affected = publisher.affected(total, as_of)
    t1 = time.monotonic()

    async def copy() -> dict[str, int]:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                return await write(conn, total, schema)
        finally:
            await conn.close()

    rows = asyncio.run(copy())
    return Result(entities, affected, rows, t1 - t0, time.monotonic() - t1)


def default_workers() -> int:
    """One worker per core (PostgreSQL's COPY and index build share them), at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


async def run(
    versions: dict[str, list[tuple[str, bytes]]],
    assignments: Sequence[Assignment],
    as_of: date,
    database_url: str,
    schema: str,
    tick: Callable[[int], None],
) -> list[Result]:
    """Run one forked worker per assignment; ``tick`` gets the versions folded so far (summed over the workers)
    every quarter second. The first failure stops the others and is raised."""
    global _VERSIONS, _DONE
    ctx = multiprocessing.get_context("fork")
    _VERSIONS = versions
    _DONE = ctx.Array("q", len(assignments), lock=False)
    executor = ProcessPoolExecutor(max_workers=len(assignments), mp_context=ctx)
    ok = False
    try:
        futures: list[Future[Result]] = [
            executor.submit(_worker, a, as_of, database_url, schema) for a in assignments
        ]
        waiting = {asyncio.wrap_future(f) for f in futures}
        while waiting:
            finished, waiting = await asyncio.wait(waiting, timeout=0.25, return_when=asyncio.FIRST_EXCEPTION)
            for f in finished:
                if f.exception() is not None:
                    raise cast(BaseException, f.exception())
            tick(sum(_DONE))
        results = [f.result() for f in futures]
        ok = True
        return results
    finally:
        if not ok:
            _kill(executor)
        executor.shutdown(wait=True, cancel_futures=True)
        _VERSIONS, _DONE = {}, None


def _kill(executor: ProcessPoolExecutor) -> None:
    """Kill the workers still running (another one failed, or the rebuild was cancelled)."""
    processes: dict[int, Any] = getattr(executor, "_processes", None) or {}  # (no public handle on a pool's workers)
    for p in list(processes.values()):
        if p.is_alive():
            p.kill()
