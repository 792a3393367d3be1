"""Scoped exact reads and their audit trail (docs/privacy.md).

:func:`rows_for` gives a reader exact rows for the cells inside its scope and public rows elsewhere; :func:`record`
writes one audit row per request that returned exact cells; :func:`purge` deletes audit rows older than the
retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jeugdstroom.common import audit
from jeugdstroom.common.access import Reader
from jeugdstroom.common.db import Conn
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.catalogue import Indicator

Row = dict[str, Any]


def rows_for(
    reader: Reader | None,
    ind: Indicator,
    rows: list[Row],
    filters: Mapping[str, str],
    threshold: int,
    secret: bytes,
) -> tuple[list[Row], int]:
    """The rows a reader sees and how many of them are exact. Operator: all exact. A scoped reader: exact rows
    (marked ``"exact": true``) for cells inside its scope, public rows (``"exact": false``) elsewhere. Nobody: the
    public rows."""
    if reader is not None and reader.operator:
        return [rowlib.exact(r) for r in rows], len(rows)
    out: list[Row] = []
    exact = 0
    for r in rows:
        if reader is not None and reader.covers({**filters, **r["dims"]}):
            out.append({**rowlib.exact(r), "exact": True})
            exact += 1
            continue
        p = rowlib.public(ind, r, threshold, secret, filters)
        if rowlib.shown(ind, p):
            out.append(p if reader is None else {**p, "exact": False})
    return out, exact


async def record(conn: Conn, reader: Reader, indicator: str, params: Mapping[str, Any], cells: int) -> None:
    """Append one audit row (called for every request that returned exact cells); the trail is common's
    (:mod:`jeugdstroom.common.audit`, shared with the registry's findings reads), the resource the indicator id."""
    await audit.record(conn, reader, indicator, params, cells)


entries = audit.entries
purge = audit.purge
