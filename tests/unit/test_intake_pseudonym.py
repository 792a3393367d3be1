"""The BSN helpers intake runs for every event compute exactly their definitions: the elfproef, and HMAC-SHA256
of the BSN under the pseudonym key (a keyed MAC prepared once per key and copied per BSN)."""

from __future__ import annotations

import hashlib
import hmac

import orjson
from hypothesis import given
from hypothesis import strategies as st

from jeugdstroom.common.bsn import is_valid_bsn, pseudonymise
from jeugdstroom.common.contracts import parse_submitted
from jeugdstroom.intake.accept import published_form
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
    doc = published_form(event, b"key")
    assert doc["child"]["pseudonym"] == hmac.new(b"key", bsn(7).encode(), hashlib.sha256).hexdigest()
    assert bsn(7).encode() not in orjson.dumps(doc)
