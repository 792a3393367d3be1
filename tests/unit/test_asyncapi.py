"""docs/asyncapi.yaml: generated from the contracts, valid AsyncAPI 3.0, covering every topic, served by intake."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
import yaml

from jeugdstroom.cli.main import main
from jeugdstroom.common.consumer import deadletter_row
from jeugdstroom.common.contracts.asyncapi import RETENTION_MS, TOPOLOGY, document, to_yaml
from jeugdstroom.common.contracts.validation import json_schemas, parse_submitted
from jeugdstroom.common.kafka import (
    ALL_TOPICS,
    COMPACTED,
    INBOX_AUTH_HEADER,
    TYPED_TOPICS,
    InRecord,
    cloudevent_headers,
)
from jeugdstroom.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "asyncapi.yaml"
SPEC = ROOT / "tests" / "fixtures" / "asyncapi" / "asyncapi-3.0.0.schema.json"
KEY = b"unit-test-pseudonym-key"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


@pytest.fixture(scope="module")
def spec_validator() -> jsonschema.protocols.Validator:
    spec = json.loads(SPEC.read_text())
    cls = jsonschema.validators.validator_for(spec)
    cls.check_schema(spec)
    return cls(spec)


def payload_validator(doc: dict[str, Any], message: str, part: str = "payload") -> jsonschema.Draft7Validator:
    """A validator for one message's payload (or headers) that resolves ``#/components/...`` in ``doc``."""
    schema = {**doc["components"]["messages"][message][part], "components": doc["components"]}
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


# -- generated, checked in, valid ------------------------------------------------------------------------------
def test_checked_in_document_is_what_the_contracts_generate() -> None:
    assert CHECKED_IN.exists(), "docs/asyncapi.yaml missing: run `jeugdstroom asyncapi --out docs/asyncapi.yaml`"
    assert CHECKED_IN.read_text() == to_yaml(document()), (
        "docs/asyncapi.yaml drifted from the contracts: run `jeugdstroom asyncapi --out docs/asyncapi.yaml`"
    )


def test_cli_writes_yaml_and_json(tmp_path: Path, doc: dict[str, Any]) -> None:
    assert main(["asyncapi", "--out", str(tmp_path / "a.yaml")]) == 0
    assert main(["asyncapi", "--out", str(tmp_path / "a.json")]) == 0
    assert main(["asyncapi", "--out", str(tmp_path / "b.yaml"), "--prefix", "acme", "--partitions", "12"]) == 0
    assert yaml.safe_load((tmp_path / "a.yaml").read_text()) == doc
    assert json.loads((tmp_path / "a.json").read_text()) == doc
    other = yaml.safe_load((tmp_path / "b.yaml").read_text())
    assert other["channels"]["separatie"]["address"] == "acme.separatie"
    assert other["channels"]["separatie"]["bindings"]["kafka"]["partitions"] == 12


def test_document_validates_against_the_vendored_asyncapi_3_schema(
    doc: dict[str, Any], spec_validator: jsonschema.protocols.Validator
) -> None:
    errors = [f"{e.json_path}: {e.message[:200]}" for e in spec_validator.iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["operations"]["intake_receive_inbox"].update(action="consume"),
        lambda d: d["channels"]["inbox"]["bindings"]["kafka"].update(partitions=0),
        lambda d: d["components"]["schemas"]["RegistryChange"].update(discriminator={"propertyName": "entity"}),
        lambda d: d["components"]["messages"]["DeadLetter"].update(payload={"type": "objekt"}),
        lambda d: d.update(asyncapi="2.6.0"),
    ],
)
def test_the_validation_is_real_a_broken_document_fails(
    doc: dict[str, Any], spec_validator: jsonschema.protocols.Validator, breakage: Any
) -> None:
    broken = copy.deepcopy(doc)
    breakage(broken)
    assert not spec_validator.is_valid(broken)


