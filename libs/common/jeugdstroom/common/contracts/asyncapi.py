"""The AsyncAPI 3.0 document of every topic jeugdstroom publishes or consumes (``docs/asyncapi.yaml``).

Nothing about a payload is written here by hand: message payloads are the JSON Schemas pydantic generates from
the contracts (the same models and adapters as :func:`jeugdstroom.common.contracts.validation.json_schemas`), key
schemas come from the contract types, and header names from the functions that write the headers
(:func:`jeugdstroom.common.kafka.cloudevent_headers`, :func:`jeugdstroom.common.deadletter.deadletter_row`,
:data:`jeugdstroom.common.kafka.INBOX_AUTH_HEADER`). What this module adds is prose, the topology (which service
sends or receives on which topic) and the production topic configuration of ``docker-compose.yml``.

Generate with ``jeugdstroom asyncapi --out docs/asyncapi.yaml``; intake serves it at ``/asyncapi``.

FastStream's AsyncAPI generator does not fit here: it derives the document from FastStream subscriber and
publisher declarations, and jeugdstroom's services use their own stored-offset consumer loop and outbox relay
(README, "The consumer loop, and FastStream": the spike and why).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import TypeAdapter

from jeugdstroom.common.contracts.deadletter import HEADER_ORIGIN, HEADER_REASON_CLASS, DeadLetter
from jeugdstroom.common.contracts.events import SCHEMA_VERSION, Pseudonym, SenderCode
from jeugdstroom.common.contracts.unions import EVENT_TYPES, PUBLISHED_CLASSES, RegistryChange, SubmittedEvent
from jeugdstroom.common.kafka import (
    ALL_TOPICS,
    BACKLOG_HEADER,
    COMPACTED,
    DEADLETTER,
    DEADLETTER_CE_TYPE,
    INBOX,
    INBOX_AUTH_HEADER,
    INDICATOR_CE_TYPE,
    INDICATORS,
    REGISTRY_CHANGES,
    REGISTRY_ENTITIES,
    TYPED_TOPICS,
    cloudevent_headers,
)

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DEFAULT_PREFIX = "jeugdstroom"
DEFAULT_PARTITIONS = 3
SCHEMA_REF = "#/components/schemas/{model}"

DAY_MS = 24 * 3600 * 1000
#: Production retention per topic, as ``docker-compose.yml`` (kafka-init) creates the topics; None: compacted.
#: The embedded broker keeps everything in memory until it stops. A test checks these against docker-compose.yml.
RETENTION_MS: dict[str, int | None] = {
    INBOX: 6 * 3600 * 1000,  # hours, not days: the inbox carries BSNs in clear (docs/privacy.md)
    **dict.fromkeys(TYPED_TOPICS, 90 * DAY_MS),
    REGISTRY_CHANGES: 90 * DAY_MS,
    REGISTRY_ENTITIES: None,
    INDICATORS: None,
    DEADLETTER: 30 * DAY_MS,
}

#: Which service sends to / receives from which topic (short names). Services meet only on topics. (The monitor reads
#: the entity topic in `jeugdstroom rebuild monitor` only.)
TOPOLOGY: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {"receive": (INBOX,), "send": (*TYPED_TOPICS, DEADLETTER)},
    "registry": {"receive": TYPED_TOPICS, "send": (REGISTRY_CHANGES, REGISTRY_ENTITIES, DEADLETTER)},
    "monitor": {"receive": (REGISTRY_CHANGES, REGISTRY_ENTITIES), "send": (INDICATORS, DEADLETTER)},
}

_CE_DOCS: dict[str, str] = {
    "ce_specversion": "CloudEvents spec version",
    "ce_id": "Unique id of the record's content: for events `<sender>/<id>` (the idempotency key), for registry"
    " changes the deterministic change_id (on the entity topic: the id of the change that produced the version),"
    " for indicator values `<key>#<digest of the value>`, for dead letters `<consumer>/<topic>/<partition>/<offset>`"
    " (the origin). A republished record carries the same id: deduplicate on it.",
    "ce_type": "Type of the record",
    "ce_source": "Who produced the content: `/instelling/<sender code>` for events, `/registry` for changes,"
    " `/monitor` for indicator values, `/<consumer>` for dead letters",
    "ce_time": "Event time (occurred_at of the event that caused the record; for indicator values and dead letters the"
    " time it was written), ISO 8601 with offset",
    "content-type": "Media type of the value",
}
_CE_CONSTANT = frozenset({"ce_specversion", "content-type"})
_DL_DOCS: dict[str, str] = {
    HEADER_REASON_CLASS: "The dead letter's reason_class (bounded), for filtering without decoding the value",
    HEADER_ORIGIN: "Origin of the original record: `<topic>/<partition>/<offset>`",
}


#: The indicator row as the monitor publishes it (services/monitor publisher.py, docs/indicators.md "Row format").
#: Provisional: the monitor's row has no pydantic contract yet; once it has one, generate this from it.
_INDICATOR_ROW: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "One indicator cell's public row; null is a tombstone (the cell was removed)",
    "required": ["indicator", "period", "start", "dims", "value", "suppressed"],
    "additionalProperties": True,
    "properties": {
        "indicator": {"type": "string", "description": "Indicator id (docs/indicators.md)"},
        "version": {
            "type": "integer",
            "description": "The indicator's version: bumped when its meaning changes (docs/schema-evolution.md);"
            " absent on records written before versions existed (read as 1)",
        },
        "unit": {"type": "string", "description": "Unit of value"},
        "period": {"type": "string", "description": "month, half_year or year"},
        "start": {"type": "string", "format": "date", "description": "First day of the period"},
        "dims": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Dimension values of the cell, e.g. gemeente (CBS code GM####), jeugdregio (CBS code JZ##),"
            " instelling, vorm",
        },
        "names": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Names of the gemeente and jeugdregio values in dims (docs/geography.md); present when dims"
            " has either",
        },
        "value": {"type": ["number", "null"], "description": "The value; null when suppressed or undefined"},
        "suppressed": {"type": "boolean", "description": "Fewer children than the suppression threshold"},
        "as_of": {"type": "string", "format": "date", "description": "Day the value was computed for"},
    },
}


@dataclass(frozen=True)
class _Message:
    name: str
    title: str
    summary: str
    payload: dict[str, Any]
    headers: dict[str, Any]
    key: dict[str, Any]
    content_type: str = "application/json"


@dataclass(frozen=True)
class _Channel:
    id: str
    short: str
    title: str
    description: str
    messages: list[_Message] = field(default_factory=list)


def _ce_type(event_type: str) -> str:
    return dict(cloudevent_headers("", event_type, "", ""))["ce_type"].decode()


def _cloudevent_header_schema(ce_type: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvents (binary mode) headers, named exactly as :func:`cloudevent_headers` writes them."""
    sample = cloudevent_headers("id", "type", "source", "time")
    props: dict[str, Any] = {}
    for name, value in sample:
        prop: dict[str, Any] = {"type": "string", "description": _CE_DOCS[name]}
        if name in _CE_CONSTANT:
            prop["const"] = value.decode()
        if name == "ce_type":
            prop.update(ce_type)
        props[name] = prop
    return {
        "type": "object",
        "description": "Kafka record headers (UTF-8 values), CloudEvents binary content mode",
        "required": [n for n, _ in sample],
        "properties": props,
    }


