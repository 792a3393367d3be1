"""Pure fold functions: what one entity version contributes to the aggregates.

A change (before → after) contributes ``contributions(after) − contributions(before)``, so the
aggregates are additive and a compensating change undoes exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from jeugdstroom.common.contracts.changes import SeparatieChange, SeparatieEpisode
from jeugdstroom.monitor.regions import jeugdregio

TZ = ZoneInfo("Europe/Amsterdam")
Dims = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CountKey:
    indicator: str
    day: date
    dims: Dims

    @property
    def dims_key(self) -> str:
        return ";".join(f"{k}={v}" for k, v in self.dims)


def _dims(**kw: str) -> Dims:
    return tuple(sorted(kw.items()))


def separatie_contributions(ep: SeparatieEpisode | None) -> list[CountKey]:
    if ep is None or ep.start is None:
        return []
    day = ep.start.astimezone(TZ).date()
    dims = _dims(gemeente=ep.gemeente, jeugdregio=jeugdregio(ep.gemeente), instelling=ep.instelling, vorm=ep.vorm)
    return [CountKey("separaties", day, dims)]


def deltas(changes: Iterable[SeparatieChange]) -> dict[CountKey, int]:
    """Net count deltas of a batch of changes (zero entries dropped)."""
    out: dict[CountKey, int] = defaultdict(int)
    for ch in changes:
        for key in separatie_contributions(ch.before):
            out[key] -= 1
        for key in separatie_contributions(ch.after):
            out[key] += 1
    return {k: v for k, v in out.items() if v != 0}
