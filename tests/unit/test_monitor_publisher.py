"""The indicator topic's bookkeeping without I/O: which cells a batch affects, and topic keys."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import random
from datetime import date, timedelta

import orjson

from jeugdstroom.monitor import publisher
from jeugdstroom.monitor.catalogue import CATALOGUE, SERIES, USERS
from jeugdstroom.monitor.definition import BREAKDOWNS
from jeugdstroom.monitor.fold import Key, Table
from jeugdstroom.monitor.periods import next_start, start_of
from jeugdstroom.monitor.publisher import TOPIC_PERIODS, Affected
from jeugdstroom.monitor.repository import Cell

AS_OF = date(2026, 6, 17)
TABLES: dict[str, Table] = {"count": "count", "stock": "stock", "distinct": "member", "duration": "duration", "waiting": "span"}


def per_key(keys: list[Key], as_of: date) -> dict[tuple[str, str], Affected]:
    """The definition, one key at a time: each key's periods (for stocks: up to as_of) and dimension values."""
    out: dict[tuple[str, str], Affected] = {}
    for key in keys:
        if key.day > as_of:
            continue
        dims = dict(key.dims)
        for ind in USERS[key.series]:
            for period in TOPIC_PERIODS:
                lo = start_of(key.day, period)
                span = SERIES[key.series].kind in ("stock", "waiting") or SERIES[key.series].members
                hi = None if span else next_start(lo, period)
                a = out.setdefault((ind.id, period), Affected(lo, hi))
                a.lo = min(a.lo, lo)
                a.hi = None if a.hi is None or hi is None else max(a.hi, hi)
                for d in ind.dimensions:
                    a.values.setdefault(d, set()).add(dims[d])
    return out


def random_keys(rng: random.Random, n: int) -> list[Key]:
    keys = []
    for _ in range(n):
        series = SERIES[rng.choice(sorted(SERIES))]
        dims = tuple(sorted((d, rng.choice(["a", "b", "c"]) + d[:2]) for d in series.dims))
        day = AS_OF + timedelta(days=rng.randint(-900, 60))
        keys.append(
            Key(TABLES[series.kind], series.id, day, dims, member=rng.choice(["p1", "p2"]), value=rng.randint(0, 9))
        )
    return keys


def test_affected_cells_equal_the_per_key_definition() -> None:
    rng = random.Random(3)
    for n in (1, 5, 40, 400):
        keys = random_keys(rng, n)
        got = publisher.affected(keys, AS_OF)
        assert got == per_key(keys, AS_OF)
    assert publisher.affected(random_keys(rng, 50), date(2020, 1, 1)) == {}  # every day after as_of


def test_affected_spans_every_period_of_a_stock_up_to_as_of() -> None:
    dims = (
        ("aanbieder", "11111111"),
        ("gemeente", "GM0268"),
        ("geslacht", "vrouw"),
        ("instelling", "11111111"),
        ("jeugdregio", "JZ32"),
        ("leeftijdsklasse", "4-12"),
    )
    keys = [
        Key("stock", "gesloten_actief", date(2025, 3, 9), dims),
        Key("count", "gesloten_instroom", date(2025, 3, 9), dims),
        Key("count", "gesloten_instroom", date(2025, 11, 2), dims),
    ]
    work = publisher.affected(keys, AS_OF)
    assert work[("gesloten_actief", "month")] == Affected(
        date(2025, 3, 1),
        None,
        {
            "gemeente": {"GM0268"},
            "jeugdregio": {"JZ32"},
            "instelling": {"11111111"},
            "leeftijdsklasse": {"4-12"},
            "geslacht": {"vrouw"},
            "aanbieder": {"11111111"},
        },
    )
    assert (work[("gesloten_instroom", "month")].lo, work[("gesloten_instroom", "month")].hi) == (
        date(2025, 3, 1),
        date(2025, 12, 1),
    )
    assert (work[("gesloten_instroom", "half_year")].lo, work[("gesloten_instroom", "half_year")].hi) == (
        date(2025, 1, 1),
        date(2026, 1, 1),
    )


