"""Valid events for tests, built from plain dicts (what an institution would send)."""

from __future__ import annotations

import random
from typing import Any

from jeugdstroom.common.bsn import random_bsn

SENDER = "12345678"


def bsn(seed: int) -> str:
    return random_bsn(random.Random(seed))


def child(seed: int = 1, gemeente: str = "GM0268") -> dict[str, Any]:
    return {"bsn": bsn(seed), "birth_date": "2010-04-12", "gemeente": gemeente}


def separatie(event_id: str, separatie_id: str, *, seed: int = 1, start: str = "2026-05-01T10:00:00+02:00",
              end: str | None = None, vorm: str = "separeerruimte", gemeente: str = "GM0268",
              sender: str = SENDER, occurred_at: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"separatie_id": separatie_id, "vorm": vorm, "start": start}
    if end:
        data["end"] = end
    return {
        "id": event_id, "type": "separatie", "schema_version": 1,
        "occurred_at": occurred_at or end or start, "sender": sender,
        "child": child(seed, gemeente), "data": data,
    }
