"""The ceiling of the in-process-state design: ``.venv/bin/python -m bench.ceiling [--n 100000] [--batch 2000]``.

Issue 26 names a design step: keep the registry's per-child state and the monitor's aggregates in process memory,
checkpointed with the offsets. This measures what that design could reach at best on this machine, by running the
services' own logic with every bit of storage and transport taken away:

* registry: each event decoded and validated (``processor.decode_event``), its fact or correctie added to inputs
  held in memory (``care_path.ChildInputs``, filled as events arrive, so ``of(child)`` gives what the database read
  gives), every touched child projected (``care_path.project``) and diffed against its previous state held in memory
  (``care_path.diff``), the children whose 18th birthday the watermark passed projected too, and each change's two
  records built (``RegistryProcessor.change_rows``: the bytes the outbox would get; the change records are the
  ones the registry writes, ``tests/integration/test_bench_ceiling.py``). Not done: no outbox, no Kafka client, no
  checkpoint.
* monitor: each of those change records decoded and validated (``MonitorProcessor.decode``) and folded into every
  series of the catalogue (``fold.net``), the deltas added to a dict. Not done: the indicator topic's publication,
  the pending cells, no checkpoint.

The registry runs over the whole stream first, then the monitor over its changes (each service's heap its own).
Both in batches of ``--batch`` events, this process's CPU (``time.process_time``) per event, with the garbage
collector handled as the services do (startup heap frozen, paused during a registry batch). The ceiling is
``2 cores / (registry + monitor CPU per event)``: both services on their own core with nothing else, no database,
no broker. If it is below a target, no storage design reaches that target with this logic on this machine.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import orjson
from pydantic import SecretStr

from bench.events import Event, load_events
from jeugdstroom.common import collector
from jeugdstroom.common.consumer import Decoded
from jeugdstroom.common.contracts.events import json_value
from jeugdstroom.common.contracts.unions import AnyChange, AnyPublished
from jeugdstroom.common.kafka import REGISTRY_CHANGES, InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import fold
from jeugdstroom.monitor.processor import MonitorProcessor
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry.handlers import care_path
from jeugdstroom.registry.handlers.derived import watermark_of
from jeugdstroom.registry.handlers.facts import Correction, Fact
from jeugdstroom.registry.processor import (
    RegistryProcessor,
    _own_children,
    decode_event,
    event_targets,
    latest_day,
)

#: The parts of :class:`Ceiling` measured (its CPU fields) and their names in a table.
PARTS: dict[str, str] = {
    "registry_decode": "registry: validate",
    "registry_project": "registry: project, diff",
    "registry_records": "registry: change records",
    "monitor_decode": "monitor: validate",
    "monitor_fold": "monitor: fold",
}


@dataclass
class Ceiling:
    events: int
    changes: int
    projected: int
    registry_decode: float = 0.0
    registry_project: float = 0.0
    registry_records: float = 0.0
    monitor_decode: float = 0.0
    monitor_fold: float = 0.0

    @property
    def registry(self) -> float:
        return self.registry_decode + self.registry_project + self.registry_records

    @property
    def monitor(self) -> float:
        return self.monitor_decode + self.monitor_fold


class InMemoryRegistry:
    """The registry's projection with its inputs and states in dicts (what a checkpointed in-process state holds)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.processor = RegistryProcessor(settings)
        self.originals: dict[str, Any] = {}  # every fact by uid, as the inputs hold them
        self.inputs = care_path.ChildInputs(self.originals, [])
        self.states: dict[str, care_path.ChildState] = {}
        self.pending: dict[str, date] = {}  # child → the day its achttien fact waits for (``due_children``)
        self.max_day: date | None = None
        self.topic = settings.topic(REGISTRY_CHANGES)
        self.records_cpu = 0.0  # of which building the change records

    def add(self, items: list[Decoded[AnyPublished]]) -> None:
        """Store the batch's facts and corrections in the inputs (``ChildInputs.__init__``'s indexing, per item)."""
        inputs = self.inputs
        for d in items:
            if d.item.type == "correctie":
                c = Correction.from_json(d.event_id, json_value(d.item))
                inputs.by_target[c.target_uid].append(c)
                inputs.by_child[c.pseudonym].add(c.target_uid)
                if c.replacement is not None:
                    inputs.by_child[c.replacement.pseudonym].add(c.target_uid)
            else:
                f = Fact.from_json(d.event_id, json_value(d.item))
                self.originals[d.event_id] = f
                inputs.by_child[f.pseudonym].add(d.event_id)

    def batch(self, items: list[Decoded[AnyPublished]]) -> tuple[list[bytes], int]:
        """(the change records' values, children projected) of one batch."""
        self.add(items)
        day = latest_day(items)
        self.max_day = day if self.max_day is None or day > self.max_day else self.max_day
        watermark = watermark_of(self.max_day, self.settings.watermark_grace_days)
        uid_of = event_targets(items)
        own = {d.event_id: _own_children(d.item) for d in items}
        related = [(u, p) for u in sorted(set(uid_of.values())) for p in self._children_of(u)]
        due = {p for p, day in self.pending.items() if watermark is not None and day < watermark}
        touched = sorted({p for ps in own.values() for p in ps} | {p for _, p in related} | due)
        diffs = []
        for p in touched:
            after = care_path.project(p, *self.inputs.of(p), watermark, self.settings.continuering_dagen)
            d = care_path.diff(self.states.get(p) or care_path.ChildState(p), after)
            self.states[p] = after
            if after.child is not None and after.child.pending_birthday is not None:
                self.pending[p] = after.child.pending_birthday
            else:
                self.pending.pop(p, None)
            if not d.empty:
                diffs.append(d)
        cpu0 = time.process_time()
        rows = self.processor.change_rows(items, diffs, own, related, uid_of, repo.EpisodeJson())
        values = [r.value for r in rows if r.topic == self.topic and r.value is not None]
        self.records_cpu += time.process_time() - cpu0
        return values, len(touched)

    def _children_of(self, uid: str) -> set[str]:
        """``repository.related_children`` in memory: the original's child and every correctie's own and
        replacement child."""
        out = set()
        if (f := self.originals.get(uid)) is not None:
            out.add(f.pseudonym)
        for c in self.inputs.by_target.get(uid, ()):
            out.add(c.pseudonym)
            if c.replacement is not None:
                out.add(c.replacement.pseudonym)
        return out


