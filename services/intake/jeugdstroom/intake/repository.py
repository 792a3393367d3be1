"""intake's PostgreSQL access: every statement intake runs, by name from ``queries.sql`` (next to this module).

Callers own the transactions: each function runs its statements on the connection it is given, so the idempotency
records, the outbox rows and the iJw state of one request commit together. The retention task's deletes are built
by ``common/retention.py`` from the table name (dynamic SQL, kept there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asyncpg import Record

from jeugdstroom.common.db import Conn
from jeugdstroom.common.sql import load_queries

Q = load_queries(__name__.rpartition(".")[0], "queries.sql")


@dataclass(frozen=True, slots=True)
class AcceptedRow:
    """The idempotency record of one accepted event."""

    sender: str
    event_id: str
    type: str
    content_hash: str


# -- idempotency records ------------------------------------------------------------------------------
async def record_accepted(conn: Conn, rows: Sequence[AcceptedRow], now: datetime) -> set[tuple[str, str]]:
    """Insert the idempotency records of ``rows``; the (sender, event_id) pairs that were new."""
    fresh = await conn.fetch(
        Q.record_accepted,
        [r.sender for r in rows], [r.event_id for r in rows], [r.type for r in rows], [r.content_hash for r in rows],
        now,
    )
    return {(r["sender"], r["event_id"]) for r in fresh}


async def accepted_hashes(conn: Conn, idents: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The stored content hash of each (sender, event_id) accepted before."""
    rows = await conn.fetch(Q.accepted_hashes, [s for s, _ in idents], [i for _, i in idents])
    return {(r["sender"], r["event_id"]): r["content_hash"] for r in rows}


# -- senders and their tokens --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sender:
    """A registered sender (an instelling): its code (AGB or GM####) and name."""

    code: str
    name: str


async def upsert_sender(conn: Conn, code: str, name: str, token_hash: str) -> None:
    await conn.execute(Q.upsert_sender, code, name, token_hash)


async def rekey_sender(conn: Conn, code: str, token_hash: str) -> bool:
    """Set an unrevoked sender's current token hash; False for an unknown or revoked sender."""
    return str(await conn.execute(Q.rekey_sender, code, token_hash)).endswith(" 1")


async def revoke_sender(conn: Conn, code: str) -> bool:
    """Revoke a sender (not its tokens); False when it was unknown or revoked already."""
    return str(await conn.execute(Q.revoke_sender, code)).endswith(" 1")


async def revoke_tokens(conn: Conn, code: str) -> None:
    await conn.execute(Q.revoke_tokens, code)


async def limit_tokens(conn: Conn, code: str, within: timedelta) -> None:
    """Let the sender's unrevoked tokens expire after ``within`` at the latest."""
    await conn.execute(Q.limit_tokens, code, within)


async def add_token(conn: Conn, token_hash: str, code: str, expires: timedelta | None) -> None:
    await conn.execute(Q.add_token, token_hash, code, expires)


async def sender_by_code(conn: Conn, code: str) -> Sender | None:
    row = await conn.fetchrow(Q.sender_by_code, code)
    return Sender(row["code"], row["name"]) if row else None


async def sender_by_token(conn: Conn, token_hash: str) -> Sender | None:
    """The sender of a valid token hash: neither it nor its sender revoked, not expired."""
    row = await conn.fetchrow(Q.sender_by_token, token_hash)
    return Sender(row["code"], row["name"]) if row else None


async def note_last_events(conn: Conn, seen: dict[str, datetime]) -> None:
    await conn.execute(Q.note_last_events, list(seen), list(seen.values()))


async def last_events(conn: Conn) -> list[tuple[str, datetime]]:
    """(code, last submission or else registration time) of every registered, unrevoked sender."""
    return [(r["code"], r["at"]) for r in await conn.fetch(Q.last_events)]


# -- the iJw adapter's state (ijw/store.py maps these rows to its State) ---------------------------------
async def lock_keys(conn: Conn, keys: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on ``keys``, taken in sorted order in one statement."""
    await conn.execute(Q.ijw_lock_keys, sorted(keys))


async def ijw_records(conn: Conn, sender: str, keys: Sequence[str]) -> list[Record]:
    """(record_key, event_id, active, versions, einddatum) of the sender's ``keys``."""
    return await conn.fetch(Q.ijw_records, sender, keys)


async def ijw_deliveries(conn: Conn, sender: str, message_key: str) -> list[Record]:
    """(record_key, status, record_hash, event_id, type, occurred_at, data) of what one message produced."""
    return await conn.fetch(Q.ijw_deliveries, sender, message_key)


async def ijw_toewijzingen(conn: Conn, gemeente: str, agb: str, nummers: Sequence[str]) -> list[Record]:
    """(nummer, categorie, code, aanmelding_id) of the ToewijzingNummers ``nummers`` of (gemeente, agb)."""
    return await conn.fetch(Q.ijw_toewijzingen, gemeente, agb, nummers)


async def save_ijw_records(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """(sender, record_key, event_id, active, versions, einddatum) rows, inserted or updated."""
    if rows:
        await conn.executemany(Q.ijw_save_record, rows)


async def save_ijw_deliveries(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """(sender, message_key, record_key, status, record_hash, event_id, type, occurred_at, data) rows."""
    if rows:
        await conn.executemany(Q.ijw_save_delivery, rows)


async def save_ijw_aanvragen(conn: Conn, rows: Sequence[tuple[str, str, str]]) -> None:
    """(agb, referentie, aanmelding_id) rows."""
    if rows:
        await conn.executemany(Q.ijw_save_aanvraag, rows)


async def save_ijw_toewijzingen(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """(gemeente, agb, nummer, referentie, categorie, code, decided_at) rows; a later decision wins."""
    if rows:
        await conn.executemany(Q.ijw_save_toewijzing, rows)
