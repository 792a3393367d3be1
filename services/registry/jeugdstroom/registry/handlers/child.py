"""The child record: birth date and gemeente (from the latest effective fact) and the gemeente history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from jeugdstroom.registry.handlers.facts import ORDER, AnyFact, local_day


@dataclass(frozen=True, slots=True)
class ChildRecord:
    birth_date: date
    gemeente: str
    #: (valid_from, gemeente): valid from the event day on which the gemeente was first reported
    history: tuple[tuple[date, str], ...]
    #: the day (18th birthday + continuering days) whose passing by the watermark the achttien_in_pleegzorg fact
    #: waits for
    pending_birthday: date | None = None


def project(facts: Sequence[AnyFact], pending_birthday: date | None = None) -> ChildRecord | None:
    """The child as its effective facts describe it; None when it has none."""
    if not facts:
        return None
    ordered = sorted(facts, key=ORDER)
    last = ordered[-1]  # the latest (uids are unique, so no two facts tie)
    per_day: dict[date, str] = {}
    for f in ordered:
        per_day[local_day(f.occurred_at)] = f.gemeente  # the last report of a day counts for that day
    history: list[tuple[date, str]] = []
    for day, gemeente in sorted(per_day.items()):
        if not history or history[-1][1] != gemeente:
            history.append((day, gemeente))
    return ChildRecord(last.birth_date, last.gemeente, tuple(history), pending_birthday)
