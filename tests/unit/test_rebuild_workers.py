"""The rebuild's fold split over worker processes (``monitor.rebuild_workers``): the workers' series are disjoint and
cover the catalogue, their sums together are the serial fold's, and a malformed version fails the rebuild from a
forked worker as it did in one process."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import orjson
import pytest

from jeugdstroom.common.contracts.entities import entity_topic_key
from jeugdstroom.monitor import fold, publisher, rebuild_workers
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.rebuild import Record
from tests.integration.monitor_stream import build_stream

AS_OF = date(2026, 6, 30)


def snapshot() -> dict[str, Record]:
    """The entity topic of a small stream as a rebuild reads it: the last record per key (tombstones included)."""
    out: dict[str, Record] = {}
    for _, ch in build_stream(seed=3, children=60).changes:
        version = ch["after"] if ch["after"] is not None else ch["before"]
        value = None if ch["after"] is None else orjson.dumps({**ch, "before": None})
        out[entity_topic_key(ch["entity"], version)] = Record(ch["change_id"], value)
    return out


def serial(versions: dict[str, list[tuple[str, bytes]]]) -> tuple[dict[tuple[Any, ...], int], int]:
    changes = [rebuild_workers.validate(k, kind, v) for kind, items in versions.items() for k, v in items]
    total: dict[tuple[Any, ...], int] = {}
    fold.accumulate(changes, FOLDS, total)
    return {k: v for k, v in total.items() if v}, sum(1 for c in changes if c.after is not None)


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_workers_fold_disjoint_series_that_sum_to_the_serial_fold(workers: int) -> None:
    versions = rebuild_workers.group(snapshot())
    assert len(versions) >= 4 and sum(map(len, versions.values())) > 300
    assignments = rebuild_workers.plan(versions, workers)
    assert 2 <= len(assignments) <= workers and [a.index for a in assignments] == list(range(len(assignments)))
    # every (kind, series) of the snapshot's kinds in exactly one worker
    units = [(kind, s) for a in assignments for kind, series in a.series.items() for s in series]
    assert len(units) == len(set(units))
    assert sorted(units) == sorted((kind, s) for kind in versions for s, _ in FOLDS.get(kind, ()))
    assert {kind for a in assignments for kind in a.series} == set(versions)

    want, entities = serial(versions)
    got: dict[tuple[Any, ...], int] = {}
    counts: dict[str, int] = {}
    for a in assignments:
        total, per_kind = rebuild_workers.fold_part(a, versions)
        mine = {k: v for k, v in total.items() if v}
        assert not mine.keys() & got.keys()  # disjoint: each worker COPYs its own rows
        got.update(mine)
        for kind, n in per_kind.items():
            assert counts.setdefault(kind, n) == n
        assert {k[1] for k in total} <= {s for series in a.series.values() for s in series}
    assert got == want
    assert sum(counts.values()) == entities

    # the affected cells, merged over the workers, are the serial fold's
    merged: dict[tuple[str, str], publisher.Affected] = {}
    for a in assignments:
        for cell, v in publisher.affected(rebuild_workers.fold_part(a, versions)[0], AS_OF).items():
            publisher.merge(merged, cell, v)
    assert merged == publisher.affected(want, AS_OF)


def test_a_malformed_version_fails_the_rebuild_from_a_forked_worker() -> None:
    versions = rebuild_workers.group(snapshot())
    kind = "separatie"
    key, value = versions[kind][0]
    doc = orjson.loads(value)
    doc["after"]["start"] = "not a time"
    versions[kind][-1] = (versions[kind][-1][0], orjson.dumps(doc))
    assignments = rebuild_workers.plan({k: v[:-1] for k, v in versions.items()}, 2)  # (the plan samples from the start)
    with pytest.raises(ValueError, match=r"entity topic record separatie\|.*not a valid registry change"):
        asyncio.run(rebuild_workers.run(versions, assignments, AS_OF, "postgresql://nowhere.invalid/x",
                                        "monitor_rebuild", lambda _: None))
    wrong = dict(versions)
    wrong[kind] = [(key.replace("separatie|", "plaatsing|", 1), value)]
    with pytest.raises(ValueError, match=r"entity topic record plaatsing\|"):
        rebuild_workers.fold_part(rebuild_workers.Assignment(0, {"plaatsing": ()}), {"plaatsing": wrong[kind]})



def test_the_plan_keeps_kinds_whole_unless_splitting_one_shortens_the_longest_worker() -> None:
    validation = {"a": 4.0, "b": 1.0, "c": 1.0}
    units = [(3.0, "a", "a1"), (3.0, "a", "a2"), (2.0, "b", "b1"), (2.0, "c", "c1"), (0.0, "c", None)]
    cost = {(k, u): c for c, k, u in units if u is not None}
    # whole kinds: a (10) | b, c (6); moving a1 to the second: 7 | 6 + 3 + 4 = 13, longer: kept whole
    shares = rebuild_workers._by_kinds(units, validation, cost, 2)
    assert sorted(sorted(s) for s in shares) == [["a"], ["b", "c"]]
    assert sorted(next(s["a"] for s in shares if "a" in s)) == ["a1", "a2"]
    # a kind much larger than the rest is split: a's validation counts in both workers
    validation = {"a": 1.0, "b": 1.0}
    units = [(5.0, "a", "a1"), (5.0, "a", "a2"), (5.0, "a", "a3"), (5.0, "a", "a4"), (1.0, "b", "b1")]
    cost = {(k, u): c for c, k, u in units if u is not None}
    shares = rebuild_workers._by_kinds(units, validation, cost, 2)
    loads = sorted(rebuild_workers._load(s, validation, cost) for s in shares)
    assert loads == [11.0, 13.0] and all("a" in s for s in shares)
