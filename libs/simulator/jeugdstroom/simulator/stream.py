"""A whole run: children generated one at a time, written in sending order, in bounded memory.

Children come first from the caseload already in care when the window starts, then day by day from new
referrals (a Poisson number per day). Each child's emissions go to the ground truth and into one bucket
file per sending day; at the end the buckets are read back one at a time, sorted by sending time and
shuffled within small windows (out-of-order delivery) and written out. Memory therefore holds one child, a
bounded write buffer and one sending day, never the whole run. Everything is derived from the seed and
the child's key, so the same parameters give byte-identical output.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import orjson

from jeugdstroom.simulator.draws import poisson
from jeugdstroom.simulator.faults import Emission, add_faults
from jeugdstroom.simulator.regions import REGIONS, Region, old_codes
from jeugdstroom.simulator.story import (
    AMS,
    BsnSequence,
    Child,
    Ev,
    Story,
    Window,
    initial_birth,
    initial_plan,
    initial_story,
    new_child_birth,
    new_child_story,
)
from jeugdstroom.simulator.truth import Truth, add_rates

SHUFFLE_WINDOW = 40  # events shuffled together: a bounded out-of-order delivery
LATE_BUCKETS = 16  # sending days after the window (late events of its last days)
BUFFERED_LINES = 20_000  # lines kept in memory before buckets are flushed to disk


@dataclass(frozen=True, slots=True)
class Params:
    region: str
    days: int
    seed: int
    start: date
    scale: float = 1.0  # share of the region's volume (new children a day, children in care at the start)

    @property
    def window(self) -> Window:
        return Window(self.start, self.start + timedelta(days=self.days - 1))

    def validate(self, today: date) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r} (one of {', '.join(REGIONS)})")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0 < self.scale <= 100:
            raise ValueError("scale must be above 0 (and at most 100)")
        if self.window.as_of >= today:
            raise ValueError(f"the window must end before today: start + days must be on or before {today}")


@dataclass
class Stats:
    children: int = 0
    events: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    senders: set[str] = field(default_factory=set)

    def add(self, emissions: list[Emission]) -> None:
        self.children += 1
        self.events += len(emissions)
        for em in emissions:
            self.by_type[em.event.get("type", "?")] += 1
            if em.fault:
                self.faults[em.fault] += 1
            self.senders.add(em.event["sender"])

    def as_json(self) -> dict[str, object]:
        return {
            "children": self.children,
            "events": self.events,
            "by_type": dict(sorted(self.by_type.items())),
            "faults": dict(sorted(self.faults.items())),
            "senders": len(self.senders),
        }


def _gemeente(rng: random.Random, region: Region) -> str:
    return rng.choices(region.gemeente_codes, weights=region.gemeente_weights)[0]


def _child(key: str, rng: random.Random, region: Region, bsn: str, birth: date) -> Child:
    """A child living in a gemeente drawn by weight; in a region with ``old_code_share``, some children of a
    gemeente formed by herindelingen are reported under one of its merged-away codes."""
    gemeente = _gemeente(rng, region)
    reported = ""
    if region.old_code_share > 0 and rng.random() < region.old_code_share:
        olds = old_codes().get(gemeente, ())
        reported = rng.choice(olds) if olds else ""
    return Child(key, bsn, birth, gemeente, reported)


@dataclass(frozen=True, slots=True)
class Generated:
    """One child: its clean story and what its senders actually sent."""

    child: Child
    clean: list[Ev]
    emissions: list[Emission]


def initial_child(params: Params, j: int, bsn: str) -> Generated:
    """The ``j``-th child already in care at the window's start."""
    region, window = REGIONS[params.region], params.window
    rng = random.Random(f"{params.seed}:initial:{j}")
    plan = initial_plan(rng, placement=j < round(region.initial_placements * params.scale))
    child = _child(f"i{j}", rng, region, bsn, initial_birth(rng, window.start, plan))
    story = Story(child, rng, window, region)
    initial_story(story, plan)
    return Generated(child, story.events, add_faults(story.events, rng, window))


def new_child(params: Params, day_index: int, c: int, bsn: str) -> Generated:
    """The ``c``-th child referred on day ``day_index`` of the window."""
    region, window = REGIONS[params.region], params.window
    rng = random.Random(f"{params.seed}:child:{day_index}:{c}")
    day = window.start + timedelta(days=day_index)
    child = _child(f"d{day_index}c{c}", rng, region, bsn, new_child_birth(rng, day))
    story = Story(child, rng, window, region)
    new_child_story(story, day)
    return Generated(child, story.events, add_faults(story.events, rng, window))


def children_on_day(params: Params, day_index: int) -> int:
    """How many children are referred on day ``day_index`` (Poisson around the region's rate)."""
    rng = random.Random(f"{params.seed}:day:{day_index}")
    return poisson(rng, REGIONS[params.region].new_children_per_day * params.scale)


