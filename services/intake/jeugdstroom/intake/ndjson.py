"""Streaming NDJSON: split a byte stream into numbered lines, in chunks, without holding the whole body (the lines
stay bytes: ``submission.parse_json`` validates each straight into the contract)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

#: A line longer than this is rejected (and skipped) instead of buffered.
MAX_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line: its 1-based number and either its ``raw`` bytes (stripped, validated as JSON by the
    caller, straight into the contract) or an ``error`` reason."""

    number: int
    raw: bytes = b""
    error: str | None = None


async def lines(stream: AsyncIterable[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> AsyncIterator[Line]:
    """The non-blank lines of ``stream`` (``\\n`` or ``\\r\\n`` separated; a last line may lack its newline)."""
    buffer = bytearray()
    number = 0
    too_long = False  # skipping the rest of an oversized line
    async for piece in stream:
        start = 0
        while True:
            end = piece.find(b"\n", start)
            if end < 0:
                if not too_long:
                    buffer += piece[start:]
                    if len(buffer) > max_line_bytes:
                        too_long = True
                        buffer.clear()
                break
            number += 1
            if not too_long:
                buffer += piece[start:end]
                too_long = len(buffer) > max_line_bytes
            if too_long:
                too_long = False
                yield Line(number, error=f"is longer than {max_line_bytes} bytes")
            else:
                raw = bytes(buffer).strip()
                if raw:
                    yield Line(number, raw)
            buffer.clear()
            start = end + 1
    if too_long:
        yield Line(number + 1, error=f"is longer than {max_line_bytes} bytes")
    elif raw_tail := bytes(buffer).strip():
        yield Line(number + 1, raw_tail)


async def chunks(stream: AsyncIterable[bytes], size: int,
                 max_line_bytes: int = MAX_LINE_BYTES) -> AsyncIterator[list[Line]]:
    """Lines of ``stream`` in lists of at most ``size``."""
    chunk: list[Line] = []
    async for line in lines(stream, max_line_bytes):
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
