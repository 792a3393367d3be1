"""monitor aggregates in PostgreSQL: additive upserts and period/dimension roll-ups."""

from __future__ import annotations

from datetime import date
from typing import Any

from jeugdstroom.common.db import Conn
from jeugdstroom.monitor.fold import CountKey

_PERIOD_SQL = {
    "day": "day",
    "month": "date_trunc('month', day)::date",
    "half_year": "make_date(extract(year FROM day)::int, CASE WHEN extract(month FROM day) <= 6 THEN 1 ELSE 7 END, 1)",
    "year": "date_trunc('year', day)::date",
}


async def add_counts(conn: Conn, deltas: dict[CountKey, int]) -> None:
    if not deltas:
        return
    keys = sorted(deltas, key=lambda k: (k.indicator, k.day, k.dims_key))  # stable lock order
    await conn.execute(
        """INSERT INTO monitor.counts (indicator, day, dims_key, dims, value)
           SELECT i, d, k, j, v FROM unnest($1::text[], $2::date[], $3::text[], $4::jsonb[], $5::bigint[])
                AS x(i, d, k, j, v)
           ON CONFLICT (indicator, day, dims_key) DO UPDATE SET value = monitor.counts.value + EXCLUDED.value""",
        [k.indicator for k in keys], [k.day for k in keys], [k.dims_key for k in keys],
        [dict(k.dims) for k in keys], [deltas[k] for k in keys],
    )


async def rollup(conn: Conn, indicator: str, period: str, group_by: list[str],
                 filters: dict[str, str], start: date | None, end: date | None) -> list[dict[str, Any]]:
    """Sum of an indicator per period and ``group_by`` dimensions, after ``filters``; ``end`` exclusive."""
    period_sql = _PERIOD_SQL[period]
    args: list[Any] = [indicator]
    where = ["indicator = $1"]
    for name, value in sorted(filters.items()):
        args.append(name)
        args.append(value)
        where.append(f"dims->>${len(args) - 1} = ${len(args)}")
    if start is not None:
        args.append(start)
        where.append(f"day >= ${len(args)}")
    if end is not None:
        args.append(end)
        where.append(f"day < ${len(args)}")
    dim_cols = []
    for name in group_by:
        args.append(name)
        dim_cols.append(f"dims->>${len(args)}")
    select_dims = "".join(f", {c} AS d{i}" for i, c in enumerate(dim_cols))
    group = ", ".join(["1", *(f"d{i}" for i in range(len(dim_cols)))])
    sql = (f"SELECT {period_sql} AS period_start{select_dims}, sum(value)::bigint AS value FROM monitor.counts"
           f" WHERE {' AND '.join(where)} GROUP BY {group} HAVING sum(value) <> 0 ORDER BY {group}")
    rows = await conn.fetch(sql, *args)
    return [
        {"period_start": r["period_start"], "dims": {n: r[f"d{i}"] for i, n in enumerate(group_by)},
         "value": r["value"]}
        for r in rows
    ]
