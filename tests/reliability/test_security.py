"""Security on one completed simulated run (a module-scoped system):

* privacy: no BSN of the simulator in any topic, table, log file or ``/metrics``;
* authorisation: no sender submits, corrects or withdraws as another; public indicator output never shows a small
  cell; exact values and findings need the operator token; sender tokens are stored hashed only;
* fuzz: schemathesis against the OpenAPI of intake, registry and monitor, with and without credentials: no 5xx,
  every response conforms to the schema.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.kafka import ALL_TOPICS, TYPED_TOPICS
from tests.conftest import Infra
from tests.reliability.conftest import Recorder
from tests.reliability.harness import Stream, System, running_system, simulated
from tests.support import pg_dump, read_topic

pytestmark = pytest.mark.e2e

DAYS = 60
SEED = 9501


@pytest.fixture(scope="module")
async def completed(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[System, Stream]]:
    """A simulated region streamed through the running system and fully processed."""
    folder = tmp_path_factory.mktemp("security")
    stream = simulated(folder, DAYS, SEED)
    async with running_system(infra, folder) as system:
        await system.send(stream.path)
        await system.drained()
        yield system, stream


# -- privacy ---------------------------------------------------------------------------------------------------
async def test_no_bsn_in_any_topic_table_log_or_metric(completed: tuple[System, Stream],
                                                       fault_report: Recorder) -> None:
    system, stream = completed
    bsns = stream.bsns()
    assert len(bsns) > 500, "the stream carries the BSNs of many children"
    places: dict[str, bytes] = {}
    for short in ALL_TOPICS:
        records = await read_topic(system.settings, short, 2.0)
        places[f"topic {short}"] = b"\n".join(
            (r.value or b"") + b"|" + (r.key or b"") + b"|" + b"|".join(v for _, v in r.headers) for r in records)
    places["database (pg_dump)"] = readable(pg_dump(system.settings))
    async with httpx.AsyncClient(timeout=10) as client:
        for name, proc in system.procs.items():
            places[f"{name} /metrics"] = (await client.get(f"{proc.url}/metrics")).content
            places[f"{name} log"] = proc.log_path.read_bytes()

    # The scan sees real data: the children are there, by pseudonym.
    key = system.settings.pseudonym_key_bytes
    pseudonyms = {pseudonymise(b, key) for b in bsns}
    typed = b"\n".join(places[f"topic {t}"] for t in TYPED_TOPICS)
    for where, blob in (("database (pg_dump)", places["database (pg_dump)"]), ("typed topics", typed)):
        found = pseudonyms & set(re.findall(r"[0-9a-f]{64}", blob.decode("latin-1")))
        assert len(found) > 0.5 * len(pseudonyms), f"{where}: only {len(found)} of {len(bsns)} children by pseudonym"
    hits = {where: sorted(bsns & nine_digit_windows(blob)) for where, blob in places.items()}
    assert not any(hits.values()), {k: [context(places[k], b) for b in v[:3]] for k, v in hits.items() if v}
    fault_report.record(
        "Privacy scan",
        f"after a run of {stream.events} events ({DAYS} days): every topic ({len(ALL_TOPICS)}), a pg_dump of the"
        " database, each service's log file and /metrics searched for the simulator's BSNs",
        f"0 of {len(bsns)} BSNs found in {len(places)} places",
    )


def readable(dump: bytes) -> bytes:
    """A pg_dump with its bytea values (hex, ``\\x…``) decoded: the hex of ASCII text is mostly digits, so it would
    both hide a BSN stored in a bytea column and show 9-digit strings that are none."""
    return re.sub(rb"\\\\x((?:[0-9a-f]{2})+)", lambda m: bytes.fromhex(m.group(1).decode()), dump)


def nine_digit_windows(blob: bytes) -> set[str]:
    """Every 9-digit string in ``blob``, also inside longer runs of digits."""
    out: set[str] = set()
    for run in re.findall(rb"[0-9]{9,}", blob):
        out.update(run[i:i + 9].decode() for i in range(len(run) - 8))
    return out


def context(blob: bytes, needle: str) -> str:
    at = blob.find(needle.encode())
    return blob[max(0, at - 300):at + 100].decode(errors="replace")


# -- authorisation ---------------------------------------------------------------------------------------------
def events_of(stream: Stream, kind: str) -> dict[str, dict[str, Any]]:
    """The first valid-looking event of ``kind`` per sender in the stream."""
    out: dict[str, dict[str, Any]] = {}
    with stream.path.open("rb") as f:
        for line in f:
            event = orjson.loads(line)
            if event.get("type") == kind and isinstance(event.get("sender"), str):
                out.setdefault(event["sender"], event)
    return out


def small(kind: str, row: dict[str, Any], threshold: int) -> bool:
    """The suppression rule of docs/indicators.md, stated independently of the monitor's code."""
    if kind in ("duration", "waiting"):  # a waiting row's value is days waited; its n counts the children
        return int(row["n"]) < threshold
    if kind == "ratio":
        return int(row["denominator"]) < threshold
    return 0 < abs(row["value"]) < threshold


