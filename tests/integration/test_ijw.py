"""The iJw adapter on the real broker and database: iJw messages publish exactly the events that the equivalent
native events publish, resends are duplicates, and broken or hostile XML changes nothing."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from jeugdstroom.cli.ijw import import_files
from jeugdstroom.common import db
from jeugdstroom.common.contracts.unions import EVENT_TYPES
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from tests.conftest import Infra, fresh_settings
from tests.support import read_topic, register_sender, running_app, wait_until

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ijw-3.2"  # test-only XSDs
SENDERS = ("12345678", "23456789", "GM0268", "GM0296")
BSNS = ("938570833", "295289260", "171239003", "033650202")
XML = {"content-type": "application/xml"}

# (file, sender, expected status): the care paths of three children, with resends, deletions and the corrections
# the standard prescribes (delete, then send again: IV008), and a StatusAanlevering 2 (refused: CS058).
MESSAGES: list[tuple[str, str, int]] = [
    ("jw315_a.xml", "12345678", 202),
    ("jw315_b.xml", "12345678", 202),
    ("jw315_c.xml", "23456789", 202),
    ("jw301_a.xml", "GM0268", 202),
    ("jw301_b.xml", "GM0296", 202),
    ("jw305_a.xml", "12345678", 202),
    ("jw305_b.xml", "12345678", 202),
    ("jw305_c.xml", "23456789", 202),
    ("jw307_a.xml", "12345678", 202),
    ("jw307_a.xml", "12345678", 200),  # resend: a duplicate, not a new event
    ("jw305_b_gewijzigd.xml", "12345678", 422),  # StatusAanlevering 2: not allowed (CS058)
    ("jw305_b_correctie.xml", "12345678", 202),  # delete and send again in one message (a key element changed)
    ("jw305_c_verwijderd.xml", "23456789", 202),
    ("jw305_c.xml", "23456789", 200),  # the deleted record's original message, resent: still a duplicate
    ("jw307_a_verwijderd.xml", "12345678", 202),
    ("jw307_a_gecorrigeerd.xml", "12345678", 202),  # after the delete: a new version, with the corrected end
    ("jw307_a.xml", "12345678", 200),  # the first stop message again: a duplicate, the correction stays
]

# geslacht as the fixtures' Geslacht (1 man, 2 vrouw)
_A = {"bsn": "938570833", "birth_date": "2009-05-14", "gemeente": "GM0268", "geslacht": "vrouw"}
_B = {"bsn": "295289260", "birth_date": "2011-01-02", "gemeente": "GM0296", "geslacht": "man"}
_C = {"bsn": "171239003", "birth_date": "2008-08-08", "gemeente": "GM0268", "geslacht": "man"}


def _ev(
    event_id: str, kind: str, occurred_at: str, sender: str, child: dict[str, str], data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "schema_version": 1,
        "occurred_at": occurred_at,
        "sender": sender,
        "child": child,
        "data": data,
    }


_B_START = _ev(
    "ijw:jw305:9100002:2026-02-10",
    "plaatsing",
    "2026-02-10T00:00:00+01:00",
    "12345678",
    _B,
    {
        "plaatsing_id": "ijw:9100002:2026-02-10",
        "status": "gestart",
        "vorm": "gezinshuis",
        "provider": "12345678",
        "start": "2026-02-10",
        "aanmelding_id": "ijw:12345678:B-002",  # JW315 B-002 → JW301 9100002 → this start
    },
)
_A_STOP = _ev(
    "ijw:jw307:9000001:2026-02-03",
    "plaatsing",
    "2026-04-30T00:00:00+02:00",
    "12345678",
    _A,
    {
        "plaatsing_id": "ijw:9000001:2026-02-03",
        "status": "beeindigd",
        "vorm": "pleegzorg_bestand",
        "provider": "12345678",
        "start": "2026-02-03",
        "end": "2026-04-30",
        "reden_einde": "voortijdig",
        "aanmelding_id": "ijw:12345678:A-001",
    },
)
# What the institutions' systems would have sent natively for the same care paths, in the same order.
NATIVE: list[dict[str, Any]] = [
    _ev(
        "ijw:jw315:VOT-A1:2026-01-12:A-001",
        "aanmelding",
        "2026-01-12T00:00:00+01:00",
        "12345678",
        _A,
        {"aanmelding_id": "ijw:12345678:A-001", "verwijzer": "wijkteam", "zorgvorm": "pleegzorg", "aanbieder": "12345678"},
    ),
    _ev(
        "ijw:jw315:VOT-B1:2026-01-15:B-001",
        "aanmelding",
        "2026-01-15T00:00:00+01:00",
        "12345678",
        _B,
        {"aanmelding_id": "ijw:12345678:B-001", "verwijzer": "huisarts", "zorgvorm": "ambulant", "aanbieder": "12345678"},
    ),
    _ev(
        "ijw:jw315:VOT-B1:2026-01-15:B-002",
        "aanmelding",
        "2026-01-15T00:00:00+01:00",
        "12345678",
        _B,
        {"aanmelding_id": "ijw:12345678:B-002", "verwijzer": "huisarts", "zorgvorm": "gezinshuis", "aanbieder": "12345678"},
    ),
    _ev(
        "ijw:jw315:VOT-C1:2026-02-27:C-001",
        "aanmelding",
        "2026-02-27T00:00:00+01:00",
        "23456789",
        _C,
        {"aanmelding_id": "ijw:23456789:C-001", "verwijzer": "rechter_raad", "zorgvorm": "gesloten", "aanbieder": "23456789"},
    ),
    _ev(
        "ijw:jw301:TW-A1:2026-01-20:9000001",
        "beschikking",
        "2026-01-20T10:30:00+01:00",
        "GM0268",
        _A,
        {
            "beschikking_id": "ijw:9000001",
            "soort": "toewijzing",
            "status": "afgegeven",
            "start": "2026-02-01",
            "end": "2026-12-31",
            "aanmelding_id": "ijw:12345678:A-001",
        },
    ),
    _ev(
        "ijw:jw301:TW-B1:2026-01-25:9100001",
        "beschikking",
        "2026-01-25T14:00:00+01:00",
        "GM0296",
        _B,
        {
            "beschikking_id": "ijw:9100001",
            "soort": "toewijzing",
            "status": "afgegeven",
            "start": "2026-02-01",
            "aanmelding_id": "ijw:12345678:B-001",
        },
    ),
    _ev(
        "ijw:jw301:TW-B1:2026-01-25:9100002",
        "beschikking",
        "2026-01-25T14:00:00+01:00",
        "GM0296",
        _B,
        {
            "beschikking_id": "ijw:9100002",
            "soort": "toewijzing",
            "status": "afgegeven",
            "start": "2026-02-10",
            "end": "2027-02-09",
            "aanmelding_id": "ijw:12345678:B-002",
        },
    ),
    _ev(
        "ijw:jw305:9000001:2026-02-03",
        "plaatsing",
        "2026-02-03T00:00:00+01:00",
        "12345678",
        _A,
        {
            "plaatsing_id": "ijw:9000001:2026-02-03",
            "status": "gestart",
            "vorm": "pleegzorg_bestand",
            "provider": "12345678",
            "start": "2026-02-03",
            "aanmelding_id": "ijw:12345678:A-001",
        },
    ),
    _B_START,
    _ev(
        "ijw:jw305:9200001:2026-03-01",
        "plaatsing",
        "2026-03-01T00:00:00+01:00",
        "23456789",
        _C,
        {
            "plaatsing_id": "ijw:9200001:2026-03-01",
            "status": "gestart",
            "vorm": "gesloten",
            "provider": "23456789",
            "start": "2026-03-01",
        },
    ),
    _A_STOP,
    _ev(
        "ijw:jw305:9100002:2026-02-10:ST-B3:2026-02-20",
        "correctie",
        "2026-02-20T00:00:00+01:00",
        "12345678",
        _B,
        {"target_id": "ijw:jw305:9100002:2026-02-10", "action": "intrekken"},
    ),
    {
        **_B_START,
        "id": "ijw:jw305:9100002:2026-02-10:v2:ST-B3:2026-02-20",
        "data": {**_B_START["data"], "vorm": "pleegzorg_bestand"},
    },
    _ev(
        "ijw:jw305:9200001:2026-03-01:ST-C2:2026-03-05",
        "correctie",
        "2026-03-05T00:00:00+01:00",
        "23456789",
        _C,
        {"target_id": "ijw:jw305:9200001:2026-03-01", "action": "intrekken"},
    ),
    _ev(
        "ijw:jw307:9000001:2026-02-03:SP-A2:2026-05-04",
        "correctie",
        "2026-05-04T00:00:00+02:00",
        "12345678",
        _A,
        {"target_id": "ijw:jw307:9000001:2026-02-03", "action": "intrekken"},
    ),
    {
        **_A_STOP,
        "id": "ijw:jw307:9000001:2026-02-03:v2:SP-A3:2026-05-04",
        "occurred_at": "2026-04-17T00:00:00+02:00",
        "data": {**_A_STOP["data"], "end": "2026-04-17"},
    },
]


async def _tokens(settings: Settings) -> dict[str, str]:
    return {code: await register_sender(settings, code) for code in SENDERS}


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _published(settings: Settings) -> dict[tuple[str, bytes], list[tuple[dict[str, Any], dict[str, bytes]]]]:
    """Every typed-topic record per (topic, key), in partition order, without the acceptance time."""
    out: dict[tuple[str, bytes], list[tuple[dict[str, Any], dict[str, bytes]]]] = defaultdict(list)
    for topic in EVENT_TYPES:
        for rec in await read_topic(settings, topic, 1.0):
            value = orjson.loads(rec.value)
            value.pop("accepted_at")
            out[(topic, rec.key)].append((value, dict(rec.headers)))
    return dict(out)


async def _count(settings: Settings, sql: str) -> int:
    async with await db.create_pool(settings.database_url) as pool:
        return int(await pool.fetchval(sql))


async def _all_published(settings: Settings, n: int) -> Any:
    got = await _published(settings)
    return got if sum(len(v) for v in got.values()) >= n else None


async def test_ijw_messages_publish_exactly_the_events_of_the_equivalent_native_events(
    settings: Settings, infra: Infra
) -> None:
    native = (await fresh_settings(infra)).model_copy(update={"pseudonym_key": settings.pseudonym_key})
    ijw_tokens = await _tokens(settings)
    native_tokens = await _tokens(native)
    async with running_app(create_app(settings, inbox=False)) as client:
        for name, sender, status in MESSAGES:
            resp = await client.post(
                "/v1/ijw", content=(FIXTURES / name).read_bytes(), headers={**XML, **_auth(ijw_tokens[sender])}
            )
            assert resp.status_code == status, (name, resp.text)
            assert not any(b in resp.text for b in BSNS)
            if status == 200:
                assert {r["status"] for r in resp.json()["results"]} == {"duplicate"}
            if status == 422:
                assert "(iJw CS058: 1 or 3)" in resp.json()["errors"][0]["reason"]
        via_ijw = await wait_until(lambda: _all_published(settings, len(NATIVE)), 30, what="iJw events published")
    async with running_app(create_app(native, inbox=False)) as client:
        for event in NATIVE:
            resp = await client.post("/v1/events", json=event, headers=_auth(native_tokens[event["sender"]]))
            assert resp.status_code == 202, resp.text
        via_native = await wait_until(lambda: _all_published(native, len(NATIVE)), 30, what="native events published")
    assert sum(len(v) for v in via_ijw.values()) == len(NATIVE)  # the resends added nothing
    assert via_ijw == via_native  # same topics, keys (pseudonyms), order per key, ids, content and headers
    raw = b"".join(orjson.dumps(v) for records in via_ijw.values() for v, _ in records)
    assert not any(b.encode() in raw for b in BSNS)
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == len(NATIVE)
    async with await db.create_pool(settings.database_url) as pool:  # the adapter's state holds no BSN either
        for table in ("ijw_records", "ijw_deliveries", "ijw_aanvragen", "ijw_toewijzingen"):
            dump = await pool.fetchval(f"SELECT coalesce(string_agg(x::text, ''), '') FROM intake.{table} AS x")
            assert dump and not any(b in dump for b in BSNS), table


@pytest.mark.parametrize(
    ("body", "element", "reason"),
    [
        ((FIXTURES / "billion_laughs.xml").read_bytes(), "(document)", "must not contain a DTD or entity declarations"),
        (
            (FIXTURES / "external_entity.xml").read_bytes(),
            "(document)",
            "must not contain a DTD or entity declarations",
        ),
        ((FIXTURES / "malformed.xml").read_bytes(), "(document)", "is not well-formed XML (line 23, column 1)"),
        ((FIXTURES / "ijw_3_1.xml").read_bytes(), "/Bericht", "is iJw release 3.1, not 3.2"),
        (
            (FIXTURES / "jw305_missing_begindatum.xml").read_bytes(),
            "/Bericht/Client/StartProducten/StartProduct[1]/Begindatum",
            "is required",
        ),
        (
            (FIXTURES / "jw305_unmapped_product.xml").read_bytes(),
            "/Bericht/Client/StartProducten/StartProduct[2]/Product",
            "product category 55 code 55L01 has no mapping for GM0268 (region JZ32): add the product code "
            "or its category to the product mapping",
        ),
        (b'{"id": "not xml"}', "(document)", "is not well-formed XML (line 1, column 0)"),
    ],
)
async def test_broken_hostile_and_unmappable_messages_are_422_and_change_nothing(
    settings: Settings, body: bytes, element: str, reason: str
) -> None:
    token = await register_sender(settings, "12345678")
    async with running_app(create_app(settings, inbox=False)) as client:
        resp = await client.post("/v1/ijw", content=body, headers={**XML, **_auth(token)})
        metrics = (await client.get("/metrics")).text
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json() == {"type": "urn:jeugdstroom:problem:validation",
                           "title": "The request or an event in it does not satisfy the contract", "status": 422,
                           "detail": "the message cannot be used", "errors": [{"field": element, "reason": reason}]}
    assert "033650202" not in resp.text and "root:" not in resp.text
    assert "jeugdstroom_intake_ijw_messages_total{message=" in metrics
    assert await _count(settings, "SELECT count(*) FROM outbox") == 0
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == 0


async def test_sender_content_type_and_size_are_checked_before_anything_is_stored(settings: Settings) -> None:
    token = await register_sender(settings, "12345678")
    other = await register_sender(settings, "23456789")
    message = (FIXTURES / "jw305_a.xml").read_bytes()
    app = create_app(settings, inbox=False)
    async with running_app(app) as client:
        foreign = await client.post("/v1/ijw", content=message, headers={**XML, **_auth(other)})
        json_type = await client.post(
            "/v1/ijw", content=message, headers={"content-type": "application/json", **_auth(token)}
        )
        anonymous = await client.post("/v1/ijw", content=message, headers=XML)
        huge = await client.post("/v1/ijw", content=message + b" " * (1024 * 1024), headers={**XML, **_auth(token)})
    assert foreign.status_code == 403
    assert foreign.json()["errors"] == [
        {"field": "/Bericht/Header/Afzender", "reason": "does not match the token's sender"}
    ]
    assert json_type.status_code == 415
    assert anonymous.status_code == 401
    assert huge.status_code == 413
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == 0


async def test_a_conflicting_record_rolls_back_the_whole_message(settings: Settings) -> None:
    token = await register_sender(settings, "12345678")
    first = (FIXTURES / "jw305_a.xml").read_text()
    # Another message that sends the same record as new (StatusAanlevering 1) with another product, plus a new one.
    record = first[first.index("<StartProduct>") : first.index("</StartProducten>")]
    extra = record.replace("9000001", "9000002")
    conflicting = first.replace("ST-A1", "ST-A9").replace("<ijw:Code>44P01<", "<ijw:Code>44G01<", 1)
    conflicting = conflicting.replace("</StartProducten>", extra + "</StartProducten>")
    async with running_app(create_app(settings, inbox=False)) as client:
        ok = await client.post("/v1/ijw", content=first.encode(), headers={**XML, **_auth(token)})
        resp = await client.post("/v1/ijw", content=conflicting.encode(), headers={**XML, **_auth(token)})
    assert ok.status_code == 202
    assert resp.status_code == 409
    assert resp.json()["errors"] == [
        {
            "field": "/Bericht/Client/StartProducten/StartProduct[1]",
            "reason": "event ijw:jw305:9000001:2026-02-03 was accepted before with different content (a record "
            "that is current is corrected by deleting it first: iJw TR074, IV008)",
        }
    ]
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == 1  # not the new record either
    assert await _count(settings, "SELECT count(*) FROM outbox") == 1
    assert await _count(settings, "SELECT count(*) FROM intake.ijw_records") == 1  # nor its state
    assert await _count(settings, "SELECT count(*) FROM intake.ijw_deliveries") == 1


async def test_ijw_import_sends_files_in_order_and_summarises(settings: Settings) -> None:
    token = await register_sender(settings, "12345678")
    files = [
        FIXTURES / n
        for n in ("jw315_b.xml", "jw305_b.xml", "jw305_b.xml", "jw305_unmapped_product.xml", "jw305_b_correctie.xml")
    ]
    out = io.StringIO()
    async with running_app(create_app(settings, inbox=False)) as client:
        summary = await import_files(files, "http://app", token, client=client, out=out)
    lines = out.getvalue().splitlines()
    assert summary.taken == 4 and summary.refused == 1 and summary.failed
    assert summary.events == {"accepted": 5, "duplicate": 1}
    assert summary.skipped == 2  # the ambulant start record, twice
    assert lines[0].endswith("jw315_b.xml: JW315: accepted 2")
    assert lines[2].endswith("jw305_b.xml: JW305: duplicate 1, 1 record(s) skipped")
    assert (
        "jw305_unmapped_product.xml: refused (422): /Bericht/Client/StartProducten/StartProduct[2]/Product" in lines[3]
    )
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == 5


async def test_a_refused_message_is_counted_under_its_type_when_the_root_identified_it(settings: Settings) -> None:
    from prometheus_client import REGISTRY

    def count(message: str) -> float:
        labels = {"message": message, "outcome": "rejected"}
        return REGISTRY.get_sample_value("jeugdstroom_intake_ijw_messages_total", labels) or 0.0

    token = await register_sender(settings, "12345678")
    before = {m: count(m) for m in ("jw305", "unknown")}
    async with running_app(create_app(settings, inbox=False)) as client:
        for name in ("jw305_missing_begindatum.xml", "jw305_one_namespace.xml", "malformed.xml", "ijw_3_1.xml"):
            resp = await client.post("/v1/ijw", content=(FIXTURES / name).read_bytes(), headers={**XML, **_auth(token)})
            assert resp.status_code == 422, name
    assert count("jw305") - before["jw305"] == 2  # structurally refused, but recognised as JW305
    assert count("unknown") - before["unknown"] == 2  # not well-formed, not iJw 3.2


async def test_the_waiting_list_link_is_kept_only_with_the_accepted_message(settings: Settings) -> None:
    """JW315 → JW301 → JW305: the link state is written in the transaction that accepts the message."""
    tokens = {code: await register_sender(settings, code) for code in ("12345678", "GM0268")}
    async with running_app(create_app(settings, inbox=False)) as client:
        for name, sender in (("jw315_a.xml", "12345678"), ("jw301_a.xml", "GM0268"), ("jw305_a.xml", "12345678")):
            resp = await client.post("/v1/ijw", content=(FIXTURES / name).read_bytes(),
                                     headers={**XML, **_auth(tokens[sender])})
            assert resp.status_code == 202, resp.text
        # a JW301 that conflicts (same message id, other content) is rolled back with its link
        changed = (FIXTURES / "jw301_a.xml").read_text().replace(">A-001<", ">A-002<")
        resp = await client.post("/v1/ijw", content=changed.encode(), headers={**XML, **_auth(tokens["GM0268"])})
        assert resp.status_code == 409
        starts = await wait_until(lambda: _plaatsingen(settings), 30, what="the start published")
    async with await db.create_pool(settings.database_url) as pool:
        link = await pool.fetchrow("SELECT referentie, categorie, code FROM intake.ijw_toewijzingen"
                                   " WHERE gemeente = '0268' AND agb = '12345678' AND nummer = '9000001'")
        aanvraag = await pool.fetchval("SELECT aanmelding_id FROM intake.ijw_aanvragen WHERE agb = '12345678'")
    assert link is not None and dict(link) == {"referentie": "A-001", "categorie": "44", "code": "44P01"}
    assert aanvraag == "ijw:12345678:A-001"
    (start,) = starts
    assert start["data"]["aanmelding_id"] == "ijw:12345678:A-001"


async def _plaatsingen(settings: Settings) -> list[dict[str, Any]] | None:
    records = [orjson.loads(r.value) for r in await read_topic(settings, "plaatsing", 1.0)]
    return records or None


async def test_with_the_operators_xsds_a_message_is_also_validated_against_them(settings: Settings) -> None:
    """JEUGDSTROOM_IJW_XSD_DIR: the XSD refuses what the structural check does not read (a name too long)."""
    strict = settings.model_copy(update={"ijw_xsd_dir": str(REFERENCE)})
    token = await register_sender(settings, "12345678")
    message = (FIXTURES / "jw305_a.xml").read_text()
    async with running_app(create_app(strict, inbox=False)) as client:
        long_name = message.replace(">Voorbeeld<", ">" + "Voorbeeld " * 30 + "<")
        bad = await client.post("/v1/ijw", content=long_name.encode(), headers={**XML, **_auth(token)})
        good = await client.post("/v1/ijw", content=message.encode(), headers={**XML, **_auth(token)})
    assert bad.status_code == 422
    errors = bad.json()["errors"]
    assert [e["field"] for e in errors] == ["/Bericht/Client/Naam/Geslachtsnaam/Achternaam"]
    assert errors[0]["reason"].startswith("does not match its XSD type"), errors
    assert good.status_code == 202, good.text


async def test_concurrent_messages_about_one_record_are_serialised(settings: Settings) -> None:
    """The same start sent many times at once, and two deletes racing: the record's state stays consistent."""
    import asyncio

    token = await register_sender(settings, "12345678")
    start = (FIXTURES / "jw305_a.xml").read_bytes()
    delete = start.replace(b"<StatusAanlevering>1<", b"<StatusAanlevering>3<")
    async with running_app(create_app(settings, inbox=False)) as client:

        async def post(body: bytes) -> int:
            resp = await client.post("/v1/ijw", content=body, headers={**XML, **_auth(token)})
            return resp.status_code

        starts = await asyncio.gather(*(post(start) for _ in range(8)))
        deletes = await asyncio.gather(*(post(delete.replace(b">ST-A1<", f">ST-D{i}<".encode())) for i in range(4)))
    assert sorted(starts) == [200] * 7 + [202]
    assert sorted(deletes) == [202] + [422] * 3  # one delete wins; the others find nothing current (TR063)
    assert await _count(settings, "SELECT count(*) FROM intake.ijw_records WHERE NOT active") == 1
    assert await _count(settings, "SELECT count(*) FROM intake.accepted_events") == 2
