"""The BSN helpers intake runs for every event compute exactly their definitions: the elfproef, and HMAC-SHA256
of the BSN under the pseudonym key (a keyed MAC prepared once per key and copied per BSN)."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from jeugdstroom.common.bsn import is_valid_bsn, pseudonymise
from jeugdstroom.common.contracts import parse_published, parse_submitted
from jeugdstroom.intake.accept import content_hash, legacy_content_hash, publish, published_json, same_content
from tests.factories import bsn, separatie

WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9) | st.text(max_size=10))
def test_the_elfproef_is_its_definition(value: str) -> None:
    nine_digits = len(value) == 9 and value.isascii() and value.isdigit()
    expected = (
        nine_digits
        and value != "000000000"
        and sum(w * int(d) for w, d in zip(WEIGHTS, value, strict=True)) % 11 == 0
    )
    assert is_valid_bsn(value) == expected


def test_the_elfproef_on_known_numbers() -> None:
    assert is_valid_bsn("111222333")  # 9+8+7+12+10+8+9+6-3 = 66 = 6·11
    assert not is_valid_bsn("111222334")
    assert not is_valid_bsn("000000000")
    assert not is_valid_bsn("１１１２２２３３３")  # full-width digits are not ASCII digits


@given(st.integers(0, 10**9 - 1), st.binary(min_size=1, max_size=130))  # keys longer than SHA-256's block too
def test_the_pseudonym_is_hmac_sha256_of_the_bsn_under_the_key(number: int, key: bytes) -> None:
    value = f"{number:09d}"
    assert pseudonymise(value, key) == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_alternating_keys_give_each_keys_own_pseudonym() -> None:
    keys = [b"k1", b"k2", b"k3", b"k4", b"k5", b"k1"]  # more keys than the prepared-MAC cache holds, then back
    for key in keys:
        assert pseudonymise(bsn(1), key) == hmac.new(key, bsn(1).encode(), hashlib.sha256).hexdigest()


def test_the_published_form_carries_the_pseudonym_and_no_bsn() -> None:
    event = parse_submitted(orjson.dumps(separatie("e1", "s1", seed=7)))
    published = publish(event, b"key")
    assert published.child.pseudonym == hmac.new(b"key", bsn(7).encode(), hashlib.sha256).hexdigest()
    assert bsn(7).encode() not in published_json(published)


def _old_published_form(submitted: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The published form as intake built it before ``v2`` hashes, written out by hand from the submitted JSON."""
    doc = copy.deepcopy(submitted)
    doc.pop("accepted_at", None)
    for d in (doc, doc["data"].get("replacement")):
        if isinstance(d, dict):
            d.pop("accepted_at", None)
            c = d["child"]
            d["child"] = {"pseudonym": pseudonymise(c["bsn"], key), "birth_date": c["birth_date"],
                          "gemeente": c["gemeente"], **({"geslacht": c["geslacht"]} if "geslacht" in c else {})}
    return doc


def test_the_published_model_is_the_submitted_event_by_pseudonym_and_its_hashes_keep_old_records_valid() -> None:
    replaced = separatie("e1", "s1", seed=3)
    correctie = {**separatie("c1", "s9", seed=3), "type": "correctie",
                 "data": {"target_id": "e1", "action": "vervangen",
                          "replacement": {**replaced, "accepted_at": "2026-01-01T00:00:00+00:00"}}}
    for submitted in (separatie("e2", "s2", seed=4), correctie):
        published = publish(parse_submitted(orjson.dumps(submitted)), b"key")
        old = _old_published_form(submitted, b"key")
        assert orjson.loads(published_json(published)) == old
        assert parse_published(published_json(published)) == published  # a valid published event, as built
        stored_before = hashlib.sha256(orjson.dumps(old, option=orjson.OPT_SORT_KEYS)).hexdigest()
        assert legacy_content_hash(published) == stored_before
        assert same_content(stored_before, published, content_hash(published))
        assert same_content(content_hash(published), published, content_hash(published))
        other = publish(parse_submitted(orjson.dumps({**submitted, "occurred_at": "2025-01-02T10:00:00+01:00"})),
                        b"key")
        assert not same_content(stored_before, other, content_hash(other))
        assert content_hash(other) != content_hash(published) and content_hash(published).startswith("v2:")
