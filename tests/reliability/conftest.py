"""The fault report of the reliability suite.

Each scenario records what it did (``fault_report.record(...)``); the outcome of the test is added when it ends.
With ``JEUGDSTROOM_RELIABILITY_REPORT=docs/reliability.md`` the table of this run replaces the generated section
of that file (between the ``reliability-report`` markers), e.g.::

    JEUGDSTROOM_RELIABILITY_REPORT=docs/reliability.md .venv/bin/python -m pytest tests/reliability --run-slow
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

START = "<!-- reliability-report:start -->"
END = "<!-- reliability-report:end -->"


@dataclass
class Entry:
    test: str
    scenario: str = ""
    fault: str = ""
    result: str = ""
    outcome: str = "not run"
    seconds: float = 0.0
    slow: bool = False


@dataclass
class Recorder:
    entry: Entry
    started: float = field(default_factory=time.monotonic)

    def record(self, scenario: str, fault: str, result: str) -> None:
        """What was done to the system (``fault``) and what was checked afterwards (``result``)."""
        self.entry.scenario, self.entry.fault, self.entry.result = scenario, fault, result


ENTRIES: list[Entry] = []


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    entry = Entry(request.node.nodeid.split("::")[-1], slow="slow" in request.node.keywords)
    ENTRIES.append(entry)
    rec = Recorder(entry)
    request.node.stash[_KEY] = rec
    yield rec


_KEY = pytest.StashKey[Recorder]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    rec = item.stash.get(_KEY, None)
    if rec is not None and call.when == "call":
        rec.entry.outcome = "passed" if getattr(report, "passed", False) else "FAILED"
        rec.entry.seconds = time.monotonic() - rec.started
    return report


def table(entries: list[Entry]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Generated {when} on {platform.machine()} ({os.cpu_count()} cores) by"
        f" `tests/reliability` ({'long run, --run-slow' if any(e.slow for e in entries) else 'CI run'}).",
        "",
        "| scenario | version | fault injected | checked afterwards | outcome | time |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        if not e.scenario:
            if e.outcome != "FAILED":
                continue
            e.scenario, e.fault, e.result = e.test, "(failed before it recorded what it did)", "see the test log"
        lines.append(f"| {e.scenario} | {'long' if e.slow else 'CI'} | {e.fault} | {e.result} | {e.outcome} |"
                     f" {e.seconds:.0f} s |")
    return "\n".join(lines)


def write_report(path: Path, entries: list[Entry]) -> None:
    """Write the table of ``entries`` into ``path``; rows of scenarios this run did not run are kept."""
    text = path.read_text() if path.exists() else f"# Reliability\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    old, _, tail = rest.partition(END)
    new = table(entries).splitlines()
    ran = {_row_key(line) for line in new if line.startswith("| ") and _row_key(line)}
    kept = [line for line in old.splitlines() if line.startswith("| ") and _row_key(line)
            and _row_key(line) not in ran and not line.startswith("| scenario ")]
    if kept:
        new[0] = new[0].replace(" by", ", with rows of earlier runs kept, by", 1)
    path.write_text(f"{head}{START}\n" + "\n".join(new + kept) + f"\n{END}{tail}")


def _row_key(line: str) -> tuple[str, str] | None:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return (cells[0], cells[1]) if len(cells) >= 6 and cells[0] not in ("scenario", "---") else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("JEUGDSTROOM_RELIABILITY_REPORT")
    if target and any(e.scenario or e.outcome == "FAILED" for e in ENTRIES):
        write_report(Path(target), ENTRIES)
