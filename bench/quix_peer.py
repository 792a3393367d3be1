"""The peer: the same aggregation as jeugdstroom's monitor in Quix Streams (RocksDB state, changelog topics),
run as its own process: ``python -m bench.quix_peer BOOTSTRAP TOPIC EXPECTED STATE_DIR``; prints one JSON line.

From the registry changes topic: separaties and plaatsingen (instroom: not a transfer) counted per gemeente × month
of the episode's start (Europe/Amsterdam), and distinct gesepareerde children per gemeente × month; each change adds
the contributions of ``after`` and subtracts those of ``before`` (as the monitor does), re-keyed by cell with
``group_by`` (a repartition topic) into stateful counters. As the monitor, a gemeente code merged away by a
herindeling counts under its successor: read here from the project's reference data (the CSV files, not its code).

A watchdog thread ends the process (exit 2, with what it saw on stderr) when no record arrives within
``FIRST_RECORD_S`` of the start, when records stop arriving for ``STALL_S`` before all ``EXPECTED`` are folded, or when
Quix's shutdown after the last does not end within ``SHUTDOWN_S``: the benchmark then fails in minutes with a reason
instead of waiting without end.
"""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson
from confluent_kafka import Consumer, TopicPartition

if TYPE_CHECKING:  # Quix Streams is in the peer's venv only (bench/tools.py): the counting imports without it
    from quixstreams import Application
    from quixstreams.state import State

AMS = ZoneInfo("Europe/Amsterdam")
#: The project's geography reference data (docs/geography.md).
GEOGRAPHY = Path(__file__).resolve().parents[1] / "libs" / "common" / "jeugdstroom" / "common" / "data"
#: Seconds until the first record (topic creation, group join, assignment; ≈ 25 s on the embedded broker).
FIRST_RECORD_S = 120.0
#: Seconds without a new record or fold before all expected records are folded.
STALL_S = 60.0
#: Seconds for Quix's shutdown after the last fold (final checkpoint, consumer close).
SHUTDOWN_S = 60.0


def _rows(name: str) -> list[dict[str, str]]:
    text = (GEOGRAPHY / name).read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))


def counted_gemeenten() -> dict[str, str]:
    """Gemeente code → the code it counts under: itself in the current indeling, its successor when a herindeling
    merged it away (any other code counts as ``onbekend``)."""
    merged = {r["gemeente"]: r["opvolger"] for r in _rows("herindelingen.csv")}
    return merged | {r["gemeente"]: r["gemeente"] for r in _rows("gemeenten.csv")}


GEMEENTE = counted_gemeenten()


def _month_of(start: str, is_datetime: bool) -> str:
    if is_datetime:
        return datetime.fromisoformat(start).astimezone(AMS).strftime("%Y-%m")
    return start[:7]


def contributions(change: dict[str, Any]) -> list[dict[str, Any]]:
    """(cell, child, weight) items of one change: −1 for ``before``, +1 for ``after``."""
    entity = change.get("entity")
    if entity not in ("separatie", "plaatsing"):
        return []
    out = []
    for side, weight in (("before", -1), ("after", 1)):
        ep = change.get(side)
        if not ep or not ep.get("start"):
            continue
        if entity == "plaatsing" and not ep.get("instroom", True):
            continue  # a transfer between placements is not instroom (the monitor's verblijf_instroom, v2)
        month = _month_of(ep["start"], entity == "separatie")
        gemeente = GEMEENTE.get(ep["gemeente"], "onbekend")
        out.append({"cell": f"{entity}|{gemeente}|{month}", "child": ep["pseudonym"], "w": weight})
    return out


def topic_records(bootstrap: str, topic: str) -> str:
    """What the broker holds of ``topic``: its partitions and their end offsets (records written), with its own
    client (the watchdog's view, independent of Quix's consumer)."""
    client = Consumer({"bootstrap.servers": bootstrap, "group.id": "quix-peer-watchdog", "broker.address.family": "v4"})
    try:
        meta = client.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            return f"topic {topic}: {meta.error}"
        ends = {p: client.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions}
        return f"topic {topic} holds {sum(ends.values()):,} records in {len(ends)} partitions {ends}"
    except Exception as exc:  # a diagnostic only: say why it is missing
        return f"topic {topic}: end offsets unavailable ({exc!r})"
    finally:
        client.close()