# -- coverage and topology -------------------------------------------------------------------------------------
def test_every_topic_has_a_channel_with_key_headers_and_payload(doc: dict[str, Any]) -> None:
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {f"jeugdstroom.{t}" for t in ALL_TOPICS}
    for channel in doc["channels"].values():
        assert channel["messages"], channel["address"]
        compact = channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"] == ["compact"]
        assert compact == (channel["address"].removeprefix("jeugdstroom.") in COMPACTED)
        for ref in channel["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[-1]]
            assert message["payload"] and message["headers"]["type"] == "object"
            assert message["bindings"]["kafka"]["key"]["description"]


def test_operations_follow_the_topology_and_every_topic_has_a_producer(doc: dict[str, Any]) -> None:
    ops = doc["operations"]
    sent = {op["channel"]["$ref"] for op in ops.values() if op["action"] == "send"}
    received = {op["channel"]["$ref"] for op in ops.values() if op["action"] == "receive"}
    for channel_id in doc["channels"]:
        if channel_id != "inbox":  # the inbox is written by institutions, not by jeugdstroom
            assert f"#/channels/{channel_id}" in sent, channel_id
    assert "#/channels/inbox" in received
    assert {op["tags"][0]["name"] for op in ops.values()} == set(TOPOLOGY)
    # The registry consumes (at least) what its code subscribes to.
    from jeugdstroom.registry.processor import TOPICS as REGISTRY_TOPICS

    assert set(REGISTRY_TOPICS) <= set(TOPOLOGY["registry"]["receive"])


def test_production_retention_matches_docker_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["kafka-init"]["environment"]

    def default(var: str) -> int:
        match = re.fullmatch(r"\$\{[A-Z_]+:-(\d+)\}", env[var])
        assert match, env[var]
        return int(match.group(1))

    assert RETENTION_MS["inbox"] == default("INBOX_RETENTION_MS")
    assert RETENTION_MS["deadletter"] == default("DEADLETTER_RETENTION_MS")
    for t in (*TYPED_TOPICS, "registry.changes"):
        assert RETENTION_MS[t] == default("EVENT_RETENTION_MS")
    assert RETENTION_MS["indicators"] is None and "indicators" in COMPACTED
    assert "--config cleanup.policy=compact" in " ".join(compose["services"]["kafka-init"]["command"])


# -- matches the contracts ---------------------------------------------------------------------------------------
def _inline(schema: Any, root: dict[str, Any]) -> Any:
    """``schema`` with every local $ref replaced by its target and discriminators as their property name."""
    if isinstance(schema, list):
        return [_inline(s, root) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        return _inline(target, root)
    out = {k: _inline(v, root) for k, v in schema.items() if k != "$defs"}
    if isinstance(out.get("discriminator"), dict):
        out["discriminator"] = out["discriminator"]["propertyName"]
    return out


def test_payloads_are_exactly_the_contract_schemas(doc: dict[str, Any]) -> None:
    released = json_schemas()

    def payload(message: str) -> Any:
        return _inline(doc["components"]["messages"][message]["payload"], doc)

    assert payload("SubmittedEvent") == _inline(
        released["submitted-event.schema.json"], released["submitted-event.schema.json"]
    )
    assert payload("RegistryChange") == _inline(
        released["registry-change.schema.json"], released["registry-change.schema.json"]
    )
    published = released["published-event.schema.json"]
    members = {m["$ref"].rsplit("/", 1)[-1]: m for m in published["oneOf"]}
    for t in TYPED_TOPICS:
        name = next(n for n in members if n.lower().startswith(t))
        assert payload(f"{t.capitalize()}Event") == _inline(members[name], published), t


def test_real_records_validate_against_the_message_schemas(doc: dict[str, Any]) -> None:
    from jeugdstroom.intake.accept import publish, published_json
    from jeugdstroom.intake.examples import EXAMPLES

    submitted = payload_validator(doc, "SubmittedEvent")
    for t, example in EXAMPLES.items():
        assert list(submitted.iter_errors(example)) == [], t
        value = {
            **orjson.loads(published_json(publish(parse_submitted(orjson.dumps(example)), KEY))),
            "accepted_at": datetime.now(UTC).isoformat(),
        }
        assert list(payload_validator(doc, f"{t.capitalize()}Event").iter_errors(value)) == [], t
        assert not payload_validator(doc, f"{t.capitalize()}Event").is_valid(example), "a BSN is not a published event"
        headers = {
            k: v.decode()
            for k, v in cloudevent_headers(
                f"12345678/{example['id']}", t, "/instelling/12345678", example["occurred_at"]
            )
        }
        assert list(payload_validator(doc, f"{t.capitalize()}Event", "headers").iter_errors(headers)) == [], t
        wrong = {**headers, "ce_type": "nl.jeugdstroom.other"}
        assert not payload_validator(doc, f"{t.capitalize()}Event", "headers").is_valid(wrong)
    record = InRecord("jeugdstroom.separatie", 2, 41, b"k", b"{not json", ())
    row = deadletter_row(Settings(), record, "registry", "unparseable", "value is not JSON")
    assert list(payload_validator(doc, "DeadLetter").iter_errors(orjson.loads(row.value))) == []
    dl_headers = {k: v.decode() for k, v in row.headers}
    assert list(payload_validator(doc, "DeadLetter", "headers").iter_errors(dl_headers)) == []
    assert set(dl_headers) == set(doc["components"]["messages"]["DeadLetter"]["headers"]["properties"])


def test_inbox_credential_header_is_the_one_intake_reads(doc: dict[str, Any]) -> None:
    from jeugdstroom.intake.inbox import InboxProcessor

    described = doc["components"]["messages"]["SubmittedEvent"]["headers"]
    assert described["required"] == [INBOX_AUTH_HEADER]
    record = InRecord("jeugdstroom.inbox", 0, 0, None, b"{}", ((INBOX_AUTH_HEADER, b"Bearer secret-token"),))
    _, item = InboxProcessor(Settings()).decode(record)
    assert item.token == "secret-token"
    assert payload_validator(doc, "SubmittedEvent", "headers").is_valid({INBOX_AUTH_HEADER: "Bearer secret-token"})
    assert not payload_validator(doc, "SubmittedEvent", "headers").is_valid({})


# -- served by intake --------------------------------------------------------------------------------------------
async def test_intake_serves_the_document_for_its_own_prefix() -> None:
    from jeugdstroom.intake.app import create_app

    app = create_app(Settings(topic_prefix="acme", partitions=6), inbox=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        as_yaml = await client.get("/asyncapi")
        as_json = await client.get("/asyncapi.json")
        negotiated = await client.get("/asyncapi", headers={"accept": "application/json"})
    assert as_yaml.status_code == 200 and as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == document("acme", 6) == as_json.json() == negotiated.json()
    assert as_json.json()["channels"]["registryChanges"]["address"] == "acme.registry.changes"
