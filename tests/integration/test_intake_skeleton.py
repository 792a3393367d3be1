"""Intake on the real broker and database: accept, reject, authenticate, publish without the BSN."""

from __future__ import annotations

import orjson
import pytest

from jeugdstroom.common import db
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from tests.factories import SENDER, bsn, separatie
from tests.support import read_topic, register_sender, running_app, wait_until

pytestmark = pytest.mark.integration


async def _token(settings: Settings, code: str = SENDER) -> str:
    return await register_sender(settings, code)


async def test_valid_separatie_is_published_keyed_by_pseudonym_with_cloudevent_headers(settings: Settings) -> None:
    token = await _token(settings)
    async with running_app(create_app(settings)) as client:
        resp = await client.post(
            "/v1/events", json=separatie("e1", "s1", seed=3), headers={"authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 202, resp.text
        assert resp.json() == {"status": "accepted", "id": "e1"}
        records = await wait_until(lambda: read_topic(settings, "separatie", 1.0), 20, what="record on topic")
    assert len(records) == 1
    rec = records[0]
    pseudonym = pseudonymise(bsn(3), settings.pseudonym_key_bytes)
    assert rec.key == pseudonym.encode()
    headers = dict(rec.headers)
    assert headers["ce_id"] == f"{SENDER}/e1".encode()
    assert headers["ce_type"] == b"nl.jeugdstroom.separatie"
    body = orjson.loads(rec.value)
    assert body["child"] == {"pseudonym": pseudonym, "birth_date": "2010-04-12", "gemeente": "GM0268"}
    assert "accepted_at" in body
    assert bsn(3).encode() not in rec.value


async def test_invalid_event_gets_422_naming_field_and_rule_without_the_bsn(settings: Settings) -> None:
    token = await _token(settings)
    bad = separatie("e1", "s1", start="2026-05-01T10:00:00+02:00", end="2026-05-01T09:00:00+02:00")
    bad["child"]["bsn"] = "123456789"  # fails the elfproef
    async with running_app(create_app(settings)) as client:
        resp = await client.post("/v1/events", json=bad, headers={"authorization": f"Bearer {token}"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["reason"] for e in resp.json()["errors"]}
    assert fields["child.bsn"] == "must be 9 digits that pass the elfproef"
    assert fields["data.end"] == "must not be before start"
    assert "123456789" not in resp.text


async def test_authentication_authorisation_and_idempotency(settings: Settings) -> None:
    token = await _token(settings)
    other = await _token(settings, "87654321")
    event = separatie("e1", "s1")
    async with running_app(create_app(settings)) as client:
        assert (await client.post("/v1/events", json=event)).status_code == 401
        assert (
            await client.post("/v1/events", json=event, headers={"authorization": "Bearer nope"})
        ).status_code == 401
        assert (
            await client.post("/v1/events", json=event, headers={"authorization": f"Bearer {other}"})
        ).status_code == 403
        auth = {"authorization": f"Bearer {token}"}
        assert (await client.post("/v1/events", json=event, headers=auth)).status_code == 202
        dup = await client.post("/v1/events", json=event, headers=auth)
        assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
        changed = separatie("e1", "s1", vorm="eigen_kamer_op_slot")
        assert (await client.post("/v1/events", json=changed, headers=auth)).status_code == 409
        batch = await client.post(
            "/v1/events",
            headers=auth,
            json=[separatie("e2", "s2"), {"type": "separatie"}, separatie("e1", "s1"), separatie("e2", "s2")],
        )
        statuses = [r["status"] for r in batch.json()["results"]]
        assert statuses == ["accepted", "rejected", "duplicate", "duplicate"]
    async with await db.create_pool(settings.database_url) as pool:
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE producer = 'intake'") == 2
        dump = orjson.dumps(
            [
                dict(r)
                for r in await pool.fetch(
                    "SELECT topic, convert_from(key, 'UTF8') AS k, convert_from(value, 'UTF8') AS v FROM outbox"
                )
            ]
        )
        assert bsn(1).encode() not in dump
