"""``jeugdstroom ijw import FILE...``: submit iJw 3.2 XML messages (one per file) to intake's ``POST /v1/ijw``.

Files are sent one by one in the order given (a correction after the record it corrects). A request that fails in
transit or with a 5xx is sent again: event ids derive from the message identity, so a resend can only turn
"accepted" into "duplicate". One line per file goes to stdout. Exit code: 0 when every message was taken (its
events accepted or duplicates), 1 when any message was refused (4xx), 2 when the import could not be done
(no token, unreadable file, unreachable intake).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from jeugdstroom.cli.send import RETRY_DELAYS, SendError, error_detail, retry_after


@dataclass
class ImportSummary:
    taken: int = 0  # messages whose events were accepted or were duplicates
    refused: int = 0
    events: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0})
    skipped: int = 0

    @property
    def failed(self) -> bool:
        return self.refused > 0

    def line(self) -> str:
        return (f"{self.taken + self.refused} messages: {self.taken} taken, {self.refused} refused; events: "
                f"accepted {self.events['accepted']}, duplicate {self.events['duplicate']}, "
                f"records skipped {self.skipped}")


async def _post(client: httpx.AsyncClient, endpoint: str, token: str, body: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/xml"}
    attempt = 0
    while True:
        try:
            resp = await client.post(endpoint, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == len(RETRY_DELAYS):
                raise SendError(f"intake not reachable at {endpoint}: {type(exc).__name__}") from None
            delay = RETRY_DELAYS[attempt]
            attempt += 1
        else:
            if resp.status_code == 401:
                raise SendError(f"intake answered 401: {error_detail(resp, 'element')}")
            if resp.status_code == 429:  # the sender's rate limit: wait as asked, then send again
                await asyncio.sleep(retry_after(resp, RETRY_DELAYS[0]))
                continue
            if resp.status_code < 500 or attempt == len(RETRY_DELAYS):
                return resp
            delay = max(RETRY_DELAYS[attempt], retry_after(resp, 0.0))
            attempt += 1
        await asyncio.sleep(delay)


async def import_files(paths: list[Path], url: str, token: str, client: httpx.AsyncClient | None = None,
                       out: TextIO | None = None) -> ImportSummary:
    """Submit every file in ``paths`` to the intake at ``url`` (base URL); ``client`` may be injected."""
    stream = out if out is not None else sys.stdout
    for path in paths:
        if not path.is_file():
            raise SendError(f"{path}: no such file")
    endpoint = url.rstrip("/") + "/v1/ijw"
    summary = ImportSummary()
    own = client is None
    http = client if client is not None else httpx.AsyncClient(timeout=120)
    try:
        for path in paths:
            resp = await _post(http, endpoint, token, path.read_bytes())
            if resp.status_code in (200, 202):
                body: dict[str, Any] = resp.json()
                summary.taken += 1
                for status in ("accepted", "duplicate"):
                    summary.events[status] += body["summary"].get(status, 0)
                summary.skipped += len(body.get("skipped", []))
                counts = ", ".join(f"{k} {v}" for k, v in body["summary"].items() if v)
                stream.write(f"{path}: {body['message']}: {counts or 'no events'}"
                             + (f", {len(body['skipped'])} record(s) skipped" if body.get("skipped") else "") + "\n")
            else:
                summary.refused += 1
                stream.write(f"{path}: refused ({resp.status_code}): {error_detail(resp, 'element')}\n")
            stream.flush()
    finally:
        if own:
            await http.aclose()
    return summary


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="ijw_cmd", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="submit iJw 3.2 XML messages (JW315, JW301, JW305, JW307), one per file")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE", help="iJw XML files, sent in this order")
    imp.add_argument("--url", help="intake base URL (default: from settings, http://HOST:INTAKE_PORT)")
    imp.add_argument("--token", default=os.environ.get("JEUGDSTROOM_SENDER_TOKEN"),
                     help="the sender's bearer token (default: $JEUGDSTROOM_SENDER_TOKEN)")


def cmd_ijw(args: argparse.Namespace, default_url: str, client: httpx.AsyncClient | None = None) -> int:
    if not args.token:
        print("error: --token (or JEUGDSTROOM_SENDER_TOKEN) is required", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(import_files(args.files, args.url or default_url, args.token, client))
    except SendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.line())
    return 1 if summary.failed else 0
