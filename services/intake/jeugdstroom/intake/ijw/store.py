"""The iJw adapter's state in PostgreSQL (tables in ``migrations/0002_ijw_state.sql``), read and written inside the
transaction that accepts a message's events, so the state and the accepted events never disagree.

Messages that touch the same records are serialised by transaction-scoped advisory locks on their record keys
(taken in sorted order, so two messages never wait for each other crosswise).
"""

from __future__ import annotations

from typing import Any

from jeugdstroom.common.db import Conn
from jeugdstroom.intake.ijw.convert import (
    Conversion,
    State,
    StoredDelivery,
    StoredRecord,
    Toewijzing,
    message_key,
    sender_of,
    wanted,
)
from jeugdstroom.intake.ijw.message import Message


async def load(conn: Conn, msg: Message, key: bytes) -> State:
    """Lock the message's record keys and read what earlier messages said about them."""
    keys, nummers = wanted(msg, key)
    state = State()
    if not keys:
        return state
    sender = sender_of(msg)
    await conn.execute(  # one statement, the keys in sorted order
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k",
        sorted(f"ijw:{sender}:{record_key}" for record_key in keys),
    )
    for r in await conn.fetch(
        "SELECT record_key, event_id, active, versions, einddatum FROM intake.ijw_records"
        " WHERE sender = $1 AND record_key = ANY($2::text[])", sender, keys,
    ):
        state.records[r["record_key"]] = StoredRecord(r["event_id"], r["active"], r["versions"], r["einddatum"])
    for r in await conn.fetch(
        "SELECT record_key, status, record_hash, event_id, type, occurred_at, data FROM intake.ijw_deliveries"
        " WHERE sender = $1 AND message_key = $2", sender, message_key(msg),
    ):
        state.deliveries[(r["record_key"], r["status"])] = StoredDelivery(
            r["record_hash"], r["event_id"], r["type"], r["occurred_at"], r["data"])
    if nummers:
        for r in await conn.fetch(
            "SELECT t.nummer, t.categorie, t.code, a.aanmelding_id FROM intake.ijw_toewijzingen t"
            " LEFT JOIN intake.ijw_aanvragen a ON a.agb = t.agb AND a.referentie = t.referentie"
            " WHERE t.gemeente = $1 AND t.agb = $2 AND t.nummer = ANY($3::text[])",
            msg.header.ontvanger, msg.header.afzender, nummers,
        ):
            state.toewijzingen[r["nummer"]] = Toewijzing(r["categorie"], r["code"], r["aanmelding_id"])
    return state


async def save(conn: Conn, msg: Message, conversion: Conversion) -> None:
    """Store what this message changed (in the caller's transaction)."""
    sender = sender_of(msg)
    if conversion.records:
        rows: list[tuple[Any, ...]] = [
            (sender, k, r.event_id, r.active, r.versions, r.einddatum) for k, r in conversion.records.items()]
        await conn.executemany(
            "INSERT INTO intake.ijw_records (sender, record_key, event_id, active, versions, einddatum)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sender, record_key) DO UPDATE SET"
            " event_id = excluded.event_id, active = excluded.active, versions = excluded.versions,"
            " einddatum = excluded.einddatum, updated_at = now()", rows)
    if conversion.deliveries:
        mkey = message_key(msg)
        await conn.executemany(
            "INSERT INTO intake.ijw_deliveries (sender, message_key, record_key, status, record_hash, event_id, type,"
            " occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            [(sender, mkey, k, status, d.record_hash, d.event_id, d.type, d.occurred_at, d.data)
             for (k, status), d in conversion.deliveries.items()])
    if conversion.aanvragen:
        await conn.executemany(
            "INSERT INTO intake.ijw_aanvragen (agb, referentie, aanmelding_id) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            [(a.agb, a.referentie, a.aanmelding_id) for a in conversion.aanvragen])
    if conversion.toegewezen:
        await conn.executemany(
            "INSERT INTO intake.ijw_toewijzingen (gemeente, agb, nummer, referentie, categorie, code, decided_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (gemeente, agb, nummer) DO UPDATE SET"
            " referentie = coalesce(excluded.referentie, intake.ijw_toewijzingen.referentie),"
            " categorie = coalesce(excluded.categorie, intake.ijw_toewijzingen.categorie),"
            " code = CASE WHEN excluded.categorie IS NULL THEN intake.ijw_toewijzingen.code ELSE excluded.code END,"
            " decided_at = excluded.decided_at, updated_at = now()"
            " WHERE excluded.decided_at >= intake.ijw_toewijzingen.decided_at",
            [(t.gemeente, t.agb, t.nummer, t.referentie, t.categorie, t.code, t.decided_at)
             for t in conversion.toegewezen])

