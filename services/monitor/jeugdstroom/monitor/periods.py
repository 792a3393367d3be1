"""Calendar periods (day, month, half_year, year), each named by its first day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Literal

from jeugdstroom.common.calendar import today as today  # the default ``as_of`` (Europe/Amsterdam)

Period = Literal["day", "month", "half_year", "year"]
PERIODS: tuple[Period, ...] = ("day", "month", "half_year", "year")

#: SQL expression of the period start of the column ``day``.
PERIOD_SQL: dict[str, str] = {
    "day": "day",
    "month": "date_trunc('month', day)::date",
    "half_year": "make_date(extract(year FROM day)::int, CASE WHEN extract(month FROM day) <= 6 THEN 1 ELSE 7 END, 1)",
    "year": "date_trunc('year', day)::date",
}


def start_of(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "month":
        return day.replace(day=1)
    if period == "half_year":
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


def next_start(start: date, period: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    months = {"month": 1, "half_year": 6, "year": 12}[period]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


def last_day(start: date, period: str) -> date:
    return next_start(start, period) - timedelta(days=1)


def starts(first: date, last: date, period: str) -> Iterator[date]:
    """Starts of the periods from the one containing ``first`` to the one containing ``last``."""
    s = start_of(first, period)
    while s <= last:
        yield s
        s = next_start(s, period)
