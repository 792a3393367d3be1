"""schemathesis hooks (``SCHEMATHESIS_HOOKS=tests.reliability.schemathesis_hooks``): how to send the media types
intake documents besides JSON."""

from __future__ import annotations

from typing import Any

import orjson
import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """NDJSON is documented as a string of lines; anything else is sent as one JSON line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value) + b"\n"
