"""The iJw adapter's state in PostgreSQL (tables in ``migrations/0002_ijw_state.sql``, statements in
``intake/queries.sql``), read and written inside the transaction that accepts a message's events, so the state and
the accepted events never disagree.

Messages that touch the same records are serialised by transaction-scoped advisory locks on their record keys
(taken in sorted order, so two messages never wait for each other crosswise).
"""

from __future__ import annotations

from jeugdstroom.common.db import Conn
from jeugdstroom.intake import repository as repo
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
    await repo.lock_keys(conn, (f"ijw:{sender}:{record_key}" for record_key in keys))
    for r in await repo.ijw_records(conn, sender, keys):
        state.records[r["record_key"]] = StoredRecord(r["event_id"], r["active"], r["versions"], r["einddatum"])
    for r in await repo.ijw_deliveries(conn, sender, message_key(msg)):
        state.deliveries[(r["record_key"], r["status"])] = StoredDelivery(
            r["record_hash"], r["event_id"], r["type"], r["occurred_at"], r["data"])
    if nummers:
        for r in await repo.ijw_toewijzingen(conn, msg.header.ontvanger, msg.header.afzender, nummers):
            state.toewijzingen[r["nummer"]] = Toewijzing(r["categorie"], r["code"], r["aanmelding_id"])
    return state


async def save(conn: Conn, msg: Message, conversion: Conversion) -> None:
    """Store what this message changed (in the caller's transaction)."""
    sender = sender_of(msg)
    await repo.save_ijw_records(conn, [
        (sender, k, r.event_id, r.active, r.versions, r.einddatum) for k, r in conversion.records.items()])
    mkey = message_key(msg)
    await repo.save_ijw_deliveries(conn, [
        (sender, mkey, k, status, d.record_hash, d.event_id, d.type, d.occurred_at, d.data)
        for (k, status), d in conversion.deliveries.items()])
    await repo.save_ijw_aanvragen(conn, [(a.agb, a.referentie, a.aanmelding_id) for a in conversion.aanvragen])
    await repo.save_ijw_toewijzingen(conn, [
        (t.gemeente, t.agb, t.nummer, t.referentie, t.categorie, t.code, t.decided_at) for t in conversion.toegewezen])
