"""``jeugdstroom send FILE``: submit a JSON (one event or an array) or NDJSON file to intake, in batches.

Each batch is one request (a JSON array, or NDJSON lines for ``.ndjson``/``.jsonl`` files). A batch that
fails in transit or with a 5xx is sent again: intake is idempotent by (sender, id), so a resend can only
turn "accepted" into "duplicate", never publish twice. A 429 (the sender's rate limit) or 503 (intake's database
away) is retried after the answer's ``Retry-After``; a 429 as often as it comes, so nothing is dropped. Progress goes to stderr, the summary to stdout.
Exit code: 0 when every event was accepted or a duplicate, 1 when any was rejected, conflicting or
forbidden, 2 when the upload could not be done (file, network, token).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

STATUSES: tuple[str, ...] = ("accepted", "duplicate", "rejected", "conflict", "forbidden")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
#: The longest wait a ``Retry-After`` (429, 503) can ask of ``send``.
MAX_RETRY_AFTER = 60.0


class SendError(Exception):
    """The upload cannot go on (unreadable file, refused token, unreachable intake)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One request: its body and content type, and a label (``line 7``, ``item 3``) per event in it."""

    body: bytes
    content_type: str
    labels: list[str]


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    problems: list[str] = field(default_factory=list)  # one line per rejected/conflicting/forbidden event

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> bool:
        return any(self.counts[s] for s in ("rejected", "conflict", "forbidden"))

    def line(self) -> str:
        return ", ".join(f"{s} {self.counts[s]}" for s in STATUSES)


def is_ndjson(path: Path) -> bool:
    return path.suffix.lower() in NDJSON_SUFFIXES


def count_events(path: Path) -> int:
    if not path.is_file():
        raise SendError(f"{path}: no such file")
    if is_ndjson(path):
        with path.open("rb") as f:
            return sum(1 for raw in f if raw.strip())
    body = _load_json(path)
    return len(body) if isinstance(body, list) else 1


def _load_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        raise SendError(f"{path} is not valid JSON (use .ndjson for one event per line)") from None


def batches(path: Path, size: int) -> Iterator[Batch]:
    """The file's events in requests of at most ``size`` events."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    if is_ndjson(path):
        lines: list[bytes] = []
        labels: list[str] = []
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                raw = raw.strip()
                if not raw:
                    continue
                lines.append(raw)
                labels.append(f"line {number}")
                if len(lines) == size:
                    yield Batch(b"\n".join(lines) + b"\n", "application/x-ndjson", labels)
                    lines, labels = [], []
        if lines:
            yield Batch(b"\n".join(lines) + b"\n", "application/x-ndjson", labels)
        return
    body = _load_json(path)
    items = body if isinstance(body, list) else [body]
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        yield Batch(orjson.dumps(chunk), "application/json",
                    [f"item {start + i + 1}" for i in range(len(chunk))])