def test_topic_key_sorts_dimensions() -> None:
    key = publisher.topic_key("x", "month", "2026-01-01", {"vorm": "gezinshuis", "gemeente": "GM0268"})
    assert key == "x|month|2026-01-01|gemeente=GM0268;vorm=gezinshuis"


def test_cell_keys_equal_topic_keys_for_every_indicator() -> None:
    for ind in CATALOGUE.values():
        values = tuple(f"{d[::-1]}-{i}" for i, d in enumerate(ind.dimensions))
        expected = publisher.topic_key(ind.id, "year", "2026-01-01", dict(zip(ind.dimensions, values, strict=True)))
        assert publisher._cell_keys(ind, ind.dimensions)("year", "2026-01-01", values) == expected
        for dims in ind.topic_groupings:
            sub = tuple(values[ind.dimensions.index(d)] for d in dims)
            expected = publisher.topic_key(ind.id, "year", "2026-01-01", dict(zip(dims, sub, strict=True)))
            assert publisher._cell_keys(ind, dims)("year", "2026-01-01", sub) == expected


def test_digest_of_a_published_row_tells_changed_rows_apart_in_8_bytes() -> None:
    row = {"period": "month", "start": "2026-05-01", "dims": {"gemeente": "GM0268"}, "value": 12, "suppressed": False}
    same = {"period": "month", "start": "2026-05-01", "dims": {"gemeente": "GM0268"}, "value": 12, "suppressed": False}
    assert publisher.digest(row) == publisher.digest(same)
    changed = [
        {**row, "value": 13},
        {**row, "value": None, "suppressed": True},
        {**row, "dims": {"gemeente": "GM0203"}},
        {**row, "per_1000": 1.5},
    ]
    digests = {publisher.digest(r) for r in [row, *changed]}
    assert len(digests) == 1 + len(changed)
    assert all(isinstance(d, bytes) and len(d) == 8 for d in digests)


def _published(chunk: publisher._Chunk) -> dict[str, dict[str, object]]:
    """``monitor.published`` as the chunk leaves it (the rows ``published_rows`` would read back)."""
    return {k: {"key": k, "digest": d, "source": x} for k, _, _, _, _, d, x in chunk.upserts}


def _values(cells: list[Cell], value: int) -> dict[Cell, dict[str, object]]:
    return {c: {"value": value} for c in cells}


def _chunk() -> publisher._Chunk:
    return publisher._Chunk("indicators", AS_OF, "2026-06-17T00:00:00+00:00", [])