def _with_backlog(headers: dict[str, Any]) -> dict[str, Any]:
    """``headers`` with the optional :data:`BACKLOG_HEADER` of a stage's output written while a backlog waited."""
    doc = ("`1` when the registry wrote the change while events waited behind its batch (a replay, a catch-up);"
           " absent otherwise. Subscribers may pace what they derive (the monitor publishes the indicator topic"
           " less often then); it says nothing about the change itself.")
    return {**headers, "properties": {**headers["properties"], BACKLOG_HEADER: {"type": "string", "const": "1",
                                                                              "description": doc}}}


def _deadletter_header_schema() -> dict[str, Any]:
    names = (HEADER_REASON_CLASS, HEADER_ORIGIN)
    ce = _cloudevent_header_schema({"const": _ce_type(DEADLETTER_CE_TYPE)})
    return {
        "type": "object",
        "description": "Kafka record headers (UTF-8 values): CloudEvents binary content mode, and the reason",
        "required": [*ce["required"], *names],
        "properties": {**ce["properties"], **{n: {"type": "string", "description": _DL_DOCS[n]} for n in names}},
    }


def _inbox_header_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka record headers (UTF-8 values)",
        "required": [INBOX_AUTH_HEADER],
        "properties": {
            INBOX_AUTH_HEADER: {
                "type": "string",
                "pattern": "^[Bb]earer .+$",
                "description": "The sender's credential, `Bearer <token>` (from `jeugdstroom sender add`), the same"
                " token as for HTTP. A record without a valid token is dead-lettered (reason_class unauthorized).",
            }
        },
    }