async def _post(client: httpx.AsyncClient, url: str, token: str, batch: Batch) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {token}", "content-type": batch.content_type}
    attempt = 0
    while True:
        try:
            resp = await client.post(url, content=batch.body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == len(RETRY_DELAYS):
                raise SendError(f"intake not reachable at {url}: {type(exc).__name__}") from None
            delay = RETRY_DELAYS[attempt]
            attempt += 1
        else:
            if resp.status_code == 202:
                results: list[dict[str, Any]] = resp.json()["results"]
                if len(results) != len(batch.labels):
                    raise SendError(f"intake answered {len(results)} results for {len(batch.labels)} events")
                return results
            if resp.status_code == 429:  # the sender's rate limit: wait as asked and send again, without limit
                await asyncio.sleep(retry_after(resp, RETRY_DELAYS[0]))
                continue
            if resp.status_code < 500 or attempt == len(RETRY_DELAYS):
                raise SendError(f"intake answered {resp.status_code}: {error_detail(resp)}")
            delay = max(RETRY_DELAYS[attempt], retry_after(resp, 0.0))  # 503: the database is away for a while
            attempt += 1
        await asyncio.sleep(delay)


def retry_after(resp: httpx.Response, default: float) -> float:
    """The answer's ``Retry-After`` in seconds (at most :data:`MAX_RETRY_AFTER`), or ``default``."""
    value = resp.headers.get("retry-after", "")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        return default


def error_detail(resp: httpx.Response, where: str = "field") -> str:
    """An intake error answer in one line. Intake answers RFC 9457 problem details: each error's field (for iJw:
    the element path) and reason, or the ``detail`` when there are none. ``where`` is read as well, for older
    answers whose errors named the iJw element ``element`` (and whose ``detail`` was the list of errors)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500]
    if not isinstance(body, dict):
        return resp.text[:500]
    detail = body.get("detail")
    errors = body.get("errors")
    if isinstance(detail, list):  # before problem details: the errors were the detail
        errors, detail = detail, None
    if isinstance(errors, list) and errors:
        return "; ".join(f"{e.get('field', e.get(where))}: {e.get('reason')}" for e in errors if isinstance(e, dict))
    return str(detail or body.get("title") or resp.text[:500])


def _problem(label: str, result: dict[str, Any]) -> str:
    ident = f" (id {result['id']})" if result.get("id") else ""
    errors = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in result.get("errors", []))
    return f"{label}{ident}: {result['status']}" + (f": {errors}" if errors else "")


def _progress(out: TextIO, done: int, total: int, summary: Summary) -> None:
    progress_line(out, "", done, total, f"{done}/{total} events · {summary.line()}")


def progress_line(out: TextIO, label: str, done: int, total: int, detail: str) -> None:
    """A progress bar: rewritten in place on a terminal, one line per call otherwise (logs, CI)."""
    width = 30
    filled = width * done // total if total else width
    pct = 100 * done // total if total else 100
    text = f"{label} [{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {detail}".lstrip()
    if out.isatty():
        out.write("\r" + text + ("\n" if done >= total else ""))
    else:
        out.write(text + "\n")
    out.flush()


async def send(path: Path, url: str, token: str, batch: int = 500, client: httpx.AsyncClient | None = None,
               progress: TextIO | None = None) -> Summary:
    """Submit ``path`` to the intake at ``url`` (base URL); ``client`` may be injected (tests, proxies)."""
    out = progress if progress is not None else sys.stderr
    total = count_events(path)
    endpoint = url.rstrip("/") + "/v1/events"
    summary = Summary()
    own = client is None
    http = client if client is not None else httpx.AsyncClient(timeout=120)
    try:
        done = 0
        for b in batches(path, batch):
            results = await _post(http, endpoint, token, b)
            for label, result in zip(b.labels, results, strict=True):
                status = result.get("status", "rejected")
                summary.counts[status] = summary.counts.get(status, 0) + 1
                if status not in ("accepted", "duplicate"):
                    summary.problems.append(_problem(label, result))
            done += len(b.labels)
            _progress(out, done, total, summary)
    finally:
        if own:
            await http.aclose()
    return summary


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="a .json file (one event or an array) or .ndjson file (one per line)")
    p.add_argument("--url", help="intake base URL (default: from settings, http://HOST:INTAKE_PORT)")
    p.add_argument("--token", default=os.environ.get("JEUGDSTROOM_SENDER_TOKEN"),
                   help="the sender's bearer token (default: $JEUGDSTROOM_SENDER_TOKEN)")
    p.add_argument("--batch", type=int, default=500, help="events per request (default: %(default)s)")


def cmd_send(args: argparse.Namespace, default_url: str, client: httpx.AsyncClient | None = None) -> int:
    if not args.token:
        print("error: --token (or JEUGDSTROOM_SENDER_TOKEN) is required", file=sys.stderr)
        return 2
    if args.batch < 1:
        print("error: --batch must be at least 1", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(send(args.file, args.url or default_url, args.token, args.batch, client))
    except SendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    print(f"{summary.total} events: {summary.line()}")
    return 1 if summary.failed else 0