def initial_children(params: Params) -> int:
    """How many children are already in care at the window's start (placements first, then measures)."""
    region = REGIONS[params.region]
    return round(region.initial_placements * params.scale) + round(region.initial_measures * params.scale)


def children(params: Params, on_day: Callable[[int], None] | None = None) -> Iterator[Generated]:
    """Every child of the run with its emissions, in generation order (never all at once)."""
    bsns = BsnSequence(params.seed)
    for j in range(initial_children(params)):
        yield initial_child(params, j, bsns.next())
    for i in range(params.days):
        for c in range(children_on_day(params, i)):
            yield new_child(params, i, c, bsns.next())
        if on_day is not None:
            on_day(i + 1)


class _Buckets:
    """Lines grouped by sending day in temporary files, each line prefixed with its sort key."""

    def __init__(self, folder: Path, window: Window) -> None:
        self.folder = folder
        self.window = window
        self.count = window.days + LATE_BUCKETS
        self.buffers: dict[int, list[bytes]] = {}
        self.buffered = 0
        self.seq = 0

    def add(self, em: Emission) -> None:
        local_day = em.send_at.astimezone(AMS).date()
        bucket = min(max((local_day - self.window.start).days, 0), self.count - 1)
        micros = int(em.send_at.timestamp() * 1_000_000)
        self.seq += 1
        line = b"%020d %012d " % (micros, self.seq) + orjson.dumps(em.event) + b"\n"
        self.buffers.setdefault(bucket, []).append(line)
        self.buffered += 1
        if self.buffered >= BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        for bucket, lines in self.buffers.items():
            with (self.folder / f"{bucket:05d}").open("ab") as f:
                f.writelines(lines)
        self.buffers.clear()
        self.buffered = 0

    def drain(self, seed: int, out: BinaryIO) -> None:
        self.flush()
        for bucket in range(self.count):
            path = self.folder / f"{bucket:05d}"
            if not path.exists():
                continue
            lines = path.read_bytes().splitlines(keepends=True)
            path.unlink()
            lines.sort()
            rng = random.Random(f"{seed}:shuffle:{bucket}")
            for i in range(0, len(lines), SHUFFLE_WINDOW):
                chunk = lines[i : i + SHUFFLE_WINDOW]
                rng.shuffle(chunk)
                out.writelines(line[34:] for line in chunk)


def generate(
    params: Params, out: BinaryIO, truth: Truth | None = None, progress: Callable[[int, int, Stats], None] | None = None
) -> Stats:
    """Write the run's events (NDJSON, in sending order) to ``out`` and feed every child to ``truth``."""
    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="jeugdstroom-sim-") as tmp:
        buckets = _Buckets(Path(tmp), params.window)

        def on_day(done: int) -> None:
            if progress is not None:
                progress(done, params.days, stats)

        for generated in children(params, on_day):
            emissions = generated.emissions
            stats.add(emissions)
            if truth is not None:
                truth.add_child((em.event, em.invalid) for em in emissions)
            for em in emissions:
                buckets.add(em)
        buckets.drain(params.seed, out)
    return stats


def truth_document(
    params: Params,
    truth: Truth,
    stats: Stats,
    periods: tuple[str, ...],
    population: Mapping[tuple[int, str, int, str], int] | None = None,
) -> bytes:
    """The ground-truth JSON: ``params`` and one list of rows per indicator, one row per line; with the synthetic
    ``population`` (simulator/population.py) the indicators about children carry ``per_1000``."""
    head = {
        "region": params.region,
        "seed": params.seed,
        "days": params.days,
        "scale": params.scale,
        "start": params.start.isoformat(),
        "as_of": params.window.as_of.isoformat(),
        "timezone": "Europe/Amsterdam",
        "periods": list(periods),
        "watermark_grace_days": truth.grace_days,
        "suppression": False,
        "stream": stats.as_json(),
        "population": "synthetic" if population is not None else None,
    }
    parts = [b'{"params": ', orjson.dumps(head), b',\n"indicators": {']
    result = truth.result(params.window.as_of, periods)
    if population is not None:
        add_rates(result, population)
    for n, (indicator, rows) in enumerate(result.items()):
        parts.append(b"%s\n%s: [" % (b"," if n else b"", orjson.dumps(indicator)))
        parts.append(b",".join(b"\n  " + orjson.dumps(row) for row in rows))
        parts.append(b"\n]" if rows else b"]")
    parts.append(b"\n}}\n")
    return b"".join(parts)


def today() -> date:
    """Today in Europe/Amsterdam."""
    return datetime.now(UTC).astimezone(AMS).date()


def default_start(days: int, on: date | None = None) -> date:
    """The default window: the ``days`` days before today (every event then lies in the past)."""
    return (on or today()) - timedelta(days=days)
