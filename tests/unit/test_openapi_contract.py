"""The typed HTTP contract (issue 25 item 1): every service's OpenAPI document is a valid OpenAPI 3.1 document; intake's
request body is the submitted-event contract (the union with its discriminator), its answers are typed; every error
of every ``/v1/`` operation is an RFC 9457 problem; every service declares the bearer scheme; and the problem answers
the apps give validate against the documented ``Problem`` schema without echoing input values."""

from __future__ import annotations

from typing import Any

import jsonschema
import orjson
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from jeugdstroom.common import problems
from jeugdstroom.common.contracts import EVENT_TYPES, parse_submitted
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app as intake_app
from jeugdstroom.intake.examples import EXAMPLES
from jeugdstroom.monitor.app import create_app as monitor_app
from jeugdstroom.registry.app import create_app as registry_app

SETTINGS = Settings(pseudonym_key="k", disclosure_key="d" * 32)
BSN = "111222333"


def documents() -> dict[str, dict[str, Any]]:
    return {"intake": intake_app(SETTINGS, inbox=False).openapi(), "registry": registry_app(SETTINGS).openapi(),
            "monitor": monitor_app(SETTINGS).openapi()}


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


@pytest.mark.parametrize("service", ["intake", "registry", "monitor"])
def test_the_document_is_valid_openapi_with_a_bearer_scheme_and_problem_errors(service: str) -> None:
    doc = documents()[service]
    validate(doc)  # raises on an invalid document
    for ref in refs(doc):
        resolve(doc, ref)  # every reference resolves
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["HTTPBearer"]["description"]}
    operations = [(path, op) for path, item in doc["paths"].items() if path.startswith("/v1/") for op in item.values()]
    assert operations
    for path, op in operations:
        assert {"HTTPBearer": []} in op["security"], path
        assert not any(p["in"] == "header" and p["name"].lower() == "authorization" for p in op.get("parameters", []))
        assert "503" in op["responses"], path
        for status, answer in op["responses"].items():
            if status[0] in "45":
                assert answer["content"] == {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}, (path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_intake_takes_the_submitted_event_contract_and_answers_typed_results() -> None:
    doc = documents()["intake"]
    schemas = doc["components"]["schemas"]
    post = doc["paths"]["/v1/events"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    event = {"$ref": "#/components/schemas/SubmittedEvent"}
    assert body["oneOf"][0] == event and body["oneOf"][1]["items"] == event
    union = schemas["SubmittedEvent"]
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == set(EVENT_TYPES)
    for kind in EVENT_TYPES:
        contract = resolve(doc, union["discriminator"]["mapping"][kind])
        assert contract["properties"]["type"]["const"] == kind
        assert contract["additionalProperties"] is False
    assert schemas["SubmittedChild"]["required"] == ["bsn", "birth_date", "gemeente"]
    # Every example is valid against the documented schema, and intake's own parser takes it.
    validator = jsonschema.Draft202012Validator({**body, "components": doc["components"]})
    for name, example in post["requestBody"]["content"]["application/json"]["examples"].items():
        validator.validate(example["value"])
        for item in example["value"] if name == "batch" else [example["value"]]:
            parse_submitted(orjson.dumps(item))
    answers = post["responses"]
    assert answers["202"]["content"]["application/json"]["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/SingleAnswer"}, {"$ref": "#/components/schemas/BatchAnswer"}]
    assert {"200", "202", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(answers)
    ijw = doc["paths"]["/v1/ijw"]["post"]["responses"]
    assert ijw["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IjwAnswer"}
    item = schemas["ItemResult"]["properties"]
    assert set(item["status"]["enum"]) == {"accepted", "duplicate", "conflict", "rejected", "forbidden"}


def problem_validator(doc: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Problem", "components": doc["components"]})


def test_error_answers_are_problems_without_input_values() -> None:
    """401 and 422 (an invalid query) answers validate against the documented schema (apps without their lifespan:
    these answers come before any database access; 503 is tests/integration/test_intake_backpressure.py's)."""
    app = intake_app(SETTINGS, inbox=False)
    unauthorised = TestClient(app).post("/v1/events", json=EXAMPLES["aanmelding"])
    assert unauthorised.status_code == 401 and unauthorised.headers["www-authenticate"] == "Bearer"
    assert unauthorised.headers["content-type"] == problems.PROBLEM_JSON
    problem_validator(app.openapi()).validate(unauthorised.json())
    assert unauthorised.json()["type"] == "urn:jeugdstroom:problem:unauthorized"

    monitor = monitor_app(SETTINGS)
    mdoc = monitor.openapi()
    client = TestClient(monitor)
    bad = client.get(f"/v1/indicators/x?period={BSN}")
    unknown = client.get("/v1/nothing")
    assert bad.status_code == 422 and bad.headers["content-type"] == problems.PROBLEM_JSON
    problem_validator(mdoc).validate(bad.json())
    assert bad.json()["errors"][0]["field"] == "query.period" and BSN not in bad.text
    assert unknown.status_code == 404 and unknown.json()["title"] == "Not Found"


def test_a_problem_never_takes_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown problem kind"):
        problems.problem(400, "x", kind="nonsense")
    answer = problems.problem(409, "d", kind="conflict", errors=[{"field": "id", "reason": "r", "value": BSN}], id="e1")
    body = orjson.loads(answer.body)
    assert body == {"type": "urn:jeugdstroom:problem:conflict", "title": problems.TYPES["conflict"], "status": 409,
                    "detail": "d", "errors": [{"field": "id", "reason": "r"}], "id": "e1"}
