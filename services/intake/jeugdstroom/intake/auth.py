"""Sender credentials: bearer tokens, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from jeugdstroom.common.db import Conn


@dataclass(frozen=True, slots=True)
class Sender:
    code: str
    name: str


def token_hash(token: str) -> str:
    # Tokens are 256-bit random values, so a plain SHA-256 is an adequate one-way hash here.
    return hashlib.sha256(token.encode()).hexdigest()


async def add_sender(conn: Conn, code: str, name: str, expires: timedelta | None = None) -> str:
    """Register (or re-key) a sender; returns the new token, which is shown once and never stored. Re-keying revokes
    the sender's other tokens at once (use :func:`rotate_sender` for an overlap)."""
    token = "js_" + secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO intake.senders (code, name, token_hash) VALUES ($1, $2, $3)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, token_hash = EXCLUDED.token_hash,
                                                created_at = now(), revoked_at = NULL""",
            code, name, token_hash(token),
        )
        await conn.execute(
            "UPDATE intake.sender_tokens SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL", code)
        await conn.execute(
            """INSERT INTO intake.sender_tokens (token_hash, code, expires_at) VALUES ($1, $2, now() + $3::interval)""",
            token_hash(token), code, expires,
        )
    return token


async def rotate_sender(conn: Conn, code: str, overlap: timedelta, expires: timedelta | None = None) -> str | None:
    """A new token for a registered, unrevoked sender; its older tokens stay valid for ``overlap`` (or until they
    expire, if earlier). None for an unknown or revoked sender."""
    token = "js_" + secrets.token_urlsafe(32)
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE intake.senders SET token_hash = $2 WHERE code = $1 AND revoked_at IS NULL", code, token_hash(token))
        if not status.endswith(" 1"):
            return None
        await conn.execute(
            """UPDATE intake.sender_tokens SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + $2::interval)
               WHERE code = $1 AND revoked_at IS NULL""",
            code, overlap,
        )
        await conn.execute(
            "INSERT INTO intake.sender_tokens (token_hash, code, expires_at) VALUES ($1, $2, now() + $3::interval)",
            token_hash(token), code, expires,
        )
    return token


async def revoke_sender(conn: Conn, code: str) -> bool:
    async with conn.transaction():
        status = await conn.execute(
            "UPDATE intake.senders SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL", code)
        await conn.execute(
            "UPDATE intake.sender_tokens SET revoked_at = now() WHERE code = $1 AND revoked_at IS NULL", code)
    return bool(status.endswith(" 1"))


async def registered(conn: Conn, code: str) -> Sender | None:
    """A registered, unrevoked sender by code (the Kafka inbox on an authenticating broker: the topic, which only the
    sender's principal may write, names the sender; no token is involved)."""
    row = await conn.fetchrow("SELECT code, name FROM intake.senders WHERE code = $1 AND revoked_at IS NULL", code)
    return Sender(row["code"], row["name"]) if row else None


async def authenticate(conn: Conn, token: str) -> Sender | None:
    """The sender of a valid token: neither it nor its sender revoked, not expired."""
    row = await conn.fetchrow(
        """SELECT s.code, s.name FROM intake.sender_tokens t JOIN intake.senders s USING (code)
           WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
             AND s.revoked_at IS NULL""",
        token_hash(token))
    return Sender(row["code"], row["name"]) if row else None
