"""Completeness per instelling (monitor/completeness.py: rhythm, status, "data t/m", replay-safe merging) and the
API's ``format=csv`` (monitor/export.py: the JSON rows, same suppression, Excel-with-Dutch-settings layout)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from jeugdstroom.monitor import completeness as c
from jeugdstroom.monitor.export import rows_csv

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def activity(days: list[int], instelling: str = "11111111") -> c.Activity:
    """Deliveries on these day offsets from T0, folded batch by batch."""
    a = None
    for d in days:
        a = c.merge(a, instelling, [T0 + timedelta(days=d)])
    assert a is not None
    return a


def test_rhythm_status_and_allowance() -> None:
    daily = activity(list(range(10)))  # last delivery on 2026-11-11
    assert (c.rhythm_days(daily), c.allowance_days(daily), daily.active_days) == (1.0, 3, 10)
    assert c.status(daily, date(2026, 11, 14)) == "op_schema"
    assert c.status(daily, date(2026, 11, 15)) == "achter"
    weekly = activity([0, 7, 14, 21])  # mean gap 7 days: allowed 15 days since the last
    assert c.allowance_days(weekly) == 15
    assert c.status(weekly, date(2026, 11, 23) + timedelta(days=15)) == "op_schema"
    assert c.status(weekly, date(2026, 11, 23) + timedelta(days=16)) == "achter"
    assert c.status(activity([0, 1]), date(2027, 1, 1)) == "onbekend"  # too few days for a rhythm


def test_merging_is_replay_safe_and_counts_days_not_events() -> None:
    a = c.merge(None, "11111111", [T0, T0 + timedelta(hours=1), T0 + timedelta(days=1)])
    assert a.active_days == 2 and a.last_at == T0 + timedelta(days=1)
    again = c.merge(a, "11111111", [T0, T0 + timedelta(days=1)])  # the same batch redelivered
    assert again == a
    late = c.merge(a, "11111111", [T0 - timedelta(days=3)])  # an older event: first day moves, last stays
    assert (late.first_day, late.last_day, late.active_days) == (date(2026, 10, 30), a.last_day, 2)


def test_data_tm_is_the_earliest_last_day_of_the_instellingen_keeping_their_rhythm() -> None:
    today = date(2026, 11, 20)
    a = activity(list(range(18)), "11111111")  # daily, last 11-19: op schema
    b = activity([0, 7, 14], "22222222")  # weekly, last 11-16: op schema
    stopped = activity(list(range(5)), "33333333")  # daily, last 11-06: achter
    new = activity([17], "44444444")  # one day: onbekend, last 11-19
    doc = c.summary([a, b, stopped, new], today)
    assert doc == {
        "as_of": "2026-11-20",
        "data_tm": "2026-11-16",
        "instellingen": 4,
        "op_schema": 2,
        "achter": 1,
        "onbekend": 1,
    }
    assert c.summary([stopped], today)["data_tm"] == "2026-11-06"  # all behind: the newest day there is
    assert c.summary([], today)["data_tm"] is None
    d = c.detail(b, today, "Instelling B")
    assert (d["naam"], d["rhythm_days"], d["allowance_days"], d["status"]) == ("Instelling B", 7.0, 15, "op_schema")


def test_instelling_names_go_into_rows_that_have_an_instelling() -> None:
    rows = [{"dims": {"instelling": "11111111"}, "names": None}, {"dims": {"instelling": "22222222"}}, {"dims": {}}]
    out = c.with_instelling_names(rows, {"11111111": "Instelling A"})
    assert out[0]["names"] == {"instelling": "Instelling A"} and "names" not in out[1] and out[2] == {"dims": {}}


ROWS = [
    {
        "period": "year", "start": "2026-01-01", "dims": {"gemeente": "GM0268"}, "names": {"gemeente": "Nijmegen"},
        "value": 48, "suppressed": False, "baseline_year": 2022, "baseline": 40.0, "change": 8.0, "target": 20.0,
        "target_status": "off_track", "version": 1, "per_1000": 2.5,
    },
    {
        "period": "year", "start": "2026-01-01", "dims": {"gemeente": "GM0296"}, "names": {"gemeente": "Wijchen"},
        "value": None, "suppressed": True, "version": 1, "per_1000": None,
    },
    {
        "period": "year", "start": "2026-01-01", "dims": {"gemeente": "GM1900"}, "names": {"gemeente": 'Súd;west "F"'},
        "value": 0.125, "suppressed": False, "version": 1, "numerator": 1, "denominator": 8,
    },
]  # fmt: skip


def test_csv_has_the_json_rows_with_the_same_suppression_in_the_dutch_excel_layout() -> None:
    text = rows_csv("separaties", ROWS, ["gemeente"])
    assert text.startswith("\ufeff") and text.endswith("\r\n") and "\r\n" in text
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    header, *body = lines
    assert header == [
        "indicator", "versie", "periode", "start", "gemeente", "gemeente_naam", "waarde", "onderdrukt",
        "nulmeting_jaar", "nulmeting", "verschil", "doel", "doelstatus", "per_1000", "teller", "noemer",
    ]  # fmt: skip
    got = [dict(zip(header, line, strict=True)) for line in body]
    assert [g["gemeente"] for g in got] == ["GM0268", "GM0296", "GM1900"]
    want = {
        "waarde": "48", "onderdrukt": "nee", "nulmeting": "40", "verschil": "8", "doel": "20",
        "doelstatus": "niet op koers", "per_1000": "2,5", "teller": "", "versie": "1", "gemeente_naam": "Nijmegen",
    }  # fmt: skip
    assert {k: got[0][k] for k in want} == want
    assert (got[1]["waarde"], got[1]["onderdrukt"], got[1]["per_1000"]) == ("", "ja", "")  # suppressed: no value
    assert (got[2]["waarde"], got[2]["gemeente_naam"], got[2]["teller"]) == ("0,125", 'Súd;west "F"', "1")


def test_csv_of_no_rows_still_names_the_columns() -> None:
    assert rows_csv("separaties", [], ["jeugdregio"]).splitlines()[0].lstrip("\ufeff").split(";")[4:6] == [
        "jeugdregio",
        "jeugdregio_naam",
    ]
