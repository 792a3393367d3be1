"""Sender credentials: bearer tokens, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from jeugdstroom.common.db import Conn


@dataclass(frozen=True, slots=True)
class Sender:
    code: str
    name: str


def token_hash(token: str) -> str:
    # Tokens are 256-bit random values, so a plain SHA-256 is an adequate one-way hash here.
    return hashlib.sha256(token.encode()).hexdigest()


async def add_sender(conn: Conn, code: str, name: str) -> str:
    """Register (or re-key) a sender; returns the new token, which is shown once and never stored."""
    token = "js_" + secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO intake.senders (code, name, token_hash) VALUES ($1, $2, $3)
           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, token_hash = EXCLUDED.token_hash,
                                            created_at = now(), revoked_at = NULL""",
        code, name, token_hash(token),
    )
    return token


async def revoke_sender(conn: Conn, code: str) -> bool:
    status = await conn.execute(
        "UPDATE intake.senders SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL", code)
    return bool(status.endswith(" 1"))


async def authenticate(conn: Conn, token: str) -> Sender | None:
    row = await conn.fetchrow(
        "SELECT code, name FROM intake.senders WHERE token_hash = $1 AND revoked_at IS NULL", token_hash(token))
    return Sender(row["code"], row["name"]) if row else None
