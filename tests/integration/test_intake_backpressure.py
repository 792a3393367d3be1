"""Honest backpressure (issue 25 item 2): while PostgreSQL is away intake answers 503 with ``Retry-After`` (problem
details, never 500) and takes events again once it is back; a sender over its rate limit gets 429 with
``Retry-After`` while other senders go on; ``jeugdstroom send`` waits out both and loses nothing.

PostgreSQL is made to go away with a TCP proxy between intake and the test's database: closing the proxy breaks the
pool's connections and refuses new ones, as a stopped server does, without stopping the PostgreSQL that other tests
share."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jsonschema
import orjson

from jeugdstroom.cli.send import send
from jeugdstroom.common.settings import Settings
from jeugdstroom.intake.app import create_app
from tests.factories import SENDER, separatie
from tests.support import register_sender, running_app

OTHER = "87654321"


class PgProxy:
    """A TCP proxy to PostgreSQL that can be stopped (connections cut, new ones refused) and started again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


def via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _outbox(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox"))
    finally:
        await conn.close()


async def test_database_away_is_503_with_retry_after_and_intake_recovers(settings: Settings) -> None:
    token = await register_sender(settings, SENDER)
    parts = urlsplit(settings.database_url)
    proxy = PgProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    proxied = settings.model_copy(update={"database_url": via(settings.database_url, proxy.port)})
    app = create_app(proxied, inbox=False)
    problem = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Problem", "components": app.openapi()["components"]})
    async with running_app(app) as client:
        before = await client.post("/v1/events", json=separatie("e1", "s1"), headers=_auth(token))
        await proxy.stop()
        down = [await client.post("/v1/events", json=[separatie(f"d{i}", f"t{i}")], headers=_auth(token))
                for i in range(3)]
        ijw = await client.post("/v1/ijw", content=b"<x/>", headers={**_auth(token), "content-type": "text/xml"})
        await proxy.start()  # the same port: PostgreSQL is back
        after = None
        for _ in range(50):
            after = await client.post("/v1/events", json=[separatie("e2", "s2")], headers=_auth(token))
            if after.status_code != 503:
                break
            await asyncio.sleep(0.2)
    assert before.status_code == 202
    for answer in [*down, ijw]:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["retry-after"]) >= 1
        problem.validate(answer.json())
        assert answer.json()["type"] == "urn:jeugdstroom:problem:unavailable"
    assert after is not None and after.status_code == 202, after.text
    assert after.json()["summary"]["accepted"] == 1
    assert await _outbox(settings) == 2  # e1 and e2; nothing of the refused requests


async def test_a_sender_over_its_rate_limit_gets_429_and_others_go_on(settings: Settings) -> None:
    limited = settings.model_copy(update={"rate_limit_per_sender": 2.0, "rate_limit_burst": 3})
    token = await register_sender(settings, SENDER)
    other = await register_sender(settings, OTHER)
    async with running_app(create_app(limited, inbox=False)) as client:
        full = await client.post("/v1/events", json=[separatie(f"e{i}", f"s{i}") for i in range(3)],
                                 headers=_auth(token))
        over = await client.post("/v1/events", json=[separatie("e9", "s9")], headers=_auth(token))
        ijw_over = await client.post("/v1/ijw", content=b"<x/>",
                                     headers={**_auth(token), "content-type": "text/xml"})
        others = await client.post("/v1/events", json=[separatie("o1", "t1", sender=OTHER)], headers=_auth(other))
        await asyncio.sleep(float(over.headers["retry-after"]))
        later = await client.post("/v1/events", json=[separatie("e9", "s9")], headers=_auth(token))
        metrics = (await client.get("/metrics")).text
    assert full.status_code == 202 and full.json()["summary"]["accepted"] == 3
    for answer in (over, ijw_over):
        assert answer.status_code == 429, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:jeugdstroom:problem:rate-limited"
        assert answer.headers["retry-after"] == "1"  # one event at 2 events/s: half a second, rounded up
    assert others.status_code == 202 and others.json()["summary"]["accepted"] == 1
    assert later.status_code == 202 and later.json()["summary"]["accepted"] == 1
    assert "jeugdstroom_intake_rate_limited_total" in metrics
    assert await _outbox(settings) == 5


async def test_send_waits_out_the_rate_limit_and_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    limited = settings.model_copy(update={"rate_limit_per_sender": 20.0, "rate_limit_burst": 10})
    token = await register_sender(settings, SENDER)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(orjson.dumps(separatie(f"e{i}", f"s{i}")) + b"\n" for i in range(40)))
    app = create_app(limited, inbox=False)
    async with running_app(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")
        async with client:
            summary = await send(path, "http://app", token, batch=10, client=client, progress=io.StringIO())
    assert summary.counts["accepted"] == 40 and not summary.failed
    assert await _outbox(settings) == 40
