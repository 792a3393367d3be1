"""The event contracts: BSN rules, strictness, cross-field rules, and errors that never echo a value."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeugdstroom.common.bsn import is_valid_bsn, pseudonymise
from jeugdstroom.common.contracts.changes import age_on
from jeugdstroom.common.contracts.validation import ContractError, parse_published, parse_submitted
from tests.factories import SENDER, bsn, child, separatie


def _errors(event: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ContractError) as info:
        parse_submitted(orjson.dumps(event))
    return {e.field: e.reason for e in info.value.errors}


def plaatsing(**data: Any) -> dict[str, Any]:
    base = {
        "plaatsing_id": "p1",
        "status": "gestart",
        "vorm": "pleegzorg_bestand",
        "provider": "87654321",
        "start": "2026-01-05",
    }
    return {
        "id": "e1",
        "type": "plaatsing",
        "schema_version": 1,
        "occurred_at": "2026-01-05T09:00:00+01:00",
        "sender": SENDER,
        "child": child(),
        "data": {**base, **data},
    }


@pytest.mark.parametrize("value", ["111222333", "123456782"])
def test_elfproef_accepts_valid_numbers(value: str) -> None:
    assert is_valid_bsn(value)


@pytest.mark.parametrize(
    "value", ["111222334", "12345678", "1234567890", "000000000", "12345678a", "１２３４５６７８２"]
)
def test_elfproef_rejects_invalid_numbers(value: str) -> None:
    assert not is_valid_bsn(value)


def test_pseudonym_is_stable_per_key_and_differs_between_keys() -> None:
    assert pseudonymise("111222333", b"k1") == pseudonymise("111222333", b"k1")
    assert pseudonymise("111222333", b"k1") != pseudonymise("111222333", b"k2")
    assert len(pseudonymise("111222333", b"k1")) == 64
    with pytest.raises(ValueError):
        pseudonymise("111222333", b"")


def test_a_valid_submitted_event_parses() -> None:
    event = parse_submitted(orjson.dumps(separatie("e1", "s1", end="2026-05-01T11:00:00+02:00")))
    assert event.type == "separatie"
    assert event.data.end is not None


def test_an_invalid_bsn_is_named_by_field_without_its_value() -> None:
    bad = separatie("e1", "s1")
    bad["child"]["bsn"] = "111222334"
    errors = _errors(bad)
    assert "child.bsn" in errors
    assert "111222334" not in orjson.dumps(errors).decode()


def test_unknown_fields_and_coercion_are_rejected() -> None:
    extra = separatie("e1", "s1")
    extra["data"]["colour"] = "blue"
    assert "data.colour" in _errors(extra)
    coerced = separatie("e1", "s1")
    coerced["schema_version"] = "1"
    assert "schema_version" in _errors(coerced)


def test_unknown_schema_version_and_type_are_named() -> None:
    v2 = separatie("e1", "s1")
    v2["schema_version"] = 2
    assert "schema_version" in _errors(v2)
    unknown = separatie("e1", "s1")
    unknown["type"] = "verhuizing"
    assert set(_errors(unknown)) == {"type"}


def test_end_before_start_is_a_rule_on_the_end_field() -> None:
    assert _errors(separatie("e1", "s1", end="2026-05-01T09:00:00+02:00")) == {"data.end": "must not be before start"}
    assert _errors(plaatsing(status="beeindigd", end="2026-01-01", reden_einde="volgens_plan")) == {
        "data.end": "must not be before start"
    }


def test_an_ended_plaatsing_needs_end_and_reason_and_a_started_one_has_no_reason() -> None:
    assert "data.end" in _errors(plaatsing(status="beeindigd"))
    assert "data.reden_einde" in _errors(plaatsing(status="beeindigd", end="2026-02-01"))
    assert "data.reden_einde" in _errors(plaatsing(reden_einde="voortijdig"))
    parse_submitted(orjson.dumps(plaatsing(status="beeindigd", end="2026-02-01", reden_einde="overplaatsing")))


def test_events_far_in_the_future_are_rejected() -> None:
    assert "occurred_at" in _errors(separatie("e1", "s1", occurred_at="2999-01-01T00:00:00+00:00"))


def test_naive_datetimes_are_rejected() -> None:
    assert "occurred_at" in _errors(separatie("e1", "s1", occurred_at="2026-05-01T10:00:00"))


def test_correctie_rules() -> None:
    base = {
        "id": "c1",
        "type": "correctie",
        "schema_version": 1,
        "occurred_at": "2026-05-02T10:00:00+02:00",
        "sender": SENDER,
        "child": child(),
    }
    parse_submitted(orjson.dumps({**base, "data": {"target_id": "e1", "action": "intrekken"}}))
    assert "data.replacement" in _errors({**base, "data": {"target_id": "e1", "action": "vervangen"}})
    replacement = separatie("e2", "s1")
    assert "data.replacement.id" in _errors(
        {**base, "data": {"target_id": "e1", "action": "vervangen", "replacement": replacement}}
    )
    other = copy.deepcopy(separatie("e1", "s1"))
    other["sender"] = "87654321"
    assert "data.replacement.sender" in _errors(
        {**base, "data": {"target_id": "e1", "action": "vervangen", "replacement": other}}
    )
    assert "data.replacement" in _errors(
        {**base, "data": {"target_id": "e1", "action": "intrekken", "replacement": separatie("e1", "s1")}}
    )


def test_published_form_takes_a_pseudonym_not_a_bsn() -> None:
    event = separatie("e1", "s1")
    with pytest.raises(ContractError):
        parse_published(orjson.dumps(event))
    event["child"] = {"pseudonym": pseudonymise(bsn(1), b"k"), "birth_date": "2010-04-12", "gemeente": "GM0268"}
    assert parse_published(orjson.dumps(event)).child.pseudonym == event["child"]["pseudonym"]


@given(st.from_regex(r"[0-9]{3,12}", fullmatch=True))
def test_no_number_in_the_bsn_field_is_ever_echoed(value: str) -> None:
    event = separatie("e1", "s1")
    event["child"]["bsn"] = value
    try:
        parse_submitted(orjson.dumps(event))
    except ContractError as err:
        assert value not in str(err)


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 3, 1), date(2026, 2, 28), 17),
        (date(2008, 3, 1), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age_on(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_geslacht_is_an_optional_field_of_the_child_carried_through_intake() -> None:
    from jeugdstroom.intake.accept import content_hash, legacy_content_hash, publish, published_json

    event = separatie("e1", "s1")
    old = publish(parse_submitted(orjson.dumps(event)), b"k")
    assert b"geslacht" not in published_json(old)  # absent (onbekend) stays absent: an old event keeps its hash
    assert content_hash(old) == content_hash(publish(parse_submitted(orjson.dumps(event)), b"k"))
    assert legacy_content_hash(old) == legacy_content_hash(publish(parse_submitted(orjson.dumps(event)), b"k"))
    event["child"]["geslacht"] = "vrouw"
    new = publish(parse_submitted(orjson.dumps(event)), b"k")
    assert new.child.geslacht == "vrouw" and b"bsn" not in published_json(new)
    assert parse_published(published_json(new)).child.geslacht == "vrouw"
    event["child"]["geslacht"] = "v"
    with pytest.raises(ContractError):
        parse_submitted(orjson.dumps(event))
