"""Completeness of the data per instelling (docs/monitor.md, "Completeness") and instelling names.

The fold records, per instelling, when the monitor last saw one of its events (intake's ``accepted_at`` of the event
behind each registry change) and on how many days (Europe/Amsterdam) it delivered. An instelling's *rhythm* is its
mean gap between delivery days, ``(last_day − first_day) / (active_days − 1)``; it is *op schema* while the days
since its last delivery are at most ``2 × rhythm + 1`` (a daily sender: 3 days; a weekly one: 15), *achter*
beyond that, and *onbekend* with fewer than :data:`MIN_DAYS` delivery days (no rhythm yet).

"Data t/m" is the earliest last delivery day among the instellingen that are not behind: up to that day every
instelling keeping its rhythm has delivered; the instellingen behind are counted apart. The public answer holds only
these aggregates; the per-instelling list is for the operator and for an instelling's own scoped token.

Replays are harmless: ``last_at`` is a maximum and a day counts only when it is later than the stored last day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jeugdstroom.common.db import Conn
from jeugdstroom.common.sql import load_queries

#: The monitor's static statements (``queries.sql``, next to ``repository.py``).
Q = load_queries("jeugdstroom.monitor", "queries.sql")

TZ = ZoneInfo("Europe/Amsterdam")
MIN_DAYS = 3
STATUSES = ("op_schema", "achter", "onbekend")


@dataclass(frozen=True, slots=True)
class Activity:
    instelling: str
    first_at: datetime
    last_at: datetime
    first_day: date
    last_day: date
    active_days: int


def rhythm_days(a: Activity) -> float | None:
    """Mean days between delivery days, None with fewer than MIN_DAYS of them."""
    if a.active_days < MIN_DAYS:
        return None
    return (a.last_day - a.first_day).days / (a.active_days - 1)


def allowance_days(a: Activity) -> int | None:
    r = rhythm_days(a)
    return None if r is None else math.ceil(2 * r) + 1


def status(a: Activity, today: date) -> str:
    allowed = allowance_days(a)
    if allowed is None:
        return "onbekend"
    return "op_schema" if (today - a.last_day).days <= allowed else "achter"


def summary(activities: Iterable[Activity], today: date) -> dict[str, Any]:
    """The public aggregate: ``data_tm`` and the number of instellingen per status."""
    acts = list(activities)
    counts = dict.fromkeys(STATUSES, 0)
    keeping: list[date] = []
    for a in acts:
        s = status(a, today)
        counts[s] += 1
        if s != "achter":
            keeping.append(a.last_day)
    data_tm = min(keeping) if keeping else (max(a.last_day for a in acts) if acts else None)
    return {
        "as_of": today.isoformat(),
        "data_tm": None if data_tm is None else data_tm.isoformat(),
        "instellingen": len(acts),
        **counts,
    }


def detail(a: Activity, today: date, naam: str | None) -> dict[str, Any]:
    r = rhythm_days(a)
    return {
        "instelling": a.instelling,
        "naam": naam,
        "last_event_at": a.last_at.isoformat(),
        "last_day": a.last_day.isoformat(),
        "active_days": a.active_days,
        "rhythm_days": None if r is None else round(r, 1),
        "allowance_days": allowance_days(a),
        "status": status(a, today),
    }


def batch_activity(items: Iterable[tuple[str, datetime]]) -> dict[str, list[datetime]]:
    """instelling → the acceptance times of its changes in a batch, sorted."""
    out: dict[str, list[datetime]] = {}
    for instelling, at in items:
        out.setdefault(instelling, []).append(at)
    return {k: sorted(v) for k, v in out.items()}


def merge(old: Activity | None, instelling: str, times: Sequence[datetime]) -> Activity:
    """The stored activity after a batch's acceptance times (sorted, non-empty)."""
    days = sorted({t.astimezone(TZ).date() for t in times})
    if old is None:
        return Activity(instelling, times[0], times[-1], days[0], days[-1], len(days))
    new_days = [d for d in days if d > old.last_day]
    first_at = min(old.first_at, times[0])
    return Activity(
        instelling,
        first_at,
        max(old.last_at, times[-1]),
        min(old.first_day, first_at.astimezone(TZ).date()),
        max(old.last_day, days[-1]),
        old.active_days + len(new_days),
    )


async def record(conn: Conn, items: Iterable[tuple[str, datetime]]) -> None:
    """Fold a batch's (instelling, accepted_at) pairs into ``monitor.instelling_activity`` (in the batch's
    transaction). The merge happens in the upsert itself (the same rule as :func:`merge`), so two monitor processes
    folding at once neither lose a day nor deadlock (rows are written in code order)."""
    batch = batch_activity(items)
    if not batch:
        return
    args = []
    for instelling, times in sorted(batch.items()):
        days = sorted({t.astimezone(TZ).date() for t in times})
        args.append((instelling, times[0], times[-1], days[0], days[-1], days))
    await conn.executemany(
        Q.record_activity,
        args,
    )


async def activities(conn: Conn) -> list[Activity]:
    rows = await conn.fetch(Q.activities)
    return [Activity(**dict(r)) for r in rows]


async def names(conn: Conn, codes: Iterable[str] | None = None) -> dict[str, str]:
    """instelling → name, as registered with ``jeugdstroom sender add --name`` (all, or those of ``codes``)."""
    if codes is None:
        rows = await conn.fetch(Q.names)
    else:
        rows = await conn.fetch(
            Q.names_of, list(codes)
        )
    return {r["instelling"]: r["naam"] for r in rows}


async def set_name(conn: Conn, instelling: str, naam: str) -> None:
    """Record an instelling's name (called by ``jeugdstroom sender add``)."""
    await conn.execute(
        Q.set_name,
        instelling,
        naam,
    )


def with_instelling_names(rows: Sequence[Mapping[str, Any]], known: Mapping[str, str]) -> list[dict[str, Any]]:
    """API rows with ``names.instelling`` where the row has an instelling value with a known name."""
    out = []
    for r in rows:
        code = (r.get("dims") or {}).get("instelling")
        if code is not None and code in known:
            out.append({**r, "names": {**(r.get("names") or {}), "instelling": known[code]}})
        else:
            out.append(dict(r))
    return out
