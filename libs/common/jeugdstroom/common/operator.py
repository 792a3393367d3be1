"""The operator bearer token (``settings.operator_token``): who may see exact, unsuppressed data."""

from __future__ import annotations

import hmac

from jeugdstroom.common.settings import Settings


def is_operator(settings: Settings, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries the operator token (constant-time; False when none is set)."""
    token = settings.operator_token.get_secret_value() if settings.operator_token else ""
    scheme, _, given = (authorization or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
