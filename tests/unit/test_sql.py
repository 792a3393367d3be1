"""The named-statement loader (common/sql.py) and the ``.sql`` files of the repositories."""

from __future__ import annotations

import pytest

from jeugdstroom.common.sql import load_queries, parse_queries


def test_named_blocks_become_statements_without_the_trailing_semicolon() -> None:
    q = parse_queries("-- the file's comment\n-- name: one\nSELECT 1;\n\n-- name: two\n-- why\nSELECT 2\n  FROM t;\n")
    assert dict(q) == {"one": "SELECT 1", "two": "-- why\nSELECT 2\n  FROM t"}
    assert q.one == q["one"] == "SELECT 1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;", "named twice"),
        ("-- name: a\n;\n", "empty"),
        ("SELECT 0;\n-- name: a\nSELECT 1;", "before the first"),
    ],
)
def test_malformed_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_queries(text)


def test_an_unknown_name_fails_loudly() -> None:
    q = parse_queries("-- name: a\nSELECT 1;")
    with pytest.raises(AttributeError, match="no statement 'b'"):
        _ = q.b
    with pytest.raises(KeyError):
        _ = q["b"]


@pytest.mark.parametrize(
    ("package", "filename"),
    [("jeugdstroom.intake", "queries.sql"), ("jeugdstroom.registry", "queries.sql"), ("jeugdstroom.monitor", "queries.sql")],
)
def test_every_repository_file_loads(package: str, filename: str) -> None:
    queries = load_queries(package, filename)
    assert len(queries) > 0
    assert load_queries(package, filename) is queries  # read once
