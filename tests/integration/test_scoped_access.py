"""Scoped reader tokens and the audit trail (docs/privacy.md): every indicator × scope (gemeente, jeugdregio,
instelling, operator, none, expired, revoked): exact values for the cells inside the scope and only there, the
public view elsewhere; every exact read in the append-only audit table; rotation with overlap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from jeugdstroom.cli.main import main
from jeugdstroom.common import access, audit, db
from jeugdstroom.common.access import Reader
from jeugdstroom.intake.auth import Sender, add_sender, authenticate, revoke_sender, rotate_sender
from jeugdstroom.intake.auth import token_hash as auth_hash
from jeugdstroom.monitor import access as scoped
from jeugdstroom.registry.app import create_app as create_registry
from tests.conftest import Infra, fresh_settings
from tests.integration.monitor_stream import build_stream
from tests.integration.test_monitor_outputs import fed
from tests.support import running_app

pytestmark = pytest.mark.integration

SCOPES = {
    "gemeente": "gemeente:GM0268",
    "jeugdregio": "jeugdregio:JZ32",
    "instelling": "instelling:11111111",
    "operator": "operator",
}


def _key(r: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (r["start"], tuple(sorted(r["dims"].items())))


async def test_every_scope_reads_exact_values_inside_and_public_values_outside(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    op_auth = {"authorization": f"Bearer {settings.operator_token.get_secret_value()}"}  # type: ignore[union-attr]
    conn = await db.connect(settings.database_url)
    try:
        tokens = {name: await access.add_token(conn, f"t-{name}", scope) for name, scope in SCOPES.items()}
        tokens["expired"] = await access.add_token(conn, "t-expired", "gemeente:GM0268", timedelta(hours=-1))
        tokens["revoked"] = await access.add_token(conn, "t-revoked", "operator")
        assert await access.revoke(conn, "t-revoked") == 1
    finally:
        await conn.close()
    async with fed(settings, build_stream(seed=31, children=160)) as client:
        catalogue = (await client.get("/v1/indicators")).json()
        inside: dict[str, int] = dict.fromkeys(tokens, 0)
        outside: dict[str, int] = dict.fromkeys(tokens, 0)
        expected_audit: dict[str, int] = {}
        for info in catalogue:
            ind = info["id"]
            for group_by in ("", ",".join(info["dimensions"])):
                for filters in ({}, {"gemeente": "GM0268"} if "gemeente" in info["dimensions"] else {}):
                    params = {"period": "year", "group_by": group_by, "as_of": "2026-06-30", **filters}
                    url = f"/v1/indicators/{ind}"
                    anon = (await client.get(url, params=params)).json()
                    exact = (await client.get(url, params=params, headers=op_auth)).json()
                    assert anon["exact"] is False and anon["scope"] is None and exact["exact"] is True
                    exact_rows = {_key(r): r for r in exact["rows"]}
                    public_rows = {_key(r): r for r in anon["rows"]}
                    for name, token in tokens.items():
                        got = (
                            await client.get(url, params=params, headers={"authorization": f"Bearer {token}"})
                        ).json()
                        if name in ("expired", "revoked"):
                            assert got == anon, (name, ind)  # exactly the public answer
                            continue
                        if name == "operator":
                            assert got == exact
                            inside[name] += len(got["rows"])
                            expected_audit[name] = expected_audit.get(name, 0) + len(got["rows"])
                            continue
                        assert got["exact"] is False and got["scope"] == SCOPES[name]
                        reader = Reader("x", SCOPES[name])
                        n_exact = 0
                        for r in got["rows"]:
                            flag = r.pop("exact")
                            if reader.covers({**filters, **r["dims"]}):
                                assert flag is True and r == exact_rows[_key(r)], (name, ind, r)
                                n_exact += 1
                            else:
                                assert flag is False and r == public_rows[_key(r)], (name, ind, r)
                                outside[name] += 1
                        # every exact row inside the scope is there, exact; nothing outside it is
                        want = [k for k, r in exact_rows.items() if reader.covers({**filters, **r["dims"]})]
                        assert n_exact == len(want), (name, ind, params)
                        inside[name] += n_exact
                        expected_audit[name] = expected_audit.get(name, 0) + n_exact
        for name in ("gemeente", "jeugdregio", "instelling", "operator"):
            assert inside[name] > 20, (name, inside)
        for name in ("gemeente", "jeugdregio", "instelling"):
            assert outside[name] > 20, (name, outside)

        # the other endpoints are public and the same for everybody
        for path in ("/v1/indicators", "/dashboard/config.json"):
            anon_body = (await client.get(path)).json()
            for token in tokens.values():
                assert (await client.get(path, headers={"authorization": f"Bearer {token}"})).json() == anon_body

    # the audit trail: one row per request with exact cells, by token name and scope, never the secret
    conn = await db.connect(settings.database_url)
    try:
        rows = await scoped.entries(conn, datetime(2000, 1, 1, tzinfo=UTC))
        by_name: dict[str, int] = {}
        for r in rows:
            by_name[r["token_name"]] = by_name.get(r["token_name"], 0) + r["cells"]
            assert r["cells"] > 0 and r["resource"] and "period" in r["params"]
        assert by_name.pop(access.SETTINGS_OPERATOR) > 0  # the test's own operator reads
        assert by_name == {f"t-{n}": c for n, c in expected_audit.items() if c}
        assert {r["scope"] for r in rows} == set(SCOPES.values())
        assert not any(t in repr(rows) for t in tokens.values())
        # append-only: no update, no delete, no truncate; only the retention purge deletes
        for sql in ("UPDATE audit SET cells = 0", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(asyncpg.RaiseError):
                await conn.execute(sql)
        assert await scoped.purge(conn, timedelta(days=1)) == 0
        assert await scoped.purge(conn, timedelta(0)) == len(rows)
    finally:
        await conn.close()


async def test_rotation_overlaps_and_expiry_ends_it(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    conn = await db.connect(settings.database_url)
    try:
        old = await access.add_token(conn, "team-nijmegen", "gemeente:GM0268", timedelta(days=90))
        new = await access.rotate(conn, "team-nijmegen", timedelta(days=7))
        assert new is not None and new != old
        for token in (old, new):  # both valid during the overlap, with the same scope
            assert await access.reader(conn, settings, f"Bearer {token}") == Reader("team-nijmegen", "gemeente:GM0268")
        listed = {r["id"]: r for r in await access.list_tokens(conn)}
        assert len(listed) == 2 and all(r["valid"] for r in listed.values())
        old_row = min(listed.values(), key=lambda r: r["id"])
        assert old_row["expires_at"] - old_row["created_at"] < timedelta(days=8)  # the overlap, not 90 days
        await conn.execute(
            "UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", old_row["id"]
        )
        assert await access.reader(conn, settings, f"Bearer {old}") is None
        assert await access.reader(conn, settings, f"Bearer {new}") is not None
        assert await access.reader(conn, settings, "Bearer jsr_nonsense") is None
        assert await access.reader(conn, settings, f"Basic {new}") is None
        stored = await conn.fetch("SELECT token_hash FROM access_tokens")
        assert {r["token_hash"] for r in stored} == {access.token_hash(old), access.token_hash(new)}
        assert await access.revoke(conn, "team-nijmegen") == 2
        assert await access.reader(conn, settings, f"Bearer {new}") is None
        assert await access.rotate(conn, "team-nijmegen", timedelta(days=7)) is None
        with pytest.raises(ValueError):
            access.parse_scope("gemeente:Nijmegen")
    finally:
        await conn.close()


async def test_cli_token_and_audit_commands(
    infra: Infra, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = await fresh_settings(infra)
    monkeypatch.setenv("JEUGDSTROOM_DATABASE_URL", settings.database_url)

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    # main() runs its own event loop: call it from a thread of this one
    code, out, _ = await asyncio.to_thread(
        cli, "token", "add", "--name", "Nijmegen beleid", "--scope", "gemeente:GM0268", "--expires", "90d"
    )
    token = out.strip().splitlines()[-1]
    assert code == 0 and token.startswith("jsr_")
    assert (await asyncio.to_thread(cli, "token", "add", "--name", "x", "--scope", "gemeente:Nijmegen"))[0] == 2
    assert (await asyncio.to_thread(cli, "token", "add", "--name", "x", "--scope", "operator", "--expires", "soon"))[
        0
    ] == 2
    code, out, _ = await asyncio.to_thread(cli, "token", "rotate", "--name", "Nijmegen beleid", "--overlap", "1d")
    assert code == 0 and out.strip().splitlines()[-1].startswith("jsr_")
    code, out, _ = await asyncio.to_thread(cli, "token", "list")
    lines = [line for line in out.splitlines() if "Nijmegen beleid" in line]
    assert code == 0 and len(lines) == 2 and all("gemeente:GM0268" in line and "valid" in line for line in lines)
    assert token not in out
    code, out, _ = await asyncio.to_thread(cli, "token", "revoke", "--name", "Nijmegen beleid")
    assert code == 0 and "2 token(s) revoked" in out
    assert (await asyncio.to_thread(cli, "token", "revoke", "--name", "Nijmegen beleid"))[0] == 1

    code, out, _ = await asyncio.to_thread(
        cli, "sender", "add", "--code", "12345678", "--name", "X", "--expires", "30d"
    )
    sender_token = out.strip().splitlines()[-1]
    assert code == 0 and sender_token.startswith("js_")
    code, out, _ = await asyncio.to_thread(cli, "sender", "rotate", "--code", "12345678", "--overlap", "2h")
    assert code == 0 and out.strip().splitlines()[-1].startswith("js_")
    assert (await asyncio.to_thread(cli, "sender", "rotate", "--code", "87654321"))[0] == 1

    conn = await db.connect(settings.database_url)
    try:
        expiry = await conn.fetchval(
            "SELECT expires_at - now() FROM intake.sender_tokens WHERE token_hash = $1", auth_hash(sender_token)
        )
        assert timedelta(hours=1) < expiry <= timedelta(hours=2)  # the overlap cut its 30 days short
        # the monitor names the instelling as registered (its own table, read by the API rows and completeness)
        assert await conn.fetchval("SELECT naam FROM monitor.instelling_names WHERE instelling = '12345678'") == "X"
        await scoped.record(conn, Reader("Nijmegen beleid", "gemeente:GM0268"), "separaties", {"period": "year"}, 7)
    finally:
        await conn.close()
    code, out, _ = await asyncio.to_thread(cli, "audit", "--since", "1d")
    assert code == 0 and "Nijmegen beleid (gemeente:GM0268)  separaties [period=year]  7 exact cells" in out
    code, out, _ = await asyncio.to_thread(cli, "audit", "--since", "2999-01-01")
    assert code == 0 and out == ""


async def test_findings_by_scope(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    conn = await db.connect(settings.database_url)
    try:
        await conn.execute(
            """INSERT INTO registry.findings (pseudonym, kind, subject, instelling, reason) VALUES
               ('p1', 'overlap', 's1', '11111111', 'r'), ('p2', 'overlap', 's2', '22222222', 'r'),
               ('p3', 'orphan', 's3', NULL, 'r')"""
        )
        tokens = {name: await access.add_token(conn, f"t-{name}", scope) for name, scope in SCOPES.items()}
        tokens["expired"] = await access.add_token(conn, "t-expired", "instelling:11111111", timedelta(hours=-1))
        tokens["revoked"] = await access.add_token(conn, "t-revoked", "instelling:11111111")
        await access.revoke(conn, "t-revoked")
    finally:
        await conn.close()
    async with running_app(create_registry(settings)) as client:

        async def get(token: str | None) -> httpx.Response:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            return await client.get("/v1/findings", params={"status": "all"}, headers=headers)

        op = await get(settings.operator_token.get_secret_value())  # type: ignore[union-attr]
        assert {f["subject"] for f in op.json()["findings"]} == {"s1", "s2", "s3"}
        assert {f["subject"] for f in (await get(tokens["operator"])).json()["findings"]} == {"s1", "s2", "s3"}
        own = (await get(tokens["instelling"])).json()
        assert own["scope"] == "instelling:11111111"
        assert [(f["subject"], f["instelling"]) for f in own["findings"]] == [("s1", "11111111")]
        assert all("pseudonym" not in f for f in own["findings"])
        for name in ("gemeente", "jeugdregio"):
            assert (await get(tokens[name])).status_code == 403
        for token in (None, tokens["expired"], tokens["revoked"], "jsr_wrong"):
            assert (await get(token)).status_code == 401
    # every read that returned findings is on the audit trail (who, scope, how many), refused reads are not
    conn = await db.connect(settings.database_url)
    try:
        trail = await audit.entries(conn, datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        await conn.close()
    assert [(r["token_name"], r["scope"], r["resource"], r["cells"]) for r in trail] == [
        (access.SETTINGS_OPERATOR, "operator", "findings", 3),
        ("t-operator", "operator", "findings", 3),
        ("t-instelling", "instelling:11111111", "findings", 1),
    ]
    assert trail[2]["params"]["instelling"] == "11111111" and trail[2]["params"]["status"] == "all"
    assert not any(t in repr(trail) for t in tokens.values())


async def test_sender_tokens_expire_and_rotate_with_overlap(infra: Infra) -> None:
    settings = await fresh_settings(infra)
    conn = await db.connect(settings.database_url)
    try:
        first = await add_sender(conn, "12345678", "Instelling X", timedelta(days=365))
        assert await authenticate(conn, first) == Sender("12345678", "Instelling X")
        second = await rotate_sender(conn, "12345678", timedelta(days=7))
        assert second is not None
        assert await authenticate(conn, first) is not None and await authenticate(conn, second) is not None
        await conn.execute(
            "UPDATE intake.sender_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            auth_hash(first),
        )
        assert await authenticate(conn, first) is None  # the overlap is over
        assert await authenticate(conn, second) == Sender("12345678", "Instelling X")
        # re-keying with add revokes at once; an expired token never authenticates
        third = await add_sender(conn, "12345678", "Instelling X", timedelta(hours=-1))
        assert await authenticate(conn, second) is None and await authenticate(conn, third) is None
        fourth = await add_sender(conn, "12345678", "Instelling X")
        assert await authenticate(conn, fourth) is not None
        assert await conn.fetchval("SELECT token_hash FROM intake.senders WHERE code = '12345678'") == auth_hash(fourth)
        assert await revoke_sender(conn, "12345678")
        assert await authenticate(conn, fourth) is None
        assert await rotate_sender(conn, "12345678", timedelta(days=7)) is None  # revoked: no rotation
        assert await rotate_sender(conn, "99999999", timedelta(days=7)) is None
    finally:
        await conn.close()
