"""``jeugdstroom simulate``: a realistic event stream for a region, its ground truth, and a live feed.

The stream is written as NDJSON in sending order (``--out``, for ``jeugdstroom send``) and/or fed live to a
running intake (``--rate R`` events per second, ``--url``), each event posted as its own sender with that
sender's token (``--tokens FILE``, a JSON object of sender code → token, or ``--register`` to create the
senders in the database). ``--truth`` writes the indicator values the stream must produce. ``--format ijw``
writes the clean stories as iJw 3.2 messages instead (one file per message in the ``--out`` directory; ``--truth``
for their iJw projection; ``--rate`` posts them to ``/v1/ijw``). Progress goes to stderr, the summary to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from jeugdstroom.cli.send import STATUSES, Batch, SendError, _post, progress_line
from jeugdstroom.common.settings import Settings
from jeugdstroom.simulator.regions import REGIONS
from jeugdstroom.simulator.stream import Params, Stats, default_start, generate, today, truth_document
from jeugdstroom.simulator.truth import PERIODS, Truth


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--region",
        choices=sorted(REGIONS),
        default="rijk-van-nijmegen",
        help="the simulated region: rijk-van-nijmegen, or nl (every gemeente of the current CBS indeling, weighted by"
        " approximate inhabitants) (default: %(default)s)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="share of the region's volume, e.g. 0.01 for a 1%% sample of nl (default: %(default)s)",
    )
    p.add_argument("--days", type=int, default=365, help="number of simulated days (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same bytes")
    p.add_argument(
        "--start",
        type=date.fromisoformat,
        help="first simulated day (default: today minus --days, so every event lies in the past)",
    )
    p.add_argument("--out", type=Path, help="write the events as NDJSON, in sending order (several senders)")
    p.add_argument("--truth", type=Path, help="write the ground truth of every indicator as JSON")
    p.add_argument(
        "--truth-periods",
        default=",".join(PERIODS),
        help="period kinds in the ground truth, comma-separated (default: %(default)s)",
    )
    p.add_argument(
        "--population-out",
        type=Path,
        help="write the run's SYNTHETIC population (per gemeente, year, age, geslacht; CBS StatLine 03759ned layout,"
        " marked synthetic) for `jeugdstroom population import`; --truth then carries per_1000 computed from it",
    )
    p.add_argument("--rate", type=float, help="stream live to intake at this many events per second")
    p.add_argument("--url", help="intake base URL for --rate (default: from settings)")
    p.add_argument("--tokens", type=Path, help="JSON file: sender code → bearer token (written by --register)")
    p.add_argument(
        "--register",
        action="store_true",
        help="register every simulated sender in the database (JEUGDSTROOM_DATABASE_URL) and use the new tokens",
    )
    p.add_argument(
        "--batch", type=int, default=100, help="most events per request when streaming (default: %(default)s)"
    )
    p.add_argument(
        "--format",
        choices=("events", "ijw"),
        default="events",
        help="events: jeugdstroom events with sender faults (default); ijw: the clean stories as iJw 3.2 messages "
        "(--out is then a directory with one XML file per message, --truth the ground truth of their iJw "
        "projection, --rate posts them to /v1/ijw)",
    )


def _generation_progress(out: TextIO, total: int) -> Callable[[int, int, Stats], None]:
    step = max(1, total // 20)

    def report(done: int, _total: int, stats: Stats) -> None:
        if done % step == 0 or done == total:
            progress_line(
                out, "simulate", done, total, f"day {done}/{total} · {stats.children} children · {stats.events} events"
            )

    return report


def _params(args: argparse.Namespace) -> Params:
    start = args.start or default_start(args.days)
    params = Params(args.region, args.days, args.seed, start, args.scale)
    params.validate(today())
    return params


def _periods(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in PERIODS]
    if unknown or not kinds:
        raise ValueError(f"--truth-periods must be some of {', '.join(PERIODS)}")
    return kinds


# -- live streaming ------------------------------------------------------------------------------------------
def _runs(lines: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """Consecutive events of one sender, in order (one request each)."""
    current: str | None = None
    run: list[bytes] = []
    for line in lines:
        sender = str(orjson.loads(line).get("sender"))
        if sender != current and run:
            yield str(current), run
            run = []
        current = sender
        run.append(line)
    if run:
        yield str(current), run


def _senders_in(path: Path) -> set[str]:
    with path.open("rb") as f:
        return {str(orjson.loads(line).get("sender")) for line in f if line.strip()}


async def stream_live(
    path: Path,
    url: str,
    tokens: dict[str, str],
    rate: float,
    batch: int = 100,
    client: httpx.AsyncClient | None = None,
    progress: TextIO | None = None,
) -> dict[str, int]:
    """Post the events of ``path`` to intake at about ``rate`` events per second, each as its own sender."""
    out = progress if progress is not None else sys.stderr
    with path.open("rb") as f:
        total = sum(1 for line in f if line.strip())
    missing = sorted(_senders_in(path) - set(tokens))
    if missing:
        raise SendError(f"no token for sender(s) {', '.join(missing)} (use --tokens FILE or --register)")
    counts = dict.fromkeys(STATUSES, 0)
    endpoint = url.rstrip("/") + "/v1/events"
    http = client if client is not None else httpx.AsyncClient(timeout=120)
    per_tick = max(1, min(batch, int(rate / 4) or 1))
    began = time.monotonic()
    done = 0
    last_report = 0.0
    try:
        with path.open("rb") as f:
            pending: list[bytes] = []
            for raw in f:
                if raw.strip():
                    pending.append(raw.strip())
                if len(pending) < per_tick:
                    continue
                done = await _post_runs(http, endpoint, tokens, pending, counts, done)
                pending = []
                await asyncio.sleep(max(0.0, began + done / rate - time.monotonic()))
                now = time.monotonic()
                if now - last_report >= 1.0:
                    last_report = now
                    progress_line(out, "stream", done, total, _counts_line(counts))
            if pending:
                done = await _post_runs(http, endpoint, tokens, pending, counts, done)
        progress_line(out, "stream", done, total, _counts_line(counts))
    finally:
        if client is None:
            await http.aclose()
    return counts


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{s} {n}" for s, n in counts.items())


async def _post_runs(
    http: httpx.AsyncClient,
    endpoint: str,
    tokens: dict[str, str],
    lines: list[bytes],
    counts: dict[str, int],
    done: int,
) -> int:
    for sender, run in _runs(lines):
        body = b"\n".join(run) + b"\n"
        results = await _post(http, endpoint, tokens[sender], Batch(body, "application/x-ndjson", [""] * len(run)))
        for result in results:
            status = str(result.get("status", "rejected"))
            counts[status] = counts.get(status, 0) + 1
        done += len(run)
    return done


async def register_senders(settings: Settings, region: str) -> dict[str, str]:
    """Create (or re-key) every sender of the region in the intake database; returns code → token."""
    from jeugdstroom.common import db
    from jeugdstroom.intake.auth import add_sender

    await db.migrate(settings.database_url)
    pool = await db.create_pool(settings.database_url)
    tokens: dict[str, str] = {}
    try:
        async with pool.acquire() as conn:
            for inst in REGIONS[region].all_institutions():
                tokens[inst.code] = await add_sender(conn, inst.code, inst.name)
    finally:
        await pool.close()
    return tokens


# -- the command ---------------------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace, settings: Settings, client: httpx.AsyncClient | None = None) -> int:
    try:
        params = _params(args)
        periods = _periods(args.truth_periods)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is None and args.rate is None and args.truth is None:
        print("error: nothing to do: give --out, --truth and/or --rate", file=sys.stderr)
        return 2
    if args.rate is not None and args.rate <= 0:
        print("error: --rate must be positive", file=sys.stderr)
        return 2
    if getattr(args, "format", "events") == "ijw":
        return _cmd_ijw(args, settings, params, periods, client)
    tokens = _read_tokens(args)
    if tokens is None:
        return 2

    with contextlib.ExitStack() as stack:
        out_path: Path = args.out or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "events.ndjson"
        truth = Truth() if args.truth else None
        with out_path.open("wb") as f:
            stats = generate(params, f, truth, _generation_progress(sys.stderr, params.days))
        population = None
        if getattr(args, "population_out", None) is not None:
            from jeugdstroom.simulator import population as synthetic

            population = synthetic.of_run(params)
            args.population_out.write_text(synthetic.csv_text(params.region, params.seed, population), encoding="utf-8")
            print(f"SYNTHETIC population (not CBS figures) → {args.population_out}")
        if truth is not None:
            args.truth.write_bytes(truth_document(params, truth, stats, periods, population))
        faults = ", ".join(f"{k} {v}" for k, v in sorted(stats.faults.items()))
        print(
            f"{stats.events} events for {stats.children} children from {len(stats.senders)} senders, "
            f"{params.start} … {params.window.as_of} ({faults})"
        )
        if args.out:
            print(f"events → {args.out}")
        if args.truth:
            print(f"ground truth → {args.truth} (as of {params.window.as_of})")
        if args.rate is None:
            return 0
        if args.register:
            tokens = _register(args, settings, params)
        url = args.url or f"http://{settings.host}:{settings.intake_port}"
        try:
            counts = asyncio.run(stream_live(out_path, url, tokens, args.rate, args.batch, client))
        except SendError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"streamed to {url}: {_counts_line(counts)}")
        return 0


def _read_tokens(args: argparse.Namespace) -> dict[str, str] | None:
    """The tokens of --tokens when streaming without --register ({} otherwise); None (after the error) when they
    cannot be read."""
    if args.rate is None or args.register:
        return {}
    if args.tokens is None:
        print("error: --rate needs --tokens FILE or --register", file=sys.stderr)
        return None
    try:
        tokens: dict[str, str] = json.loads(args.tokens.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read --tokens: {type(exc).__name__}", file=sys.stderr)
        return None
    return tokens


def _register(args: argparse.Namespace, settings: Settings, params: Params) -> dict[str, str]:
    tokens = asyncio.run(register_senders(settings, params.region))
    if args.tokens is not None:
        args.tokens.write_text(json.dumps(tokens, indent=2, sort_keys=True) + "\n")
        args.tokens.chmod(0o600)
        print(f"sender tokens → {args.tokens}")
    return tokens


# -- iJw messages (--format ijw) ------------------------------------------------------------------------------
def _cmd_ijw(args: argparse.Namespace, settings: Settings, params: Params, periods: tuple[str, ...],
             client: httpx.AsyncClient | None) -> int:
    """The run's clean stories as iJw messages (docs/simulator.md, "iJw messages"): files, truth, live feed."""
    from jeugdstroom.simulator import ijw

    tokens = _read_tokens(args)
    if tokens is None:
        return 2
    if args.out is not None and args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        print(f"error: --out {args.out} must be a new or empty directory for --format ijw", file=sys.stderr)
        return 2
    truth = Truth() if args.truth else None
    projected = ijw.run(params, truth)
    kinds: dict[str, int] = {}
    for p in projected:
        kinds[p.message.kind] = kinds.get(p.message.kind, 0) + 1
    senders = {p.message.sender for p in projected}
    print(f"{len(projected)} iJw messages ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}) "
          f"from {len(senders)} senders, {params.start} … {params.window.as_of}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for n, p in enumerate(projected):
            (args.out / ijw.file_name(n, p.message)).write_bytes(p.message.xml)
        print(f"messages → {args.out}/ (one file per message, in sending order by name)")
    if truth is not None:
        stats = Stats(children=len({p.event["child"]["bsn"] for p in projected}), events=len(projected))
        stats.senders = senders
        for p in projected:
            stats.by_type[p.event["type"]] += 1
        args.truth.write_bytes(truth_document(params, truth, stats, periods))
        print(f"ground truth of the iJw projection → {args.truth} (as of {params.window.as_of})")
    if args.rate is None:
        return 0
    if args.register:
        tokens = _register(args, settings, params)
    missing = sorted(senders - set(tokens))
    if missing:
        print(f"error: no token for sender(s) {', '.join(missing)} (use --tokens FILE or --register)",
              file=sys.stderr)
        return 2
    url = args.url or f"http://{settings.host}:{settings.intake_port}"
    counts = asyncio.run(stream_ijw([p.message for p in projected], url, tokens, args.rate, client))
    print(f"streamed to {url}: {', '.join(f'{s} {n}' for s, n in sorted(counts.items()))}")
    return 0 if set(counts) <= {"202", "200"} else 1


async def stream_ijw(messages: list[Any], url: str, tokens: dict[str, str], rate: float,
                      client: httpx.AsyncClient | None = None) -> dict[str, int]:
    """Post each message to ``/v1/ijw`` as its own sender, in order, at about ``rate`` messages per second;
    returns the count of each HTTP status."""
    http = client if client is not None else httpx.AsyncClient(timeout=120)
    endpoint = url.rstrip("/") + "/v1/ijw"
    counts: dict[str, int] = {}
    began = time.monotonic()
    try:
        for n, m in enumerate(messages):
            resp = await http.post(endpoint, content=m.xml, headers={
                "content-type": "application/xml", "authorization": f"Bearer {tokens[m.sender]}"})
            counts[str(resp.status_code)] = counts.get(str(resp.status_code), 0) + 1
            await asyncio.sleep(max(0.0, began + (n + 1) / rate - time.monotonic()))
            if n % 500 == 499 or n + 1 == len(messages):
                progress_line(sys.stderr, "stream", n + 1, len(messages),
                              ", ".join(f"{s} {c}" for s, c in sorted(counts.items())))
    finally:
        if client is None:
            await http.aclose()
    return counts
