"""Kafka plumbing: topic catalogue, topic creation, producer settings, record headers."""

from __future__ import annotations

import contextlib
import logging
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import DefaultPartitioner

from jeugdstroom.common.contracts.unions import EVENT_TYPES
from jeugdstroom.common.settings import Settings

log = logging.getLogger(__name__)

#: Short names of every topic jeugdstroom uses; the full name is ``<prefix>.<short>``.
INBOX = "inbox"
REGISTRY_CHANGES = "registry.changes"
#: The latest version of every registry entity (compacted; tombstone when it no longer exists): docs/monitor.md.
REGISTRY_ENTITIES = "registry.entities"
INDICATORS = "indicators"
DEADLETTER = "deadletter"
TYPED_TOPICS: tuple[str, ...] = EVENT_TYPES
ALL_TOPICS: tuple[str, ...] = (INBOX, *TYPED_TOPICS, REGISTRY_CHANGES, REGISTRY_ENTITIES, INDICATORS, DEADLETTER)
COMPACTED: frozenset[str] = frozenset({REGISTRY_ENTITIES, INDICATORS})
#: Record header that carries a sender's credential on the inbox topic: ``Bearer <token>``.
INBOX_AUTH_HEADER = "authorization"

Headers = list[tuple[str, bytes]]

_SENDER_CODE = re.compile(r"^([0-9]{8}|GM[0-9]{4})$")


def authenticating(settings: Settings) -> bool:
    """Whether the brokers authenticate every client (SASL, or TLS with client certificates): then a record's
    writer is known to the broker — not to the reader (a record carries no principal) — and the Kafka inbox
    identifies senders by topic instead of by a bearer token in a header."""
    return settings.kafka_security_protocol != "PLAINTEXT"


def inbox_sender_topics(settings: Settings) -> dict[str, str]:
    """Short name of each sender's own inbox topic (``inbox.<code>``) → sender code, from
    ``JEUGDSTROOM_INBOX_PRINCIPALS`` (principal → code). Only that principal may write its topic (an ACL, set
    where the topic is created), so a record's topic names its authenticated sender. Empty on a broker without
    authentication; raises ValueError for a mapping that cannot work (plaintext broker, malformed code, two
    principals for one sender)."""
    mapping = settings.inbox_principals
    if not mapping:
        return {}
    if not authenticating(settings):
        raise ValueError("JEUGDSTROOM_INBOX_PRINCIPALS needs a broker that authenticates its clients "
                         "(JEUGDSTROOM_KAFKA_SECURITY_PROTOCOL SASL_SSL, SASL_PLAINTEXT or SSL)")
    out: dict[str, str] = {}
    for principal, code in mapping.items():
        kind, _, name = principal.partition(":")
        if not kind or not name:
            raise ValueError(f"inbox principal {principal!r} is not of the form <type>:<name>, e.g. User:ggz-oost")
        if not _SENDER_CODE.match(code):
            raise ValueError(f"inbox principal {principal!r}: {code!r} is not a sender code (AGB or GMxxxx)")
        topic = f"{INBOX}.{code}"
        if topic in out:
            raise ValueError(f"sender {code} has more than one inbox principal: give each its own sender code")
        out[topic] = code
    return out


