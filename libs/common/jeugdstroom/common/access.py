"""Reader credentials with a scope (docs/privacy.md, "Who sees what").

A reader token is a bearer token stored only as its SHA-256 hash in ``access_tokens`` (common migration 0003), with
a name (who: a person or a team), a scope and an optional expiry. Scopes:

* ``operator``: exact values everywhere (like ``JEUGDSTROOM_OPERATOR_TOKEN``);
* ``gemeente:GM0268``: exact values of the cells that belong to that gemeente (the cell's dimension values, with the
  request's filters, have ``gemeente`` = GM0268), the public view elsewhere;
* ``jeugdregio:JZ32``: the cells whose ``jeugdregio`` dimension value is JZ32 (matched on the value as the monitor
  carries it, whatever its form);
* ``instelling:12345678``: the cells of that instelling.

Rotation with overlap: :func:`rotate` issues a new token for a name and lets the name's older tokens expire after
the overlap, so both are valid in between.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jeugdstroom.common.db import Conn
from jeugdstroom.common.settings import Settings

SCOPE = re.compile(r"^(operator|gemeente:GM[0-9]{4}|jeugdregio:[A-Za-z0-9_-]{1,64}|instelling:([0-9]{8}|GM[0-9]{4}))$")
_DURATION = re.compile(r"^([0-9]{1,5})([hd])$")
#: The reader of the operator token from the settings.
SETTINGS_OPERATOR = "operator (JEUGDSTROOM_OPERATOR_TOKEN)"


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads: the token's name and scope (never the secret)."""

    name: str
    scope: str

    @property
    def operator(self) -> bool:
        return self.scope == "operator"

    def covers(self, dims: Mapping[str, str]) -> bool:
        """Whether a cell with these dimension values (group_by values and filters) lies inside the scope."""
        if self.operator:
            return True
        kind, _, value = self.scope.partition(":")
        return dims.get(kind) == value


def parse_scope(scope: str) -> str:
    if not SCOPE.match(scope):
        raise ValueError(
            f"scope {scope!r}: expected operator, gemeente:GM####, jeugdregio:<code>, instelling:<8 digits>"
        )
    return scope


def parse_duration(text: str) -> timedelta:
    """``90d`` or ``12h``."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"duration {text!r}: expected a number followed by d (days) or h (hours), e.g. 90d")
    n = int(m.group(1))
    return timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)


def token_hash(token: str) -> str:
    # Tokens are 256-bit random values, so a plain SHA-256 is an adequate one-way hash here.
    return hashlib.sha256(token.encode()).hexdigest()


async def add_token(conn: Conn, name: str, scope: str, expires: timedelta | None = None) -> str:
    """Issue a token; returns it (shown once, only its hash is stored)."""
    token = "jsr_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO access_tokens (name, scope, token_hash, expires_at) VALUES ($1, $2, $3, now() + $4::interval)",
        name,
        parse_scope(scope),
        token_hash(token),
        expires,
    )
    return token


async def rotate(conn: Conn, name: str, overlap: timedelta, expires: timedelta | None = None) -> str | None:
    """A new token for ``name`` with the scope of its newest valid token; the older ones expire after ``overlap``
    (or earlier, if they already would). None when the name has no valid token."""
    async with conn.transaction():
        scope = await conn.fetchval(
            """SELECT scope FROM access_tokens WHERE name = $1 AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id DESC LIMIT 1""",
            name,
        )
        if scope is None:
            return None
        await conn.execute(
            """UPDATE access_tokens SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + $2::interval)
               WHERE name = $1 AND revoked_at IS NULL""",
            name,
            overlap,
        )
        return await add_token(conn, name, str(scope), expires)


async def revoke(conn: Conn, name: str) -> int:
    """Revoke every token of ``name``; returns how many were valid."""
    status: str = await conn.execute(
        "UPDATE access_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", name
    )
    return int(status.rsplit(" ", 1)[-1])


async def list_tokens(conn: Conn) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, name, scope, created_at, expires_at, revoked_at,
                  revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS valid
           FROM access_tokens ORDER BY name, created_at, id"""
    )
    return [dict(r) for r in rows]


async def reader(conn: Conn, settings: Settings, authorization: str | None) -> Reader | None:
    """The reader an ``Authorization: Bearer …`` header identifies: the settings' operator token, or a valid
    (neither revoked nor expired) reader token; None for anything else."""
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return None
    op = settings.operator_token.get_secret_value() if settings.operator_token else ""
    if op and hmac.compare_digest(given, op):
        return Reader(SETTINGS_OPERATOR, "operator")
    row = await conn.fetchrow(
        """SELECT name, scope FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())""",
        token_hash(given),
    )
    return Reader(str(row["name"]), str(row["scope"])) if row else None


def describe(row: Mapping[str, Any], now: datetime) -> str:
    """One line of ``jeugdstroom token list``."""
    state = "revoked" if row["revoked_at"] else "expired" if row["expires_at"] and row["expires_at"] <= now else "valid"
    expires = row["expires_at"].isoformat(timespec="minutes") if row["expires_at"] else "never"
    return f"{row['id']:>5}  {row['name']:<30} {row['scope']:<28} {state:<8} expires {expires}"