async def test_authorisation(completed: tuple[System, Stream], fault_report: Recorder) -> None:
    system, stream = completed
    b, victim = sorted(events_of(stream, "separatie").items())[0]  # B's separatie counts in separaties
    a = next(code for code in sorted(system.tokens) if code != b)
    as_a = {"authorization": f"Bearer {system.tokens[a]}"}
    async with httpx.AsyncClient(base_url=system.intake_url, headers=as_a, timeout=30) as intake:
        # Submitting as another sender: 403 alone, "forbidden" in a batch and in NDJSON.
        posing = {**victim, "id": "posing-1"}
        assert (await intake.post("/v1/events", json=posing)).status_code == 403
        batch = await intake.post("/v1/events", json=[posing, {**victim, "id": "posing-2"}])
        assert batch.status_code == 202 and {r["status"] for r in batch.json()["results"]} == {"forbidden"}
        ndjson = orjson.dumps(posing) + b"\n"
        lines = await intake.post("/v1/events", content=ndjson, headers={"content-type": "application/x-ndjson"})
        assert lines.status_code == 202 and lines.json()["results"][0]["status"] == "forbidden"
        # Withdrawing or correcting B's event as B: 403.
        withdraw = {"id": "corr-1", "type": "correctie", "schema_version": 1, "occurred_at": victim["occurred_at"],
                    "sender": b, "child": victim["child"], "data": {"target_id": victim["id"], "action": "intrekken"}}
        assert (await intake.post("/v1/events", json=withdraw)).status_code == 403
        replace = {**withdraw, "id": "corr-2",
                   "data": {"target_id": victim["id"], "action": "vervangen", "replacement": victim}}
        assert (await intake.post("/v1/events", json=replace)).status_code == 403
        # Withdrawing B's event id as A: accepted as A's own correctie, which concerns A's events only.
        own = await intake.post("/v1/events", json={**withdraw, "sender": a})
        assert own.status_code == 202, own.text
    await system.drained()
    result = await system.compare(stream)  # B's separatie still counts: every indicator still equals the truth
    assert not result.failures, result.report()

    # Public output never shows a small cell; exact values need the operator token.
    threshold = system.settings.suppression_threshold
    checked = suppressed = 0
    async with httpx.AsyncClient(base_url=system.monitor_url, timeout=60) as monitor:
        catalogue = (await monitor.get("/v1/indicators")).json()
        for ind in catalogue:
            for period in ("month", "year"):
                for group_by in ("", ",".join(ind["dimensions"])):
                    params = {"period": period, "group_by": group_by, "as_of": stream.truth["params"]["as_of"]}
                    url = f"/v1/indicators/{ind['id']}"
                    exact = (await monitor.get(url, params=params, headers=system.operator_headers)).json()
                    assert exact["exact"] is True
                    cells = {(e["start"], tuple(sorted(e["dims"].items()))): e for e in exact["rows"]}
                    for creds in ({}, as_a, {"authorization": "Bearer not-the-operator"}):
                        public = (await monitor.get(url, params=params, headers=creds)).json()
                        assert public["exact"] is False
                        for p in public["rows"]:  # noisy values of existing cells (docs/privacy.md)
                            e = cells[(p["start"], tuple(sorted(p["dims"].items())))]
                            assert p["period"] == e["period"]
                            checked += 1
                            if p["suppressed"]:
                                suppressed += 1
                                assert p["value"] is None, (ind["id"], p)
                                assert all(p.get(x) is None for x in ("n", "p90", "numerator", "denominator"))
                            else:  # never a small number, exact or not
                                assert not small(ind["kind"], p, threshold), (ind["id"], p, e)
    assert suppressed > 100 and checked > suppressed, (checked, suppressed)
    registry = system.procs["registry"].url
    async with httpx.AsyncClient(base_url=registry, timeout=30) as c:
        for creds in ({}, as_a, {"authorization": "Bearer not-the-operator"}, {"authorization": "Basic eDp5"}):
            assert (await c.get("/v1/findings", headers=creds)).status_code == 401
        assert (await c.get("/v1/findings", headers=system.operator_headers)).status_code == 200

    # Tokens are stored as SHA-256 hashes only.
    stored = {r["code"]: r["token_hash"] for r in await system.fetch("SELECT code, token_hash FROM intake.senders")}
    assert stored == {code: hashlib.sha256(t.encode()).hexdigest() for code, t in system.tokens.items()}
    dump = pg_dump(system.settings)
    assert not any(t.encode() in dump for t in system.tokens.values()), "a sender token is stored in clear"
    fault_report.record(
        "Authorisation",
        f"sender {a} submits (single, batch, NDJSON), withdraws and replaces as sender {b}, and withdraws {b}'s"
        " event id as itself; public, sender and wrong-token requests for every indicator (month, year; total and"
        " all dimensions); /v1/findings without the operator token",
        f"403/forbidden each time; {b}'s event unaffected (exact ground truth); {suppressed} of {checked} public"
        " cells suppressed, no public number small (noisy values, docs/privacy.md); exact values and findings only with"
        f" the operator token; {len(stored)} tokens stored as SHA-256 only",
    )


