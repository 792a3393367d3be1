"""The benchmark's Quix Streams peer counts what the monitor counts: its per-change contributions
(bench/quix_peer.py, without Quix) summed over a mixed change stream equal the monitor's fold on the shared series
(bench/fold_peer.py), cell by cell as the benchmark compares them (bench/__main__.py ``_compare``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from bench import quix_peer
from bench.fold_peer import SHARED_FOLDS
from pydantic import TypeAdapter

from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.monitor import fold
from tests.integration.monitor_stream import build_stream

#: Groesbeek, merged into Berg en Dal (GM1945) in 2016: a herindeling the monitor counts under its successor.
MERGED_AWAY = "GM0241"


def _stream() -> list[dict[str, Any]]:
    """build_stream's changes as JSON (as on the topic), once each (Quix does not dedupe; the benchmark's topic has no
    duplicates), with every other Berg en Dal child under Groesbeek's old code."""
    seen: set[str] = set()
    out = []
    for pseudonym, change in build_stream(seed=26, children=400).changes:
        if change["change_id"] in seen:
            continue
        seen.add(change["change_id"])
        change = orjson.loads(orjson.dumps(change))
        if int(pseudonym[-1], 16) % 2:
            for side in ("before", "after"):
                if change.get(side) and change[side]["gemeente"] == "GM1945":
                    change = {**change, side: {**change[side], "gemeente": MERGED_AWAY}}
        out.append(change)
    return out


def _cells(counts: dict[str, int], members: dict[tuple[str, str], int]) -> dict[str, list[int]]:
    """Cells as the benchmark compares them: [count, distinct members with a positive count], zero cells dropped."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cell, n in counts.items():
        out[cell][0] += n
    for (cell, _), n in members.items():
        if n > 0:
            out[cell][1] += 1
    return {k: v for k, v in out.items() if v[0] or v[1]}


def test_the_quix_peer_counts_every_cell_as_the_monitor_fold() -> None:
    changes = _stream()
    counts: dict[str, int] = defaultdict(int)
    members: dict[tuple[str, str], int] = defaultdict(int)
    for change in changes:
        for item in quix_peer.contributions(change):
            counts[item["cell"]] += item["w"]
            if item["cell"].startswith("separatie"):
                members[item["cell"], item["child"]] += item["w"]
    peer = _cells(counts, members)

    adapter: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)
    entity = {"separaties": "separatie", "verblijf_instroom": "plaatsing", "gesepareerde_jeugdigen": "separatie"}
    mon_counts: dict[str, int] = defaultdict(int)
    per_day: dict[tuple[str, str, Any], int] = defaultdict(int)
    for key, n in fold.deltas((adapter.validate_json(orjson.dumps(c)) for c in changes), SHARED_FOLDS).items():
        cell = f"{entity[key.series]}|{dict(key.dims)['gemeente']}|{key.day:%Y-%m}"
        if key.table == "count":
            mon_counts[cell] += n
        else:  # monitor.members: one row per day × dims × pseudonym, distinct where n > 0
            per_day[cell, key.member, (key.day, key.dims)] += n
    mon_members: dict[tuple[str, str], int] = {}
    for (cell, child, _), n in per_day.items():
        if n > 0:
            mon_members[cell, child] = 1
    monitor = _cells(mon_counts, mon_members)

    assert {c.split("|")[0] for c in monitor} == {"separatie", "plaatsing"}
    assert any(c.startswith("plaatsing|GM1945|") for c in monitor)  # the merged-away code's children among them
    assert not any(MERGED_AWAY in c for c in peer)
    assert peer == monitor
