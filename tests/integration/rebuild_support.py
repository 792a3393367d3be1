"""Helpers for the rebuild tests: the monitor's aggregate tables as cells, and the same cells computed by folding
entity versions from scratch (a fresh replay: every change of an entity folded in order sums to its final version)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

import asyncpg
import orjson
from pydantic import TypeAdapter

from jeugdstroom.common.contracts.unions import AnyChange, RegistryChange
from jeugdstroom.monitor import fold
from jeugdstroom.monitor.catalogue import FOLDS
from jeugdstroom.monitor.repository import AGGREGATE_TABLES

#: (table, series, day, dims_key, member or value)
Cell = tuple[str, str, date, str, str]
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RegistryChange)

#: Per aggregate table: the extra key column and the value column.
_COLUMNS: dict[str, tuple[str, str, str]] = {
    "counts": ("day", "''", "value"),
    "stock_deltas": ("day", "''", "delta"),
    "stock_month_deltas": ("month", "''", "delta"),
    "members": ("day", "pseudonym", "n"),
    "durations": ("day", "value::text", "n"),
    "member_spans": ("day", "pseudonym || '|' || end_day::text", "n"),
}


async def table_cells(conn: asyncpg.Connection, schema: str = "monitor") -> Counter[Cell]:
    """Every non-zero cell of every aggregate table (zero rows are what compensations leave behind)."""
    assert set(_COLUMNS) == set(AGGREGATE_TABLES), "a new aggregate table: compare it here too"
    out: Counter[Cell] = Counter()
    for table, (day, extra, value) in _COLUMNS.items():
        for r in await conn.fetch(
            f"SELECT indicator, {day} AS d, dims_key, {extra} AS x, {value} AS v FROM {schema}.{table}"
            f" WHERE {value} <> 0"
        ):
            out[(table, r["indicator"], r["d"], r["dims_key"], r["x"])] = r["v"]
    return out


def replay_cells(changes: Iterable[AnyChange]) -> Counter[Cell]:
    """The cells folding ``changes`` from empty tables gives."""
    out: Counter[Cell] = Counter()
    for key, delta in fold.deltas(changes, FOLDS).items():
        dk = fold.dims_key(key.dims)
        if key.table == "count":
            out[("counts", key.series, key.day, dk, "")] += delta
        elif key.table == "stock":
            out[("stock_deltas", key.series, key.day, dk, "")] += delta
            out[("stock_month_deltas", key.series, key.day.replace(day=1), dk, "")] += delta
        elif key.table == "member":
            out[("members", key.series, key.day, dk, key.member)] += delta
        elif key.table == "member_span":
            out[("member_spans", key.series, key.day, dk, f"{key.member}|{key.value}")] += delta
        else:
            out[("durations", key.series, key.day, dk, str(key.value))] += delta
    return Counter({k: v for k, v in out.items() if v != 0})


def creations(entity_versions: Iterable[tuple[str, dict[str, Any]]]) -> list[AnyChange]:
    """(entity, final version) pairs as changes from nothing."""
    return [
        _CHANGE.validate_json(
            orjson.dumps(
                {"change_id": f"x{i}", "pseudonym": v["pseudonym"], "entity": e, "before": None, "after": v}
            )
        )
        for i, (e, v) in enumerate(entity_versions)
    ]


def differences(want: Counter[Cell], got: Counter[Cell], limit: int = 10) -> list[str]:
    out = []
    for k in sorted(set(want) | set(got), key=str):
        if want.get(k, 0) != got.get(k, 0):
            out.append(f"{k}: replay {want.get(k, 0)} rebuilt {got.get(k, 0)}")
            if len(out) >= limit:
                break
    return out