def run(events: list[Event], batch: int) -> Ceiling:
    settings = Settings(database_url="postgresql://unused/ceiling", operator_token=SecretStr("bench"), topic_prefix="bench")
    registry = InMemoryRegistry(settings)
    monitor = MonitorProcessor(settings)
    aggregates: dict[tuple[Any, ...], int] = defaultdict(int)
    result = Ceiling(len(events), 0, 0)
    records = [InRecord(e.type, 0, i, e.key, e.value, tuple(e.headers)) for i, e in enumerate(events)]
    gc.collect()
    gc.freeze()  # the stream held in memory is not the services' heap
    produced: list[list[bytes]] = []
    for start in range(0, len(records), batch):  # the registry, as its own process would
        part = records[start : start + batch]
        with collector.paused():  # as the registry's batch
            cpu0 = time.process_time()
            items = [Decoded(r, *decode_event(r)) for r in part]
            cpu1 = time.process_time()
            values, projected = registry.batch(items)
            cpu2 = time.process_time()
        result.registry_decode += cpu1 - cpu0
        result.registry_project += cpu2 - cpu1
        result.projected += projected
        result.changes += len(values)
        produced.append(values)
        if (start // batch) % 50 == 49:
            print(f"  registry: {start + batch:,} events", file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()  # the registry's state is not the monitor's heap
    offset = 0
    for values in produced:  # then the monitor, on the changes of each registry batch
        cpu2 = time.process_time()
        changes: list[Decoded[AnyChange]] = []
        for v in values:
            r = InRecord(REGISTRY_CHANGES, 0, offset, None, v)
            offset += 1
            changes.append(Decoded(r, *monitor.decode(r)))
        cpu3 = time.process_time()
        for key, delta in fold.net((d.item for d in changes), monitor.folds).items():
            aggregates[key] += delta
        cpu4 = time.process_time()
        result.monitor_decode += cpu3 - cpu2
        result.monitor_fold += cpu4 - cpu3
    result.registry_records = registry.records_cpu
    result.registry_project -= registry.records_cpu
    return result


def report(n: int, r: Ceiling) -> None:
    def us(seconds: float) -> str:
        return f"{seconds / r.events * 1e6:,.1f}"

    total = (r.registry + r.monitor) / r.events
    print(f"N={n:,}: {r.changes:,} changes ({r.changes / r.events:.2f} per event), {r.projected:,} child projections")
    print("| part | CPU µs per event |")
    print("|---|---|")
    print(f"| registry: decode and validate | {us(r.registry_decode)} |")
    print(f"| registry: store in memory, project, diff | {us(r.registry_project)} |")
    print(f"| registry: build the change records | {us(r.registry_records)} |")
    print(f"| monitor: decode and validate the changes | {us(r.monitor_decode)} |")
    print(f"| monitor: fold every series into memory | {us(r.monitor_fold)} |")
    print(f"| all | {total * 1e6:,.1f} |")
    print(f"ceiling on 2 cores, no storage, no broker: {2 / total:,.0f} events/s "
          f"(registry alone on one core {r.events / r.registry:,.0f}/s, monitor {r.events / r.monitor:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.split("\n")[0])
    parser.add_argument("--n", default="100000", help="comma-separated event counts")
    parser.add_argument("--batch", type=int, default=2000, help="events per batch (the consumers' default)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per N (python -m bench reads it)")
    args = parser.parse_args()
    for n in (int(x) for x in args.n.split(",")):
        result = run(load_events(n, log=not args.json), args.batch)
        if args.json:
            print(orjson.dumps({"n": n, **asdict(result)}).decode(), flush=True)
        else:
            report(n, result)


if __name__ == "__main__":
    main()
