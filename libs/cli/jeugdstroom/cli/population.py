"""``jeugdstroom population import FILE``: load population per gemeente × year × age class × geslacht from a CSV in
the layout of CBS StatLine 03759ned (docs/population.md), the denominator of the rates (``per_1000``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from jeugdstroom.common.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="population_cmd", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="load a CBS StatLine population CSV (replaces the years it holds)")
    imp.add_argument("file", type=Path, help="CSV: Geslacht, Leeftijd, RegioS, Perioden, BevolkingOp1Januari_1")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def import_file(settings: Settings, path: Path) -> int:
    """Parse and store ``path``; prints progress; returns the number of rows stored."""
    from jeugdstroom.common import db
    from jeugdstroom.monitor import population

    _say(f"reading {path} ...")
    parsed = population.read(path)
    _say(f"  {parsed.lines:,} data lines, {parsed.used:,} counted (ages 0 to 23 per gemeente), years {parsed.years}")
    if parsed.synthetic:
        _say("  note: the file says it holds SYNTHETIC figures (simulator), not CBS figures")
    for old, new in sorted(parsed.merged.items()):
        _say(f"  {old} merged away: counted in {new}")
    if not parsed.counts:
        _say("error: no population of gemeenten aged 0 to 23 in the file")
        return 0
    await db.migrate(settings.database_url)
    conn = await db.connect(settings.database_url)
    try:
        n = await population.replace(conn, parsed, path.name, _say)
    finally:
        await conn.close()
    _say(f"population: {n:,} cells stored for {', '.join(map(str, parsed.years))}")
    return n


def cmd_population(args: argparse.Namespace, settings: Settings) -> int:
    from jeugdstroom.monitor.population import PopulationError

    try:
        n = asyncio.run(import_file(settings, args.file))
    except (PopulationError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if n else 2
