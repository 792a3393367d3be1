"""registry state in PostgreSQL: facts in, projected state out — set-based (one round trip per table and step).

Concurrency: every batch first takes the watermark row lock (shared, or exclusive when it advances the
watermark), then ``pg_advisory_xact_lock`` for every child and event it touches, in sorted order. Two instances
can therefore never project the same child at the same time, whatever topic partitions they own.

SQL: the static statements are in ``queries.sql`` (``Q.<name>``). Built here at run time, from identifiers: the
per-entity statements (``_LOAD_ENTITIES``, ``_save_entities``: table and column names from ``entities.TABLES``) and
the status filter of :func:`open_findings` (one of three fixed conditions, so each keeps its own plan).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import orjson

from jeugdstroom.common.db import Conn
from jeugdstroom.common.sql import load_queries
from jeugdstroom.registry import entities
from jeugdstroom.registry.entities import Episode, Table
from jeugdstroom.registry.handlers.care_path import ChildDiff, ChildState, entity_key
from jeugdstroom.registry.handlers.child import ChildRecord
from jeugdstroom.registry.handlers.facts import AnyFact, Correction, Fact, Finding

#: The static statements (``queries.sql``); the per-entity statements are built below from ``TABLES``.
Q = load_queries(__name__.rpartition(".")[0], "queries.sql")

#: Entity name → its table (from the entity table, ``entities.ENTITIES``).
TABLES: dict[str, Table] = entities.TABLES


# -- locks and the watermark ---------------------------------------------------------------------------------
def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name (``child:<pseudonym>``, ``event:<uid>``)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def lock(conn: Conn, names: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on ``names``, taken in sorted key order (deadlock-free among batches)."""
    keys = sorted({lock_key(n) for n in names})
    if keys:
        await conn.execute(Q.lock, keys)


async def advance_watermark(conn: Conn, batch_max_day: date) -> date | None:
    """Raise the stored latest event day to ``batch_max_day`` and return it, holding the watermark row lock:
    exclusive when this batch advances it, shared otherwise (so that a batch projecting with the old watermark
    commits before another batch looks for the children the new watermark makes due)."""
    current = await conn.fetchval(Q.watermark)
    if current is None or batch_max_day > current:
        return await conn.fetchval(  # type: ignore[no-any-return]
            Q.raise_watermark,
            batch_max_day,
        )
    return await conn.fetchval(Q.watermark_for_share)  # type: ignore[no-any-return]


async def due_children(conn: Conn, watermark: date | None) -> set[str]:
    """Children whose achttien_in_pleegzorg fact waits for a day (18th birthday + continuering days) the watermark
    has passed."""
    if watermark is None:
        return set()
    rows = await conn.fetch(Q.due_children, watermark)
    return {r["pseudonym"] for r in rows}


# -- facts -----------------------------------------------------------------------------------------------------
async def related_children(conn: Conn, uids: Sequence[str]) -> list[tuple[str, str]]:
    """(event uid, pseudonym) of every child an event concerns: the child of the original event, and the own and
    replacement child of every correctie of it."""
    if not uids:
        return []
    rows = await conn.fetch(
        Q.related_children,
        list(uids),
    )
    return [(r["uid"], r["pseudonym"]) for r in rows]


async def add_facts(conn: Conn, facts: Sequence[tuple[str, Any]]) -> set[str]:
    """Store (uid, published event) of aanmelding/beschikking/plaatsing/separatie events; the event column holds
    the event as JSON (``json_value`` of the contract), the other columns are read from it. Returns the uids that
    were new (a uid stored before is left as it is: the insert is the registry's dedupe)."""
    if not facts:
        return set()
    rows = await conn.fetch(
        Q.add_facts,
        [u for u, _ in facts],
        json_array(e.__pydantic_serializer__.to_json(e, exclude_none=True) for _, e in facts),
    )
    return {r["event_uid"] for r in rows}


