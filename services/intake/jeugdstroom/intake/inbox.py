"""The Kafka inbox: senders that speak Kafka put the same JSON events on an inbox topic. Valid events take the HTTP
path (check, pseudonymise, :func:`accept` in the consumer loop's transaction); everything else goes to the
dead-letter topic with the reason.

Who sent a record (:func:`jeugdstroom.common.kafka.inbox_topics`):

* on a broker that authenticates its clients (SASL, mutual TLS), each sender writes its own topic
  ``<prefix>.inbox.<code>``, which an ACL lets only its principal write (``JEUGDSTROOM_INBOX_PRINCIPALS`` maps
  principal → code): the topic names the sender. A Kafka record carries no principal, and a header saying who wrote
  it would be the writer's own claim, so the topic is the only trustworthy carrier. A header token is ignored there;
* on a broker without authentication (the embedded one), the shared ``<prefix>.inbox`` with
  ``authorization: Bearer <token>`` as a record header, checked like the HTTP bearer token.

Decisions:

* The loop's dedupe id is the record's origin (topic/partition/offset), not the event id: every record is
  handled once, and :func:`accept` decides duplicate versus conflict by (sender, id) exactly as over HTTP.
  A duplicate is dropped silently (the sender's resend); a conflict is dead-lettered.
* Nothing is raised as ``Poison`` from ``decode``: a record is judged in ``apply`` (its sender needs the database),
  and dead letters are written there. The processor's dead-letter policy is the redacting one
  (:meth:`DeadLetterPolicy.redacted <jeugdstroom.common.deadletter.DeadLetterPolicy.redacted>`), for the loop's
  own dead letters (a record whose processing keeps failing) as well as the inbox's: an inbox record holds a BSN
  in the clear, so a dead letter carries a redacted copy (``bsn`` fields and nine-digit numbers masked, key
  dropped; unparseable values dropped entirely; the origin topic/partition/offset still points at the original).
* The same policy has no dead-letter storm cap: inbox input comes from outside, and one sender's garbage must not
  stop everybody else's events.
* Dead letters use the outbox producer name ``intake``, so the one relay publishes both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from jeugdstroom.common import outbox
from jeugdstroom.common.consumer import Decoded, ProcessorBase
from jeugdstroom.common.db import Conn
from jeugdstroom.common.deadletter import DeadLetterPolicy
from jeugdstroom.common.kafka import INBOX_AUTH_HEADER, InRecord, inbox_topics
from jeugdstroom.common.observability import consumer_metrics
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.accept import PRODUCER
from jeugdstroom.intake.auth import Sender, authenticate, registered
from jeugdstroom.intake.metrics import EVENTS, REJECTED, type_label
from jeugdstroom.intake.submission import Checked, accept_checked, check

INBOX_GROUP = "intake-inbox"


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A decoded inbox record: the bearer token (if any) and the parsed JSON, or why it is unusable."""

    token: str | None
    body: Any = None
    problem: tuple[str, str] | None = None  # (reason class, reason)
    sender: str | None = None  # the sender code its topic names (authenticating broker), else None


def bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class InboxProcessor(ProcessorBase[InboxItem]):
    """The inbox's :class:`~jeugdstroom.common.consumer.Processor`."""

    def __init__(self, settings: Settings, deadletters: DeadLetterPolicy | None = None) -> None:
        self.settings = settings
        self.deadletters = deadletters or DeadLetterPolicy.redacted()
        self.metrics = consumer_metrics("intake")
        #: topic → sender code it names (None: the shared inbox, sender by bearer token)
        self.topics = inbox_topics(settings)

    def decode(self, record: InRecord) -> tuple[str, InboxItem]:
        origin = f"inbox:{record.topic}/{record.partition}/{record.offset}"
        sender = self.topics.get(record.topic)
        token = None if sender is not None else bearer(record.header(INBOX_AUTH_HEADER))
        try:
            body = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            return origin, InboxItem(token, problem=("unparseable", "value is not JSON"), sender=sender)
        return origin, InboxItem(token, body, sender=sender)

    async def _sender(self, conn: Conn, it: InboxItem, known: dict[str, Sender | None]) -> Sender | str:
        """The item's sender, or why there is none."""
        if it.sender is not None:  # named by the topic its principal alone may write
            if it.sender not in known:
                known[it.sender] = await registered(conn, it.sender)
            return known[it.sender] or f"sender {it.sender} of this inbox topic is not registered or revoked"
        if it.token is None:
            return "missing authorization header 'Bearer <token>'"
        if it.token not in known:
            known[it.token] = await authenticate(conn, it.token)
        return known[it.token] or "invalid or revoked token"

    async def apply(self, conn: Conn, items: Sequence[Decoded[InboxItem]]) -> None:
        key = self.settings.pseudonym_key_bytes
        senders: dict[str, Sender | None] = {}
        dead: list[outbox.OutRow] = []
        good: list[tuple[Decoded[InboxItem], Checked]] = []
        for d in items:
            it = d.item
            if it.problem is not None:
                dead.append(self.deadletter(d, *it.problem))
                continue
            sender = await self._sender(conn, it, senders)
            if isinstance(sender, str):
                dead.append(self.deadletter(d, "unauthorized", sender))
                continue
            checked = check(it.body, sender.code, key)
            if checked.result is not None:
                cls = "forbidden" if checked.result["status"] == "forbidden" else "contract"
                dead.append(self.deadletter(d, cls, _reason(checked.result)))
                continue
            good.append((d, checked))
        results = await accept_checked(conn, self.settings, [c for _, c in good])
        for (d, _), result in zip(good, results, strict=True):
            if result["status"] == "conflict":
                dead.append(self.deadletter(d, "conflict", _reason(result)))
        await outbox.write(conn, PRODUCER, dead)

    def deadletter(self, d: Decoded[InboxItem], reason_class: str, reason: str) -> outbox.OutRow:
        self.metrics.deadlettered.labels(d.record.topic, reason_class).inc()
        if reason_class in ("unparseable", "unauthorized"):  # the others were counted by check/accept
            kind = type_label(d.item.body)
            EVENTS.labels(kind, "rejected").inc()
            REJECTED.labels(kind, "invalid_json" if reason_class == "unparseable" else reason_class).inc()
        return self.deadletters.row(self.settings, d.record, INBOX_GROUP, reason_class, reason)


def _reason(result: dict[str, Any]) -> str:
    return "; ".join(f"{e['field']}: {e['reason']}" for e in result.get("errors", []))
