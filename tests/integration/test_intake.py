"""Intake on the real broker and database: limits, content types, NDJSON streaming, ``jeugdstroom send``,
the Kafka inbox, token revocation and the per-sender id space of corrections."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jeugdstroom.cli.send import send
from jeugdstroom.common import db
from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.contracts import parse_published, parse_submitted
from jeugdstroom.common.kafka import INBOX
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.accept import legacy_content_hash, publish
from jeugdstroom.intake.app import create_app
from jeugdstroom.intake.auth import revoke_sender
from jeugdstroom.intake.examples import EXAMPLES
from tests.conftest import Infra
from tests.factories import SENDER, bsn, child, separatie
from tests.support import ServiceProcess, read_topic, register_sender, running_app, service_ports, wait_until

pytestmark = pytest.mark.integration
OTHER = "87654321"


async def _token(settings: Settings, code: str = SENDER) -> str:
    return await register_sender(settings, code)


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _ndjson(*items: Any) -> bytes:
    return b"".join((i if isinstance(i, bytes) else orjson.dumps(i)) + b"\n" for i in items)


async def _outbox_count(settings: Settings, topic_short: str) -> int:
    async with await db.create_pool(settings.database_url) as pool:
        return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", settings.topic(topic_short)))


# -- every event type ---------------------------------------------------------------------------------------
async def test_every_event_type_is_accepted_and_published_on_its_topic_keyed_by_pseudonym(settings: Settings) -> None:
    token = await _token(settings)
    pseudonym = pseudonymise("111222333", settings.pseudonym_key_bytes)
    async with running_app(create_app(settings, inbox=False)) as client:
        resp = await client.post("/v1/events", json=list(EXAMPLES.values()), headers=_auth(token))
        assert resp.status_code == 202
        assert resp.json()["summary"]["accepted"] == len(EXAMPLES)
        for name, doc in EXAMPLES.items():
            (rec,) = await wait_until(functools.partial(read_topic, settings, name, 1.0), 20, what=f"{name} published")
            headers = dict(rec.headers)
            assert rec.key == pseudonym.encode()
            assert headers["ce_id"] == f"{SENDER}/{doc['id']}".encode()
            assert headers["ce_type"] == f"nl.jeugdstroom.{name}".encode()
            assert headers["ce_source"] == f"/instelling/{SENDER}".encode()
            assert headers["ce_specversion"] == b"1.0" and "ce_time" in headers
            assert orjson.loads(rec.value)["child"]["pseudonym"] == pseudonym
            assert b"111222333" not in rec.value
            published = parse_published(rec.value)  # the published contract, stamped on acceptance
            assert published.accepted_at is not None and published.child.pseudonym == pseudonym
        # Idempotency records written before the v2 content hash hold the legacy hash: a resend of such an event
        # is still a duplicate, and other content under its id still a conflict.
        legacy = {name: legacy_content_hash(publish(parse_submitted(orjson.dumps(doc)), settings.pseudonym_key_bytes))
                  for name, doc in EXAMPLES.items()}
        async with await db.create_pool(settings.database_url) as pool:
            for doc in EXAMPLES.values():
                await pool.execute("UPDATE intake.accepted_events SET content_hash = $3 WHERE sender = $1 AND"
                                   " event_id = $2", doc["sender"], doc["id"], legacy[doc["type"]])
        again = await client.post("/v1/events", json=list(EXAMPLES.values()), headers=_auth(token))
        assert again.json()["summary"]["duplicate"] == len(EXAMPLES)
        changed = {**EXAMPLES["separatie"], "occurred_at": "2026-05-01T11:00:00+02:00"}
        conflict = await client.post("/v1/events", json=changed, headers=_auth(token))
        assert conflict.status_code == 409


# -- limits and content types -------------------------------------------------------------------------
async def test_batch_over_the_limit_is_413_naming_the_limit(settings: Settings) -> None:
    token = await _token(settings)
    async with running_app(create_app(settings, max_batch=3, inbox=False)) as client:
        ok = await client.post("/v1/events", headers=_auth(token), json=[separatie(f"e{i}", f"s{i}") for i in range(3)])
        too_big = await client.post(
            "/v1/events", headers=_auth(token), json=[separatie(f"f{i}", f"s{i}") for i in range(4)]
        )
    assert ok.status_code == 202
    assert ok.json()["summary"] == {"accepted": 3, "duplicate": 0, "conflict": 0, "rejected": 0, "forbidden": 0}
    assert too_big.status_code == 413
    assert "limit of 3 events" in too_big.json()["detail"]
    assert await _outbox_count(settings, "separatie") == 3  # nothing of the refused batch


async def test_other_content_types_are_415_and_broken_json_is_422_without_echo(settings: Settings) -> None:
    token = await _token(settings)
    async with running_app(create_app(settings, inbox=False)) as client:
        text = await client.post(
            "/v1/events",
            headers={**_auth(token), "content-type": "text/plain"},
            content=orjson.dumps(separatie("e1", "s1")),
        )
        none = await client.post("/v1/events", headers=_auth(token), content=b"{}")
        broken = await client.post(
            "/v1/events",
            headers={**_auth(token), "content-type": "application/json"},
            content=b'{"child": {"bsn": "' + bsn(1).encode() + b'"',
        )
        unauthenticated = await client.post("/v1/events", headers={"content-type": "text/plain"}, content=b"x")
    assert text.status_code == 415 and "application/x-ndjson" in text.json()["detail"]
    assert none.status_code == 415
    assert broken.status_code == 422
    assert broken.headers["content-type"] == "application/problem+json"
    assert broken.json()["errors"] == [{"field": "(body)", "reason": "is not valid JSON"}]
    assert broken.json()["status"] == 422 and broken.json()["type"] == "urn:jeugdstroom:problem:validation"
    assert bsn(1) not in broken.text
    assert unauthenticated.status_code == 401  # authentication comes first


# -- NDJSON ---------------------------------------------------------------------------------------------
async def test_ndjson_gives_per_line_results_and_commits_in_chunks(settings: Settings) -> None:
    token = await _token(settings)
    body = _ndjson(
        separatie("e1", "s1", seed=1),
        b'{"id": "broken", "child": {"bsn": "' + bsn(2).encode(),
        separatie("e2", "s2", seed=3),
        b"",  # blank line: skipped, but counted in the line numbers
        {"type": "separatie", "id": "e3"},
        separatie("e1", "s1", seed=1),  # duplicate of line 1
        separatie("e4", "s4", sender=OTHER),
        separatie("e2", "s2", seed=3, vorm="eigen_kamer_op_slot"),  # same id, other content
    )
    async with running_app(create_app(settings, max_batch=2, inbox=False)) as client:
        resp = await client.post(
            "/v1/events", content=body, headers={**_auth(token), "content-type": "application/x-ndjson"}
        )
        async def both_published() -> list[Any] | None:
            # e1 and e2 commit in different chunks (max_batch=2) and may be relayed separately.
            records = await read_topic(settings, "separatie", 1.0)
            return records if len(records) >= 2 else None

        records = await wait_until(both_published, 20, what="both accepted records published")
        metrics = (await client.get("/metrics")).text
    assert resp.status_code == 202, resp.text
    for reason_class in ("invalid_json", "contract", "forbidden", "conflict"):
        assert f'reason_class="{reason_class}"' in metrics  # bounded labels: no ids, no codes
    out = resp.json()
    assert [(r["line"], r["status"]) for r in out["results"]] == [
        (1, "accepted"),
        (2, "rejected"),
        (3, "accepted"),
        (5, "rejected"),
        (6, "duplicate"),
        (7, "forbidden"),
        (8, "conflict"),
    ]
    assert out["results"][1]["errors"] == [{"field": "(line)", "reason": "is not valid JSON"}]
    assert {e["field"] for e in out["results"][3]["errors"]} >= {"child", "data"}
    assert out["summary"] == {"accepted": 2, "duplicate": 1, "conflict": 1, "rejected": 2, "forbidden": 1}
    assert bsn(1) not in resp.text and bsn(2) not in resp.text
    assert sorted(orjson.loads(r.value)["id"] for r in records) == ["e1", "e2"]


async def test_large_ndjson_upload_is_streamed_in_many_transactions(settings: Settings) -> None:
    token = await _token(settings)
    n = 250
    body = _ndjson(*(separatie(f"e{i}", f"s{i}", seed=i) for i in range(n)))

    async def pieces() -> Any:  # an uploading client: the body arrives in odd-sized pieces
        for start in range(0, len(body), 997):
            yield body[start : start + 997]

    async with running_app(create_app(settings, max_batch=40, inbox=False)) as client:
        resp = await client.post(
            "/v1/events", content=pieces(), headers={**_auth(token), "content-type": "application/x-ndjson"}
        )
    assert resp.status_code == 202
    assert resp.json()["summary"]["accepted"] == n
    assert [r["line"] for r in resp.json()["results"]] == list(range(1, n + 1))
    async with await db.create_pool(settings.database_url) as pool:
        # one accepted_at per transaction: 250 lines in chunks of 40 → 7 commits
        assert await pool.fetchval("SELECT count(DISTINCT accepted_at) FROM intake.accepted_events") == 7


# -- jeugdstroom send -------------------------------------------------------------------------------------
async def test_send_submits_ndjson_and_json_files_in_batches_with_a_summary(settings: Settings, tmp_path: Path) -> None:
    token = await _token(settings)
    nd = tmp_path / "events.ndjson"
    nd.write_bytes(_ndjson(*(separatie(f"e{i}", f"s{i}", seed=i) for i in range(7)), b"", {"type": "separatie"}))
    js = tmp_path / "events.json"
    js.write_bytes(orjson.dumps([separatie("e0", "s0", seed=0), separatie("j1", "t1")]))
    single = tmp_path / "one.json"
    single.write_bytes(orjson.dumps(separatie("j2", "t2")))
    progress = io.StringIO()
    async with running_app(create_app(settings, inbox=False)) as client:
        first = await send(nd, "http://app", token, batch=3, client=client, progress=progress)
        second = await send(js, "http://app", token, batch=1, client=client, progress=progress)
        third = await send(single, "http://app", token, client=client, progress=progress)
    assert first.counts == {"accepted": 7, "duplicate": 0, "rejected": 1, "conflict": 0, "forbidden": 0}
    assert first.failed
    assert len(first.problems) == 1 and first.problems[0].startswith("line 9: rejected: ")
    assert second.counts["accepted"] == 1 and second.counts["duplicate"] == 1 and not second.failed
    assert third.counts["accepted"] == 1
    lines = progress.getvalue().splitlines()
    assert len(lines) == 3 + 2 + 1  # one progress line per batch
    assert lines[2].startswith("[" + "#" * 30 + "] 100% 8/8 events")
    assert await _outbox_count(settings, "separatie") == 9


async def test_send_reports_a_refused_token_as_an_error(settings: Settings, tmp_path: Path) -> None:
    from jeugdstroom.cli.send import SendError

    f = tmp_path / "one.json"
    f.write_bytes(orjson.dumps(separatie("e1", "s1")))
    async with running_app(create_app(settings, inbox=False)) as client:
        with pytest.raises(SendError, match="401"):
            await send(f, "http://app", "js_not-a-token", client=client, progress=io.StringIO())


# -- revocation and corrections ---------------------------------------------------------------------------
async def test_a_revoked_token_stops_working(settings: Settings) -> None:
    token = await _token(settings)
    async with running_app(create_app(settings, inbox=False)) as client:
        assert (await client.post("/v1/events", json=separatie("e1", "s1"), headers=_auth(token))).status_code == 202
        conn = await asyncpg.connect(settings.database_url)
        try:
            assert await revoke_sender(conn, SENDER)
        finally:
            await conn.close()
        resp = await client.post("/v1/events", json=separatie("e2", "s2"), headers=_auth(token))
    assert resp.status_code == 401
    assert resp.json()["detail"] == "invalid or revoked token"
    assert resp.json()["status"] == 401 and resp.headers["content-type"] == "application/problem+json"


async def test_a_correctie_naming_another_senders_event_id_targets_only_the_callers_own_id_space(
    settings: Settings,
) -> None:
    """Event ids are scoped per sender: (sender, id). A correctie from OTHER with target_id "e1" is OTHER's
    correctie of OTHER's own "e1" (which need not exist); it can never reach SENDER's "e1". Intake therefore
    accepts it as OTHER's event, and publishes it with OTHER as source."""
    mine = await _token(settings)
    theirs = await _token(settings, OTHER)
    correctie = {
        "id": "c1",
        "type": "correctie",
        "schema_version": 1,
        "occurred_at": "2026-05-02T10:00:00+02:00",
        "sender": OTHER,
        "child": child(1),
        "data": {"target_id": "e1", "action": "intrekken"},
    }
    async with running_app(create_app(settings, inbox=False)) as client:
        assert (await client.post("/v1/events", json=separatie("e1", "s1"), headers=_auth(mine))).status_code == 202
        resp = await client.post("/v1/events", json=correctie, headers=_auth(theirs))
        # and it cannot be sent in SENDER's name with OTHER's token
        forged = await client.post("/v1/events", json={**correctie, "sender": SENDER}, headers=_auth(theirs))
        records = await wait_until(lambda: read_topic(settings, "correctie", 1.0), 20, what="correctie published")
    assert resp.status_code == 202 and resp.json() == {"status": "accepted", "id": "c1"}
    assert forged.status_code == 403
    headers = dict(records[0].headers)
    assert headers["ce_id"] == f"{OTHER}/c1".encode()
    assert headers["ce_source"] == f"/instelling/{OTHER}".encode()
    assert orjson.loads(records[0].value)["sender"] == OTHER