def assigned(app: Application) -> str:
    """The partitions Quix's consumer holds (best effort: its consumer is not public API)."""
    try:
        parts = app._consumer.assignment()
    except Exception as exc:
        return f"assignment unavailable ({exc!r})"
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in parts) or "none"


def watch(
    app: Application, bootstrap: str, topic: str, expected: int, seen: dict[str, int], marks: dict[str, float]
) -> None:
    """The watchdog (a daemon thread): ends the process with exit 2 and what it saw when a deadline passes."""
    started = time.perf_counter()
    progress, moved = -1, started
    while True:
        time.sleep(1.0)
        now = time.perf_counter()
        if seen["in"] + seen["folded"] != progress:
            progress, moved = seen["in"] + seen["folded"], now
        if "last" in marks:
            if now - marks["last"] < SHUTDOWN_S:
                continue
            why = f"all records folded, but Quix's shutdown did not end within {SHUTDOWN_S:.0f} s"
        elif "first" not in marks:
            if now - started < FIRST_RECORD_S:
                continue
            why = f"no record after {FIRST_RECORD_S:.0f} s"
        elif now - moved < STALL_S:
            continue
        else:
            why = f"no new record or fold for {STALL_S:.0f} s"
        print(
            f"quix-peer: {why}; read {seen['in']:,} of {expected:,} records, folded {seen['folded']:,} of "
            f"{seen['items']:,} items; partitions assigned: {assigned(app)}; {topic_records(bootstrap, topic)}",
            file=sys.stderr,
            flush=True,
        )
        os._exit(2)


def main() -> None:
    import quixstreams
    from quixstreams import Application

    bootstrap, topic_name, expected, state_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    app = Application(
        broker_address=bootstrap,
        consumer_group=f"quix-peer-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        state_dir=state_dir,
        producer_extra_config={"enable.idempotence": False},
        consumer_extra_config={"broker.address.family": "v4"},
    )
    topic = app.topic(topic_name, value_deserializer="json")
    # Tansu does not return retention.ms in the topic description (KeyError when the changelog registers):
    # metadata only, it does not change what Quix processes.
    config = topic.broker_config
    config.extra_config["retention.ms"] = "-1"
    topic.broker_config = config

    seen = {"in": 0, "items": 0, "folded": 0}
    marks: dict[str, float] = {}
    final: dict[str, tuple[int, int]] = {}

    def count_in(value: dict[str, Any]) -> list[dict[str, Any]]:
        if "first" not in marks:
            marks["first"] = time.perf_counter()
        seen["in"] += 1
        items = contributions(value)
        seen["items"] += len(items)
        if not items:
            done()
        return items

    def done() -> None:
        if seen["in"] >= expected and seen["folded"] >= seen["items"]:
            marks["last"] = time.perf_counter()
            app.stop()

    def fold(item: dict[str, Any], state: State[Any, Any]) -> dict[str, Any]:
        n = state.get("n", 0) + item["w"]
        state.set("n", n)
        member = "m:" + item["child"]
        m = state.get(member, 0)
        distinct = state.get("distinct", 0)
        if m == 0 and m + item["w"] > 0:
            distinct += 1
        elif m > 0 and m + item["w"] == 0:
            distinct -= 1
        state.set(member, m + item["w"])
        state.set("distinct", distinct)
        final[item["cell"]] = (n, distinct)
        seen["folded"] += 1
        done()
        return item

    sdf = app.dataframe(topic)
    sdf = sdf.apply(count_in, expand=True)
    sdf = sdf.group_by(lambda item: item["cell"], name="cell")
    sdf = sdf.apply(fold, stateful=True)
    threading.Thread(
        target=watch, args=(app, bootstrap, topic_name, expected, seen, marks), name="watchdog", daemon=True
    ).start()
    started = time.perf_counter()
    app.run()
    print(
        orjson.dumps(
            {
                "version": quixstreams.__version__,
                "records": seen["in"],
                "items": seen["items"],
                "startup_s": marks.get("first", started) - started,
                "seconds": marks.get("last", time.perf_counter()) - marks.get("first", started),
                "cells": {k: list(v) for k, v in final.items()},
            }
        ).decode(),
        flush=True,
    )


if __name__ == "__main__":
    main()
