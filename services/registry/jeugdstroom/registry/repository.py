"""registry state in PostgreSQL: facts in, projections out, set-based (one round trip per step)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from jeugdstroom.common.contracts.changes import SeparatieEpisode
from jeugdstroom.common.db import Conn

EpisodeKey = tuple[str, str]  # (instelling, separatie_id)


async def add_separatie_facts(conn: Conn, facts: Sequence[dict[str, Any]]) -> None:
    await conn.execute(
        """INSERT INTO registry.separatie_facts (event_uid, instelling, separatie_id, occurred_at, fact)
           SELECT u, i, s, o, f FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
                AS x(u, i, s, o, f)
           ON CONFLICT (event_uid) DO NOTHING""",
        [f["uid"] for f in facts], [f["instelling"] for f in facts], [f["separatie_id"] for f in facts],
        [_ts(f["occurred_at"]) for f in facts], list(facts),
    )


async def separatie_facts(conn: Conn, keys: Iterable[EpisodeKey]) -> dict[EpisodeKey, list[dict[str, Any]]]:
    keys = list(keys)
    rows = await conn.fetch(
        """SELECT instelling, separatie_id, fact FROM registry.separatie_facts
           WHERE (instelling, separatie_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    out: dict[EpisodeKey, list[dict[str, Any]]] = {k: [] for k in keys}
    for r in rows:
        out[(r["instelling"], r["separatie_id"])].append(r["fact"])
    return out


async def separatie_episodes(conn: Conn, keys: Iterable[EpisodeKey]) -> dict[EpisodeKey, SeparatieEpisode]:
    keys = list(keys)
    rows = await conn.fetch(
        """SELECT instelling, separatie_id, episode FROM registry.separatie_episodes
           WHERE (instelling, separatie_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))""",
        [k[0] for k in keys], [k[1] for k in keys],
    )
    return {(r["instelling"], r["separatie_id"]): SeparatieEpisode.model_validate_json(orjson.dumps(r["episode"]))
            for r in rows}


async def save_separatie_episodes(conn: Conn, episodes: dict[EpisodeKey, SeparatieEpisode | None]) -> None:
    gone = [k for k, e in episodes.items() if e is None]
    kept = [(k, e) for k, e in episodes.items() if e is not None]
    if gone:
        await conn.execute(
            "DELETE FROM registry.separatie_episodes WHERE (instelling, separatie_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))", [k[0] for k in gone], [k[1] for k in gone])
    if kept:
        await conn.execute(
            """INSERT INTO registry.separatie_episodes (instelling, separatie_id, pseudonym, episode)
               SELECT i, s, p, e FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) AS x(i, s, p, e)
               ON CONFLICT (instelling, separatie_id) DO UPDATE
               SET pseudonym = EXCLUDED.pseudonym, episode = EXCLUDED.episode""",
            [k[0] for k, _ in kept], [k[1] for k, _ in kept], [e.pseudonym for _, e in kept],
            [e.model_dump(mode="json") for _, e in kept],
        )


def _ts(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso)
