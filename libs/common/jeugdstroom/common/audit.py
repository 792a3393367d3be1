"""The audit trail of exact reads (docs/privacy.md, "Audit"): one append-only table for every service that serves
exact values to reader tokens — the monitor's indicator reads, the registry's findings reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from jeugdstroom.common.access import Reader
from jeugdstroom.common.db import Conn

#: The resource of a findings read (an indicator read's resource is the indicator id).
FINDINGS = "findings"


async def record(conn: Conn, reader: Reader, resource: str, params: Mapping[str, Any], cells: int) -> None:
    """Append one audit row: who (token name and scope, never the secret) read how many exact cells (or findings)
    of ``resource`` with which request parameters."""
    await conn.execute(
        "INSERT INTO audit (token_name, scope, resource, params, cells) VALUES ($1, $2, $3, $4, $5)",
        reader.name,
        reader.scope,
        resource,
        orjson.loads(orjson.dumps(dict(params), default=str)),
        cells,
    )


async def entries(conn: Conn, since: datetime) -> list[dict[str, Any]]:
    """The audit rows from ``since`` on, oldest first."""
    rows = await conn.fetch(
        "SELECT id, at, token_name, scope, resource, params, cells FROM audit WHERE at >= $1 ORDER BY id", since
    )
    return [dict(r) for r in rows]


async def purge(conn: Conn, retention: timedelta) -> int:
    """Delete audit rows older than ``retention`` (the only deletion the table allows)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL jeugdstroom.audit_purge = 'on'")
        status: str = await conn.execute("DELETE FROM audit WHERE at < now() - $1::interval", retention)
    return int(status.rsplit(" ", 1)[-1])
