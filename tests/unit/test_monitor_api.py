"""The monitor's API surface without infrastructure: OpenAPI documents the row format; suppression and
the CLI's formatting of rows."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import httpx
import pytest

from jeugdstroom.cli.indicators import format_value
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import disclosure
from jeugdstroom.monitor.app import create_app
from jeugdstroom.monitor.catalogue import CATALOGUE
from jeugdstroom.monitor.disclosure import noise, secret_of
from jeugdstroom.monitor.rows import empty_row, public, public_cell, shown, to_row


def test_openapi_documents_catalogue_and_rows() -> None:
    spec = create_app(Settings()).openapi()
    schemas = spec["components"]["schemas"]
    assert {"IndicatorInfo", "IndicatorValues", "IndicatorRow"} <= set(schemas)
    assert {"period", "start", "dims", "value", "suppressed", "target_status"} <= set(
        schemas["IndicatorRow"]["properties"]
    )
    params = {p["name"] for p in spec["paths"]["/v1/indicators/{indicator_id}"]["get"]["parameters"]}
    assert {"period", "group_by", "from", "to", "as_of", "gemeente", "jeugdregio", "instelling"} <= params


KEY = secret_of("a pseudonym key", None)
sep = CATALOGUE["separaties"]


def test_public_rows_hide_small_cells_by_kind() -> None:
    count = {"period": "month", "start": "2026-01-01", "dims": {}, "value": 9}
    big = public(sep, {**count, "value": 500}, 10, KEY)
    assert big["suppressed"] is False and abs(big["value"] - 500) < 30
    for v in range(1, 60):  # the public value is the noisy value; below the threshold it is hidden
        row = public(sep, {**count, "value": v}, 10, KEY)
        noisy = max(0, v + noise(KEY, "separaties", "month", "2026-01-01", "", v))
        assert row == (
            {**count, "value": None, "suppressed": True}
            if 0 < noisy < 10
            else {**count, "value": noisy, "suppressed": False}
        )
        assert shown(sep, row) is (noisy != 0)
    dur = {**count, "value": 45, "n": 3, "p90": 80}
    hidden = public(CATALOGUE["separatie_duur"], dur, 10, KEY)
    assert hidden == {**dur, "value": None, "n": None, "p90": None, "suppressed": True} or hidden["n"] == 0
    ratio = {**count, "value": 0.25, "numerator": 30, "denominator": 120}
    pub = public(CATALOGUE["voortijdig_aandeel"], ratio, 10, KEY)
    assert pub["value"] == round(pub["numerator"] / pub["denominator"], 4) and pub["numerator"] <= pub["denominator"]
    assert (
        public(CATALOGUE["voortijdig_aandeel"], {**ratio, "numerator": 0, "denominator": 2}, 10, KEY)["value"] is None
    )
    assert empty_row(CATALOGUE["continuering_18"], "year", date(2026, 1, 1), {"gemeente": "GM0268"})["denominator"] == 0


def test_rows_name_their_gemeente_and_jeugdregio() -> None:
    """API and indicator-topic rows carry the CBS codes in dims and their names in ``names`` (additive)."""
    cell = (date(2026, 1, 1), ("GM0599", "JZ29", "separeerruimte"))
    row = to_row("month", ("gemeente", "jeugdregio", "vorm"), cell, {"value": 12})
    assert row["dims"] == {"gemeente": "GM0599", "jeugdregio": "JZ29", "vorm": "separeerruimte"}
    assert row["names"] == {"gemeente": "Rotterdam", "jeugdregio": "Rijnmond"}
    assert row["value"] == 12
    regional = to_row("year", ("jeugdregio",), (date(2026, 1, 1), ("onbekend",)), {"value": 3})
    assert regional["names"] == {"jeugdregio": "onbekend"}
    assert "names" not in to_row("year", ("vorm",), (date(2026, 1, 1), ("separeerruimte",)), {"value": 3})
    assert empty_row(CATALOGUE["separaties"], "year", date(2026, 1, 1), {"jeugdregio": "JZ32"})["names"] == {
        "jeugdregio": "Rijk van Nijmegen"
    }
    spec = create_app(Settings()).openapi()
    assert "names" in spec["components"]["schemas"]["IndicatorRow"]["properties"]


async def test_the_api_lists_every_jeugdregio_and_gemeente_with_its_name() -> None:
    app = create_app(Settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor") as client:
        doc = (await client.get("/v1/geography")).json()
    assert len(doc["jeugdregios"]) == 42 and len(doc["gemeenten"]) == 342
    rvn = next(r for r in doc["jeugdregios"] if r["jeugdregio"] == "JZ32")
    assert rvn["naam"] == "Rijk van Nijmegen" and len(rvn["gemeenten"]) == 7
    assert {"gemeente": "GM0241", "naam": "Groesbeek", "opvolger": "GM1945", "datum": "2016-01-01"} in doc[
        "herindelingen"
    ]


def test_noise_is_keyed_stable_and_two_sided_geometric() -> None:
    draws = [noise(KEY, "separaties", i) for i in range(20000)]
    assert draws == [noise(KEY, "separaties", i) for i in range(20000)]  # the same cell, the same noise
    assert draws != [noise(secret_of("another key", None), "separaties", i) for i in range(20000)]
    share = {k: draws.count(k) / len(draws) for k in (-2, -1, 0, 1, 2)}
    assert abs(share[0] - 1 / 3) < 0.02 and abs(share[1] - 1 / 6) < 0.02 and abs(share[-1] - 1 / 6) < 0.02
    assert abs(share[2] - 1 / 12) < 0.01 and abs(sum(draws) / len(draws)) < 0.1  # unbiased
    assert max(draws) >= 8 and min(draws) <= -8  # unbounded support: any value stays possible
    # a stock's level has one noise whatever the day; the same cell asked with a filter is the same cell
    stock = CATALOGUE["gesloten_actief"]
    row = {"period": "day", "start": "2026-01-01", "dims": {"gemeente": "GM0268"}, "value": 37}
    assert public(stock, row, 10, KEY) == {
        **public(stock, {**row, "start": "2026-03-05"}, 10, KEY),
        "start": "2026-01-01",
    }
    flow = {**row, "dims": {"gemeente": "GM0268", "jeugdregio": "JZ32"}}
    assert public(sep, flow, 10, KEY) == public(
        sep, {**flow, "dims": {"gemeente": "GM0268"}}, 10, KEY, {"jeugdregio": "JZ32"}
    ) | {"dims": flow["dims"]}
    # ... and so is the gemeente asked without its jeugdregio (the gemeente determines it)
    assert public(sep, flow, 10, KEY) == public(sep, {**flow, "dims": {"gemeente": "GM0268"}}, 10, KEY) | {
        "dims": flow["dims"]
    }
    with pytest.raises(RuntimeError):
        secret_of(None, None)


def test_cli_formats_values_by_kind() -> None:
    assert format_value({"value": None, "suppressed": True}, 10) == "<10"
    assert format_value({"value": 3, "suppressed": False}, 10) == "3"
    assert format_value({"value": 45, "n": 12, "p90": 80, "suppressed": False}, 10) == "45 (p90 80, n 12)"
    assert format_value({"value": 0.25, "numerator": 3, "denominator": 12, "suppressed": False}, 10) == "0.2500 (3/12)"


def test_the_noise_hmac_is_hmac_sha256() -> None:
    """The noise's HMAC is computed from the padded key's SHA-256 states (once per key): the same bytes as the
    standard library's HMAC for keys shorter than, as long as and longer than SHA-256's block."""
    for key in (b"", b"k", bytes(range(32)), bytes(range(64)), bytes(range(65)), b"x" * 200):
        for message in (b"", b"separaties\x1fmonth\x1f2026-01-01\x1fgemeente=GM0268\x1f12", "é".encode() * 100):
            assert disclosure._hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


def test_protect_adds_the_noise_of_the_cells_key() -> None:
    """A public count is its exact value plus ``noise(secret, quantity, [period, start,] dims, value)`` (the key of
    docs/privacy.md; a stock's without the period), floored at 0."""
    for stock, when in ((False, ("month", "2026-03-01")), (True, ())):
        for v in range(30, 60):
            row = {
                "period": "month",
                "start": "2026-03-01",
                "dims": {"gemeente": "GM0268", "jeugdregio": "JZ32"},
                "value": v,
            }
            out = disclosure.protect("count", ("s", ""), stock, row, 10, KEY)
            assert out["value"] == max(0, v + noise(KEY, "s", *when, "gemeente=GM0268", v))


def test_public_cell_is_public_of_a_cells_row() -> None:
    """The indicator topic's rows (a cell's value fields alone) are made public by ``public_cell`` with their noise
    key computed once per dims: the same rows as ``public``."""
    fields = {
        "count": [{"value": v} for v in (1, 4, 9, 10, 11, 250)],
        "stock": [{"value": v} for v in (3, 12, 40)],
        "distinct": [{"value": v} for v in (2, 15)],
        "duration": [{"value": 30, "n": n, "p90": 90} for n in (1, 8, 12, 400)],
        "waiting": [{"value": 5, "n": n, "p90": 9} for n in (3, 30)],
        "ratio": [{"value": 0.5, "numerator": k, "denominator": d} for k, d in ((1, 2), (5, 10), (30, 60), (0, 14))],
    }
    seen = set()
    for ind in CATALOGUE.values():
        for dims in ({}, {"gemeente": "GM0268", "jeugdregio": "JZ32"}, {"instelling": "12345678"}):
            for f in fields[ind.kind]:
                row = to_row("year", tuple(dims), (date(2025, 1, 1), tuple(dims.values())), f)
                got = public_cell(ind, row, 10, KEY, disclosure.noise_dims(row["dims"]))
                assert got == public(ind, row, 10, KEY), (ind.id, row)
                seen.add(ind.kind)
    assert seen == set(fields)
