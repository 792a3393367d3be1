"""registry state in PostgreSQL: facts in, projected state out — set-based (one round trip per table and step).

Concurrency: every batch first takes the watermark row lock (shared, or exclusive when it advances the
watermark), then ``pg_advisory_xact_lock`` for every child and event it touches, in sorted order. Two instances
can therefore never project the same child at the same time, whatever topic partitions they own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from jeugdstroom.common.contracts.changes import (
    AanmeldingEpisode,
    AchttienFact,
    BeschikkingEpisode,
    PlaatsingEpisode,
    SeparatieEpisode,
)
from jeugdstroom.common.db import Conn
from jeugdstroom.registry.handlers.care_path import ChildDiff, ChildState, Episode, entity_key
from jeugdstroom.registry.handlers.child import ChildRecord
from jeugdstroom.registry.handlers.facts import Correction, Fact, Finding

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Table:
    """Where one entity's projections live: key (pseudonym, instelling, id), typed columns, the contract."""

    name: str
    id_column: str
    model: type[Episode]
    columns: tuple[tuple[str, str, Getter], ...]  # (column, PostgreSQL type, value of the episode)


def _attr(name: str) -> Getter:
    return lambda ep: getattr(ep, name)


_CHILD_COLUMNS: tuple[tuple[str, str, Getter], ...] = (
    ("gemeente", "text", _attr("gemeente")),
    ("birth_date", "date", _attr("birth_date")),
)

TABLES: dict[str, Table] = {
    "aanmelding": Table(
        "registry.aanmeldingen",
        "aanmelding_id",
        AanmeldingEpisode,
        (
            ("verwijzer", "text", _attr("verwijzer")),
            ("zorgvorm", "text", _attr("zorgvorm")),
            ("urgent", "boolean", _attr("urgent")),
            ("day", "date", _attr("day")),
            ("beschikking_date", "date", _attr("beschikking_date")),
            ("plaatsing_date", "date", _attr("plaatsing_date")),
            ("herhaald", "boolean", _attr("herhaald")),
            *_CHILD_COLUMNS,
        ),
    ),
    "beschikking": Table(
        "registry.beschikkingen",
        "beschikking_id",
        BeschikkingEpisode,
        (
            ("soort", "text", _attr("soort")),
            ("start_date", "date", _attr("start")),
            ("end_date", "date", _attr("end")),
            *_CHILD_COLUMNS,
        ),
    ),
    "plaatsing": Table(
        "registry.plaatsingen",
        "plaatsing_id",
        PlaatsingEpisode,
        (
            ("provider", "text", _attr("provider")),
            ("vorm", "text", _attr("vorm")),
            ("start_date", "date", _attr("start")),
            ("end_date", "date", _attr("end")),
            ("reden_einde", "text", _attr("reden_einde")),
            ("overplaatsing", "boolean", _attr("overplaatsing")),
            *_CHILD_COLUMNS,
        ),
    ),
    "separatie": Table(
        "registry.separatie_episodes",
        "separatie_id",
        SeparatieEpisode,
        (
            ("vorm", "text", _attr("vorm")),
            ("start_at", "timestamptz", _attr("start")),
            ("end_at", "timestamptz", _attr("end")),
            *_CHILD_COLUMNS,
        ),
    ),
    "achttien_in_pleegzorg": Table(
        "registry.achttien_facts",
        "plaatsing_id",
        AchttienFact,
        (
            ("vorm", "text", _attr("vorm")),
            ("birthday", "date", _attr("birthday")),
            ("continues", "boolean", _attr("continues")),
            *_CHILD_COLUMNS,
        ),
    ),
}


