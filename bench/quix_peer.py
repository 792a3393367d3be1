"""The peer: the same aggregation as jeugdstroom's monitor in Quix Streams (RocksDB state, changelog topics),
run as its own process: ``python -m bench.quix_peer BOOTSTRAP TOPIC EXPECTED STATE_DIR``; prints one JSON line.

From the registry changes topic: separaties and plaatsingen (instroom) counted per gemeente × month of the
episode's start (Europe/Amsterdam), and distinct gesepareerde children per gemeente × month; each change adds the
contributions of ``after`` and subtracts those of ``before`` (as the monitor does), re-keyed by cell with
``group_by`` (a repartition topic) into stateful counters.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from quixstreams import Application
from quixstreams.state import State

AMS = ZoneInfo("Europe/Amsterdam")


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
        month = _month_of(ep["start"], entity == "separatie")
        out.append({"cell": f"{entity}|{ep['gemeente']}|{month}", "child": ep["pseudonym"], "w": weight})
    return out


def main() -> None:
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
    started = time.perf_counter()
    app.run()
    print(
        orjson.dumps(
            {
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
