"""``jeugdstroom tail TOPIC``: pretty-print a topic for operators, with headers, until Ctrl-C or ``--max``.

Values are decoded JSON; pseudonyms (64 hex digits) are shortened to their first 8 characters and ``…``; the
inbox's ``authorization`` header is masked and its values are redacted (the inbox is the one topic that carries
BSNs). The consumer joins no group and commits nothing: tailing never moves anybody's offsets.

Filters (``--filter KEY=VALUE``, repeatable, all must match): KEY is a dotted path into the JSON value
(``type``, ``data.vorm``, ``child.gemeente``, ``after.instelling``), ``key`` for the record key, or
``header.NAME`` for a header. VALUE matches exactly, or as a prefix when it ends with ``*`` or ``…`` (so a
shortened pseudonym can be pasted back).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from jeugdstroom.common.deadletter import redact
from jeugdstroom.common.kafka import ALL_TOPICS, INBOX, INBOX_AUTH_HEADER, InRecord, client_options
from jeugdstroom.common.settings import Settings

PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
SHORT = 8
ELLIPSIS = "…"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", help=f"short name ({', '.join(ALL_TOPICS)}) or a full topic name")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest record (default: new)")
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only records whose JSON field (dotted path), `key` or `header.NAME` equals VALUE (a trailing * or …"
        " matches a prefix); repeatable, all must match",
    )
    parser.add_argument("--max", type=int, metavar="N", help="stop after N records")


@dataclass(frozen=True, slots=True)
class Filter:
    path: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Filter:
        path, sep, value = text.partition("=")
        if not sep or not path:
            raise ValueError(f"filter must be KEY=VALUE, got {text!r}")
        return cls(path.strip(), value)

    def matches(self, record: InRecord, body: Any) -> bool:
        if self.path == "key":
            found: Any = record.key.decode("utf-8", "replace") if record.key is not None else None
        elif self.path.startswith("header."):
            found = record.header(self.path.removeprefix("header."))
        else:
            found = body
            for part in self.path.split("."):
                if isinstance(found, dict) and part in found:
                    found = found[part]
                elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                    found = found[int(part)]
                else:
                    return False
        if found is None:
            return False
        text = found if isinstance(found, str) else orjson.dumps(found).decode()
        if self.value.endswith(("*", ELLIPSIS)):
            return text.startswith(self.value[:-1])
        return text == self.value


def full_topic(settings: Settings, name: str) -> str:
    return settings.topic(name) if name in ALL_TOPICS else name


def shorten(value: Any) -> Any:
    """``value`` with every pseudonym shortened to 8 characters and an ellipsis."""
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    if isinstance(value, str) and PSEUDONYM.match(value):
        return value[:SHORT] + ELLIPSIS
    return value


def _text(raw: bytes | None) -> str:
    if raw is None:
        return "(none)"
    text = raw.decode("utf-8", "replace")
    return shorten(text) if PSEUDONYM.match(text) else text


def decode(record: InRecord, inbox: bool) -> tuple[Any, str]:
    """(decoded JSON or None, how to show the value)."""
    if record.value is None:
        return None, "(null value: tombstone)"
    try:
        body = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return None, f"({len(record.value)} bytes, not JSON)"
    shown = body
    if inbox:
        shown = redact(body)
    return body, orjson.dumps(shorten(shown), option=orjson.OPT_INDENT_2).decode()


def render(record: InRecord, inbox: bool) -> tuple[Any, str]:
    """(decoded JSON, the record as text for the terminal)."""
    body, value = decode(record, inbox)
    when = datetime.fromtimestamp(record.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")
    lines = [f"── {record.topic}/{record.partition}@{record.offset} · {when} · key {_text(record.key)}"]
    for name, raw in record.headers:
        shown = _text(raw)
        if inbox and name.lower() == INBOX_AUTH_HEADER:
            shown = shown.partition(" ")[0] + " ****"
        lines.append(f"   {name}: {shown}")
    lines += ["   " + line for line in value.splitlines()]
    return body, "\n".join(lines)


async def tail(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = False,
    filters: Sequence[Filter] = (),
    max_records: int | None = None,
    out: TextIO | None = None,
) -> int:
    """Print matching records of ``topic`` until ``max_records`` were printed (or forever); returns the count."""
    stream = sys.stdout if out is None else out
    name = full_topic(settings, topic)
    inbox = name == settings.topic(INBOX)
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    printed = 0
    try:
        parts = consumer.partitions_for_topic(name)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(name)
        if not parts:
            raise LookupError(f"topic {name} does not exist")
        tps = [TopicPartition(name, p) for p in sorted(parts)]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        while max_records is None or printed < max_records:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for m in msgs:
                    record = InRecord(
                        m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()), m.timestamp
                    )
                    body, text = render(record, inbox)
                    if not all(f.matches(record, body) for f in filters):
                        continue
                    print(text, file=stream, flush=True)
                    printed += 1
                    if max_records is not None and printed >= max_records:
                        return printed
        return printed
    finally:
        await consumer.stop()


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    try:
        filters = [Filter.parse(f) for f in args.filter]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.max is not None and args.max < 1:
        print("error: --max must be at least 1", file=sys.stderr)
        return 2
    try:
        asyncio.run(
            tail(settings, args.topic, from_beginning=args.from_beginning, filters=filters, max_records=args.max)
        )
    except KeyboardInterrupt:
        return 0
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KafkaError as exc:
        print(f"error: broker {settings.bootstrap_servers} not usable: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0
