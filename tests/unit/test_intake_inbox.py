"""The Kafka inbox's pure parts: bearer headers, decoding, and redaction of anything that may be a BSN."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeugdstroom.common import kafka
from jeugdstroom.common.deadletter import REDACTED, redact
from jeugdstroom.common.kafka import InRecord
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.inbox import InboxProcessor, bearer


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


# -- senders by Kafka principal (authenticating broker): one inbox topic per sender ------------------------------
PRINCIPALS = {"User:ggz-oost": "12345678", "User:CN=wijkteam,O=Gemeente Nijmegen": "GM0268"}


def _sasl(**extra: object) -> Settings:
    return Settings(pseudonym_key="k", topic_prefix="p", kafka_security_protocol="SASL_SSL",  # type: ignore[arg-type]
                    kafka_username="intake", kafka_password="pw", **extra)  # type: ignore[arg-type]


def test_without_broker_authentication_the_shared_inbox_with_bearer_tokens_is_the_only_topic() -> None:
    plain = Settings(pseudonym_key="k", topic_prefix="p")
    assert kafka.inbox_topics(plain) == {"p.inbox": None}
    assert kafka.inbox_sender_topics(plain) == {}
    with pytest.raises(ValueError, match="authenticates"):  # a mapping there would trust an unauthenticated writer
        kafka.inbox_sender_topics(Settings(pseudonym_key="k", inbox_principals=PRINCIPALS))


def test_an_authenticating_broker_gives_each_mapped_principal_its_own_topic_and_no_token_inbox() -> None:
    settings = _sasl(inbox_principals=PRINCIPALS)
    assert kafka.inbox_topics(settings) == {"p.inbox.12345678": "12345678", "p.inbox.GM0268": "GM0268"}
    assert kafka.inbox_topics(_sasl()) == {}  # no principals: no Kafka inbox at all (a header token is not used)


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        ({"ggz-oost": "12345678"}, "<type>:<name>"),
        ({"User:ggz-oost": "1234"}, "not a sender code"),
        ({"User:a": "12345678", "User:b": "12345678"}, "more than one inbox principal"),
    ],
)
def test_a_mapping_that_cannot_identify_senders_is_refused(mapping: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        kafka.inbox_topics(_sasl(inbox_principals=mapping))


def test_the_principal_mapping_is_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEUGDSTROOM_INBOX_PRINCIPALS", orjson.dumps(PRINCIPALS).decode())
    assert Settings(pseudonym_key="k").inbox_principals == PRINCIPALS  # type: ignore[arg-type]


def test_a_per_sender_topic_names_the_sender_and_a_header_token_there_is_ignored() -> None:
    processor = InboxProcessor(_sasl(inbox_principals=PRINCIPALS))
    rec = InRecord("p.inbox.GM0268", 0, 5, None, b'{"id": "e1"}', (("authorization", b"Bearer js_forged"),))
    origin, item = processor.decode(rec)
    assert origin == "inbox:p.inbox.GM0268/0/5"
    assert item.sender == "GM0268" and item.token is None and item.body == {"id": "e1"}
