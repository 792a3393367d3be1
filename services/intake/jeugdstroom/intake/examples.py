"""One valid example of each event type, for the OpenAPI documentation (checked by a unit test).

The BSN ``111222333`` passes the elfproef but is a documentation value, not a person."""

from __future__ import annotations

from typing import Any

_CHILD = {"bsn": "111222333", "birth_date": "2010-04-12", "gemeente": "GM0268"}
_BASE = {"schema_version": 1, "sender": "12345678", "child": _CHILD}

EXAMPLES: dict[str, dict[str, Any]] = {
    "aanmelding": {
        **_BASE, "id": "aan-2026-0001", "type": "aanmelding", "occurred_at": "2026-03-02T09:00:00+01:00",
        "data": {"aanmelding_id": "aan-2026-0001", "verwijzer": "wijkteam", "zorgvorm": "residentieel"},
    },
    "beschikking": {
        **_BASE, "id": "bes-2026-0001", "type": "beschikking", "occurred_at": "2026-03-10T14:00:00+01:00",
        "data": {"beschikking_id": "bes-2026-0001", "soort": "toewijzing", "status": "afgegeven",
                 "start": "2026-03-15", "aanmelding_id": "aan-2026-0001"},
    },
    "plaatsing": {
        **_BASE, "id": "pla-2026-0001", "type": "plaatsing", "occurred_at": "2026-03-15T10:00:00+01:00",
        "data": {"plaatsing_id": "pla-2026-0001", "status": "gestart", "vorm": "residentieel",
                 "provider": "12345678", "start": "2026-03-15", "aanmelding_id": "aan-2026-0001"},
    },
    "separatie": {
        **_BASE, "id": "sep-2026-0001-start", "type": "separatie", "occurred_at": "2026-05-01T10:15:00+02:00",
        "data": {"separatie_id": "sep-2026-0001", "vorm": "separeerruimte", "start": "2026-05-01T10:00:00+02:00"},
    },
    "jeugdreclassering": {
        **_BASE, "id": "jr-2026-0001", "type": "jeugdreclassering", "occurred_at": "2026-04-01T09:00:00+02:00",
        "data": {"jeugdreclassering_id": "jr-2026-0001", "status": "gestart", "start": "2026-04-01"},
    },
    "correctie": {
        **_BASE, "id": "cor-2026-0001", "type": "correctie", "occurred_at": "2026-05-02T08:00:00+02:00",
        "data": {"target_id": "sep-2026-0001-start", "action": "intrekken"},
    },
}
