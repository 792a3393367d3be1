"""``jeugdstroom send``: how files become batches, and the command line."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from jeugdstroom.cli.main import build_parser
from jeugdstroom.cli.send import SendError, Summary, batches, cmd_send, count_events


def test_ndjson_files_are_sent_in_batches_of_lines_with_their_file_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "e.ndjson"
    f.write_bytes(b'{"a":1}\n\n{"a":2}\r\n{"a":3}\n{"a":4}')
    got = list(batches(f, 2))
    assert [b.labels for b in got] == [["line 1", "line 3"], ["line 4", "line 5"]]
    assert got[0].body == b'{"a":1}\n{"a":2}\n' and got[0].content_type == "application/x-ndjson"
    assert count_events(f) == 4


def test_json_files_hold_one_event_or_an_array(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps({"a": 1}))
    many = tmp_path / "many.json"
    many.write_bytes(orjson.dumps([{"a": i} for i in range(5)]))
    assert [(orjson.loads(b.body), b.labels) for b in batches(one, 10)] == [([{"a": 1}], ["item 1"])]
    assert [b.labels for b in batches(many, 2)] == [["item 1", "item 2"], ["item 3", "item 4"], ["item 5"]]
    assert count_events(many) == 5


def test_unreadable_files_are_send_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(SendError, match="not valid JSON"):
        list(batches(bad, 10))
    with pytest.raises(SendError, match="no such file"):
        count_events(tmp_path / "missing.json")


def test_summary_fails_on_anything_not_accepted_or_duplicate() -> None:
    s = Summary()
    s.counts["accepted"] = 2
    s.counts["duplicate"] = 1
    assert not s.failed and s.total == 3
    assert s.line() == "accepted 2, duplicate 1, rejected 0, conflict 0, forbidden 0"
    s.counts["conflict"] = 1
    assert s.failed


def test_the_command_line_parses_send(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["send", str(tmp_path / "x.ndjson"), "--url", "http://h:1", "--token", "t",
                                      "--batch", "50"])
    assert (args.cmd, args.file, args.url, args.token, args.batch) == ("send", tmp_path / "x.ndjson",
                                                                       "http://h:1", "t", 50)
    assert cmd_send(args, "http://default") == 2  # the file does not exist
    assert "no such file" in capsys.readouterr().err
    args.token = None
    assert cmd_send(args, "http://default") == 2


def _intake(statuses: list[str]) -> httpx.AsyncClient:
    """A stand-in intake answering every batch with the given statuses (the real one is in the integration
    tests; this one exercises the exit code)."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer t"
        n = len(orjson.loads(request.content))
        results = [{"status": statuses[i % len(statuses)], "id": f"e{i}",
                    "errors": [{"field": "data.end", "reason": "must not be before start"}]} for i in range(n)]
        return httpx.Response(202, json={"results": results})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("statuses", "code"), [(["accepted", "duplicate"], 0), (["accepted", "rejected"], 1),
                                                (["conflict"], 1), (["forbidden"], 1)])
def test_exit_code_is_1_when_anything_was_not_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        statuses: list[str], code: int) -> None:
    f = tmp_path / "e.json"
    f.write_bytes(orjson.dumps([{"a": i} for i in range(4)]))
    args = build_parser().parse_args(["send", str(f), "--token", "t", "--batch", "3"])
    assert cmd_send(args, "http://intake", client=_intake(statuses)) == code
    out, err = capsys.readouterr()
    assert out.startswith("4 events: accepted ")
    assert err.count("events ·") == 2  # a progress line per batch
    if code:
        assert "item 2 (id e1): " in err or "item 1 (id e0): " in err