# -- the Kafka inbox ----------------------------------------------------------------------------------------
async def test_kafka_inbox_publishes_valid_events_and_deadletters_the_rest_with_a_reason(settings: Settings) -> None:
    token = await _token(settings)
    other = await _token(settings, OTHER)
    valid = separatie("k1", "s1", seed=5)
    cases: list[tuple[bytes, list[tuple[str, bytes]]]] = [
        (orjson.dumps(valid), [("authorization", f"Bearer {token}".encode())]),
        (b'{"id": "x", "child": {"bsn": "' + bsn(6).encode(), [("authorization", f"Bearer {token}".encode())]),
        (orjson.dumps(separatie("k2", "s2", seed=7)), [("authorization", b"Bearer js_unknown")]),
        (orjson.dumps(separatie("k3", "s3", seed=8)), []),
        (orjson.dumps(separatie("k4", "s4", seed=9)), [("authorization", f"Bearer {other}".encode())]),
        (orjson.dumps({**separatie("k5", "s5", seed=10), "data": {}}), [("authorization", f"Bearer {token}".encode())]),
        (orjson.dumps(valid), [("authorization", f"Bearer {token}".encode())]),  # resend: duplicate, dropped
    ]
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic(INBOX), value, key=b"k", headers=headers) for value, headers in cases
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    async with running_app(create_app(settings)) as client:
        published = await wait_until(lambda: read_topic(settings, "separatie", 1.0), 60, what="inbox event published")
        dead = await wait_until(lambda: _at_least(settings, "deadletter", 5), 60, what="five dead letters")
        metrics = (await client.get("/metrics")).text
    assert [orjson.loads(r.value)["id"] for r in published] == ["k1"]
    assert published[0].key != b"k"  # keyed by pseudonym, like HTTP
    reasons = {orjson.loads(r.value)["reason_class"]: orjson.loads(r.value) for r in dead}
    assert set(reasons) == {"unparseable", "unauthorized", "forbidden", "contract"}
    assert sorted(orjson.loads(r.value)["reason"] for r in dead if b"unauthorized" in r.value) == [
        "invalid or revoked token",
        "missing authorization header 'Bearer <token>'",
    ]
    assert reasons["forbidden"]["reason"] == "sender: does not match the token's sender"
    assert reasons["contract"]["reason"].startswith("data.")
    for r in dead:
        body = orjson.loads(r.value)
        assert body["consumer"] == "intake-inbox" and body["topic"] == settings.topic(INBOX)
        assert r.key is None
        original = base64.b64decode(body["value_b64"]) if body["value_b64"] else b""
        for seed in (5, 6, 7, 8, 9, 10):
            assert bsn(seed).encode() not in original and bsn(seed).encode() not in r.value
    assert f'jeugdstroom_intake_records_processed_total{{topic="{settings.topic(INBOX)}"}} 7.0' in metrics