def test_a_publication_skips_cells_whose_exact_value_is_unchanged_and_sends_every_change() -> None:
    ind = CATALOGUE["gesloten_instroom"]
    secret, threshold = b"s" * 32, 10
    cells = [(date(2026, 5, 1), tuple(f"{d}{i}" for d in ind.dimensions)) for i in range(40)]
    first = _chunk()
    publisher._compare(first, ind, ind.dimensions, "month", _values(cells, 40), {}, threshold, secret)
    assert len(first.out) == len(cells) and first.outcomes == {"sent": len(cells)}
    before = _published(first)

    again = _chunk()  # the same exact values: nothing computed, nothing sent, nothing written
    publisher._compare(again, ind, ind.dimensions, "month", _values(cells, 40), dict(before), threshold, secret)
    assert (again.out, again.upserts, dict(again.outcomes)) == ([], [], {"unchanged": len(cells)})

    # value 1: its noisy value rounds to 0 for some cells (hidden: an empty record, as it was visible), is
    # suppressed for others (a record with value null)
    changed = _chunk()
    publisher._compare(changed, ind, ind.dimensions, "month", _values(cells, 1), dict(before), threshold, secret)
    sent = {(r.key or b"").decode(): orjson.loads(r.value or b"") for r in changed.out}
    assert len(sent) == len(cells) and 0 < changed.outcomes["hidden"] < len(cells)
    now = _published(changed)
    assert {k for k, v in sent.items() if v["value"] == 0} == {k for k, r in now.items() if r["digest"] is None}
    assert all(v["value"] is None and v["suppressed"] for k, v in sent.items() if now[k]["digest"] is not None)

    hidden = _chunk()  # still the same exact values: skipped, visible or not
    publisher._compare(hidden, ind, ind.dimensions, "month", _values(cells, 1), dict(now), threshold, secret)
    assert hidden.out == [] and dict(hidden.outcomes) == {"unchanged": len(cells)}
    back = _chunk()  # visible again: a record for each
    publisher._compare(back, ind, ind.dimensions, "month", _values(cells, 40), dict(now), threshold, secret)
    assert len(back.out) == len(cells) and back.outcomes == {"sent": len(cells)}

    # forgotten (`jeugdstroom republish indicators`: row digest 0, no source): every cell is sent again, a hidden one
    # as its empty record (the topic may still show an older visible value)
    forgotten = {k: {"key": k, "digest": bytes(8), "source": None} for k in now}
    resend = _chunk()
    publisher._compare(resend, ind, ind.dimensions, "month", _values(cells, 1), forgotten, threshold, secret)
    resent = {(r.key or b"").decode(): orjson.loads(r.value or b"") for r in resend.out}
    assert set(resent) == set(now)
    assert {k for k, v in resent.items() if v["value"] == 0} == {k for k, r in now.items() if r["digest"] is None}

    other_secret = _chunk()  # a different noise secret: every cell compares as changed
    publisher._compare(other_secret, ind, ind.dimensions, "month", _values(cells, 40), dict(before), threshold,
                       b"t" * 32)
    assert other_secret.outcomes["unchanged"] == 0 and len(other_secret.upserts) == len(cells)


def test_source_digest_depends_on_the_fields_and_the_salt() -> None:
    ind = CATALOGUE["separatie_duur"]
    salt = publisher._salt(ind, 10, b"s" * 32)
    fields = {"value": 3.5, "n": 12, "p90": 7.0}
    assert publisher.source_digest(salt, fields) == publisher.source_digest(salt, dict(fields))
    keyed = hashlib.blake2b(orjson.dumps(fields), digest_size=8, key=salt).digest()  # (as the table keeps them)
    assert publisher.source_digest(salt, fields) == keyed
    others = [{**fields, "n": 13}, {**fields, "p90": 7.5}, {**fields, "value": 3.0}]
    digests = {publisher.source_digest(salt, f) for f in [fields, *others]}
    assert len(digests) == 4 and all(len(d) == 8 for d in digests)
    assert publisher.source_digest(publisher._salt(ind, 11, b"s" * 32), fields) != publisher.source_digest(salt, fields)
    other_version = dataclasses.replace(ind, version=ind.version + 1)
    assert publisher._salt(other_version, 10, b"s" * 32) != salt


def test_topic_groupings_are_places_and_breakdowns_of_the_indicators_own_dimensions() -> None:
    for ind in CATALOGUE.values():
        groupings = ind.topic_groupings
        assert groupings[0] == () and len(set(groupings)) == len(groupings)
        for dims in groupings:
            assert list(dims) == [d for d in ind.dimensions if d in dims]  # in the indicator's order
            places = [d for d in dims if d in ("gemeente", "jeugdregio", "instelling")]
            assert len(places) <= 1 and set(dims) - set(places) <= set(BREAKDOWNS)
        for place in ("gemeente", "jeugdregio", "instelling"):
            assert ((place,) in groupings) == (place in ind.dimensions)
    assert CATALOGUE["verblijf_actief"].topic_groupings == (
        (), ("vorm",), ("jeugdregio",), ("jeugdregio", "vorm"), ("gemeente",), ("gemeente", "vorm"),
        ("instelling",), ("instelling", "vorm"),
    )


