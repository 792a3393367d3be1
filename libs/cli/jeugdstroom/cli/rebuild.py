"""``jeugdstroom rebuild monitor`` and ``jeugdstroom republish entities|indicators`` (docs/monitor.md, "Rebuild").

``rebuild monitor`` recomputes every monitor aggregate from the registry's entity topic while the monitor keeps
folding and answering, then swaps the new tables in (jeugdstroom.monitor.rebuild). It needs a running monitor (its
live fold must apply the changes the entity topic already shows) and an entity topic that holds every entity:
``republish entities`` seeds it from the registry's tables (once, for entities older than the topic, and after a
broker lost its data); a running registry's relay publishes what it writes. ``republish indicators`` makes a running
monitor send every visible indicator cell again (after a broker lost the indicator topic, or a restore).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from jeugdstroom.common.settings import Settings


def add_rebuild_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=["monitor"], help="what to rebuild (the monitor's aggregates)")
    parser.add_argument("--json", action="store_true", help="print the timings as JSON at the end")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes that fold the entities (default: one per core, at most 4; 1: this process)")


def add_republish_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=["entities", "indicators"],
                        help="entities: the registry's entities, to the entity topic; indicators: every visible"
                             " indicator cell, to the indicator topic (a running monitor sends them)")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def rebuild_monitor(settings: Settings, as_json: bool, workers: int | None = None) -> int:
    from jeugdstroom.common import db
    from jeugdstroom.monitor.rebuild import Rebuild, summary

    await db.migrate(settings.database_url)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=3)
    try:
        stats = await Rebuild(settings, pool, progress=_say, workers=workers).run()
    finally:
        await pool.close()
    if as_json:
        print(json.dumps(summary(stats)))
    return 0


async def republish_indicators(settings: Settings) -> int:
    from jeugdstroom.common import db
    from jeugdstroom.monitor.publisher import republish_all

    await db.migrate(settings.database_url)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            n = await republish_all(conn)
    finally:
        await pool.close()
    _say(f"republish indicators: {n:,} published cells queued (a running monitor sends every visible one again)")
    return 0


async def republish(settings: Settings) -> int:
    from jeugdstroom.common import db
    from jeugdstroom.registry.republish import republish_entities

    await db.migrate(settings.database_url)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=2)
    run = uuid.uuid4().hex[:12]
    try:
        n = await republish_entities(
            pool, settings, run, progress=lambda kids, ents: _say(f"  {kids:,} children, {ents:,} entities")
        )
    finally:
        await pool.close()
    _say(f"republish {run}: {n:,} entities written to the registry's outbox (a running registry publishes them)")
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(rebuild_monitor(settings, args.json, args.workers))


def cmd_republish(args: argparse.Namespace, settings: Settings) -> int:
    if args.what == "indicators":
        return asyncio.run(republish_indicators(settings))
    return asyncio.run(republish(settings))
