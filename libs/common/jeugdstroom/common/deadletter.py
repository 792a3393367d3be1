"""Dead letters: the record a consumer writes instead of input it can never process, and the policy that shapes them.

A :class:`DeadLetterPolicy` belongs to a processor (it receives it at construction; the default is the storm cap)
and tells the consumer loop:

* the **storm cap** (:class:`StormCap`): over a sliding window of the last decoded records, a poison share above
  the cap stops the loop instead of draining a topic into the dead-letter topic (a bad deploy or a wrong topic, not
  a stray bad record). ``None`` never stops: the Kafka inbox reads input from outside, where one sender's garbage
  must not stop everybody else's events;
* how often a record whose processing keeps failing is retried alone before it is dead-lettered;
* whether a dead letter may carry the original bytes: the **redacting** variant (the inbox, whose records hold a
  BSN in the clear) drops the key, masks every ``bsn`` field and nine-digit number in a JSON value and drops a
  value that is not JSON, so a BSN never reaches the dead-letter topic in the clear. The origin
  (topic/partition/offset) still points at the original.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from jeugdstroom.common import outbox
from jeugdstroom.common.contracts.deadletter import HEADER_ORIGIN, HEADER_REASON_CLASS, DeadLetter
from jeugdstroom.common.kafka import DEADLETTER, DEADLETTER_CE_TYPE, InRecord, cloudevent_headers
from jeugdstroom.common.settings import Settings

REDACTED = "<redacted>"
_NINE_DIGITS = re.compile(r"\d{9}")


class DeadLetterStorm(RuntimeError):
    """Most of a batch would be dead-lettered: stop instead (likely a bad deploy or wrong topic)."""


def origin(record: InRecord) -> str:
    """``topic/partition/offset`` of a record."""
    return f"{record.topic}/{record.partition}/{record.offset}"


def deadletter_id(record: InRecord) -> str:
    """The processed-event id of a record's dead letter: a redelivered poison record is dead-lettered once."""
    return f"deadletter:{origin(record)}"


def deadletter_row(
    settings: Settings, record: InRecord, consumer: str, reason_class: str, reason: str
) -> outbox.OutRow:
    """A dead-letter record: the reason, the origin and the original bytes (base64)."""
    body = DeadLetter(
        consumer=consumer,
        reason_class=reason_class,
        reason=reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key_b64=base64.b64encode(record.key).decode() if record.key is not None else None,
        value_b64=base64.b64encode(record.value).decode() if record.value is not None else None,
    )
    where = origin(record)
    headers = [
        *cloudevent_headers(f"{consumer}/{where}", DEADLETTER_CE_TYPE, f"/{consumer}", datetime.now(UTC).isoformat()),
        (HEADER_REASON_CLASS, reason_class.encode()),
        (HEADER_ORIGIN, where.encode()),
    ]
    return outbox.OutRow(settings.topic(DEADLETTER), record.key, orjson.dumps(body.model_dump(mode="json")), headers)


def redact(value: Any) -> Any:
    """A copy of a JSON value without anything that may be a BSN."""
    if isinstance(value, dict):
        return {(REDACTED if _NINE_DIGITS.search(str(k)) else k): (REDACTED if "bsn" in str(k).lower() else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and _NINE_DIGITS.search(value):
        return REDACTED
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 100_000_000:
        return REDACTED
    return value


def redacted(record: InRecord) -> InRecord:
    """The record without its key and headers, its JSON value redacted (a value that is not JSON dropped)."""
    try:
        value = None if record.value is None else orjson.dumps(redact(orjson.loads(record.value)))
    except orjson.JSONDecodeError:
        value = None
    return dataclasses.replace(record, key=None, value=value, headers=())


@dataclass(frozen=True, slots=True)
class StormCap:
    """Over the last ``window`` decoded records, once at least ``min_records`` were seen, a poison share above
    ``share`` stops the loop. The window spans fetches, so small fetches cannot dodge the cap."""

    window: int = 100
    min_records: int = 20
    share: float = 0.5


class StormWatch:
    """The sliding window of one consumer (poison or not, per decoded record)."""

    def __init__(self, cap: StormCap | None) -> None:
        self.cap = cap
        self._recent: collections.deque[bool] = collections.deque(maxlen=cap.window if cap else 0)

    def observe(self, poisoned: Iterable[bool]) -> None:
        """Record the next decoded records; raises :class:`DeadLetterStorm` when the cap is exceeded."""
        if self.cap is None:
            return
        window = self._recent
        window.extend(poisoned)
        poison = sum(window)
        if len(window) >= self.cap.min_records and poison > self.cap.share * len(window):
            raise DeadLetterStorm(f"{poison} of the last {len(window)} records are poison; stopping")


@dataclass(frozen=True, slots=True)
class DeadLetterPolicy:
    """How a processor's consumer dead-letters (see the module docstring)."""

    #: None: never stop for poison.
    storm: StormCap | None = StormCap()
    #: How often a record whose processing keeps failing is tried alone before it is dead-lettered.
    record_attempts: int = 3
    #: Dead letters carry a redacted copy of the value, no key (input that may hold a BSN in the clear).
    redacting: bool = False

    def __post_init__(self) -> None:
        if self.record_attempts < 1:
            raise ValueError("record_attempts must be at least 1")

    @classmethod
    def storm_capped(cls, cap: StormCap | None = None) -> DeadLetterPolicy:
        """The default: original bytes in the dead letter, the loop stopped by a poison storm."""
        return cls(storm=cap or StormCap())

    @classmethod
    def redacted(cls) -> DeadLetterPolicy:
        """For input from outside that may hold a BSN: redacted dead letters, no storm cap."""
        return cls(storm=None, redacting=True)

    def watch(self) -> StormWatch:
        return StormWatch(self.storm)

    def row(self, settings: Settings, record: InRecord, consumer: str, reason_class: str, reason: str) -> outbox.OutRow:
        """The dead-letter outbox row of ``record``."""
        return deadletter_row(settings, redacted(record) if self.redacting else record, consumer, reason_class, reason)
