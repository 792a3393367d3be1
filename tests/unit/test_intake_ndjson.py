"""Streaming NDJSON splitting: line numbers, odd piece boundaries, CRLF, oversized lines, chunking."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hypothesis import given, settings
from hypothesis import strategies as st

from jeugdstroom.intake.ndjson import Line, chunks, lines


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def _lines(data: bytes, size: int = 3, max_line_bytes: int = 1 << 20) -> list[Line]:
    return [line async for line in lines(_pieces(data, size), max_line_bytes)]


async def test_lines_are_numbered_blank_lines_skipped_and_a_last_line_may_lack_its_newline() -> None:
    got = await _lines(b'{"a": 1}\r\n\n  \n[2]\nnot json\n{"b": 3}')
    assert got == [Line(1, b'{"a": 1}'), Line(4, b"[2]"), Line(5, b"not json"), Line(6, b'{"b": 3}')]


def test_invalid_json_reason_does_not_quote_the_input() -> None:
    from jeugdstroom.intake.submission import parse_json

    parsed = parse_json(b'{"bsn": "123456782"')
    assert parsed.event is None and parsed.reason_class == "invalid_json"
    assert parsed.errors == [{"field": "(line)", "reason": "is not valid JSON"}]
    assert "123456782" not in str(parsed)


async def test_an_oversized_line_is_rejected_and_skipped_without_buffering_it() -> None:
    data = b'{"a": 1}\n' + b"x" * 50 + b"\n" + b'{"c": 3}\n' + b"y" * 50
    got = await _lines(data, size=7, max_line_bytes=20)
    assert got == [Line(1, b'{"a": 1}'), Line(2, error="is longer than 20 bytes"), Line(3, b'{"c": 3}'),
                   Line(4, error="is longer than 20 bytes")]


async def test_a_line_that_grows_too_long_in_its_last_piece_is_rejected_too() -> None:
    got = await _lines(b'"' + b"a" * 18 + b'"\n', size=15, max_line_bytes=16)
    assert got == [Line(1, error="is longer than 16 bytes")]


async def test_chunks_hold_at_most_size_lines() -> None:
    data = b"".join(b"%d\n" % i for i in range(7))
    got = [[int(line.raw) for line in c] async for c in chunks(_pieces(data, 4), 3)]
    assert got == [[0, 1, 2], [3, 4, 5], [6]]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(min_value=0, max_value=10**6), max_size=30), size=st.integers(1, 12))
def test_piece_boundaries_never_change_the_lines(values: list[int], size: int) -> None:
    import asyncio

    data = b"".join(b"%d\n" % v for v in values)
    got = asyncio.run(_lines(data, size))
    assert got == [Line(i + 1, b"%d" % v) for i, v in enumerate(values)]