async def _at_least(settings: Settings, short: str, n: int) -> list[Any]:
    records = await read_topic(settings, short, 1.0)
    return records if len(records) >= n else []


# -- property: random and mutated input ------------------------------------------------------------------
_SEEDS = range(12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _mutated(draw: st.DrawFn) -> Any:
    """A valid separatie with a few random changes, or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_JSON)
    seed = draw(st.sampled_from(_SEEDS))
    doc: dict[str, Any] = separatie(
        f"p{draw(st.integers(0, 30))}",
        f"s{seed}",
        seed=seed,
        vorm=draw(st.sampled_from(["separeerruimte", "eigen_kamer_op_slot", "x"])),
    )
    for _ in range(draw(st.integers(0, 3))):
        target: dict[str, Any] = doc
        path = draw(
            st.sampled_from(
                [
                    ("id",),
                    ("type",),
                    ("schema_version",),
                    ("occurred_at",),
                    ("sender",),
                    ("child",),
                    ("child", "birth_date"),
                    ("child", "gemeente"),
                    ("data",),
                    ("data", "start"),
                    ("data", "end"),
                    ("data", "vorm"),
                    ("extra",),
                ]
            )
        )
        for part in path[:-1]:
            inner = target.get(part)
            target = inner if isinstance(inner, dict) else {}
        if draw(st.booleans()):
            target.pop(path[-1], None)
        else:
            target[path[-1]] = draw(_JSON)
    return doc


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_mutated() | st.lists(_mutated(), max_size=4))
def test_random_and_mutated_events_never_give_a_5xx_or_reveal_a_bsn(
    prop_env: tuple[TestClient, str], body: Any
) -> None:
    client, token = prop_env
    resp = client.post(
        "/v1/events", content=json.dumps(body).encode(), headers={**_auth(token), "content-type": "application/json"}
    )
    assert resp.status_code < 500, resp.text
    assert not any(bsn(s) in resp.text for s in _SEEDS)
    lines = "\n".join(json.dumps(b) for b in (body if isinstance(body, list) else [body])).encode()
    resp = client.post("/v1/events", content=lines, headers={**_auth(token), "content-type": "application/x-ndjson"})
    assert resp.status_code == 202, resp.text
    assert not any(bsn(s) in resp.text for s in _SEEDS)


@pytest.fixture
def prop_env(settings: Settings) -> Iterator[tuple[TestClient, str]]:
    """One running intake for every example; afterwards no table and no topic may hold a BSN."""
    token = asyncio.run(_token(settings))
    with TestClient(create_app(settings, inbox=False)) as client:
        yield client, token
    asyncio.run(_assert_no_bsn_stored_or_published(settings))


async def _assert_no_bsn_stored_or_published(settings: Settings) -> None:
    needles = [bsn(s) for s in _SEEDS]
    async with await db.create_pool(settings.database_url) as pool:
        tables = await pool.fetch(
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        assert {"intake.accepted_events", "public.outbox"} <= {t["t"] for t in tables}
        assert await pool.fetchval("SELECT count(*) FROM outbox") > 0  # the examples did reach the outbox
        for t in tables:
            dump = await pool.fetchval(f"SELECT coalesce(string_agg(x::text, ''), '') FROM {t['t']} AS x")
            assert not any(n in dump for n in needles), t["t"]
            if t["t"].endswith("outbox"):
                rows = await pool.fetch("SELECT coalesce(key, '') || value AS kv FROM outbox")
                assert not any(n.encode() in r["kv"] for r in rows for n in needles)
    for short in ("separatie", "deadletter"):
        for r in await read_topic(settings, short, 1.0):
            assert not any(n.encode() in (r.value or b"") + (r.key or b"") for n in needles)


# -- crashes and outages ---------------------------------------------------------------------------------
async def _published_ids(settings: Settings, short: str = "separatie") -> set[str]:
    return {orjson.loads(r.value)["id"] for r in await read_topic(settings, short, 2.0)}


async def test_kill_9_during_a_large_upload_loses_no_event_that_got_a_202(settings: Settings, log_dir: Path) -> None:
    s = service_ports(settings)
    token = await _token(s)
    intake = ServiceProcess("intake", s, log_dir)
    await intake.start()
    answered: list[str] = []  # ids of events in batches that got a 202 as accepted

    async def uploader(k: int) -> None:
        async with httpx.AsyncClient(base_url=intake.url, timeout=10) as c:
            for b in range(10_000):
                batch = [separatie(f"u{k}-{b}-{i}", f"s{k}-{b}-{i}", seed=i) for i in range(50)]
                try:
                    r = await c.post("/v1/events", json=batch, headers=_auth(token))
                except httpx.HTTPError:
                    return  # intake is gone
                assert r.status_code == 202
                answered.extend(x["id"] for x in r.json()["results"] if x["status"] == "accepted")

    async def enough() -> bool:
        return len(answered) >= 1500

    uploads = [asyncio.create_task(uploader(k)) for k in range(3)]
    try:
        await wait_until(enough, 60, what="a good part of the upload answered")
        intake.kill()
        await asyncio.gather(*uploads)
    finally:
        intake.kill()
    restarted = ServiceProcess("intake", s, log_dir)
    await restarted.start()
    try:

        async def all_published() -> bool:
            return set(answered) <= await _published_ids(s)

        await wait_until(all_published, 60, 0.5, what="every answered event published after the restart")
    finally:
        restarted.stop()


async def test_with_the_broker_frozen_intake_still_answers_202_and_publishes_after_it_thaws(
    settings: Settings, infra: Infra
) -> None:
    broker = infra.broker
    assert broker is not None and broker.proc is not None, "this test freezes the embedded broker process"
    token = await _token(settings)
    events = [separatie(f"f{i}", f"s{i}", seed=i) for i in range(20)]
    async with running_app(create_app(settings, inbox=False)) as client:
        first = await client.post("/v1/events", json=events[:10], headers=_auth(token))
        assert first.status_code == 202
        await wait_until(lambda: _at_least(settings, "separatie", 10), 20, what="first events published")
        broker.proc.send_signal(signal.SIGSTOP)
        try:
            frozen = await asyncio.wait_for(client.post("/v1/events", json=events[10:], headers=_auth(token)), 10)
            single = await asyncio.wait_for(
                client.post("/v1/events", json=separatie("f-single", "s-single"), headers=_auth(token)), 10
            )
            async with await db.create_pool(settings.database_url) as pool:  # committed, waiting for the broker
                assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 11
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        assert frozen.status_code == 202 and frozen.json()["summary"]["accepted"] == 10
        assert single.status_code == 202
        want = {e["id"] for e in events} | {"f-single"}

        async def all_there() -> bool:
            return await _published_ids(settings) == want

        await wait_until(all_there, 90, 0.5, what="every accepted event on its topic after SIGCONT")
    records = await read_topic(settings, "separatie", 2.0)
    by_id = {orjson.loads(r.value)["id"]: orjson.loads(r.value) for r in records}
    for e in events:  # exactly as accepted: the same event, pseudonymised
        published = by_id[e["id"]]
        assert published["data"] == e["data"] and published["occurred_at"] == e["occurred_at"]
        assert published["child"]["pseudonym"] == pseudonymise(e["child"]["bsn"], settings.pseudonym_key_bytes)


async def test_inbox_on_an_authenticating_broker_takes_the_sender_from_its_topic_not_a_token(settings: Settings) -> None:
    """Per-sender inbox topics (JEUGDSTROOM_INBOX_PRINCIPALS): the processor against the database (the embedded
    broker cannot authenticate, so the records are handed to it directly)."""
    from jeugdstroom.common.consumer import Decoded
    from jeugdstroom.common.kafka import InRecord
    from jeugdstroom.intake.inbox import InboxProcessor

    await register_sender(settings, SENDER)
    sasl = settings.model_copy(update={"kafka_security_protocol": "SASL_SSL",
                                       "inbox_principals": {"User:ggz": SENDER, "User:other": "87654321"}})
    processor = InboxProcessor(sasl)
    own = InRecord(sasl.topic(f"inbox.{SENDER}"), 0, 0, None, orjson.dumps(separatie("e1", "s1")))
    # a registered sender's event on another principal's topic (whose sender is not registered): refused
    foreign = InRecord(sasl.topic("inbox.87654321"), 0, 0, None, orjson.dumps(separatie("e2", "s2")))
    items = [Decoded(r, *processor.decode(r)) for r in (own, foreign)]
    conn = await db.connect(settings.database_url)  # (the services' codecs: the outbox is written by binary COPY)
    try:
        async with conn.transaction():
            await processor.apply(conn, items)
        accepted = await conn.fetch("SELECT sender, event_id FROM intake.accepted_events")
        dead = await conn.fetch("SELECT value FROM outbox WHERE topic = $1", settings.topic("deadletter"))
    finally:
        await conn.close()
    assert [(r["sender"], r["event_id"]) for r in accepted] == [(SENDER, "e1")]
    assert len(dead) == 1
    letter = orjson.loads(dead[0]["value"])
    assert letter["reason_class"] == "unauthorized" and "87654321" in letter["reason"]