def _asyncapi_schema(schema: Any) -> Any:
    """A pydantic JSON Schema as an AsyncAPI Schema Object: there ``discriminator`` is the property name only
    (each union member still pins it with ``const``)."""
    if isinstance(schema, dict):
        out = {k: _asyncapi_schema(v) for k, v in schema.items()}
        disc = out.get("discriminator")
        if isinstance(disc, dict):
            out["discriminator"] = disc["propertyName"]
        return out
    if isinstance(schema, list):
        return [_asyncapi_schema(v) for v in schema]
    return schema


def contract_schemas() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(top-level schema per message name, component schemas) from the contracts, refs as ``#/components/schemas``."""
    adapters: list[tuple[str, TypeAdapter[Any]]] = [
        ("SubmittedEvent", TypeAdapter(SubmittedEvent)),
        *[(f"{t.capitalize()}Event", TypeAdapter(PUBLISHED_CLASSES[t])) for t in EVENT_TYPES],
        ("RegistryChange", TypeAdapter(RegistryChange)),
        ("DeadLetter", TypeAdapter(DeadLetter)),
    ]
    keyed, defs = TypeAdapter.json_schemas(
        [(name, "validation", adapter) for name, adapter in adapters], ref_template=SCHEMA_REF
    )
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    tops: dict[str, dict[str, Any]] = {}
    for name, _ in adapters:
        top = keyed[(name, "validation")]
        if set(top) == {"$ref"}:
            tops[name] = top
        else:  # a union: give it a name of its own
            components[name] = top
            tops[name] = {"$ref": SCHEMA_REF.format(model=name)}
    return tops, {k: _asyncapi_schema(components[k]) for k in sorted(components)}