# -- fuzz ------------------------------------------------------------------------------------------------------
FUZZ_EXAMPLES = 15
ROOT = Path(__file__).resolve().parents[2]


async def schemathesis(url: str, headers: dict[str, str], folder: Path) -> tuple[int, str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is missing: pip install -e '.[dev]'"
    args = [exe, "run", f"{url}/openapi.json", "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--phases", "examples,coverage,fuzzing", "--max-examples", str(FUZZ_EXAMPLES), "--seed", "9601",
            "--workers", "1", "--no-color", "--generation-database", "none", "--request-timeout", "30",
            "--report-dir", str(folder)]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=ROOT, env=env)
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_fuzz_the_http_apis(completed: tuple[System, Stream], fault_report: Recorder,
                                  tmp_path: Path) -> None:
    system, _ = completed
    sender = sorted(system.tokens)[0]
    runs = {
        ("intake", "no credentials"): {},
        ("intake", f"sender {sender}"): {"authorization": f"Bearer {system.tokens[sender]}"},
        ("registry", "no credentials"): {},
        ("registry", "operator"): system.operator_headers,
        ("monitor", "no credentials"): {},
        ("monitor", "operator"): system.operator_headers,
    }
    failed = {}
    for (name, creds), headers in runs.items():
        code, out = await schemathesis(system.procs[name].url, headers, tmp_path / f"{name}-{len(headers)}")
        if code != 0:
            failed[f"{name} ({creds})"] = out[-4000:]
    assert not failed, "\n\n".join(f"== {k}\n{v}" for k, v in failed.items())
    fault_report.record(
        "HTTP fuzzing",
        f"schemathesis (examples, coverage and fuzzing phases, up to {FUZZ_EXAMPLES} cases per operation) against"
        " every operation of intake, registry and monitor, without credentials and with a sender or operator token",
        "no 5xx; status codes, content types and bodies conform to each OpenAPI document",
    )
