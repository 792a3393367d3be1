"""Summaries of py-spy's raw (collapsed) stacks: the functions with the most samples, inclusive and self."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

#: Frames every sample passes through (the event loop, the service runner, the consumer loop's outer steps).
_PLUMBING = frozenset(
    {
        "<module>",
        "_run_code",
        "_run_module_as_main",
        "main",
        "run_until_complete",
        "run_forever",
        "_run_once",
        "BaseEventLoop.run_until_complete",
        "BaseEventLoop.run_forever",
        "BaseEventLoop._run_once",
        "asyncio_run",
        "run_service",
        "Server.run",
        "Runner.run",
        "run",
        "Handle._run",
        "supervise",
        "create_app.<locals>.lifespan.<locals>.consume",
        "StoredOffsetConsumer.run",
        "StoredOffsetConsumer.step",
        "StoredOffsetConsumer.handle",
        "serve",
        "Server.serve",
    }
)


def top(path: Path, k: int = 15) -> list[tuple[str, float, float]]:
    """(function, inclusive %, self %) of the ``k`` functions with the most inclusive samples."""
    if not path.exists():
        return []
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")" if " (" in f else f
            for f in stack.split(";")
        ]
        total += n
        for f in set(frames):
            inclusive[f] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return []
    ranked = [(f, c) for f, c in inclusive.most_common() if f.split(" (")[0] not in _PLUMBING]
    return [(f, 100 * c / total, 100 * own[f] / total) for f, c in ranked[:k]]
