"""The benchmark harness runs (tiny N, limits, end to end, the rebuild and the ceiling). Slow: it starts its own broker, PostgreSQL and
the services; it asserts that the harness works and the pipeline finished, never how fast (that is bench/'s job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_n() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--n", "1500", "--only", "limits,e2e,rebuild,ceiling", "--no-doc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Limits: the same events" in out
    end_to_end = out.split("End to end:", 1)[1]
    assert "1,500" in end_to_end.splitlines()[3]  # the row of N = 1,500 (header, rule, row)
    rebuild = out.split("Rebuild: jeugdstroom rebuild monitor", 1)[1]
    assert rebuild.splitlines()[3].startswith("1,500") and "A national year" in rebuild
    ceiling = out.split("Ceiling: the registry's projection", 1)[1]
    assert ceiling.splitlines()[3].startswith("1,500")
