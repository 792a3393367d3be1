"""The Kafka inbox's pure parts: bearer headers, decoding, and redaction of anything that may be a BSN."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.inbox import REDACTED, InboxProcessor, bearer, redact


def test_bearer_accepts_only_the_bearer_scheme_with_a_token() -> None:
    assert bearer("Bearer js_abc") == "js_abc"
    assert bearer("bearer  js_abc ") == "js_abc"
    assert bearer("Basic js_abc") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None


def test_redact_masks_bsn_fields_and_nine_digit_numbers_anywhere() -> None:
    doc = {"id": "e1", "child": {"bsn": "111222333", "birth_date": "2010-04-12"},
           "data": {"replacement": {"child": {"BSN": 111222333}}, "note": "kind 111222333 gezien", "n": 12},
           "list": ["123456789", 42], "111222333": 1}
    out = redact(doc)
    assert out["child"] == {"bsn": REDACTED, "birth_date": "2010-04-12"}
    assert out["data"] == {"replacement": {"child": {"BSN": REDACTED}}, "note": REDACTED, "n": 12}
    assert out["list"] == [REDACTED, 42]
    assert REDACTED in out and "111222333" not in orjson.dumps(out).decode()
    assert out["id"] == "e1"


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=20))
def test_redacted_values_never_contain_nine_consecutive_digits(value: object) -> None:
    import re

    assert not re.search(r"\d{9}", orjson.dumps(redact(value)).decode())


def test_decode_never_raises_and_keys_records_by_origin() -> None:
    processor = InboxProcessor(Settings(pseudonym_key="k"))
    rec = InRecord("p.inbox", 2, 17, None, b"{not json", (("authorization", b"Bearer js_x"),))
    origin, item = processor.decode(rec)
    assert origin == "inbox:p.inbox/2/17"
    assert item.token == "js_x" and item.problem == ("unparseable", "value is not JSON")
    _, ok = processor.decode(InRecord("p.inbox", 0, 1, None, b'{"id": "e1"}'))
    assert ok.token is None and ok.body == {"id": "e1"} and ok.problem is None
