"""``jeugdstroom token`` (scoped reader tokens) and ``jeugdstroom audit`` (the trail of exact reads), docs/privacy.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from jeugdstroom.common import access, db
from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings


def add_token_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="token_cmd", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="issue a reader token and print it once")
    add.add_argument("--name", required=True, help="who holds it (a person or team; shown in the audit trail)")
    add.add_argument(
        "--scope",
        required=True,
        help="operator | gemeente:GM0268 | jeugdregio:JZ32 (the jeugdregio dimension value) | instelling:12345678",
    )
    add.add_argument("--expires", help="valid for this long, e.g. 90d or 12h (default: until revoked)")
    sub.add_parser("list", help="list reader tokens (never the secrets)")
    rev = sub.add_parser("revoke", help="revoke every token of a name")
    rev.add_argument("--name", required=True)
    rot = sub.add_parser("rotate", help="issue a new token for a name; its older tokens expire after the overlap")
    rot.add_argument("--name", required=True)
    rot.add_argument("--overlap", default="7d", help="how long the older tokens stay valid (default: %(default)s)")
    rot.add_argument("--expires", help="validity of the new token, e.g. 90d (default: until revoked)")


def add_audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="7d", help="a date (2026-01-31) or a duration back from now (7d, 12h)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


async def _with_conn(settings: Settings, fn: Callable[[Conn], Awaitable[int]]) -> int:
    await db.migrate(settings.database_url)
    conn = await db.connect(settings.database_url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    try:
        expires = access.parse_duration(args.expires) if getattr(args, "expires", None) else None
        if args.token_cmd == "add":
            access.parse_scope(args.scope)
        overlap = access.parse_duration(args.overlap) if args.token_cmd == "rotate" else None
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    async def go(conn: Conn) -> int:
        if args.token_cmd == "add":
            token = await access.add_token(conn, args.name, args.scope, expires)
            print(f"token for {args.name} ({args.scope}); shown once, store it safely:\n{token}")
            return 0
        if args.token_cmd == "rotate":
            assert overlap is not None
            new = await access.rotate(conn, args.name, overlap, expires)
            if new is None:
                print(f"{args.name}: no valid token to rotate", file=sys.stderr)
                return 1
            print(f"new token for {args.name}; the older ones stay valid for {args.overlap}. Shown once:\n{new}")
            return 0
        if args.token_cmd == "revoke":
            n = await access.revoke(conn, args.name)
            print(f"{args.name}: {n} token(s) revoked", file=sys.stdout if n else sys.stderr)
            return 0 if n else 1
        now = datetime.now(UTC)
        for row in await access.list_tokens(conn):
            print(access.describe(row, now))
        return 0

    return asyncio.run(_with_conn(settings, go))


def parse_since(text: str, now: datetime) -> datetime:
    try:
        return now - access.parse_duration(text)
    except ValueError:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from jeugdstroom.common.audit import entries

    try:
        since = parse_since(args.since, datetime.now(UTC))
    except ValueError:
        print("error: --since takes a date (2026-01-31) or a duration (7d, 12h)", file=sys.stderr)
        return 2

    from jeugdstroom.common.audit import FINDINGS

    async def go(conn: Conn) -> int:
        for r in await entries(conn, since):
            if args.json:
                print(json.dumps({**r, "at": r["at"].isoformat()}, sort_keys=True))
            else:
                params = ", ".join(f"{k}={v}" for k, v in r["params"].items() if v not in (None, "", []))
                print(
                    f"{r['at'].isoformat(timespec='seconds')}  {r['token_name']} ({r['scope']})  {r['resource']}"
                    f" [{params}]  {r['cells']} {'findings' if r['resource'] == FINDINGS else 'exact cells'}"
                )
        return 0

    return asyncio.run(_with_conn(settings, go))
