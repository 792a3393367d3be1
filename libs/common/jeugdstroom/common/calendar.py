"""The calendar the services count in: Europe/Amsterdam days and birthdays (one definition for registry and monitor).

The simulator's ground truth (``jeugdstroom.simulator.truth``) keeps its own copy on purpose: it is computed
independently of the services' code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

#: The time zone every calendar day of the system is taken in.
TZ: Final = ZoneInfo("Europe/Amsterdam")


def local_day(moment: datetime) -> date:
    """The Europe/Amsterdam calendar day of an aware datetime."""
    return moment.astimezone(TZ).date()


def today() -> date:
    """Today in Europe/Amsterdam."""
    return datetime.now(TZ).date()


def birthday(birth_date: date, years: int) -> date:
    """The day a child born on ``birth_date`` turns ``years`` old (29 February → 1 March in non-leap years)."""
    try:
        return birth_date.replace(year=birth_date.year + years)
    except ValueError:
        return date(birth_date.year + years, 3, 1)


def eighteenth_birthday(birth_date: date) -> date:
    """The 18th birthday (a child born on 29 February turns 18 on 1 March in a non-leap year)."""
    return birthday(birth_date, 18)
