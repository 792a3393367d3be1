"""The OpenAPI examples are valid events, one per type, and the schema documents both content types."""

from __future__ import annotations

import orjson

from jeugdstroom.common.contracts import EVENT_TYPES, parse_submitted
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from jeugdstroom.intake.examples import EXAMPLES


def test_every_event_type_has_a_valid_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES)
    for name, doc in EXAMPLES.items():
        assert parse_submitted(orjson.dumps(doc)).type == name


def test_openapi_documents_json_and_ndjson_with_examples_and_every_status() -> None:
    spec = create_app(Settings(pseudonym_key="k"), max_batch=7).openapi()
    post = spec["paths"]["/v1/events"]["post"]
    content = post["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-ndjson"}
    assert set(EVENT_TYPES) <= set(content["application/json"]["examples"])
    assert {"200", "202", "401", "403", "409", "413", "415", "422"} <= set(post["responses"])
    assert "at most 7 events" in post["description"]
