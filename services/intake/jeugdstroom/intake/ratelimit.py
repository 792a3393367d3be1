"""Per-sender rate limits: one token bucket per sender, counted in events, so one sender cannot starve the others.

A bucket holds at most ``burst`` events and refills at ``rate`` events per second. A request of ``n`` events takes
``n`` (at most ``burst``, so a full batch always fits an idle bucket); when the bucket holds fewer, the request is
refused with the seconds until it would fit (intake answers 429 with ``Retry-After``). The buckets live in the
process (one intake instance per deployment, docs/operations); senders are registered, so their number is bounded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter

LIMITED = Counter("jeugdstroom_intake_rate_limited_total",
                  "Requests refused (429) or NDJSON chunks slowed by a sender's rate limit")


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, n: int, now: float) -> float:
        """Take ``n`` events' worth; 0 when granted, else the seconds until they would be (nothing is taken)."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        cost = min(n, self.burst)
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def reserve(self, n: int, now: float) -> float:
        """Take ``n`` events' worth even into debt; the seconds until the debt is repaid (0 when there was none)."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= min(n, self.burst)
        return max(0.0, -self.tokens / self.rate)


@dataclass(slots=True)
class SenderLimits:
    """The buckets of every sender; ``rate`` 0 switches the limit off."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def _bucket(self, sender: str, now: float) -> TokenBucket:
        bucket = self.buckets.get(sender)
        if bucket is None:
            bucket = self.buckets[sender] = TokenBucket(self.rate, self.burst, float(self.burst), now)
        return bucket

    def take(self, sender: str, n: int) -> float:
        """0 when ``sender`` may submit ``n`` events now (they are taken), else the seconds to wait."""
        if self.rate <= 0 or n <= 0:
            return 0.0
        now = self.clock()
        wait = self._bucket(sender, now).take(n, now)
        if wait > 0:
            LIMITED.inc()
        return wait

    def reserve(self, sender: str, n: int) -> float:
        """Take ``n`` events for ``sender`` now, into debt if need be; the seconds to wait before going on."""
        if self.rate <= 0 or n <= 0:
            return 0.0
        now = self.clock()
        wait = self._bucket(sender, now).reserve(n, now)
        if wait > 0:
            LIMITED.inc()
        return wait


def retry_after(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
