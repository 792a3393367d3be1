"""Migration 0002 turns the separatie facts of 0001 into ordinary facts that the registry projects as before."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import orjson
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.contracts import parse_published
from jeugdstroom.registry import repository as repo
from jeugdstroom.registry.handlers import care_path
from tests.conftest import Infra

pytestmark = pytest.mark.integration
P = "c" * 64


async def test_0001_separatie_facts_survive_the_care_path_migration(infra: Infra) -> None:
    url = db.with_database(infra.admin_url, "t_" + uuid.uuid4().hex[:12])
    await db.migrate(url, ["common"])
    conn = await asyncpg.connect(url)
    try:
        [(version, name, sql)] = [m for m in db.migration_files("registry") if m[0] == 1]
        await conn.execute(sql)
        await conn.execute(
            "INSERT INTO schema_migrations (component, version, name) VALUES ('registry', $1, $2)", version, name
        )
        fact = {
            "uid": "12345678/e1",
            "occurred_at": "2026-05-01T11:30:00+02:00",
            "separatie_id": "s1",
            "instelling": "12345678",
            "pseudonym": P,
            "gemeente": "GM0268",
            "birth_date": "2010-04-12",
            "vorm": "separeerruimte",
            "start": "2026-05-01T10:00:00+02:00",
            "end": "2026-05-01T11:30:00+02:00",
        }
        await conn.execute(
            "INSERT INTO registry.separatie_facts VALUES ('12345678/e1', '12345678', 's1', $1, $2::jsonb)",
            datetime.fromisoformat(fact["occurred_at"]),
            orjson.dumps(fact).decode(),
        )
    finally:
        await conn.close()

    assert "registry/0002_care_path.sql" in await db.migrate(url)
    pool = await db.create_pool(url, max_size=1)
    try:
        async with pool.acquire() as c:
            event = await c.fetchval("SELECT event FROM registry.facts")
            parse_published(orjson.dumps(event))  # a valid published event again
            originals, corrections = await repo.load_inputs(c, [P])
        state = care_path.project(P, originals, corrections, None)
        [episode] = state.entities.values()
        assert episode.model_dump(mode="json") == {
            "instelling": "12345678",
            "pseudonym": P,
            "gemeente": "GM0268",
            "birth_date": "2010-04-12",
            "separatie_id": "s1",
            "vorm": "separeerruimte",
            "start": "2026-05-01T10:00:00+02:00",
            "end": "2026-05-01T11:30:00+02:00",
            "geslacht": "onbekend",  # no event of the child gives one
            "vervolg": False,  # derived: no earlier episode of the child less than 24 hours before (Argus)
        }
    finally:
        await pool.close()