async def add_corrections(conn: Conn, corrections: Sequence[tuple[str, dict[str, Any]]]) -> set[str]:
    """Store (uid, published correctie as JSON); returns the uids that were new."""
    if not corrections:
        return set()
    parsed = [Correction.from_json(u, e) for u, e in corrections]
    rows = await conn.fetch(
        Q.add_corrections,
        [c.uid for c in parsed],
        [c.pseudonym for c in parsed],
        [c.target_uid for c in parsed],
        [c.action for c in parsed],
        [c.occurred_at for c in parsed],
        [c.replacement.pseudonym if c.replacement else None for c in parsed],
        [e for _, e in corrections],
    )
    return {r["event_uid"] for r in rows}


async def load_inputs(conn: Conn, children: Sequence[str]) -> tuple[dict[str, AnyFact], list[Correction]]:
    """Every original event and correctie that may concern ``children``: their own events, every correctie of
    those or naming/moving-to these children, and the targets of those corrections."""
    rows = await conn.fetch(
        Q.facts_of_children, list(children)
    )
    originals = {r["event_uid"]: Fact.from_json(r["event_uid"], r["event"]) for r in rows}
    rows = await conn.fetch(
        Q.corrections_concerning,
        list(children),
        list(originals),
    )
    corrections = [Correction.from_json(r["event_uid"], r["event"]) for r in rows]
    missing = sorted({c.target_uid for c in corrections} - originals.keys())
    if missing:
        rows = await conn.fetch(
            Q.facts_by_uid, missing
        )
        originals.update({r["event_uid"]: Fact.from_json(r["event_uid"], r["event"]) for r in rows})
    return originals, corrections


