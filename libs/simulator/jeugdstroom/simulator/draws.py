"""Small helpers of the stories: a child's birthdays, and durations and counts drawn from a story's random stream.
Shared by the core narrative (``story.py``) and the event types' own stories (``kinds/``)."""

from __future__ import annotations

import math
import random
from datetime import date


def birthday(birth: date, years: int) -> date:
    """The ``years``-th birthday (a child born on 29 February has it on 1 March in other years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def lognormal_days(rng: random.Random, median: float, sigma: float, low: int = 1) -> int:
    """A duration in days around ``median`` (log-normal with ``sigma``), at least ``low``."""
    return max(low, int(median * math.exp(sigma * rng.gauss(0.0, 1.0))))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with ``mean`` (a normal approximation above 50)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