# -- locks and the watermark ---------------------------------------------------------------------------------
def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name (``child:<pseudonym>``, ``event:<uid>``)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def lock(conn: Conn, names: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on ``names``, taken in sorted key order (deadlock-free among batches)."""
    keys = sorted({lock_key(n) for n in names})
    if keys:
        await conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS u(k)", keys)


async def advance_watermark(conn: Conn, batch_max_day: date) -> date | None:
    """Raise the stored latest event day to ``batch_max_day`` and return it, holding the watermark row lock:
    exclusive when this batch advances it, shared otherwise (so that a batch projecting with the old watermark
    commits before another batch looks for the children the new watermark makes due)."""
    current = await conn.fetchval("SELECT max_day FROM registry.watermark WHERE id = 1")
    if current is None or batch_max_day > current:
        return await conn.fetchval(  # type: ignore[no-any-return]
            "UPDATE registry.watermark SET max_day = GREATEST(max_day, $1) WHERE id = 1 RETURNING max_day",
            batch_max_day,
        )
    return await conn.fetchval("SELECT max_day FROM registry.watermark WHERE id = 1 FOR SHARE")  # type: ignore[no-any-return]


async def due_children(conn: Conn, watermark: date | None) -> set[str]:
    """Children with an achttien_in_pleegzorg fact waiting for a birthday the watermark has passed."""
    if watermark is None:
        return set()
    rows = await conn.fetch("SELECT pseudonym FROM registry.children WHERE pending_birthday < $1", watermark)
    return {r["pseudonym"] for r in rows}


# -- facts -----------------------------------------------------------------------------------------------------
async def related_children(conn: Conn, uids: Sequence[str]) -> list[tuple[str, str]]:
    """(event uid, pseudonym) of every child an event concerns: the child of the original event, and the own and
    replacement child of every correctie of it."""
    if not uids:
        return []
    rows = await conn.fetch(
        """SELECT event_uid AS uid, pseudonym FROM registry.facts WHERE event_uid = ANY($1::text[])
           UNION SELECT target_uid, pseudonym FROM registry.corrections WHERE target_uid = ANY($1::text[])
           UNION SELECT target_uid, replacement_pseudonym FROM registry.corrections
                 WHERE target_uid = ANY($1::text[]) AND replacement_pseudonym IS NOT NULL""",
        list(uids),
    )
    return [(r["uid"], r["pseudonym"]) for r in rows]


async def add_facts(conn: Conn, facts: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Store (uid, published event as JSON) of aanmelding/beschikking/plaatsing/separatie events."""
    if not facts:
        return
    await conn.execute(
        """INSERT INTO registry.facts (event_uid, pseudonym, type, occurred_at, event)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
           ON CONFLICT (event_uid) DO NOTHING""",
        [u for u, _ in facts],
        [e["child"]["pseudonym"] for _, e in facts],
        [e["type"] for _, e in facts],
        [datetime.fromisoformat(e["occurred_at"]) for _, e in facts],
        [e for _, e in facts],
    )


async def add_corrections(conn: Conn, corrections: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Store (uid, published correctie as JSON)."""
    if not corrections:
        return
    parsed = [Correction.from_json(u, e) for u, e in corrections]
    await conn.execute(
        """INSERT INTO registry.corrections
               (event_uid, pseudonym, target_uid, action, occurred_at, replacement_pseudonym, event)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                                $7::jsonb[])
           ON CONFLICT (event_uid) DO NOTHING""",
        [c.uid for c in parsed],
        [c.pseudonym for c in parsed],
        [c.target_uid for c in parsed],
        [c.action for c in parsed],
        [c.occurred_at for c in parsed],
        [c.replacement.pseudonym if c.replacement else None for c in parsed],
        [e for _, e in corrections],
    )


async def load_inputs(conn: Conn, children: Sequence[str]) -> tuple[dict[str, Fact], list[Correction]]:
    """Every original event and correctie that may concern ``children``: their own events, every correctie of
    those or naming/moving-to these children, and the targets of those corrections."""
    rows = await conn.fetch(
        "SELECT event_uid, event FROM registry.facts WHERE pseudonym = ANY($1::text[])", list(children)
    )
    originals = {r["event_uid"]: Fact.from_json(r["event_uid"], r["event"]) for r in rows}
    rows = await conn.fetch(
        """SELECT event_uid, event FROM registry.corrections WHERE target_uid IN (
               SELECT target_uid FROM registry.corrections
               WHERE pseudonym = ANY($1::text[]) OR replacement_pseudonym = ANY($1::text[])
               UNION SELECT unnest($2::text[]))""",
        list(children),
        list(originals),
    )
    corrections = [Correction.from_json(r["event_uid"], r["event"]) for r in rows]
    missing = sorted({c.target_uid for c in corrections} - originals.keys())
    if missing:
        rows = await conn.fetch(
            "SELECT event_uid, event FROM registry.facts WHERE event_uid = ANY($1::text[])", missing
        )
        originals.update({r["event_uid"]: Fact.from_json(r["event_uid"], r["event"]) for r in rows})
    return originals, corrections


# -- projected state -------------------------------------------------------------------------------------------
async def load_states(conn: Conn, children: Sequence[str]) -> dict[str, ChildState]:
    """The stored state of each child (empty for a child the registry does not know)."""
    kids = list(children)
    states = {p: ChildState(p) for p in kids}
    history: dict[str, list[tuple[date, str]]] = {p: [] for p in kids}
    for r in await conn.fetch(
        "SELECT pseudonym, valid_from, gemeente FROM registry.child_gemeenten"
        " WHERE pseudonym = ANY($1::text[]) ORDER BY pseudonym, valid_from",
        kids,
    ):
        history[r["pseudonym"]].append((r["valid_from"], r["gemeente"]))
    for r in await conn.fetch(
        "SELECT pseudonym, birth_date, gemeente, pending_birthday FROM registry.children"
        " WHERE pseudonym = ANY($1::text[])",
        kids,
    ):
        states[r["pseudonym"]].child = ChildRecord(
            r["birth_date"], r["gemeente"], tuple(history[r["pseudonym"]]), r["pending_birthday"]
        )
    for entity, table in TABLES.items():
        for r in await conn.fetch(
            f"SELECT pseudonym, episode FROM {table.name} WHERE pseudonym = ANY($1::text[])", kids
        ):
            ep = table.model.model_validate_json(orjson.dumps(r["episode"]))
            states[r["pseudonym"]].entities[entity_key(entity, ep)] = ep
    for r in await conn.fetch(
        "SELECT pseudonym, kind, subject, instelling, reason FROM registry.findings"
        " WHERE pseudonym = ANY($1::text[]) AND resolved_at IS NULL",
        kids,
    ):
        states[r["pseudonym"]].findings[(r["kind"], r["subject"])] = Finding(
            r["kind"], r["subject"], r["instelling"], r["reason"]
        )
    return states


async def save(conn: Conn, diffs: Sequence[ChildDiff]) -> None:
    """Write the diffs: children and their gemeente history, entity rows, findings."""
    await _save_children(conn, [d for d in diffs if d.child_changed])
    for entity, table in TABLES.items():
        changes = [(d.pseudonym, c) for d in diffs for c in d.changes if c.entity == entity]
        await _save_entities(
            conn,
            table,
            [(p, c.before) for p, c in changes if c.after is None and c.before],
            [(p, c.after) for p, c in changes if c.after is not None],
        )
    opened = [(d.pseudonym, f) for d in diffs for f in d.opened]
    resolved = [(d.pseudonym, f) for d in diffs for f in d.resolved]
    if opened:
        await conn.execute(
            """INSERT INTO registry.findings (pseudonym, kind, subject, instelling, reason)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
               ON CONFLICT (pseudonym, kind, subject) DO UPDATE
               SET instelling = EXCLUDED.instelling, reason = EXCLUDED.reason, resolved_at = NULL,
                   opened_at = CASE WHEN registry.findings.resolved_at IS NULL THEN registry.findings.opened_at
                                    ELSE now() END""",
            [p for p, _ in opened],
            [f.kind for _, f in opened],
            [f.subject for _, f in opened],
            [f.instelling for _, f in opened],
            [f.reason for _, f in opened],
        )
    if resolved:
        await conn.execute(
            """UPDATE registry.findings t SET resolved_at = now()
               FROM unnest($1::text[], $2::text[], $3::text[]) AS x(p, k, s)
               WHERE t.pseudonym = x.p AND t.kind = x.k AND t.subject = x.s AND t.resolved_at IS NULL""",
            [p for p, _ in resolved],
            [f.kind for _, f in resolved],
            [f.subject for _, f in resolved],
        )


async def _save_children(conn: Conn, diffs: Sequence[ChildDiff]) -> None:
    if not diffs:
        return
    pseudonyms = [d.pseudonym for d in diffs]
    await conn.execute("DELETE FROM registry.child_gemeenten WHERE pseudonym = ANY($1::text[])", pseudonyms)
    gone = [d.pseudonym for d in diffs if d.child_after is None]
    if gone:
        await conn.execute("DELETE FROM registry.children WHERE pseudonym = ANY($1::text[])", gone)
    kept = [(d.pseudonym, d.child_after) for d in diffs if d.child_after is not None]
    if not kept:
        return
    await conn.execute(
        """INSERT INTO registry.children (pseudonym, birth_date, gemeente, pending_birthday)
           SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::date[])
           ON CONFLICT (pseudonym) DO UPDATE SET birth_date = EXCLUDED.birth_date, gemeente = EXCLUDED.gemeente,
               pending_birthday = EXCLUDED.pending_birthday""",
        [p for p, _ in kept],
        [c.birth_date for _, c in kept],
        [c.gemeente for _, c in kept],
        [c.pending_birthday for _, c in kept],
    )
    rows = [(p, day, g) for p, c in kept for day, g in c.history]
    await conn.execute(
        """INSERT INTO registry.child_gemeenten (pseudonym, valid_from, gemeente)
           SELECT * FROM unnest($1::text[], $2::date[], $3::text[])""",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def _save_entities(
    conn: Conn, table: Table, gone: Sequence[tuple[str, Any]], kept: Sequence[tuple[str, Any]]
) -> None:
    ident = table.id_column
    if gone:
        await conn.execute(
            f"""DELETE FROM {table.name} t USING unnest($1::text[], $2::text[], $3::text[]) AS x(p, i, k)
                WHERE t.pseudonym = x.p AND t.instelling = x.i AND t.{ident} = x.k""",
            [p for p, _ in gone],
            [ep.instelling for _, ep in gone],
            [getattr(ep, ident) for _, ep in gone],
        )
    if not kept:
        return
    cols = ["pseudonym", "instelling", ident, *(c for c, _, _ in table.columns), "episode"]
    types = ["text", "text", "text", *(t for _, t, _ in table.columns), "jsonb"]
    params = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[3:])
    await conn.execute(
        f"""INSERT INTO {table.name} ({", ".join(cols)}) SELECT * FROM unnest({params})
            ON CONFLICT (pseudonym, instelling, {ident}) DO UPDATE SET {updates}""",
        [p for p, _ in kept],
        [ep.instelling for _, ep in kept],
        [getattr(ep, ident) for _, ep in kept],
        *([get(ep) for _, ep in kept] for _, _, get in table.columns),
        [ep.model_dump(mode="json") for _, ep in kept],
    )


async def open_findings(conn: Conn, kind: str | None, status: str, limit: int) -> list[dict[str, Any]]:
    """Findings for the operator API (no BSN is ever stored; the child is its pseudonym)."""
    where = {"open": "resolved_at IS NULL", "resolved": "resolved_at IS NOT NULL", "all": "true"}[status]
    rows = await conn.fetch(
        f"""SELECT pseudonym, kind, subject, instelling, reason, opened_at, resolved_at FROM registry.findings
            WHERE {where} AND ($1::text IS NULL OR kind = $1) ORDER BY opened_at, pseudonym, kind, subject
            LIMIT $2""",
        kind,
        limit,
    )
    return [
        {
            **dict(r),
            "opened_at": r["opened_at"].isoformat(),
            "resolved_at": r["resolved_at"].isoformat() if r["resolved_at"] else None,
        }
        for r in rows
    ]


async def open_findings_by_kind(conn: Conn) -> dict[str, int]:
    rows = await conn.fetch("SELECT kind, count(*) AS n FROM registry.findings WHERE resolved_at IS NULL GROUP BY kind")
    return {r["kind"]: int(r["n"]) for r in rows}
