"""Property tests of the contracts that tests/unit/test_contracts.py does not cover: any JSON, and any single field
of a valid event replaced by any JSON value, is either accepted or refused with a ContractError (never another
exception: poison is classified, not crashed on), and a refusal never echoes a BSN placed anywhere in the event."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import orjson
import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jeugdstroom.common.contracts.unions import RegistryChange
from jeugdstroom.common.contracts.validation import ContractError, parse_published, parse_submitted
from jeugdstroom.intake.examples import EXAMPLES

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
CHANGE = pydantic.TypeAdapter(RegistryChange)
BSN = "111222333"  # passes the elfproef


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


@given(JSON)
def test_any_json_is_an_event_or_a_contract_error(value: Any) -> None:
    raw = orjson.dumps(value)
    for parse in (parse_submitted, parse_published):
        try:
            parse(raw)
        except ContractError as err:
            assert err.errors, "a refusal names at least one field"


@given(st.binary(max_size=200))
def test_any_bytes_are_an_event_or_a_contract_error(raw: bytes) -> None:
    for parse in (parse_submitted, parse_published):
        with contextlib.suppress(ContractError):
            parse(raw)


@given(JSON)
def test_any_json_is_a_registry_change_or_a_validation_error(value: Any) -> None:
    with contextlib.suppress(pydantic.ValidationError):
        CHANGE.validate_json(orjson.dumps(value))


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_one_field_replaced_is_accepted_or_refused_without_echoing_a_bsn(kind: str, data: st.DataObject) -> None:
    event = EXAMPLES[kind]
    path = data.draw(st.sampled_from(paths(event)))
    value = data.draw(JSON | st.just(BSN) | st.just(int(BSN)) | st.just([BSN]))
    try:
        parse_submitted(orjson.dumps(replaced(event, path, value)))
    except ContractError as err:
        assert BSN not in str(err), (path, err)
