"""The per-sender token bucket: a burst, then the rate; refusals say how long to wait; senders do not share."""

from __future__ import annotations

from jeugdstroom.intake.ratelimit import SenderLimits, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate_and_the_wait_is_exact() -> None:
    clock = Clock()
    limits = SenderLimits(rate=10.0, burst=50, clock=clock)
    assert limits.take("a", 50) == 0.0
    assert limits.take("a", 5) == 0.5  # 5 events at 10/s
    assert limits.take("b", 50) == 0.0  # another sender has its own bucket
    clock.now += 0.5
    assert limits.take("a", 5) == 0.0
    assert limits.take("a", 1) == 0.1


def test_a_batch_larger_than_the_burst_fits_an_idle_bucket_and_off_means_off() -> None:
    clock = Clock()
    limits = SenderLimits(rate=1.0, burst=10, clock=clock)
    assert limits.take("a", 1000) == 0.0
    assert limits.take("a", 1) == 1.0
    assert SenderLimits(rate=0.0, burst=1, clock=clock).take("a", 10**6) == 0.0


def test_reserve_goes_into_debt_and_says_how_long_to_wait() -> None:
    clock = Clock()
    limits = SenderLimits(rate=10.0, burst=10, clock=clock)
    assert limits.reserve("a", 10) == 0.0
    assert limits.reserve("a", 10) == 1.0
    assert limits.take("a", 1) > 1.0  # the debt is repaid first


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after(w) for w in (0.01, 1.0, 1.2)] == ["1", "1", "2"]