def _key(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


def _channels(tops: dict[str, dict[str, Any]]) -> list[_Channel]:
    pseudonym_key = _key(
        TypeAdapter(Pseudonym).json_schema(),
        "The child's pseudonym (UTF-8): all records about one child are in one partition, in order",
    )
    channels = [
        _inbox_channel(tops),
        *_typed_channels(tops, pseudonym_key),
        *_registry_channels(tops, pseudonym_key),
        _indicators_channel(),
        _deadletter_channel(tops),
    ]
    described = {c.short for c in channels}
    missing = [t for t in ALL_TOPICS if t not in described]
    if missing:
        raise RuntimeError(f"topics without an AsyncAPI channel: {missing}")
    return channels


def _inbox_channel(tops: dict[str, dict[str, Any]]) -> _Channel:
    return _Channel(
        "inbox",
        INBOX,
        "Inbox: events from institutions that speak Kafka",
        "The same JSON events as `POST /v1/events` (child by BSN), one per record, authenticated by the"
        " `authorization` header. intake validates, pseudonymises and publishes each valid event to its typed"
        " topic; anything else goes to the dead-letter topic with the reason (a redacted copy, never the BSN)."
        " Only jeugdstroom's intake reads this topic; grant senders write access only.",
        [
            _Message(
                "SubmittedEvent",
                "An event as an institution submits it",
                f"{', '.join(EVENT_TYPES[:-1])} or {EVENT_TYPES[-1]}; child identified by BSN",
                tops["SubmittedEvent"],
                _inbox_header_schema(),
                _key(
                    TypeAdapter(SenderCode).json_schema(),
                    "Ignored by intake (it re-keys by pseudonym); use the sender code. Never a BSN.",
                ),
            )
        ],
    )


def _typed_channels(tops: dict[str, dict[str, Any]], pseudonym_key: dict[str, Any]) -> list[_Channel]:
    ce_headers = _cloudevent_header_schema
    channels = []
    for t in TYPED_TOPICS:
        channels.append(
            _Channel(
                t,
                t,
                f"Typed topic: {t}",
                f"Every accepted {t} event, child by pseudonym, as intake publishes it from its outbox (acks=all,"
                " at least once: deduplicate on `ce_id` or on (sender, id)). Keyed by pseudonym, so one child's"
                " events are in order within a partition; across topics, order by `occurred_at`.",
                [
                    _Message(
                        f"{t.capitalize()}Event",
                        f"A published {t} event",
                        f"The submitted {t} with `child.bsn` replaced by `child.pseudonym` and `accepted_at` set",
                        tops[f"{t.capitalize()}Event"],
                        ce_headers({"const": _ce_type(t)}),
                        pseudonym_key,
                    )
                ],
            )
        )
    return channels


def _registry_channels(tops: dict[str, dict[str, Any]], pseudonym_key: dict[str, Any]) -> list[_Channel]:
    ce_headers = _cloudevent_header_schema
    change_prefix = _ce_type("registry.change.")
    return [
    _Channel(
        "registryChanges",
        REGISTRY_CHANGES,
        "Registry changes",
        "Every change of a registry entity (episode or derived fact) as its version before and after the"
        " change. Additive consumers subtract what `before` contributed and add what `after` contributes, so"
        " corrections undo exactly and arrival order between entities does not matter. The `entity` union is"
        " open: skip entity kinds you do not know.",
        [
            _Message(
                "RegistryChange",
                "A registry entity changed",
                "before/after versions of one entity, discriminated by `entity`",
                tops["RegistryChange"],
                _with_backlog(ce_headers({"pattern": "^" + re.escape(change_prefix) + "[a-z0-9_]+$"})),
                pseudonym_key,
            )
        ],
    ),
    _Channel(
        "registryEntities",
        REGISTRY_ENTITIES,
        "Registry entities (compacted)",
        "The latest version of every registry entity, written with each change in the same registry"
        " transaction: the record's value is the version as a registry change from nothing (`before` null,"
        " `after` the version, `change_id` the change that produced it), so folding every record from the"
        " beginning (keeping the last per key) gives the registry's current state. A null value (tombstone;"
        " `ce_id` still names the change) means the entity no longer exists. Compacted: a new subscriber"
        " bootstraps from it, then follows `registry.changes`. `jeugdstroom republish entities` seeds it with"
        " every entity (no-op changes, before = after, on `registry.changes` carry the same ids).",
        [
            _Message(
                "RegistryEntity",
                "The latest version of one registry entity",
                "A RegistryChange with before null; null value: the entity no longer exists",
                {"oneOf": [tops["RegistryChange"], {"type": "null", "description": "Tombstone"}]},
                ce_headers({"pattern": "^" + re.escape(_ce_type("registry.entity.")) + "[a-z0-9_]+$"}),
                {
                    "type": "string",
                    "description": "One entity: `<entity>|<pseudonym>|<instelling>|<entity id>` (UTF-8), the"
                    " same key for every version of the entity",
                },
            )
        ],
    ),
    ]


def _indicators_channel() -> _Channel:
    return _Channel(
        "indicators",
        INDICATORS,
        "Indicator values (compacted)",
        "The current public row of every indicator cell (month, half-year and year periods), published by the"
        " monitor whenever a cell's public value changes. Cells: each indicator for the whole country, per"
        " jeugdregio, per gemeente and per instelling (those of its dimensions), each alone and broken down by"
        " the indicator's form dimensions (vorm, soort, zorgvorm, verwijzer, urgent); other breakdowns (age"
        " class, geslacht, aanbieder, combinations of places) are the JSON API's. Compacted: the latest record per key is the current"
        " value, so a new subscriber rebuilds the whole table by reading from the beginning and keeping the"
        " last value per key. A cell that no longer has a value is published with its empty value (value 0, or"
        " n/denominator 0); treat a null value (tombstone; its ce_id is `<key>#removed`) as removal, the"
        " compacted-topic convention. Cells"
        " computed from fewer children than the suppression threshold have value null and suppressed true.",
        [
            _Message(
                "IndicatorValue",
                "The current public row of one indicator cell",
                "A row of docs/indicators.md plus indicator, version, unit and as_of",
                _INDICATOR_ROW,
                _cloudevent_header_schema({"const": _ce_type(INDICATOR_CE_TYPE)}),
                {
                    "type": "string",
                    "description": "One cell: `<indicator>|<period>|<start>|<dim>=<value>;…` (dimensions sorted"
                    " by name; empty for the whole country), UTF-8. The same cell always has the same key.",
                },
            )
        ],
    )


def _deadletter_channel(tops: dict[str, dict[str, Any]]) -> _Channel:
    return _Channel(
        "deadletter",
        DEADLETTER,
        "Dead letters",
        "Records a consumer could not process (unparseable, unknown schema version, contract violation,"
        " unauthorized inbox record), with the reason, the origin and the original bytes, deduplicated by"
        " origin. For operators; never holds a BSN (inbox dead letters carry a redacted copy and no key).",
        [
            _Message(
                "DeadLetter",
                "A record a consumer gave up on",
                "reason, origin (topic/partition/offset) and original bytes (base64)",
                tops["DeadLetter"],
                _deadletter_header_schema(),
                {"type": "string", "description": "The original record's key; absent for inbox dead letters"},
            )
        ],
    )


def _channel_object(c: _Channel, prefix: str, partitions: int) -> dict[str, Any]:
    retention = RETENTION_MS[c.short]
    config: dict[str, Any] = {"cleanup.policy": ["compact" if c.short in COMPACTED else "delete"]}
    if retention is not None:
        config["retention.ms"] = retention
    return {
        "address": f"{prefix}.{c.short}",
        "title": c.title,
        "description": c.description,
        "messages": {m.name: {"$ref": f"#/components/messages/{m.name}"} for m in c.messages},
        "bindings": {
            "kafka": {
                "partitions": partitions,
                "topicConfiguration": config,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _message_object(m: _Message) -> dict[str, Any]:
    return {
        "name": m.name,
        "title": m.title,
        "summary": m.summary,
        "contentType": m.content_type,
        "headers": m.headers,
        "payload": m.payload,
        "bindings": {"kafka": {"key": m.key, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def document(prefix: str = DEFAULT_PREFIX, partitions: int = DEFAULT_PARTITIONS) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for topics named ``<prefix>.<topic>``."""
    tops, schemas = contract_schemas()
    channels = _channels(tops)
    by_short = {c.short: c for c in channels}
    operations: dict[str, Any] = {}
    for service, roles in TOPOLOGY.items():
        for action in ("receive", "send"):
            for short in roles[action]:
                c = by_short[short]
                operations[f"{service}_{action}_{c.id}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{c.id}"},
                    "title": f"{service} {action}s {prefix}.{short}",
                    "tags": [{"name": service}],
                    "messages": [{"$ref": f"#/channels/{c.id}/messages/{m.name}"} for m in c.messages],
                }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "jeugdstroom topics",
            "version": str(SCHEMA_VERSION),
            "description": (
                "Topics of jeugdstroom, near-real-time youth-care indicators. Values are JSON (UTF-8); every"
                " event and change carries `schema_version`. Within a major schema_version changes are"
                " backward compatible (new optional fields; new values only in open unions): ignore unknown"
                " fields and unknown union members. See docs/schema-evolution.md. Topic names are"
                f" `<prefix>.<topic>` with prefix `{prefix}` (JEUGDSTROOM_TOPIC_PREFIX). Delivery is at least"
                " once: deduplicate on the `ce_id` header (events: (sender, id))."
            ),
            "license": {"name": "EUPL-1.2", "url": "https://interoperable-europe.ec.europa.eu/collection/eupl"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "Apache Kafka of docker-compose.yml (from the host: 127.0.0.1:29092)",
            },
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded Tansu broker of `jeugdstroom up`: memory only, no idempotent producer"
                " and no transactions (clients: enable.idempotence=false); connect with 127.0.0.1, not localhost",
            },
        },
        "channels": {c.id: _channel_object(c, prefix, partitions) for c in channels},
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": {m.name: _message_object(m) for c in channels for m in c.messages},
        },
    }


def to_yaml(doc: dict[str, Any]) -> str:
    header = "# Generated by `jeugdstroom asyncapi --out docs/asyncapi.yaml` from the contracts: do not edit.\n"
    body: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return header + body


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