def test_chunks_keep_an_indicators_periods_together_within_the_bound() -> None:
    rng = random.Random(5)
    inds = sorted(CATALOGUE)
    for _ in range(50):
        pairs = {(i, p) for i in rng.sample(inds, rng.randint(1, 12)) for p in TOPIC_PERIODS if rng.random() < 0.7}
        items = [(k, Affected(date(2026, 1, 1), None)) for k in sorted(pairs)]
        chunks = publisher.chunks(items, lambda item: item[0][0])
        assert [item for c in chunks for item in c] == items  # every item once, in order
        # the publishing loop's pending pairs are chunked alike
        assert publisher.chunks(sorted(pairs), lambda pair: pair[0]) == [[k for k, _ in c] for c in chunks]
        for c in chunks:
            assert len(c) <= publisher.CHUNK
        owner = {k[0]: n for n, c in enumerate(chunks) for k, _ in c}
        assert all(owner[k[0]] == n for n, c in enumerate(chunks) for k, _ in c)  # an indicator in one chunk
        # a chunk ends only where the next indicator's periods would not fit
        for c, nxt in itertools.pairwise(chunks):
            assert len(c) + sum(1 for k, _ in items if k[0] == nxt[0][0][0]) > publisher.CHUNK


def test_a_message_spliced_from_the_rows_json_is_the_message() -> None:
    """The publication splices a row's JSON (already made for its digest) into the record's envelope: the bytes must
    be those of serialising the whole record."""
    as_of = date(2026, 6, 30)
    rows = [
        {"period": "month", "start": "2026-06-01", "dims": {}, "value": 12, "suppressed": False},
        {
            "period": "year",
            "start": "2025-01-01",
            "dims": {"gemeente": "GM0268", "vorm": "é\"x"},
            "names": {"gemeente": "Nijmegen", "jeugdregio": "Rijk van Nijmegen"},
            "value": None,
            "n": None,
            "p90": None,
            "suppressed": True,
        },
        {
            "period": "half_year",
            "start": "2026-01-01",
            "dims": {"instelling": "1"},
            "value": 0.3333,
            "numerator": 1,
            "denominator": 3,
            "suppressed": False,
        },
    ]
    for ind in (CATALOGUE["separaties"], CATALOGUE["separatie_duur"], CATALOGUE["voortijdig_aandeel"]):
        for row in rows:
            spliced = publisher._message_of(ind, row, orjson.dumps(row), as_of)
            assert spliced == publisher._message(ind, row, as_of)
            assert orjson.loads(spliced)["as_of"] == "2026-06-30"
    odd = {"value": 1, "unit": "x"}  # a field of the envelope in the row itself: serialised as a whole
    assert publisher._message_of(CATALOGUE["separaties"], odd, orjson.dumps(odd), as_of) == publisher._message(
        CATALOGUE["separaties"], odd, as_of
    )


def test_a_chunks_records_carry_the_indicator_records_headers() -> None:
    """The records of a publication chunk get their headers from one template (only ``ce_id`` differs): the same
    headers as :func:`publisher._headers` with the trace context after them."""
    trace = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    chunk = publisher._Chunk("t.indicators", date(2026, 6, 30), "2026-07-01T00:00:00+00:00", trace)
    ind = CATALOGUE["separaties"]
    rows = [{"period": "month", "start": "2026-06-01", "dims": {}, "value": v, "suppressed": False} for v in (12, 13)]
    for i, row in enumerate(rows):
        chunk.record(ind, f"separaties|month|2026-06-01|x={i}", row, orjson.dumps(row))
    for i, out in enumerate(chunk.out):
        key = f"separaties|month|2026-06-01|x={i}"
        assert out.value == publisher._message(ind, rows[i], date(2026, 6, 30))
        assert out.headers == [*publisher._headers(key, out.value, "2026-07-01T00:00:00+00:00"), *trace]
    assert chunk.out[0].headers != chunk.out[1].headers
