"""Sender credentials: bearer tokens, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from jeugdstroom.common.db import Conn
from jeugdstroom.intake import repository as repo
from jeugdstroom.intake.repository import Sender

__all__ = ["Sender", "add_sender", "authenticate", "registered", "revoke_sender", "rotate_sender", "token_hash"]


def token_hash(token: str) -> str:
    # Tokens are 256-bit random values, so a plain SHA-256 is an adequate one-way hash here.
    return hashlib.sha256(token.encode()).hexdigest()


async def add_sender(conn: Conn, code: str, name: str, expires: timedelta | None = None) -> str:
    """Register (or re-key) a sender; returns the new token, which is shown once and never stored. Re-keying revokes
    the sender's other tokens at once (use :func:`rotate_sender` for an overlap)."""
    token = "js_" + secrets.token_urlsafe(32)
    async with conn.transaction():
        await repo.upsert_sender(conn, code, name, token_hash(token))
        await repo.revoke_tokens(conn, code)
        await repo.add_token(conn, token_hash(token), code, expires)
    return token


async def rotate_sender(conn: Conn, code: str, overlap: timedelta, expires: timedelta | None = None) -> str | None:
    """A new token for a registered, unrevoked sender; its older tokens stay valid for ``overlap`` (or until they
    expire, if earlier). None for an unknown or revoked sender."""
    token = "js_" + secrets.token_urlsafe(32)
    async with conn.transaction():
        if not await repo.rekey_sender(conn, code, token_hash(token)):
            return None
        await repo.limit_tokens(conn, code, overlap)
        await repo.add_token(conn, token_hash(token), code, expires)
    return token


async def revoke_sender(conn: Conn, code: str) -> bool:
    async with conn.transaction():
        revoked = await repo.revoke_sender(conn, code)
        await repo.revoke_tokens(conn, code)
    return revoked


async def registered(conn: Conn, code: str) -> Sender | None:
    """A registered, unrevoked sender by code (the Kafka inbox on an authenticating broker: the topic, which only the
    sender's principal may write, names the sender; no token is involved)."""
    return await repo.sender_by_code(conn, code)


async def authenticate(conn: Conn, token: str) -> Sender | None:
    """The sender of a valid token: neither it nor its sender revoked, not expired."""
    return await repo.sender_by_token(conn, token_hash(token))