# -- projected state -------------------------------------------------------------------------------------------
class EpisodeJson:
    """Each episode's contract JSON, serialised once per batch: the same bytes go into its entity row and into the
    change that carries it (episodes are immutable; the cache holds them, so their ids stay unique)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Episode, bytes]] = {}

    def __call__(self, ep: Episode) -> bytes:
        hit = self._cache.get(id(ep))
        if hit is None:
            hit = self._cache[id(ep)] = (ep, ep.__pydantic_serializer__.to_json(ep))
        return hit[1]


#: One query for every entity table: (index into ENTITY_TABLES, pseudonym, episode as JSON text). The children are
#: joined as a set rather than matched with ``pseudonym = ANY($1)``: under the prepared statement's generic plan a
#: sequential scan (small tables, e.g. separatie_episodes) tests every row against the whole array in turn
#: (rows × batch size comparisons), where a join hashes the array once.
ENTITY_TABLES: tuple[tuple[str, Table], ...] = tuple(TABLES.items())
_LOAD_ENTITIES = "WITH k AS (SELECT unnest($1::text[]) AS p) " + " UNION ALL ".join(
    f"SELECT {i} AS e, pseudonym, episode::text AS ep FROM k JOIN {table.name} t ON t.pseudonym = k.p"
    for i, (_, table) in enumerate(ENTITY_TABLES)
)


async def load_states(conn: Conn, children: Sequence[str]) -> dict[str, ChildState]:
    """The stored state of each child (empty for a child the registry does not know)."""
    kids = list(children)
    states = {p: ChildState(p) for p in kids}
    for r in await conn.fetch(
        Q.children,
        kids,
    ):
        history = tuple(zip(r["days"], r["gemeenten"], strict=True)) if r["days"] is not None else ()
        states[r["pseudonym"]].child = ChildRecord(r["birth_date"], r["gemeente"], history, r["pending_birthday"])
    for e, p, ep_json in await conn.fetch(_LOAD_ENTITIES, kids):
        entity, table = ENTITY_TABLES[e]
        ep = table.model.model_validate_json(ep_json)
        states[p].entities[entity_key(entity, ep)] = ep
    for r in await conn.fetch(
        Q.open_findings_of_children,
        kids,
    ):
        states[r["pseudonym"]].findings[(r["kind"], r["subject"])] = Finding(
            r["kind"], r["subject"], r["instelling"], r["reason"]
        )
    return states


async def save(conn: Conn, diffs: Sequence[ChildDiff], encoded: EpisodeJson | None = None) -> None:
    """Write the diffs: children and their gemeente history, entity rows, findings. ``encoded`` serialises the
    episodes (pass the one whose JSON the changes reuse)."""
    encoded = encoded or EpisodeJson()
    await _save_children(conn, [d for d in diffs if d.child_changed])
    gone: dict[str, list[tuple[str, Any]]] = {entity: [] for entity in TABLES}
    kept: dict[str, list[tuple[str, Any]]] = {entity: [] for entity in TABLES}
    for d in diffs:
        for c in d.changes:
            if c.after is not None:
                kept[c.entity].append((d.pseudonym, c.after))
            elif c.before:
                gone[c.entity].append((d.pseudonym, c.before))
    for entity, table in TABLES.items():
        await _save_entities(conn, table, gone[entity], kept[entity], encoded)
    opened = [(d.pseudonym, f) for d in diffs for f in d.opened]
    resolved = [(d.pseudonym, f) for d in diffs for f in d.resolved]
    if opened:
        await conn.execute(
            Q.open_findings,
            [p for p, _ in opened],
            [f.kind for _, f in opened],
            [f.subject for _, f in opened],
            [f.instelling for _, f in opened],
            [f.reason for _, f in opened],
        )
    if resolved:
        await conn.execute(
            Q.resolve_findings,
            [p for p, _ in resolved],
            [f.kind for _, f in resolved],
            [f.subject for _, f in resolved],
        )


async def _save_children(conn: Conn, diffs: Sequence[ChildDiff]) -> None:
    gone = [d.pseudonym for d in diffs if d.child_after is None]
    if gone:
        await conn.execute(
            Q.delete_children,
            gone,
        )
    kept = [
        [d.pseudonym, c.birth_date, c.gemeente, c.pending_birthday, c.history] for d in diffs if (c := d.child_after)
    ]
    if not kept:
        return
    # One statement (the children as one JSON parameter): upsert each child, upsert its gemeente history and
    # delete the history rows it no longer has (the two touch disjoint rows). Unchanged rows are not rewritten.
    await conn.execute(
        Q.save_children,
        orjson.dumps(kept).decode(),
    )


async def _save_entities(
    conn: Conn, table: Table, gone: Sequence[tuple[str, Any]], kept: Sequence[tuple[str, Any]], encoded: EpisodeJson
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
    values = ["p", "e->>'instelling'", f"e->>'{ident}'", *(f"(e->>'{f}')::{t}" for _, t, f in table.columns), "e"]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols[3:])
    await conn.execute(
        f"""INSERT INTO {table.name} ({", ".join(cols)}) SELECT {", ".join(values)}
            FROM ROWS FROM (unnest($1::text[]), jsonb_array_elements($2::text::jsonb)) AS x(p, e)
            ON CONFLICT (pseudonym, instelling, {ident}) DO UPDATE SET {updates}""",
        [p for p, _ in kept],
        json_array(encoded(ep) for _, ep in kept),
    )


def json_array(docs: Iterable[bytes]) -> str:
    """JSON documents as one JSON array text: a single parameter that SQL unpacks with ``jsonb_array_elements``
    (asyncpg checks every element of an array parameter against ``collections.abc`` classes, which costs more
    than the whole serialisation)."""
    return (b"[" + b",".join(docs) + b"]").decode()


async def open_findings(
    conn: Conn, kind: str | None, status: str, limit: int, instelling: str | None = None
) -> list[dict[str, Any]]:
    """Findings for the findings API (no BSN is ever stored; the child is its pseudonym); ``instelling``: only
    that instelling's."""
    where = {"open": "resolved_at IS NULL", "resolved": "resolved_at IS NOT NULL", "all": "true"}[status]
    rows = await conn.fetch(
        f"""SELECT pseudonym, kind, subject, instelling, reason, opened_at, resolved_at FROM registry.findings
            WHERE {where} AND ($1::text IS NULL OR kind = $1) AND ($3::text IS NULL OR instelling = $3)
            ORDER BY opened_at, pseudonym, kind, subject LIMIT $2""",
        kind,
        limit,
        instelling,
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
    rows = await conn.fetch(Q.open_findings_by_kind)
    return {r["kind"]: int(r["n"]) for r in rows}