def inbox_topics(settings: Settings) -> dict[str, str | None]:
    """The inbox topics intake consumes (full name) → the sender their topic identifies (None: by bearer token).
    Without broker authentication: the shared ``inbox`` with its ``authorization`` header. With it: only the
    per-sender topics (a header token on an authenticating broker would be a secret in the clear for nothing)."""
    if not authenticating(settings):
        return {settings.topic(INBOX): None}
    return {settings.topic(short): code for short, code in inbox_sender_topics(settings).items()}


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options of every aiokafka client the project creates (producers, consumers, admin): the bootstrap
    servers and the security settings (``JEUGDSTROOM_KAFKA_SECURITY_PROTOCOL`` and friends, deploy/README.md)."""
    protocol = settings.kafka_security_protocol
    out: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers, "security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        out["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )
    if protocol.startswith("SASL_"):
        if not settings.kafka_username or settings.kafka_password is None:
            raise ValueError(f"{protocol} needs JEUGDSTROOM_KAFKA_USERNAME and JEUGDSTROOM_KAFKA_PASSWORD")
        out.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password.get_secret_value(),
        )
    return out


def confluent_options(settings: Settings) -> dict[str, str]:
    """The same connection settings for a librdkafka (confluent-kafka) client."""
    protocol = settings.kafka_security_protocol
    out = {"bootstrap.servers": settings.bootstrap_servers, "security.protocol": protocol.lower()}
    if protocol in ("SSL", "SASL_SSL"):
        for key, value in (
            ("ssl.ca.location", settings.kafka_ssl_cafile),
            ("ssl.certificate.location", settings.kafka_ssl_certfile),
            ("ssl.key.location", settings.kafka_ssl_keyfile),
        ):
            if value:
                out[key] = value
    if protocol.startswith("SASL_"):
        if not settings.kafka_username or settings.kafka_password is None:
            raise ValueError(f"{protocol} needs JEUGDSTROOM_KAFKA_USERNAME and JEUGDSTROOM_KAFKA_PASSWORD")
        out.update(
            {
                "sasl.mechanism": settings.kafka_sasl_mechanism,
                "sasl.username": settings.kafka_username,
                "sasl.password": settings.kafka_password.get_secret_value(),
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class InRecord:
    """A consumed Kafka record, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", "replace")
        return None


#: ``ce_type`` suffixes (after ``nl.jeugdstroom.``) of the monitor's indicator values and of dead letters; events use
#: their event type, registry records ``registry.change.<entity>`` / ``registry.entity.<entity>``.
INDICATOR_CE_TYPE = "indicator"
DEADLETTER_CE_TYPE = "deadletter"


def cloudevent_headers(event_id: str, event_type: str, source: str, time_iso: str) -> Headers:
    """CloudEvents (binary content mode) headers of a record: every topic the project publishes carries them
    (checked with the CloudEvents SDK's own Kafka binding in tests/e2e/test_walking_skeleton.py)."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_type", f"nl.jeugdstroom.{event_type}".encode()),
        ("ce_source", source.encode()),
        ("ce_time", time_iso.encode()),
        ("content-type", b"application/json"),
    ]


async def ensure_topics(settings: Settings, names: Sequence[str] | None = None) -> None:
    """Create the topics that do not exist yet (idempotent); by default every topic, with the per-sender inboxes."""
    if names is None:
        names = (*ALL_TOPICS, *inbox_sender_topics(settings))
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                settings.topic(n),
                num_partitions=settings.partitions,
                replication_factor=1,
                topic_configs={"cleanup.policy": "compact"} if n in COMPACTED else {},
            )
            for n in names
            if settings.topic(n) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created them meanwhile
                await admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
    finally:
        await admin.close()


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of a key (``org.apache.kafka.common.utils.Utils.murmur2``), equal to aiokafka's
    ``partitioner.murmur2`` but reading the key's 32-bit words at once: aiokafka's reads byte by byte and was about a
    sixth of the monitor's CPU in a replay (``python -m bench --profile``: the relay partitions every indicator record)."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = words * 4
    extra = length - tail
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h = ((h ^ data[tail]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_of(key: object, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (the murmur2 of the key, as Kafka's Java client) with the faster
    :func:`murmur2`; records without a key go to aiokafka's."""
    if not isinstance(key, bytes):
        return int(DefaultPartitioner()(key, all_partitions, available))
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


def make_producer(settings: Settings) -> AIOKafkaProducer:
    """A producer for confirmed publication: ``acks=all``; no idempotence (the embedded broker lacks it),
    duplicates are absorbed downstream by event id."""
    return AIOKafkaProducer(
        **client_options(settings),
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1 << 20,
        request_timeout_ms=15000,
        compression_type=None,
        partitioner=partition_of,
    )
