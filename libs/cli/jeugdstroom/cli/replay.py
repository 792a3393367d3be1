"""``jeugdstroom replay --since TIME``: publish again what intake (and the registry) accepted since TIME.

For after a broker lost data (docs/reliability.md): the outbox rows in PostgreSQL created at or after ``--since``
are marked unsent, and the running services' relays publish them again, in their original order. Consumers
deduplicate by event id, so what they processed already has no effect and what only the lost broker held is
processed now. ``--dry-run`` only counts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from jeugdstroom.common.settings import Settings

#: Outbox producers replayed by default: intake's accepted events (typed topics) and the registry's changes.
#: The monitor's producer has rows only from versions that published the indicator topic through the outbox; to
#: refill the indicator topic, ``jeugdstroom republish indicators``.
DEFAULT_PRODUCERS = ("intake", "registry")


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no time zone; e.g. 2026-05-01T10:00:00+02:00")
    return moment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", required=True, type=_moment, metavar="ISO_TIME",
                        help="ISO 8601 time with zone: republish outbox rows created at or after it")
    parser.add_argument("--producer", action="append", choices=["intake", "registry", "monitor"],
                        help="outbox producer to replay, repeatable (default: intake and registry)")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be republished")


async def replay(settings: Settings, since: datetime, producers: tuple[str, ...], dry_run: bool) -> dict[str, int]:
    from jeugdstroom.common import db, outbox

    pool = await db.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await outbox.requeue(conn, producers, since, dry_run)
    finally:
        await pool.close()


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    producers = tuple(args.producer or DEFAULT_PRODUCERS)
    counts = asyncio.run(replay(settings, args.since, producers, args.dry_run))
    for what, n in counts.items():
        print(f"{n:>9}  {what}")
    total = sum(counts.values())
    verb = "would be republished (dry run)" if args.dry_run else "marked for republication"
    print(f"{total} outbox rows since {args.since.isoformat()} {verb}", file=sys.stderr)
    return 0
