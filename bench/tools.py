"""The benchmark's own tools, each in its own virtual environment under ``.data/`` created on first use (no manual
pip step): Quix Streams (the peer; its pins on pydantic and confluent-kafka conflict with the project's, so it
never shares ``.venv``) and py-spy (the profiler, a standalone binary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: Quix Streams and what ``bench/quix_peer.py`` imports besides the standard library, pinned to the versions the
#: peer was last verified with (its Kafka client and state store included), so that every fresh venv runs the same.
QUIX = ("quixstreams==3.28.1", "confluent-kafka==2.12.2", "rocksdict==0.3.29", "orjson")
PYSPY = ("py-spy>=0.4,<0.5",)


def venv(name: str, requirements: tuple[str, ...], probe: str) -> Path:
    """The python of ``.data/bench-venv-<name>``, created with ``requirements`` when ``probe`` (a module, or a
    script in its bin/) is missing, and installed again when ``requirements`` changed since (``requirements.txt``
    in the venv records them); the pip output goes to ``.data/bench-venv-<name>.log``."""
    root = Path(".data") / f"bench-venv-{name}"
    python = root / "bin" / "python"
    installed = root / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if _present(root, probe) and installed.exists() and installed.read_text() == wanted:
        return python
    root.parent.mkdir(parents=True, exist_ok=True)
    log = root.parent / f"bench-venv-{name}.log"
    print(
        f"bench: installing {' '.join(requirements)} into {root} (first use or new requirements; log {log})", flush=True
    )
    with open(log, "ab") as out:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, stdout=out, stderr=out)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
            check=True,
            stdout=out,
            stderr=out,
        )
    if not _present(root, probe):
        raise RuntimeError(f"{probe} missing after installing into {root}; see {log}")
    installed.write_text(wanted)
    return python


def _present(root: Path, probe: str) -> bool:
    python = root / "bin" / "python"
    if (root / "bin" / probe).exists():
        return True
    if not python.exists():
        return False
    return subprocess.run([str(python), "-c", f"import {probe}"], capture_output=True).returncode == 0


def quix_python() -> Path:
    """The interpreter that runs ``bench.quix_peer``."""
    return venv("quix", QUIX, "quixstreams")


def py_spy() -> Path:
    """The py-spy executable."""
    return venv("tools", PYSPY, "py-spy").parent / "py-spy"
